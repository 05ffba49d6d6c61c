"""Every scenario's drill, pilot-driven along its ideal path (issue 7's Tests): the trainee
closes the briefing, opens the runbook's screen (b backup, d defrag, R restore), chooses the
ideal host, recovery host and backup directory in the screen's fields, presses g, answers
every confirmation, waits and retries as the ideal says, and the debrief comes up with the
scenario's expected score; and one deliberate mistake per scenario, counted by the session.

lost-two-hosts and ssh-drop-mid-restore are driven in tests/test_debrief.py.

Speed: every scenario runs at --speed 60 (issue 14). The RTO is the fair drill clock's time
(tui.pace): the cluster's waits and commands in simulated time, the trainee's deciding at
real speed, the console's processing not at all; the simulated trainee pauses 2-5 s before
every decision (tests.conftest.trainee_pause, counted on that clock without sleeping it out;
tests/test_debrief.py sleeps its pauses for real)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Input, Select

from tests.conftest import populated, press_button, trainee_pause, wait_until
from tui.app import make_app
from tui.backend import BackendSpec
from tui.drill.scenario import list_scenarios
from tui.drill.scenario import load_drill

IN_TEST_DEBRIEF = {"lost-two-hosts", "ssh-drop-mid-restore"}
SCENARIOS = [s.name for s in list_scenarios()
             if (d := load_drill(s.name)) is not None and d.runbook
             and s.name not in IN_TEST_DEBRIEF]
SPEED: dict[str, float] = {}  # per scenario; 60 unless said
DEFAULT_SPEED = 60.0
SCREEN_KEY = {"backup": "b", "defrag": "d", "restore": "R", "quorum-restore": "R"}
SCREEN_MODE = {"backup": "backup", "defrag": "defrag", "restore": "restore",
               "quorum-restore": "restore"}


def _speed(name: str) -> float:
    return SPEED.get(name, DEFAULT_SPEED)


def _session_app(scenario: str, speed: float):
    return make_app(BackendSpec(scenario=scenario, speed=speed), drill_session=True)


def _name(app) -> str:
    return type(app.screen).__name__


async def _brief(app, pilot) -> None:
    await wait_until(pilot, lambda: _name(app) == "BriefingScreen", what="the briefing")
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.session.started is not None, what="the clock to start")


async def _open(app, pilot, runbook: str):
    await wait_until(pilot, lambda: populated(app), timeout=30, what="first snapshot")
    await pilot.press(SCREEN_KEY[runbook])
    mode = SCREEN_MODE[runbook]
    await wait_until(pilot, lambda: app.current_mode == mode, what=f"the {mode} screen")
    return app.screen


async def _type_confirmation(app, pilot, dialog, text: str) -> None:
    await wait_until(pilot, lambda: bool(dialog.query(Input)), what="the confirmation's input")
    box = dialog.query_one(Input)
    box.focus()
    box.value = text
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def _answer(app, pilot, screen, *, retry: set[str] = frozenset(),
                  typo_at: str | None = None, skip_at: str | None = None,
                  until=None, timeout: float = 120) -> str | None:
    """Answer every dialog of the run as the trainee would, until it ends (or `until()`):
    typed confirmations typed (wrong first at `typo_at`: "*" is the first typed one), "Go
    ahead" pressed, a failed step in `retry` retried once its hosts answer, one at `skip_at`
    skipped with a reason. Returns the step where a typo was made."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    typo_made = None
    while screen.finished is None and not (until and until()):
        await wait_until(pilot, lambda: screen.finished is not None or (until and until())
                         or _name(app) in ("ConfirmStepScreen", "FailureScreen"),
                         timeout=max(1.0, deadline - loop.time()), what="the run")
        dialog = app.screen
        name = type(dialog).__name__
        if name in ("FailureScreen", "ConfirmStepScreen"):
            await trainee_pause(app)  # reads the dialog, then decides
        if name == "FailureScreen":
            # pushed is not yet composed: wait for its buttons before pressing one
            await wait_until(pilot, lambda: bool(dialog.query("#retry")) or app.screen
                             is not dialog, what="the failure dialog's buttons")
            if app.screen is not dialog:
                continue
            if dialog.step_id == skip_at:
                dialog.query_one("#reason", Input).value = "it will sort itself out"
                await press_button(app, pilot, "#skip")
                skip_at = None
                continue
            if dialog.step_id not in retry:
                raise AssertionError(f"{dialog.step_id} failed: {dialog.error}")
            await _until_hosts_answer(app)
            await press_button(app, pilot, "#retry")
            continue
        if name != "ConfirmStepScreen":
            continue
        step = dialog.request.step.id
        if dialog.typed:
            if typo_at in (step, "*"):
                before = len(app.session.mistakes)
                await _type_confirmation(app, pilot, dialog, dialog.request.expected + "x")
                assert app.screen is dialog, "a typo must ask again"
                assert len(app.session.mistakes) == before + 1
                typo_at, typo_made = None, step
            await _type_confirmation(app, pilot, dialog, dialog.request.expected)
            await wait_until(pilot, lambda: app.screen is not dialog,
                             what=f"the confirmation of {step} to go")
        else:
            await press_button(app, pilot, "#yes")
    return typo_made


