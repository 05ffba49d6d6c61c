"""The confirmation dialog: y goes ahead, n/Escape/Enter on the focused Cancel send nothing;
a typed confirmation is only given by typing the name (y and n are just letters there)."""

from __future__ import annotations

import pytest
from textual.app import App

from screens.dialogs import ConfirmStepScreen
from tui.runbooks.context import ConfirmRequest
from tui.runbooks.model import Confirm, Step


def _request(kind: Confirm) -> ConfirmRequest:
    step = Step(id="RST-17", title="Turn the quorum guard off", explain="patch etcd/cluster")
    return ConfirmRequest(step=step, hosts=[], commands=["API: oc patch etcd/cluster ..."],
                          kind=kind, expected="master-0" if kind != Confirm.YES_NO else "yes",
                          text="RST-17 on the cluster API")


async def _answer(kind: Confirm, *keys: str):
    answers = []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(ConfirmStepScreen(_request(kind)), answers.append)

    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
    return answers


@pytest.mark.parametrize("keys,expected", [(("y",), [True]), (("n",), [False]),
                                           (("escape",), [False]), (("enter",), [False])])
async def test_yes_no_keys(keys, expected):
    assert await _answer(Confirm.YES_NO, *keys) == expected


async def test_typed_confirmation_ignores_y_and_needs_the_name():
    assert await _answer(Confirm.TYPE_HOST, "y", "enter") == []  # "y" typed: wrong name
    assert await _answer(Confirm.TYPE_HOST, *"master-0", "enter") == [True]
