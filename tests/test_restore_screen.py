"""Pilot tests of the restore wizard on the drill: the setup phase (procedure and why,
preflight, recovery hosts, the start gate), full restores of the four scenarios ending on the
aftercare checklist, and a resume after the console stopped mid-restore."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Input, Select

from tests.conftest import answer_confirmation, populated, wait_until
from tui.journal import read_journal

BACKUP_DIR = "/home/core/assets/backup"
SPEED = 600  # a drill minute in a tenth of a second: the restore's waits are minutes long


def _needs_restore_runbooks():
    pytest.importorskip("tui.runbooks.restore", reason="the restore runbooks are not built yet")


async def _open(app, pilot):
    await wait_until(pilot, lambda: populated(app), what="first snapshot")
    await pilot.press("R")
    await wait_until(pilot, lambda: app.current_mode == "restore", what="the restore wizard")
    return app.screen


async def _checked(pilot, screen, timeout=30):
    # lost only on evidence: hosts that refuse SSH are lost once they have refused for 60 s
    # of drill time; the wizard checks again by itself when that time has passed
    await wait_until(pilot, lambda: screen.report is not None and not screen.checking
                     and not screen.report.lost_wait,
                     timeout=timeout, what=f"the preflight ({screen.preflight_error})")
    await pilot.pause()


def _rows(screen, table_id):
    table = screen.query_one(table_id, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _text(screen, selector) -> str:
    return str(screen.query_one(selector).render())


def _log(screen) -> str:
    return "\n".join(screen.query_one("#run-log").lines)


async def _answer_until_done(app, pilot, screen, timeout=80):
    """Answer every confirmation as an operator would (typing the name when asked); a step
    failing fails the test with what the failure dialog says. The timeout stays under
    pytest's (120 s), so a restore that stalls fails here, with the run log."""
    asked = []

    def waiting_for_operator():
        # any dialog on top waits for the operator: this loop answers two kinds, and says
        # what any other one asks rather than waiting for it until the test times out
        return screen.finished is not None or app.screen.is_modal

    deadline = asyncio.get_running_loop().time() + timeout
    while screen.finished is None:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"the restore did not finish; asked {asked}\n{_log(screen)}"
        await wait_until(pilot, waiting_for_operator, timeout=remaining,
                         what=f"the restore to finish or ask (asked so far: {asked})")
        dialog = app.screen
        name = type(dialog).__name__
        if name == "FailureScreen":
            raise AssertionError(f"{dialog.step_id} failed: {dialog.error}\n{_log(screen)}")
        if name == "UnknownStateScreen":
            q = dialog.question
            raise AssertionError(f"{q.step_id} on {q.host}: unknown ({q.detail}); seen "
                                 f"{q.seen}\n{_log(screen)}")
        if name != "ConfirmStepScreen":
            if dialog.is_modal:
                raise AssertionError(f"an unexpected dialog: {name}\n{_log(screen)}")
            continue
        # a phase's question asks for every step it covers (this one first)
        asked.append(dialog.request.covers or (dialog.request.step.id,))
        await answer_confirmation(app, pilot)
    return asked


def _typed_rstn02(monkeypatch) -> None:
    """RSTN-02 (disable-etcd.sh on every control-plane host) asks for the cluster name, as
    the other destructive multi-host steps do."""
    import dataclasses

    import screens.restore as wizard
    from tui.runbooks.model import Confirm

    plain = wizard.runbook_for

    def runbook_for(procedure):
        runbook = plain(procedure)
        if runbook is None:
            return None
        steps = tuple(dataclasses.replace(s, confirm=Confirm.TYPE_CLUSTER)
                      if s.id == "RSTN-02" else s for s in runbook.steps)
        return dataclasses.replace(runbook, steps=steps)

    monkeypatch.setattr(wizard, "runbook_for", runbook_for)


# --- setup --------------------------------------------------------------------------------


