"""Pilot tests of the status screen on the drill cluster: what an operator would see."""

from __future__ import annotations

from tests.conftest import populated, wait_until
from tui.widgets.host_strip import HostBox
from tui.widgets.members import MembersTable
from tui.widgets.panel import InfoPanel


def _cell_texts(table: MembersTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_hosts_connect_and_the_leader_is_marked(drill_app):
    app = drill_app("healthy")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="first snapshot")
        snap = app.snapshot
        assert [h.state for h in snap.hosts] == ["connected"] * 3
        assert snap.leader is not None and snap.leader.name == "master-1"
        assert snap.healthy, snap.problems
        rows = _cell_texts(app.screen.query_one(MembersTable))
        leader_rows = [r for r in rows if r[0].startswith("* ")]
        assert [r[0] for r in leader_rows] == ["* master-1"]
        assert all(r[-1] == "-" for r in rows), "a healthy cluster shows no member errors"
        boxes = list(app.screen.query(HostBox))
        assert [b.host.state for b in boxes] == ["connected"] * 3
        assert "DRILL" in str(app.screen.query_one("#banner").render())


async def test_nospace_alarm_shows(drill_app):
    app = drill_app("nospace")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="first snapshot")
        assert [(a.alarm, a.member) for a in app.snapshot.alarms] == [("NOSPACE", "master-0")]
        panel = app.screen.query_one("#alarms", InfoPanel)
        assert "NOSPACE on master-0" in str(panel.render())
        assert panel.has_class("alert")
        assert not app.snapshot.healthy


async def test_a_host_taken_down_turns_unreachable_while_the_others_keep_refreshing(drill_app):
    app = drill_app("healthy", refresh_interval=0.3)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="first snapshot")
        await app.backend.lab.take_down("master-2")
        state = lambda: app.backend.fleet.status["master-2"].state.value  # noqa: E731
        await wait_until(pilot, lambda: state() == "unreachable", what="master-2 unreachable")
        before = app.snapshot.collected_at
        await wait_until(pilot, lambda: app.snapshot.collected_at > before
                         and app.snapshot.hosts[2].state == "unreachable",
                         what="a refresh after the host went down")
        snap = app.snapshot
        assert [h.state for h in snap.hosts[:2]] == ["connected", "connected"]
        assert not snap.etcd_stale  # the others still answer
        m2 = next(m for m in snap.members if m.name == "master-2")
        assert m2.errors, "the lost member must show an error"
        assert snap.leader is not None
        box = app.screen.query_one("#host-master-2", HostBox)
        assert box.has_class("bad")
        # and it comes back
        await app.backend.lab.bring_up("master-2")
        app.backend.fleet.retry_now("master-2")
        await wait_until(pilot, lambda: state() == "connected", what="master-2 reconnected")