async def _until_hosts_answer(app, timeout: float = 30.0) -> None:
    """What a trainee does before a retry: watch the status until every host that is up
    answers again."""
    from tui.fleet.commands import Command

    backend = app.backend
    cluster = backend.lab.cluster
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        answers = [await backend.fleet.run_one(h.name, Command.of("true", timeout=5),
                                               quiet=True) for h in cluster.hosts if h.up]
        if all(r.ok for r in answers):
            return
        await asyncio.sleep(0.2)


# --- the screens' fields --------------------------------------------------------------------

async def _backup_setup(app, pilot, screen, host: str) -> None:
    await wait_until(pilot, lambda: isinstance(screen.query_one("#backup-host", Select).value,
                                               str), what="a host in the backup screen")
    select = screen.query_one("#backup-host", Select)
    if select.value != host:
        select.value = host
        await pilot.pause()
    assert screen.params()["host"] == host


async def _restore_setup(app, pilot, screen, drill, *, host: str | None = None,
                         backup_dir: str | None = None, procedure: str | None = None,
                         procedure_reason: str = "") -> None:
    """The wizard's setup phase: the preflight, then the trainee's choices (recovery host in
    the candidates table, the backup directory typed and submitted, the procedure)."""
    ready = lambda: screen.report is not None and not screen.checking  # noqa: E731
    await wait_until(pilot, ready, timeout=30, what="the preflight")
    await pilot.pause()
    await trainee_pause(app)  # reads the preflight and the candidates
    host = host or drill.ideal_host
    if host and screen.recovery_host != host:
        table = screen.query_one("#candidates", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(host))
        await pilot.press("enter")
        await wait_until(pilot, lambda: ready() and screen.report.recovery_host == host,
                         timeout=30, what=f"the preflight for {host}")
    if backup_dir:
        box = screen.query_one("#backup-dir", Input)
        box.focus()
        box.value = backup_dir
        await pilot.pause()
        await pilot.press("enter")  # submitted: the backup checks read that directory
        await pilot.pause()
        await wait_until(pilot, ready, timeout=30, what="the preflight of the directory")
        screen.query_one("#candidates", DataTable).focus()  # off the input: g is a key again
    if procedure and screen.procedure != procedure:
        screen.query_one("#procedure", Select).value = procedure
        await pilot.pause()
        if procedure_reason:
            screen.query_one("#path-reason", Input).value = procedure_reason
        screen.query_one("#candidates", DataTable).focus()
        await pilot.pause()
        await wait_until(pilot, ready, timeout=30, what="the preflight of the procedure")
    await pilot.pause()
    # lost hosts are proven by 60 s of refusals in drill time (1 s real), but a preflight can
    # wait out a command's 15 s timeout on a loaded machine before it looks again
    await wait_until(pilot, lambda: ready() and screen.start_blocked() is None, timeout=45,
                     what=f"the start gate ({screen.start_blocked()})")


async def _setup(app, pilot, drill, screen, **kw) -> None:
    if drill.runbook == "backup":
        await _backup_setup(app, pilot, screen, kw.get("host") or drill.ideal_host)
    elif drill.runbook in ("restore", "quorum-restore"):
        await _restore_setup(app, pilot, screen, drill,
                             backup_dir=kw.pop("backup_dir", drill.ideal.backup_dir),
                             **kw)
    else:
        await wait_until(pilot, lambda: screen.check_action("start", ()), what="the start")


async def _wait_ideal(app, drill) -> None:
    minutes = drill.ideal.wait_minutes
    if minutes:  # the trainee watches the status view until the cluster is ready
        await asyncio.sleep(app.backend.lab.cluster.clock.real_seconds(float(minutes) * 60))


async def _debrief(app, pilot):
    await wait_until(pilot, lambda: _name(app) == "DebriefScreen", timeout=30,
                     what="the debrief")
    await pilot.pause()
    return app.screen


def _retries(drill) -> set[str]:
    return set(drill.ideal.retry)


# --- the ideal path -------------------------------------------------------------------------

