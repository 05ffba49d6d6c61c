"""Defects of issue #14 on the runbook screens (encryption, backup), as the operator sees them."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.conftest import populated, press_button, wait_until
from tui.journal import load_state, read_journal


async def _open(app, pilot, key):
    await wait_until(pilot, lambda: populated(app), what="first snapshot")
    await pilot.press(key)
    await wait_until(pilot, lambda: app.current_mode != "status", what="the runbook screen")
    return app.screen


def _cell(screen, step_id: str, column: str) -> str:
    return str(screen.query_one("#steps", DataTable).get_cell(step_id, column))


async def test_cancelling_the_enc_on_2_confirmation_leaves_it_not_started(drill_app):
    """Escape on ENC-ON-2's typed confirmation: the step is not started (not "running"), the
    journal has no failure of it, and the screen says the run was cancelled before it with
    nothing sent; g goes on from ENC-ON-2."""
    app = drill_app("healthy", speed=600)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot, "e")
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         what="the ENC-ON-1 warning")
        await press_button(app, pilot, "#yes")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen"
                         and app.screen.request.step.id == "ENC-ON-2", what="ENC-ON-2")
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.finished is not None, what="the run to stop")
        await pilot.pause()
        assert not screen.running
        # the steps table: ENC-ON-2 never started, nothing shows as running
        assert _cell(screen, "ENC-ON-2", "state") == "not started"
        assert "nothing sent" in _cell(screen, "ENC-ON-2", "detail")
        assert "running" not in [_cell(screen, s.id, "state") for s in screen.runbook.steps]
        status = str(screen.query_one("#run-status").render())
        assert "cancelled before ENC-ON-2" in status and "nothing was sent" in status, status
        assert "failed step" not in status
        log = "\n".join(screen.query_one("#run-log").lines)
        assert "cancelled before ENC-ON-2" in log and "nothing was sent" in log, log
        # the cluster: nothing patched
        assert app.backend.lab.cluster.api.encryption_type in ("identity", "", None)
        # the journal: no line of ENC-ON-2 at all (no failure, no start), the run stopped
        # before it; a resume goes on from ENC-ON-2 with nothing in flight
        records = read_journal(screen.journal_path)
        assert not [r for r in records if r["step"] == "ENC-ON-2"], records
        assert records[-1]["step"] == "-" and records[-1]["event"] == "failed"
        assert "cancelled before ENC-ON-2" in records[-1]["error"]
        state = load_state(screen.journal_path)
        assert state.failed is None and state.in_flight is None
        assert state.done == {"ENC-ON-0", "ENC-ON-1"}
        # g goes on from ENC-ON-2: its confirmation again, not ENC-ON-1's
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         what="a confirmation after g")
        assert app.screen.request.step.id == "ENC-ON-2"
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.finished is not None, what="the run to stop")


async def test_enc_on_1_says_its_own_text_not_enc_on_0s(drill_app):
    """ENC-ON-1 (the warning) and ENC-ON-0 (API access) each say their own thing, in the
    confirmation and in the steps table once done."""
    from tui.runbooks import registry

    on = registry()["encryption-on"]
    explains = [s.explain for s in on.steps]
    assert len(set(explains)) == len(explains)
    assert "partly encrypted" in on.step("ENC-ON-1").explain  # RUNBOOK ENC-ON-1
    assert "cluster-admin" in on.step("ENC-ON-0").explain  # RUNBOOK ENC-ON-0
    app = drill_app("healthy", speed=600)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot, "e")
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         what="the ENC-ON-1 warning")
        request = app.screen.request
        assert request.step.id == "ENC-ON-1" and "partly encrypted" in request.text
        await press_button(app, pilot, "#yes")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen"
                         and app.screen.request.step.id == "ENC-ON-2", what="ENC-ON-2")
        enc0, enc1 = _cell(screen, "ENC-ON-0", "detail"), _cell(screen, "ENC-ON-1", "detail")
        assert "API reachable" in enc0
        assert enc1 != enc0 and "no backup" in enc1, (enc0, enc1)
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.finished is not None, what="the run to stop")


async def test_the_backups_file_names_stay_in_the_log_after_the_run(drill_app):
    """After BAK-6 the log keeps the run's output (the pair's file names), also after a trip
    to the status view and back (the host list is filled again then); the plan comes back
    only for other choices, below the run's output."""
    app = drill_app("healthy", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot, "b")
        screen.set_focus(None)
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         what="the BAK-4 confirmation")
        await press_button(app, pilot, "#yes")
        await wait_until(pilot, lambda: screen.finished is not None, timeout=30,
                         what="the backup to finish")
        assert screen.finished == "done"
        files = app.backend.lab.cluster.host("master-0").files
        snapshot = next(p for p in files if p.startswith("/home/core/assets/backup/snapshot_"))
        name = snapshot.rsplit("/", 1)[-1]

        def log() -> str:
            return "\n".join(screen.query_one("#run-log").lines)

        assert f"[BAK-5] done: {name}" in log()
        await pilot.pause(1.5)  # the screen's timers tick
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.current_mode == "status", what="the status view")
        await pilot.press("b")
        await wait_until(pilot, lambda: app.screen is screen, what="the backup screen again")
        await pilot.pause(0.5)
        assert f"[BAK-5] done: {name}" in log() and "Plan for" not in log(), log()
        assert "Back up etcd: done" in log()
        # other choices: the plan for them, below the run's output (still there)
        screen.query_one("#backup-dir", Input).value = "/home/core/assets/backup2"
        await wait_until(pilot, lambda: "/home/core/assets/backup2" in log(),
                         what="the plan for the new directory")
        assert f"[BAK-5] done: {name}" in log()
        assert log().index(f"[BAK-5] done: {name}") < log().index("Plan for")
