"""The status view before etcd has ever answered (issue #14): every control-plane host is
down from the start, so no member list was ever read. The panels say so, not "never ago"."""

from __future__ import annotations

from tests.conftest import wait_until
from tui.widgets.members import MembersTable
from tui.widgets.panel import InfoPanel

ALL_DOWN = """\
name: all-down
description: every control-plane host is down from the start
version: "4.12.30"
control_plane: 3
workers: 0
etcd:
  version: "3.5.6"
  leader: master-0
hosts:
  master-0: {up: false}
  master-1: {up: false}
  master-2: {up: false}
"""


async def test_data_never_read_says_no_answer_yet_not_never_ago(drill_app, tmp_path):
    scenario = tmp_path / "all-down.yaml"
    scenario.write_text(ALL_DOWN)
    app = drill_app(str(scenario))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None and all(
            h.state == "unreachable" for h in app.snapshot.hosts), what="every host unreachable")
        await pilot.pause(1.2)  # the screen's 1 s tick shows the snapshot
        assert app.snapshot.etcd_collected_at is None
        members = app.screen.query_one(MembersTable).border_subtitle
        alarms = app.screen.query_one("#alarms", InfoPanel).border_subtitle
        for subtitle in (members, alarms):
            assert "never" not in subtitle and " ago" not in subtitle, subtitle
            assert subtitle == "ssh - no answer yet", subtitle