@pytest.mark.parametrize("name", SCENARIOS)
async def test_the_ideal_path_through_the_console_scores_the_expected_score(
        name, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    drill = load_drill(name)
    app = _session_app(name, _speed(name))
    async with app.run_test(size=(160, 50)) as pilot:
        await _brief(app, pilot)
        screen = await _open(app, pilot, drill.runbook)
        await _setup(app, pilot, drill, screen)
        await _wait_ideal(app, drill)
        await trainee_pause(app)  # reads the plan before starting it
        await pilot.press("g")
        await _answer(app, pilot, screen, retry=_retries(drill))
        assert screen.finished == "done", screen.finished
        debrief = await _debrief(app, pilot)
        session = app.session
        assert session.ended is not None and "runbook finished" in session.end_reason
        assert session.mistakes == [] and session.hints == [], session.mistakes
        score = debrief.debrief.score
        assert score.total == drill.expected_score, (score, session.elapsed())
        assert f"Score: {drill.expected_score}" in str(
            debrief.query_one("#debrief-score").render())
        assert "followed the ideal path" in str(
            debrief.query_one("#debrief-differences").render())
        for step in _retries(drill):  # the step the ideal path retries failed, then finished
            timing = next(t for t in debrief.debrief.steps if t.step == step)
            assert timing.failures >= 1 and timing.outcome == "finished", timing
        print(f"{name}: {session.elapsed() / 60:.1f} of {drill.rto_minutes:g} drill minutes")


# --- one deliberate mistake per scenario ----------------------------------------------------

# what the trainee gets wrong, and the mistake the session counts for it
MISTAKES = {
    "healthy": ("wrong-host", {"host": "master-1"}),  # the leader (a trap)
    "host-down": ("wrong-host", {"host": "master-0"}),  # the leader (a trap)
    "encryption-in-progress": ("refused-action", {}),  # g before the migration completes
    "nospace": ("skip-step", {"skip_at": "DEF-MAN-2"}),  # the timed-out defrag (a trap)
    "two-snapshots": ("wrong-backup", {"backup_dir": "/home/core/backups/previous"}),
    "lost-two-hosts-4.16": ("wrong-path", {"procedure": "4.12-4.13",
                                           "procedure_reason": "the runbook I know"}),
    "lost-two-hosts-4.18": ("wrong-path", {"procedure": "4.14-4.17",
                                           "procedure_reason": "the runbook I know"}),
    # master-1 as the recovery host is blocked by the preflight (its raft index is lower):
    # past it only with an override, a second mistake; a typo is one
    "quorum-lost-4.18": ("confirmation-typed-wrong", {"typo_at": "*"}),
    "backup-other-zstream": ("confirmation-typed-wrong", {"typo_at": "*"}),
    "kubelet-certs-rotated": ("confirmation-typed-wrong", {"typo_at": "*"}),
    "pending-csrs": ("confirmation-typed-wrong", {"typo_at": "*"}),
    "webhook-blocks-ovn": ("confirmation-typed-wrong", {"typo_at": "*"}),
    # current releases
    "healthy-4.20": ("wrong-host", {"host": "master-2"}),  # the leader (a trap)
    "lost-two-hosts-4.20": ("wrong-path", {"procedure": "4.14-4.17",
                                           "procedure_reason": "the runbook I know"}),
    "lost-two-hosts-4.21": ("wrong-path", {"procedure": "4.14-4.17",
                                           "procedure_reason": "the runbook I know"}),
    "quorum-lost-4.21": ("confirmation-typed-wrong", {"typo_at": "*"}),
}
# runs short enough to finish after the mistake, and end on the debrief
TO_THE_END = {"healthy", "host-down", "healthy-4.20"}


def test_every_scenario_has_a_deliberate_mistake():
    assert set(MISTAKES) == set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
async def test_a_deliberate_mistake_in_each_scenario_is_counted(name, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    drill = load_drill(name)
    kind, how = MISTAKES[name]
    how = dict(how)
    app = _session_app(name, _speed(name))
    async with app.run_test(size=(160, 50)) as pilot:
        await _brief(app, pilot)
        screen = await _open(app, pilot, drill.runbook)
        session = app.session
        counted = lambda: bool(session.mistakes)  # noqa: E731
        if kind == "refused-action":
            await _setup(app, pilot, drill, screen)
            await pilot.press("g")  # without waiting for the migration
            await wait_until(pilot, lambda: screen.finished == "refused", what="the refusal")
        else:
            answer = {k: how.pop(k) for k in ("typo_at", "skip_at") if k in how}
            await _setup(app, pilot, drill, screen, **how)
            await pilot.press("g")
            await _answer(app, pilot, screen, retry=_retries(drill), **answer,
                          until=None if name in TO_THE_END else counted)
        await wait_until(pilot, counted, what="the mistake")
        await pilot.pause()
        assert [m.kind for m in session.mistakes] == [kind], session.mistakes
        if name in TO_THE_END:
            assert screen.finished == "done", screen.finished
            debrief = await _debrief(app, pilot)
            assert debrief.debrief.score.total == drill.expected_score - 10, \
                debrief.debrief.score
            assert kind in str(debrief.query_one("#debrief-mistakes").render())
        else:
            assert session.score().total == drill.expected_score - 10, session.score()
        trap = next((t for t in drill.traps_of(kind) if t.host in (None, how.get("host"))),
                    None)
        if trap is not None:
            assert trap.detail in session.mistakes[0].detail
