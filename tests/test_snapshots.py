"""Snapshot tests of the status screen at two terminal sizes, with a fixed clock.

Regenerate after an intended change with `pytest tests/test_snapshots.py --snapshot-update`
and review the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest

from tests.conftest import FIXED_NOW, populated, wait_until
from tui.app import make_app
from tui.backend import BackendSpec
from tui.widgets.host_log import HostLog
from tui.widgets.members import MembersTable


def _app(scenario: str):
    return make_app(BackendSpec(scenario=scenario, frozen_clock=True),
                    refresh_interval=3600, clock=lambda: FIXED_NOW)


async def _ready(pilot):
    app = pilot.app
    await wait_until(pilot, lambda: populated(app) and app.snapshot.api.reachable,
                     what="populated status screen")
    panes = list(app.screen.query(HostLog))
    await wait_until(pilot, lambda: len(panes) == 3 and all(
        p.line_count >= 1 and not p._pending for p in panes), what="log panes flushed")
    # the members table sizes its columns on the next refresh: let two frames pass
    app.screen.query_one(MembersTable).refresh(layout=True)
    await pilot.pause(0.1)
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 40), (200, 60)])
@pytest.mark.parametrize("scenario", ["healthy", "nospace"])
def test_status_screen(snap_compare, scenario, size):
    assert snap_compare(_app(scenario), terminal_size=size, run_before=_ready)
