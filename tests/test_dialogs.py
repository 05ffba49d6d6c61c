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


# --- unknown outcome: the operator says what they found ---------------------------------------

def _question():
    from tui.runbooks.attempts import UnknownState

    return UnknownState(
        step_id="RSTN-04", host="master-0",
        command="sudo -n sh -c '/usr/local/bin/cluster-restore.sh /home/core/assets/backup'",
        detail="attempt 20261203-ab12cd34: it started on the host and left no exit status",
        seen=("log: Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup",),
        inspect=("ssh core@10.0.0.5 'sudo cat /var/lib/etcd-dr/attempts/20261203-ab12cd34.log'",))


async def _decide(*actions):
    from screens.dialogs import UnknownStateScreen

    answers, shown = [], []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(UnknownStateScreen(_question()), answers.append)

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        shown.append(text)
        for kind, value in actions:
            if kind == "type":
                for ch in value:
                    await pilot.press("space" if ch == " " else ch)
            elif kind == "click":
                app.screen.query_one(f"#{value}").press()
            else:
                await pilot.press(value)
            await pilot.pause()
    return answers, shown[0]


async def test_the_unknown_dialog_shows_what_was_seen_and_how_to_look():
    answers, text = await _decide(("key", "escape"))
    assert "left no exit status" in text and "Moving etcd data-dir" in text
    assert "sudo cat /var/lib/etcd-dr/attempts/20261203-ab12cd34.log" in text
    from tui.runbooks.attempts import UnknownDecision

    assert answers == [(UnknownDecision.ABORT, "")]  # Escape stops; nothing is decided


async def test_the_unknown_dialog_needs_what_the_operator_found_before_an_answer():
    from tui.runbooks.attempts import UnknownDecision

    answers, _ = await _decide(("click", "done"))
    assert answers == []  # no reason typed: no answer
    answers, _ = await _decide(("type", "log ends with restore pod"), ("click", "done"))
    assert answers == [(UnknownDecision.DONE, "log ends with restore pod")]
    answers, _ = await _decide(("type", "nothing moved"), ("click", "not-done"))
    assert answers == [(UnknownDecision.RUN, "nothing moved")]
