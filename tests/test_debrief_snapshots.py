"""Snapshot tests of the drill debrief and briefing at two terminal sizes, from a session
built of fixed journal lines (no cluster, no clock: the same picture every run).

Regenerate after an intended change with `pytest tests/test_debrief_snapshots.py
--snapshot-update` and review the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest
from textual.app import App

from assets import asset_path
from tests.test_session import DRILL, T0, drill_spec, ideal_run, line
from tui.drill.session import DrillSession


def _session() -> DrillSession:
    """A restore drill with a wrong recovery host, a hint, a failed and retried step."""
    s = DrillSession("lost-two-hosts", drill_spec({"drill": DRILL}), speed=10,
                     clock=lambda: T0 + 400)
    s.start(now=T0)
    s.take_hint(now=T0 + 12)
    run = ideal_run(host="master-2")
    run.insert(6, line(25, "RST-08", "failed", hosts=["master-2"], error="exit status 1"))
    run.insert(7, line(40, "RST-08", "confirmed", hosts=["master-2"], kind="retry"))
    for record in run:
        s.observe(record)
    return s


class DebriefApp(App):
    CSS_PATH = [str(asset_path("etcd_dr.tcss")), str(asset_path("drill.tcss"))]

    def __init__(self, screen_name: str):
        super().__init__()
        self.screen_name = screen_name

    def on_mount(self) -> None:
        from screens.briefing import BriefingScreen
        from screens.debrief import DebriefScreen

        session = _session()
        if self.screen_name == "briefing":
            session = DrillSession("lost-two-hosts", session.drill, speed=60)
            self.push_screen(BriefingScreen(session))
        else:
            self.push_screen(DebriefScreen(session))


@pytest.mark.parametrize("size", [(120, 40), (200, 60)])
@pytest.mark.parametrize("screen", ["debrief", "briefing"])
def test_drill_screens(snap_compare, screen, size):
    assert snap_compare(DebriefApp(screen), terminal_size=size)
