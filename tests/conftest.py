"""Shared fixtures: the console on a drill cluster, driven headless."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from tui.app import make_app
from tui.backend import BackendSpec

FIXED_NOW = 1_795_000_000.0  # a fixed wall clock for screens whose text shows ages


@pytest.fixture(autouse=True)
def private_state_home(tmp_path_factory, monkeypatch):
    """Every test gets an XDG state directory of its own: no test reads or writes the
    operator's ~/.local/state/etcd-dr (an unfinished drill journal there would put the
    resume dialog in front of a test's screen), and no test sees another's journals."""
    state = tmp_path_factory.mktemp("xdg-state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


async def wait_until(pilot, predicate, timeout: float = 15.0, what: str = "condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def populated(app) -> bool:
    s = app.snapshot
    return bool(s and s.members and all(h.state not in ("connecting",) for h in s.hosts))


@pytest.fixture
def drill_app():
    def build(scenario: str = "healthy", **kw):
        spec_kw = {k: kw.pop(k) for k in ("read_only", "frozen_clock", "speed") if k in kw}
        return make_app(BackendSpec(scenario=scenario, **spec_kw), **kw)

    return build


@asynccontextmanager
async def drill_fleets(tmp_path, default_clock=None):
    """Start drill labs and a Fleet on each, through the real SSH path; stop them after.

    Yields start(scenario="healthy", clock=None): a scenario name, or YAML text starting
    with a newline (an inline scenario); clock: a SimClock, else default_clock() if given.
    """
    from tui.drill.lab import DrillLab
    from tui.fleet.fleet import Fleet

    labs, fleets = [], []

    async def start(scenario="healthy", clock=None):
        if scenario.startswith("\n"):
            path = tmp_path / f"scenario{len(labs)}.yaml"
            path.write_text(scenario)
            scenario = str(path)
        if clock is None and default_clock is not None:
            clock = default_clock()
        lab = DrillLab(scenario, workdir=tmp_path / f"lab{len(labs)}", clock=clock)
        inventory = await lab.start()
        fleet = Fleet(inventory)
        await fleet.start()
        labs.append(lab)
        fleets.append(fleet)
        return lab, fleet

    try:
        yield start
    finally:
        for fleet in fleets:
            await fleet.close()
        for lab in labs:
            await lab.stop()


async def press_button(app, pilot, selector: str) -> None:
    """Press a dialog's button once the dialog is mounted, and wait until that dialog (this
    instance: the next one may be another of the same kind) has gone."""
    await wait_until(pilot, lambda: bool(app.screen.query(selector)), what=selector)
    dialog = app.screen
    await pilot.pause()
    dialog.query_one(selector).press()
    await wait_until(pilot, lambda: app.screen is not dialog, what=f"{selector} to take effect")


async def answer_confirmation(app, pilot) -> None:
    """Go ahead on the ConfirmStepScreen on top as an operator would: type what it asks for
    (the host or the cluster name) and press Enter when it is a typed confirmation, else
    press "Go ahead"; wait until that dialog has gone."""
    from textual.widgets import Input

    dialog = app.screen
    if not getattr(dialog, "typed", False):
        await press_button(app, pilot, "#yes")
        return
    await wait_until(pilot, lambda: bool(dialog.query(Input)), what="the confirmation's input")
    await pilot.pause()
    box = dialog.query_one(Input)
    box.focus()
    box.value = dialog.request.expected
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.screen is not dialog,
                     what=f"the typed confirmation of {dialog.request.step.id} to take effect")