async def test_the_wizard_shows_the_procedure_preflight_and_recovery_hosts(drill_app, tmp_path,
                                                                           monkeypatch):
    _needs_restore_runbooks()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("lost-two-hosts", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        assert type(screen).__name__ == "RestoreScreen" and screen.phase == "setup"
        await _checked(pilot, screen)
        # which procedure, and why: the version and where it came from
        assert screen.procedure == "4.12-4.13"
        why = _text(screen, "#path-why")
        assert "4.12.30" in why and "RST" in why
        assert screen.runbook.name == "restore"
        assert {"RST-04", "RST-08", "RST-16"} <= {s.id for s in screen.runbook.steps}
        # the preflight items, each green or red
        items = _rows(screen, "#preflight")
        assert len(items) >= 3 and all(r[0] in ("ok", "warn", "FAIL") for r in items)
        assert any(r[1] == "Backup directory: one snapshot and one tarball, same timestamp"
                   and r[0] == "ok" for r in items), items
        # the ranked recovery hosts with their reasons, the best chosen by default
        candidates = _rows(screen, "#candidates")
        assert [r[1] for r in candidates][0] == "master-0"
        assert candidates[0][0] == "chosen" and "reachable" in candidates[0][2]
        assert screen.recovery_host == "master-0"
        assert screen.lost_hosts == ["master-1", "master-2"]
        assert "master-1, master-2" in _text(screen, "#lost-hosts")
        assert "master-1: connection refused on every SSH connection" in \
            _text(screen, "#lost-hosts")
        # the plan: exact commands with hosts, before anything runs
        assert "master-0$" in _log(screen) and "cluster-restore.sh" in _log(screen)
        # the API's state is on this screen
        assert "AWAY" in _text(screen, "#api-state")


async def test_a_failed_blocking_check_blocks_the_start_until_a_typed_override(
        drill_app, tmp_path, monkeypatch):
    _needs_restore_runbooks()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("lost-two-hosts", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="first snapshot")
        # a second backup in the directory: the restore script would take the last of each
        files = app.backend.lab.cluster.host("master-0").files
        snapshot = next(p for p in files if p.startswith(f"{BACKUP_DIR}/snapshot_"))
        files[f"{BACKUP_DIR}/snapshot_2020-01-01_000000.db"] = files[snapshot]
        screen = await _open(app, pilot)
        await _checked(pilot, screen)
        failed = screen.blocking_failures()
        assert failed, _rows(screen, "#preflight")
        assert any("FAIL" == r[0] for r in _rows(screen, "#preflight"))
        assert "blocking check" in screen.start_blocked()
        assert app.screen.check_action("start", ()) is False
        await pilot.press("g")
        await pilot.pause(0.2)
        assert not screen.running and screen.phase == "setup"
        assert "Start blocked" in _text(screen, "#start-gate")
        # a typed reason lets it start (journaled as an override)
        screen.query_one("#override", Input).value = "the older snapshot is the one to use"
        await pilot.pause()
        assert screen.start_blocked() is None
        assert "override" in _text(screen, "#start-gate")
        assert screen.params()["override"] == "the older snapshot is the one to use"


async def test_another_procedure_than_the_detected_one_needs_a_reason(drill_app, tmp_path,
                                                                     monkeypatch):
    _needs_restore_runbooks()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("lost-two-hosts", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        await _checked(pilot, screen)
        screen.query_one("#procedure", Select).value = "4.14-4.17"
        await pilot.pause()
        assert "instead of 4.12-4.13" in screen.start_blocked()
        assert "RST-04g" in {s.id for s in screen.runbook.steps} or \
            screen.runbook.title != ""
        screen.query_one("#path-reason", Input).value = "the cluster was upgraded yesterday"
        await pilot.pause()
        if not screen.blocking_failures():
            assert screen.start_blocked() is None
        assert "the cluster was upgraded yesterday" in screen.params()["path_reason"]
        # once checked again the wizard settles: the suggestion stays the detected procedure
        # and the reason is the operator's, once (the report's own path once came back as
        # the suggestion, wrapping the reason again on every check: an endless re-check loop)
        await _checked(pilot, screen)
        runs = []
        original = screen._preflight

        async def counted():
            runs.append(1)
            await original()

        screen._preflight = counted
        await asyncio.sleep(1.5)
        await pilot.pause()
        assert len(runs) <= 1, f"{len(runs)} preflights in 1.5 s with nothing changed"
        assert screen.suggested == "4.12-4.13"
        assert screen.params()["path_reason"] == \
            "chosen by the operator instead of 4.12-4.13: the cluster was upgraded yesterday"


async def test_read_only_console_shows_the_wizard_but_cannot_start(drill_app):
    app = drill_app("lost-two-hosts", read_only=True)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        assert type(screen).__name__ == "RestoreScreen"
        assert app.screen.check_action("start", ()) is False
        assert "read-only" in screen.start_blocked()
        await pilot.press("g")
        await pilot.pause(0.2)
        assert not screen.running and screen.journal_path is None
        # the other runbook screens stay out of reach; the wizard is offered (seen from the
        # status view: no screen offers its own key)
        await app.switch_mode("status")
        assert app.check_action("switch_mode", ("backup",)) is False
        assert app.check_action("switch_mode", ("restore",)) is True


# --- full restores ------------------------------------------------------------------------


@pytest.mark.parametrize("scenario,procedure", [
    ("lost-two-hosts", "4.12-4.13"),
    ("lost-two-hosts-4.16", "4.14-4.17"),
    ("lost-two-hosts-4.18", "4.18+"),
    ("quorum-lost-4.18", "quorum"),
])
async def test_a_full_restore_ends_on_the_aftercare_checklist(drill_app, tmp_path, monkeypatch,
                                                              scenario, procedure):
    _needs_restore_runbooks()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app(scenario, speed=SPEED)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        await _checked(pilot, screen)
        assert screen.procedure == procedure, _text(screen, "#path-why")
        assert screen.start_blocked() is None, _rows(screen, "#preflight")
        await pilot.press("g")
        await wait_until(pilot, lambda: screen.phase == "run", what="the run phase")
        asked = await _answer_until_done(app, pilot, screen)
        assert screen.finished == "done", _log(screen)
        restore_script = {"4.12-4.13": "RST-08", "4.14-4.17": "RST-08", "4.18+": "RSTN-04",
                          "quorum": "QRS-03"}[procedure]
        assert any(restore_script in covers for covers in asked), asked
        # the host panes got what was sent to the recovery host
        pane = screen.query_one("#log-master-0")
        await wait_until(pilot, lambda: pane.line_count > 0, what="the recovery host's pane")
        # every step ended in a state the operator can read
        states = set(screen._step_state.values())
        assert states <= {"done", "already-done", "skipped"}, screen._step_state
        # the API went away and came back: the strip says it answers
        await wait_until(pilot, lambda: "answers" in _text(screen, "#api-state"), timeout=30,
                         what="the API to answer again")
        # aftercare: PV-1..4 to tick off, ticks journaled
        await wait_until(pilot, lambda: screen.phase == "aftercare" and screen.aftercare_items,
                         timeout=30, what="the aftercare checklist")
        ids = [r[1] for r in _rows(screen, "#aftercare-items")]
        assert {"PV-1", "PV-2", "PV-3", "PV-4"} <= set(ids), ids
        screen.query_one("#aftercare-items", DataTable).focus()
        await pilot.press("space")
        await pilot.pause()
        assert screen.ticked[ids[0]] is True
        records = read_journal(screen.journal_path)
        assert any(r["step"] == ids[0] and r["event"] == "confirmed"
                   and r.get("ticked") is True for r in records)
        assert ("-", "finished") in [(r["step"], r["event"]) for r in records]
        assert not screen.guard_warning, screen.guard_warning


# --- crash safety -------------------------------------------------------------------------


@pytest.mark.parametrize("scenario,script_step,typed", [
    ("lost-two-hosts", "RST-08", ()),
    ("lost-two-hosts-4.18", "RSTN-04", ()),
    # whichever steps ask for a typed name, the operator here types it
    ("lost-two-hosts-4.18", "RSTN-04", ("RSTN-02",)),
])
async def test_resume_reopens_the_wizard_and_finishes_the_restore(tmp_path, monkeypatch,
                                                                  scenario, script_step, typed):
    """The console stops while the restore script's confirmation is on screen; started
    again with --resume it reopens the wizard on the run phase and finishes."""
    _needs_restore_runbooks()
    from tui.app import make_app
    from tui.backend import BackendSpec

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    if typed:
        _typed_rstn02(monkeypatch)
    kinds, answered = {}, set()
    app = make_app(BackendSpec(scenario=scenario, speed=SPEED))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        await _checked(pilot, screen)
        await pilot.press("g")
        while True:  # confirm what comes before the restore script, stop at its question
            await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStepScreen",
                             timeout=60, what=f"the {script_step} confirmation")
            request = app.screen.request
            for step_id in request.covers or (request.step.id,):
                kinds[step_id] = request.kind
            if script_step in (request.step.id, *request.covers):
                break  # the script's question (alone, or in its phase's)
            answered.update(request.covers or (request.step.id,))
            await answer_confirmation(app, pilot)
        journal = screen.journal_path
        # the console goes away here, with the dialog open
    records = read_journal(journal)
    assert ("-", "finished") not in [(r["step"], r["event"]) for r in records]
    for step_id in typed:  # asked for the cluster name, typed, and went on
        assert kinds[step_id].value == "type the cluster name", kinds
        # (a step confirmed with the script, in one phase's question, was not answered yet)
        assert step_id not in answered or any(r["step"] == step_id and r["event"] == "confirmed"
                   and r.get("kind") == "type the cluster name" for r in records), step_id
    done_before = {r["step"] for r in records if r["event"] in ("finished", "skipped",
                                                                "already-done")} - {"-"}

    app = make_app(BackendSpec(scenario=scenario, speed=SPEED), resume_path=str(journal))
    async with app.run_test(size=(160, 50)) as pilot:
        def wizard():
            return next((s for s in app.screen_stack if type(s).__name__ == "RestoreScreen"),
                        None)

        await wait_until(pilot, lambda: app.current_mode == "restore" and wizard() is not None
                         and wizard().running, timeout=20, what="the wizard to resume")
        screen = wizard()
        assert screen.phase == "run" and screen.runbook.name == "restore"
        assert screen.recovery_host == "master-0"
        for step_id in done_before:
            assert screen._step_state[step_id] == "done", step_id
        asked = await _answer_until_done(app, pilot, screen)
        assert screen.finished == "done", _log(screen)
        assert script_step in asked[0], asked  # asked again (alone, or in its phase)
        await wait_until(pilot, lambda: screen.phase == "aftercare", timeout=30,
                         what="the aftercare checklist")
    events = [(r["step"], r["event"]) for r in read_journal(journal) if "command" not in r]
    assert ("-", "resumed") in events and ("-", "finished") in events
    after = events[events.index(("-", "resumed")):]
    assert not [step for step in done_before if (step, "started") in after], \
        "a step done before the stop ran again"


async def test_a_quorum_guard_left_off_is_a_loud_warning(drill_app, tmp_path, monkeypatch):
    """What the runbook says at its end when the guard stayed off turns into a red line at
    the top of the wizard and a notification; turning it off on purpose (RSTN-05) does not."""
    _needs_restore_runbooks()
    from screens.runbook import RunbookScreen
    from tui.runbooks.context import RunEvent

    RunUpdate = RunbookScreen.RunUpdate

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("lost-two-hosts-4.18", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        await _checked(pilot, screen)
        warning = screen.query_one("#loud-warning")
        assert not warning.display
        screen.post_message(RunUpdate(RunEvent(
            "done", "RSTN-05", "done: the quorum guard is off (unsupportedConfigOverrides set)")))
        await pilot.pause()
        assert not warning.display and screen.guard_warning is None
        text = ("WARNING: THE QUORUM GUARD IS STILL OFF: etcd/cluster keeps "
                "unsupportedConfigOverrides. Turn it back on (RST-20)")
        screen.post_message(RunUpdate(RunEvent("note", "RST-25", text)))
        await pilot.pause()
        assert warning.display and "QUORUM GUARD IS STILL OFF" in _text(screen, "#loud-warning")
        assert screen.guard_warning == text
        # the same as a RunEvent of kind "warning": loud once (one notification, not two)
        loud = "WARNING: THE QUORUM GUARD IS STILL OFF (as a warning)"
        screen.post_message(RunUpdate(RunEvent("warning", "RST-25", loud)))
        await pilot.pause()
        assert screen.guard_warning == loud and "(as a warning)" in _text(screen,
                                                                          "#loud-warning")
        assert [n.severity for n in app._notifications if n.message == loud] == ["error"]
        # a countdown in the wizard says its unit and the drill's speed
        step = screen.runbook.steps[-1].id
        screen.post_message(RunUpdate(RunEvent("waiting", step, "the API", remaining=250)))
        await pilot.pause()
        assert screen.waiting[step] == "the API (4m 10s left (drill time, x60))"


async def test_the_command_palette_opens_the_wizard(drill_app):
    app = drill_app("lost-two-hosts")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="first snapshot")
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette",
                         what="the palette")
        await pilot.press(*"restore wizard")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.current_mode == "restore", what="the wizard")


