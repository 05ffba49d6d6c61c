"""Pilot tests of the backup and encryption screens on the drill cluster."""

from __future__ import annotations

from textual.widgets import Input

from tests.conftest import populated, wait_until
from tui.journal import read_journal


async def _open(app, pilot, key):
    await wait_until(pilot, lambda: populated(app), what="first snapshot")
    await pilot.press(key)
    await wait_until(pilot, lambda: app.current_mode != "status", what="the runbook screen")
    return app.screen


async def test_backup_screen_shows_the_plan_then_runs_with_confirmation(drill_app, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("healthy", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot, "b")
        assert type(screen).__name__ == "BackupScreen"
        log = "\n".join(screen.query_one("#run-log").lines)
        # the exact command and its host are shown before anything runs
        assert "master-0$ sudo -n sh -c '/usr/local/bin/cluster-backup.sh " \
               "/home/core/assets/backup'" in log
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         what="the BAK-4 confirmation")
        assert app.screen.request.step.id == "BAK-4"
        await pilot.click("#yes")
        await wait_until(pilot, lambda: screen.finished is not None, timeout=30,
                         what="the backup to finish")
        assert screen.finished == "done", "\n".join(screen.query_one("#run-log").lines)
        files = app.backend.lab.cluster.host("master-0").files
        snaps = [p for p in files if p.startswith("/home/core/assets/backup/snapshot_")]
        tars = [p for p in files if p.startswith("/home/core/assets/backup/static_kuberes")]
        manifests = [p for p in files if "etcd-dr-manifest_" in p]
        assert len(snaps) == len(tars) == len(manifests) == 1
        events = [(r["step"], r["event"]) for r in read_journal(screen.journal_path)
                  if "command" not in r]
        assert ("BAK-4", "confirmed") in events and events[-1] == ("-", "finished")


async def test_backup_cancelled_at_confirmation_sends_nothing(drill_app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("healthy")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot, "b")
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         what="the confirmation")
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.finished is not None, what="the run to stop")
        assert screen.finished == "aborted"
        files = app.backend.lab.cluster.host("master-0").files
        assert not any(p.startswith("/home/core/assets/backup/snapshot_") for p in files)


async def test_encryption_screen_turns_encryption_on_after_typing_the_cluster_name(
        drill_app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("healthy", speed=600)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot, "e")
        assert type(screen).__name__ == "EncryptionScreen"
        assert "current type: identity" in str(screen.query_one("#encryption-state").render())
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         what="the ENC-ON-1 warning")
        await pilot.click("#yes")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen"
                         and app.screen.request.step.id == "ENC-ON-2", what="ENC-ON-2")
        assert app.screen.request.expected == "drill-healthy"
        app.screen.query_one(Input).value = "drill-healthy"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.finished is not None, timeout=60,
                         what="the migration to complete")
        assert screen.finished == "done", "\n".join(screen.query_one("#run-log").lines)
        conditions = app.backend.lab.cluster.api.encrypted
        assert {c["reason"] for c in conditions.values()} == {"EncryptionCompleted"}


async def test_read_only_console_offers_no_runbook_screens(drill_app):
    app = drill_app("healthy", read_only=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="first snapshot")
        await pilot.press("b")
        await pilot.press("e")
        await pilot.pause(0.2)
        assert app.current_mode == "status"
        assert app.check_action("switch_mode", ("backup",)) is False
