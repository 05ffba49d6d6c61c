"""Pilot tests of the backup and encryption screens on the drill cluster."""

from __future__ import annotations

from textual.widgets import Input

from tests.conftest import populated, press_button, wait_until
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
        # BAK-6: a copy on this machine too, its reads shown in the plan
        screen.query_one("#backup-fetch", Input).value = str(tmp_path / "safe")
        await wait_until(pilot, lambda: any(
            "cat -- " in line and "/home/core/assets/backup/<each file of the pair>" in line
            for line in screen.query_one("#run-log").lines), what="BAK-6's reads in the plan")
        screen.set_focus(None)
        await pilot.press("g")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         what="the BAK-4 confirmation")
        assert app.screen.request.step.id == "BAK-4"
        await press_button(app, pilot, "#yes")
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
        assert ("BAK-6", "finished") in events
        fetched = sorted(p.name for p in (tmp_path / "safe" / "drill-healthy").iterdir())
        assert fetched == sorted(p.rsplit("/", 1)[-1] for p in snaps + tars + manifests)


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
        await press_button(app, pilot, "#yes")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen"
                         and app.screen.request.step.id == "ENC-ON-2"
                         and app.screen.query(Input), what="ENC-ON-2 and its field")
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


async def test_console_resume_continues_an_unfinished_backup_journal(tmp_path, monkeypatch):
    from tui.app import make_app
    from tui.backend import BackendSpec
    from tui.journal import Journal

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "backup.jsonl"
    j = Journal(path, "backup")
    j.write("-", "planned", params={"host": "master-0", "backup_dir": "/home/core/assets/backup",
                                    "baseline": "", "proxy": {}},
            steps=["BAK-0", "BAK-1", "BAK-2", "BAK-3", "BAK-4", "BAK-5"])
    for step in ("BAK-0", "BAK-1", "BAK-2"):
        j.write(step, "started", ["master-0"])
        j.write(step, "finished", ["master-0"])
    j.write("BAK-3", "skipped", ["master-0"], reason="no cluster-wide proxy")
    j.write("BAK-4", "confirmed", ["master-0"], kind="yes/no")
    j.write("BAK-4", "started", ["master-0"])  # the console died here
    j.close()
    app = make_app(BackendSpec(scenario="healthy", speed=60), resume_path=str(path))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.current_mode == "backup", what="the backup screen")
        screen = app.screen
        # BAK-4's check finds no backup: it asks before acting again
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                         timeout=20, what="the BAK-4 confirmation")
        await press_button(app, pilot, "#yes")
        await wait_until(pilot, lambda: screen.finished is not None, timeout=30,
                         what="the resumed backup to finish")
        assert screen.finished == "done"
    records = read_journal(path)
    events = [(r["step"], r["event"]) for r in records if "command" not in r]
    assert ("-", "resumed") in events and events[-1] == ("-", "finished")
    assert [e for e in events if e[0] == "BAK-0"] == [("BAK-0", "started"), ("BAK-0", "finished")]
    assert ("BAK-5", "finished") in events


async def test_countdowns_show_their_unit_and_warnings_are_red(drill_app, tmp_path,
                                                               monkeypatch):
    """A waiting step says how long in the operator's (drill) time and at which speed; a
    RunEvent of kind "warning" is an error notification and a "!!" line in the log."""
    from screens.runbook import RunbookScreen
    from tui.runbooks.context import RunEvent

    RunUpdate = RunbookScreen.RunUpdate

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("healthy", speed=600)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot, "b")
        step = screen.runbook.steps[-1].id
        screen.post_message(RunUpdate(RunEvent("waiting", step, "the snapshot", remaining=250)))
        await pilot.pause()
        assert screen._step_detail[step] == "the snapshot (4m 10s left (drill time, x600))"
        screen.post_message(RunUpdate(RunEvent("warning", step, "something is still off")))
        await pilot.pause()
        assert f"!! [{step}] something is still off" in screen.query_one("#run-log").lines
        assert [n.severity for n in app._notifications
                if n.message == "something is still off"] == ["error"]


async def test_the_confirmation_of_a_custom_action_lists_its_planned_commands(drill_app):
    """The dialog for a step without step.commands shows what its preview says it will
    send, host by host, as the runner puts it in the request (markup-like text verbatim)."""
    import dataclasses

    from tests.test_runbook_engine import ScriptedOperator, _custom_action_runbook
    from screens.dialogs import ConfirmStepScreen
    from tui.runbooks.context import RunContext
    from tui.runbooks.runner import Runner

    app = drill_app("healthy")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="first snapshot")
        runbook = _custom_action_runbook()
        ctx = RunContext(backend=app.backend, journal=None, operator=ScriptedOperator())
        request = Runner(runbook, ctx)._confirm_request(runbook.steps[0],
                                                        ["master-0", "master-1"])
        assert request.commands == ["master-0: sudo -n sh -c /usr/local/bin/disable-etcd.sh",
                                    "master-1: sudo -n sh -c /usr/local/bin/disable-etcd.sh"]
        # what an oc command looks like: brackets are text, not markup
        request = dataclasses.replace(request, commands=request.commands + [
            "API: oc get nodes -o jsonpath='{.items[*].metadata.name}' [/x] [b]"])
        dialog = ConfirmStepScreen(request)
        app.push_screen(dialog)
        await wait_until(pilot, lambda: bool(dialog.query(".commands")), what="the dialog")
        shown = str(dialog.query_one(".commands").render())
        assert shown == "\n".join(request.commands)


async def test_a_journal_that_cannot_be_opened_ends_the_run_refused(drill_app, tmp_path,
                                                                     monkeypatch):
    # issue 12: a link as the journal is refused; the screen says why and is not left
    # "running" (g works again), and nothing is sent
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    target = tmp_path / "target"
    target.write_text("keep\n")
    link = tmp_path / "journal.jsonl"
    link.symlink_to(target)
    app = drill_app("healthy")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot, "b")
        screen.journal_path = link
        await pilot.press("g")
        await wait_until(pilot, lambda: screen.finished is not None, what="the refusal")
        assert screen.finished == "refused" and not screen.running
        assert str(link) in screen._last_error
        assert type(app.screen).__name__ == "BackupScreen"  # no confirmation was asked
        assert target.read_text() == "keep\n"
        files = app.backend.lab.cluster.host("master-0").files
        assert not any(p.startswith("/home/core/assets/backup/snapshot_") for p in files)


async def test_console_resume_of_an_encryption_off_journal_opens_the_screen_turned_off(
        tmp_path, monkeypatch):
    """The encryption screen picks its direction from the journal it resumes (the app once
    set the screen's field and called its private method for it)."""
    from textual.widgets import Select

    from tui.app import make_app
    from tui.backend import BackendSpec
    from tui.journal import Journal

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "encryption-off.jsonl"
    j = Journal(path, "encryption-off")
    j.write("-", "planned", params={}, steps=["ENC-OFF-1", "ENC-OFF-2", "ENC-OFF-3"])
    j.write("ENC-OFF-1", "started", [])  # the console died here
    j.close()
    app = make_app(BackendSpec(scenario="healthy", speed=60), resume_path=str(path))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.current_mode == "encryption",
                         what="the encryption screen")
        screen = app.screen_stack[0]  # (a confirmation may be on top of it)
        await wait_until(pilot, lambda: screen.journal_path is not None,
                         what="the resumed run")
        assert screen.RUNBOOK == "encryption-off"
        assert screen.query_one("#direction", Select).value == "off"
        assert screen.journal_path == path
