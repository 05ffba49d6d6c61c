"""Pilot tests of the defrag screen on the drill: recommendations, leader last, leader moves."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.conftest import populated, press_button, wait_until
from tui.journal import read_journal

MB = 1024 * 1024


def defrag_order(records) -> list[str]:
    """Members in the order their defrag began (or was found already done after a defrag
    that outlived its timeout)."""
    order = []
    for r in records:
        if r["step"] in ("DEF-MAN-2", "DEF-MAN-5") and "member" in r and "command" not in r \
                and r["event"] in ("started", "already-done") and r["member"] not in order:
            order.append(r["member"])
    return order


def members_done(records) -> list[str]:
    return [r["member"] for r in records if "member" in r and "command" not in r and (
        (r["step"] == "DEF-MAN-3" and r["event"] == "finished") or r["event"] == "already-done")]


async def _open_defrag(app, pilot):
    await wait_until(pilot, lambda: populated(app), what="first snapshot")
    await pilot.press("d")
    await wait_until(pilot, lambda: app.current_mode == "defrag", what="the defrag screen")
    screen = app.screen
    await wait_until(pilot, lambda: screen.query_one("#defrag-members", DataTable).row_count == 3,
                     what="the member rows")
    return screen


async def _confirm_when_asked(app, pilot, step_id, retries=4):
    """Confirm `step_id`; a defrag that times out (big members take long) is retried, as
    the failure dialog offers, with twice the --command-timeout each time."""
    def asked():
        name = type(app.screen).__name__
        return name == "FailureScreen" or (name == "ConfirmStepScreen"
                                           and app.screen.request.step.id == step_id)

    for _ in range(retries + 1):
        await wait_until(pilot, asked, timeout=30, what=f"the {step_id} confirmation")
        if type(app.screen).__name__ == "ConfirmStepScreen":
            await press_button(app, pilot, "#yes")
            return
        assert "timed out" in app.screen.error, app.screen.error
        await press_button(app, pilot, "#retry")
    raise AssertionError(f"{step_id} was never confirmed")


async def _finish(app, pilot, screen, retries=6):
    """Wait for the run to end, retrying timed-out defrags."""
    for _ in range(retries + 1):
        await wait_until(pilot, lambda: screen.finished is not None
                         or type(app.screen).__name__ == "FailureScreen", timeout=60,
                         what="the defrag to finish")
        if screen.finished is not None:
            return
        assert "timed out" in app.screen.error, app.screen.error
        await press_button(app, pilot, "#retry")


async def test_nospace_members_are_recommended_and_defragmented_leader_last(
        drill_app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("nospace", speed=600)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open_defrag(app, pilot)
        table = screen.query_one("#defrag-members", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert all(r[-1] == "yes: NOSPACE: every member, then disarm" for r in rows)
        assert any("NOSPACE" in r[6] for r in rows)
        log = "\n".join(screen.query_one("#run-log").lines)
        # the exact command, before running: the timeout scaled to an 8 GB member at 50 MB/s
        assert "--command-timeout=194s defrag" in log
        screen.query_one("#defrag-wait", Input).value = "0s"
        await pilot.pause()
        assert "must be more than zero" in str(screen.query_one("#wait-warning").render())
        screen.query_one("#defrag-wait", Input).value = "1s"
        await pilot.pause()
        assert "under the documented minimum" in str(screen.query_one("#wait-warning").render())
        cluster = app.backend.lab.cluster
        leader_at_start = cluster.etcd.leader().name
        await pilot.press("g")
        await _confirm_when_asked(app, pilot, "DEF-MAN-2")
        await _confirm_when_asked(app, pilot, "DEF-MAN-5")
        await _finish(app, pilot, screen)
        assert screen.finished == "done", "\n".join(screen.query_one("#run-log").lines)
        assert cluster.etcd.alarms == []
        assert all(m.db_size < 4000 * MB for m in cluster.etcd.members)
        records = read_journal(screen.journal_path)
        order = defrag_order(records)
        assert order[-1] == leader_at_start and len(order) == 3
        assert any(r["event"] == "override" and r["step"] == "DEF-MAN-4" for r in records)


async def test_the_leader_moving_mid_run_is_followed(drill_app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("nospace", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open_defrag(app, pilot)
        screen.query_one("#defrag-wait", Input).value = "120s"  # 2 s of real time at speed 60
        cluster = app.backend.lab.cluster
        await pilot.press("g")
        await _confirm_when_asked(app, pilot, "DEF-MAN-2")

        def first_wait():
            path = screen.journal_path
            return path is not None and path.exists() and any(
                r["step"] == "DEF-MAN-4" and r["event"] == "started"
                for r in read_journal(path))

        for _ in range(4):  # a big member's defrag may time out first: retry, as offered
            await wait_until(pilot, lambda: first_wait()
                             or type(app.screen).__name__ == "FailureScreen", timeout=30,
                             what="the first wait between members")
            if first_wait():
                break
            await press_button(app, pilot, "#retry")
        done = members_done(read_journal(screen.journal_path))[0]
        # during the wait, raft elects another leader: one not defragmented yet
        old = cluster.etcd.leader()
        new = next(m for m in cluster.etcd.members if m.name not in (done, old.name))
        cluster.etcd.leader_id = new.member_id
        cluster.etcd.raft_term += 1
        await _confirm_when_asked(app, pilot, "DEF-MAN-5")
        await _finish(app, pilot, screen)
        assert screen.finished == "done", "\n".join(screen.query_one("#run-log").lines)
        order = defrag_order(read_journal(screen.journal_path))
        assert order == [done, old.name, new.name], "the member leading at the end goes last"
        log = "\n".join(screen.query_one("#run-log").lines)
        assert f"the leader moved to {new.name}" in log


async def test_the_automatic_defrag_state_and_last_result_show(drill_app):
    app = drill_app("healthy")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open_defrag(app, pilot)
        auto = screen.query_one("#auto-defrag")
        await wait_until(pilot, lambda: "last success" in str(auto.render()),
                         what="the operator's last defrag")
        text = str(auto.render())
        assert "enabled (no etcd-disable-defrag ConfigMap)" in text
        assert "etcd member has been defragmented: master-" in text
