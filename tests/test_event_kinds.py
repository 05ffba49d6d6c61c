"""Run and fleet events have typed kinds (issue 15 item 1): a kind that is not one of the
enum's is refused where the event is made, and no code emits or dispatches on a kind spelled
as a string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui.fleet.fleet import FleetEvent, FleetEventKind
from tui.runbooks.context import STEP_STATE, RunEvent, RunEventKind

ROOT = Path(__file__).resolve().parent.parent


def test_a_run_event_of_an_unknown_kind_is_refused():
    assert RunEvent("note").kind is RunEventKind.NOTE  # a plain string becomes the member
    with pytest.raises(ValueError, match="not a valid RunEventKind"):
        RunEvent("notes", "BAK-4", "a typo")


def test_a_fleet_event_of_an_unknown_kind_is_refused():
    assert FleetEvent("output", "master-0").kind is FleetEventKind.OUTPUT
    with pytest.raises(ValueError, match="not a valid FleetEventKind"):
        FleetEvent("stdout", "master-0")


def test_the_kinds_that_move_a_steps_state_are_the_ones_the_steps_table_shows():
    assert set(STEP_STATE) == {RunEventKind.STEP, RunEventKind.WAITING, RunEventKind.DONE,
                               RunEventKind.ALREADY_DONE, RunEventKind.SKIP,
                               RunEventKind.FAILED, RunEventKind.CANCELLED}
    assert all(k.changes_step_state == (k in STEP_STATE) for k in RunEventKind)


_KINDS = "|".join(re.escape(k.value) for k in (*RunEventKind, *FleetEventKind))
_STRINGLY = [
    # an event made or shown with its kind as a string
    re.compile(rf'\b(?:_show|show|RunEvent|FleetEvent)\(\s*"(?:{_KINDS})"'),
    # a dispatch on an event's kind as a string
    re.compile(rf'\b(?:event|ev|e)\.kind\s*(?:==|!=|in)\s*\(?\s*"(?:{_KINDS})"'),
]


def test_no_code_emits_or_dispatches_on_a_kind_spelled_as_a_string():
    found = []
    for path in [*ROOT.glob("tui/**/*.py"), *ROOT.glob("screens/**/*.py")]:
        if "/drill/" in str(path):  # the drill's own events (shell tokens) are other kinds
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if any(p.search(line) for p in _STRINGLY):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