async def test_choosing_another_recovery_host_checks_again_for_it(drill_app, tmp_path,
                                                                 monkeypatch):
    _needs_restore_runbooks()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("healthy", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        await _checked(pilot, screen)
        assert screen.lost_hosts == []
        other = next(r[1] for r in _rows(screen, "#candidates") if r[1] != screen.recovery_host)
        table = screen.query_one("#candidates", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(other))
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.report is not None and not screen.checking
                         and screen.report.recovery_host == other, timeout=30,
                         what=f"the preflight for {other}")
        assert screen.recovery_host == other and screen.params()["recovery_host"] == other
        assert next(r for r in _rows(screen, "#candidates") if r[1] == other)[0] == "chosen"
        assert f"{other}:" in screen.params()["backup_source"]


async def test_the_wizard_proposes_the_host_that_holds_the_backup(drill_app, tmp_path,
                                                                  monkeypatch):
    """kubelet-certs-rotated: every host answers, the backup is on master-0 only. The wizard
    proposes master-0 (as `run restore` does), not the raft-index favourite whose backup
    check would fail."""
    _needs_restore_runbooks()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("kubelet-certs-rotated", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        await wait_until(pilot, lambda: screen.report is not None and not screen.checking
                         and screen.report.recovery_host == "master-0", timeout=30,
                         what=f"master-0 proposed (now {screen.recovery_host})")
        assert screen.recovery_host == "master-0" and not screen.host_chosen
        assert "holds the backup" in "; ".join(screen.report.candidates[0].reasons)
        assert not [i.key for i in screen.blocking_failures() if i.key in ("backup", "snapshot")]
