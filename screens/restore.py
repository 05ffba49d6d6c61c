"""The restore wizard (RST, RST by release, RSTN, QRS; PV aftercare).

Three phases on one screen, so a half-done restore survives a trip to the status view, each
a widget of its own: setup (screens/restore_setup.py: the procedure and why, the preflight,
the recovery host, the lost hosts, the backup, the start gate), run (screens/restore_run.py:
the steps, the highlighted step's plan, a live pane per host) and aftercare
(screens/restore_aftercare.py: the PV checklist, ticked off and journaled).

The screen runs the preflight and the run and keeps the setup's state (SetupState,
screens/restore_state.py); each phase shows what the screen hands it and sends the
operator's choices up as messages. The runbooks, their preflight and the aftercare list come
from tui.runbooks.restore: the screen sends the choices as the runbook's parameters.
"""

from __future__ import annotations

import time

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widgets import ContentSwitcher, Log, Static

from screens.restore_aftercare import AftercarePhase
from screens.restore_run import RunPhase, is_guard_warning
from screens.restore_setup import PROCEDURES, SetupPhase
from screens.restore_state import (
    DEFAULT_BACKUP_DIR,
    QUORUM,
    SetupField,
    SetupState,
    preflight_inputs,
    preflight_kind,
    shared_plan,
)
from screens.restore_state import restore_module as _restore
from screens.runbook import RunbookScreen
from tui.errors import EtcdDrError
from tui.journal import JournalState
from tui.runbooks.context import STEP_STATE, RunEvent, RunEventKind
from tui.runbooks.model import Runbook
from tui.runbooks.runner import Runner
from tui.widgets.api_state import ApiStateBox
from tui.widgets.banner import ClusterBanner
from tui.widgets.footer import QuietFooter
from tui.widgets.host_strip import HostStrip
from tui.widgets.redacted_log import RedactedLog
from tui.widgets.steady import SteadyStatic

__all__ = ["DEFAULT_BACKUP_DIR", "PHASES", "PREFLIGHT_PATIENCE", "PROCEDURES", "QUORUM",
           "RestoreScreen", "runbook_for"]

# a preflight under way this long (real seconds) is waiting on something that does not answer:
# a new reason to check cancels it and starts afresh rather than waiting behind it
PREFLIGHT_PATIENCE = 20.0
PHASES = ("setup", "run", "aftercare")


def runbook_for(procedure: str | None) -> Runbook | None:
    module = _restore()
    if not procedure:
        return None
    if procedure == QUORUM:
        return module.QUORUM_RESTORE
    return module.restore_runbook(procedure)


def _placeholder() -> Runbook:
    return Runbook(name="restore", title="Restore to a previous cluster state", steps=())


class RestoreScreen(RunbookScreen):
    RUNBOOK = "restore"
    BINDINGS = RunbookScreen.BINDINGS + [
        Binding("c", "recheck", "Re-check"),
        Binding("1", "phase('setup')", "Setup"),
        Binding("2", "phase('run')", "Run"),
        Binding("3", "phase('aftercare')", "Aftercare"),
        Binding("space", "tick", "Tick", show=False),
    ]

    # the setup's state (screens/restore_state.py), as the screen's own attributes
    report = SetupField()
    preflight_error = SetupField()
    checking = SetupField()
    recovery_host = SetupField()
    host_chosen = SetupField()
    suggested = SetupField()
    suggested_why = SetupField()
    lost_hosts = SetupField()
    lost_evidence = SetupField()
    unproven = SetupField()
    confirmed_lost = SetupField()

    def __init__(self) -> None:
        self.setup_state = SetupState()
        # the plan shown before the start, the one `run restore --dry-run` prints
        # (tui/runbooks/restore/plan.py): the log and the step panel render it
        self.restore_plan = None
        self.guard_warning: str | None = None
        self.current_step: str | None = None
        self.waiting: dict[str, str] = {}  # step -> what it waits for (and time left)
        self._preflight_asked = False
        self._unsubscribe = None
        self.live_context = None
        self._watched = 0
        self._reason_timer = None  # a re-check after the procedure's reason is typed
        self._lost_timer = None  # a re-check once refusing hosts would count as lost
        self._preflight_busy = False  # a preflight worker is under way
        self._preflight_began = 0.0  # when it began (time.monotonic)
        self._preflight_gen = 0  # which one is current
        self._recheck_again = False  # asked again meanwhile: run once more after it
        super().__init__()
        self._setup = SetupPhase(self.setup_state, id="setup")
        self._run_phase = RunPhase(id="run")
        self._aftercare = AftercarePhase(id="aftercare")

    def initial_runbook(self) -> Runbook:
        return _placeholder()  # the procedure is chosen in the setup phase

    STEP_COLUMNS = RunPhase.STEP_COLUMNS

    def step_cells(self, step) -> list:
        return RunPhase.step_cells(step)

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ClusterBanner(id="banner")
        with Horizontal(id="restore-strip"):
            yield HostStrip(id="hosts")
            yield ApiStateBox(id="api-state")
        yield SteadyStatic("", id="loud-warning")
        yield SteadyStatic("", id="phase-bar")
        with ContentSwitcher(initial="setup", id="phases"):
            yield self._setup
            yield self._run_phase
            yield self._aftercare
        yield SteadyStatic("", id="run-status")
        yield RedactedLog(max_lines=5000, id="run-log")
        yield QuietFooter()

    def on_mount(self) -> None:
        # Textual also calls RunbookScreen.on_mount (after this): no super() call
        self.query_one("#loud-warning", Static).display = False
        self.set_interval(1.0, self._watch)
        self._show_phase("setup")
        self._watch()

    # --- phases ---------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        try:
            return self.query_one("#phases", ContentSwitcher).current or "setup"
        except NoMatches:  # asked about bindings before the layout exists
            return "setup"

    def _show_phase(self, phase: str) -> None:
        self.query_one("#phases", ContentSwitcher).current = phase
        bar = "   ".join(f"[reverse] {i} {p} [/reverse]" if p == phase else f" {i} {p} "
                         for i, p in enumerate(PHASES, 1))
        self.query_one("#phase-bar", Static).update(bar)
        if phase == "aftercare":
            self._aftercare.focus_items()
        elif phase == "run":
            self._run_phase.focus_steps()
        self.refresh_bindings()

    def action_phase(self, phase: str) -> None:
        if phase in PHASES:
            self._show_phase(phase)

    # --- setup: procedure, preflight, recovery host ---------------------------------------

    def _watch(self) -> None:
        """Every second: the strip, the API's state, and the first preflight once the
        console has a picture of the hosts."""
        app = self.app
        snap = app.snapshot
        if snap is None:
            return
        now = app.clock()
        self.query_one(HostStrip).set_hosts(snap.hosts, now)
        change = self.query_one(ApiStateBox).show(snap.api, now)
        if change:
            self.query_one("#run-log", Log).write_line(f"-- {change}")
            if self.running:
                self.notify(change, timeout=8)
        self._run_phase.ensure_panes([h.name for h in snap.hosts])
        if self._unsubscribe is None and app.started and app.backend.fleet is not None:
            self._unsubscribe = app.backend.fleet.subscribe(self._run_phase.show_fleet_event)
        ops = self.live_context.cluster_ops if self.live_context is not None else None
        if ops is not None and ops.last_transport:
            self.query_one(ApiStateBox).border_subtitle = f"last API step: {ops.last_transport}"
        settled = all(h.state != "connecting" for h in snap.hosts) or \
            self._watched > 10  # a host still connecting after 10 s counts as lost
        self._watched += 1
        if not self._preflight_asked and app.started and settled and not self.running \
                and self.resume is None and self.finished is None:
            self._preflight_asked = True
            self._default_recovery_host()
            self.action_recheck()

    def _default_recovery_host(self) -> None:
        from tui.runbooks.restore_checks import rank_recovery_hosts

        snap = self.app.snapshot
        if snap is None:
            return
        ranked = rank_recovery_hosts(snap)
        self.setup_state.take_ranking(ranked)
        self._setup.show_candidates(ranked)
        self._setup.show_lost_hosts()

    def action_recheck(self) -> None:
        if self.running or not self.app.started:
            return
        stuck = time.monotonic() - self._preflight_began > PREFLIGHT_PATIENCE
        if self._preflight_busy and not stuck:
            # one more after the one under way, never instead of it: cancelling a preflight
            # for each new reason to check (a timer, a typed reason, a new ranking) could
            # starve every one of them on a loaded machine
            self._recheck_again = True
            return
        # none under way, or one that has waited too long on something (it is cancelled)
        self._preflight_busy, self._recheck_again = True, False
        self._preflight_began = time.monotonic()
        self._preflight_gen += 1
        gen = self._preflight_gen
        self.run_worker(self._preflight_then_again(gen), name="restore preflight",
                        group="preflight", exclusive=True, exit_on_error=False)
        # still that one, still under way after its patience: start afresh
        self.set_timer(PREFLIGHT_PATIENCE + 0.5, lambda: self._preflight_busy and
                       gen == self._preflight_gen and self.action_recheck())

    async def _preflight_then_again(self, gen: int) -> None:
        try:
            await self._preflight()
        finally:
            if gen == self._preflight_gen:  # not one cancelled for a newer one
                self._preflight_busy = False
        if gen == self._preflight_gen and self._recheck_again:
            self._recheck_again = False
            self.action_recheck()

    async def _preflight(self) -> None:
        self.checking = True
        self._show_gate()
        ctx = self._plain_context()
        ctx.params.pop("lost_hosts", None)  # the preflight decides who is lost, from SSH
        asked = preflight_inputs(ctx.params)
        await self.setup_state.check(ctx)
        if self.running:
            return
        self._show_report()
        if preflight_inputs(self._plain_context().params) != asked:
            # the operator changed a choice while it ran (the procedure, its reason, ...):
            # a report of the old choices must not gate the new ones
            self.action_recheck()

    def _show_report(self) -> None:
        report = self.report
        self._show_preflight_table()
        if report is None:
            self._show_gate()
            return
        recheck = self.setup_state.follow_report()
        self._setup.show_candidates()
        self._setup.show_lost_hosts()
        wait = report.lost_wait
        # one look-again at a time: an earlier report's timer is stale once a newer report
        # is here (it re-checked for nothing, once more, a moment later)
        if self._lost_timer is not None:
            self._lost_timer.stop()
            self._lost_timer = None
        if wait > 0:
            # hosts that refuse, but not for long enough yet: look again once they would be
            # lost on that alone (the operator may confirm them lost meanwhile)
            self._lost_timer = self.set_timer(wait + 0.5, self.action_recheck)
        self.setup_state.suggest_procedure()
        self._setup.suggest_procedure()
        self._show_procedure()
        self._show_gate()
        self.refresh_plan()
        self._tick()
        if recheck:
            self.action_recheck()

    def _show_preflight_table(self) -> None:
        self._setup.show_preflight()

    def _show_procedure(self) -> None:
        chosen = self.procedure
        self._setup.show_procedure()
        runbook = None
        try:
            runbook = runbook_for(chosen)
        except (KeyError, ValueError, EtcdDrError) as e:
            self.notify(f"no runbook for {chosen}: {e}", severity="error")
        if runbook is not None and (runbook.name != self.runbook.name
                                    or runbook.title != self.runbook.title):
            self.set_runbook(runbook)

    @property
    def procedure(self) -> str | None:
        return self._setup.procedure

    def choose_recovery_host(self, host: str) -> None:
        if self.running or not self.setup_state.choose_recovery_host(host):
            return
        self._setup.show_candidates()
        self.refresh_plan()  # the steps on the recovery host name the new one at once
        self.action_recheck()  # the backup checks are the recovery host's

    def refresh_plan(self) -> None:
        super().refresh_plan()
        # the step shown beside the table lists its planned hosts and commands: show it
        # from the new plan, not only when the cursor next moves
        self._show_step(self._shown_step())

    def plan_lines(self, ctx, plan) -> list[str]:
        """The plan `etcd-dr run restore --dry-run` prints, in its words (one function builds
        both, tui/runbooks/restore/plan.py): the procedure and why, the recovery host and its
        ranking, the lost hosts and their evidence, the backup, then every step. The checks
        are the preflight table above."""
        self.restore_plan = shared_plan(self.runbook, ctx)
        if self.restore_plan is None:
            return super().plan_lines(ctx, plan)
        return ([(f"Plan for {self.runbook.title} — nothing runs until you press g and "
                  f"confirm each mutating step.")] + self.restore_plan.summary_lines()
                + ["Steps:"] + self.restore_plan.step_lines())

    def confirm_lost(self, text: str) -> str | None:
        """The operator's typed confirmation that a host is lost: "HOST why". Returns what
        is wrong with it (None: accepted, and the preflight runs again)."""
        snap = self.app.snapshot
        problem = self.setup_state.confirm_lost(text, snap.hosts if snap is not None else [])
        if problem:
            return problem
        name, _, reason = text.strip().partition(" ")
        reason = reason.strip()
        self.notify(f"{name} confirmed lost: {reason}", timeout=8)
        self.action_recheck()
        return None

    # --- the setup phase's messages -------------------------------------------------------

    @on(SetupPhase.ProcedureChosen)
    def _procedure_chosen(self, message: SetupPhase.ProcedureChosen) -> None:
        kind = preflight_kind(message.procedure)
        self._show_procedure()
        self._show_gate()
        self.refresh_plan()
        if self.report is not None and self.report.procedure != kind and not self.running:
            self.action_recheck()  # the quorum restore checks other things

    @on(SetupPhase.ChoiceEdited)
    def _choice_edited(self, message: SetupPhase.ChoiceEdited) -> None:
        self._show_gate()
        if message.choice == "path-reason" and self.report is not None and not self.running:
            # the Procedure check reads the reason: check again once the typing pauses
            if self._reason_timer is not None:
                self._reason_timer.stop()
            self._reason_timer = self.set_timer(0.5, self.action_recheck)
        if message.choice in ("backup-dir", "backup-source"):
            self.refresh_plan()

    @on(SetupPhase.BackupSubmitted)
    def _backup_submitted(self) -> None:
        self.action_recheck()  # the backup checks read that directory

    @on(SetupPhase.LostHostConfirmed)
    def _lost_host_confirmed(self, message: SetupPhase.LostHostConfirmed) -> None:
        if self.running:
            return
        problem = self.confirm_lost(message.text)
        if problem:
            self.notify(f"Not confirmed: {problem}", severity="warning")
        else:
            self._setup.clear_lost_host_confirmation()

    @on(SetupPhase.RecoveryHostChosen)
    def _recovery_host_chosen(self, message: SetupPhase.RecoveryHostChosen) -> None:
        self.choose_recovery_host(message.host)

    # --- the gate ---------------------------------------------------------------------------

    def blocking_failures(self) -> list:
        return self.setup_state.blocking_failures()

    def start_blocked(self) -> str | None:
        """Why the run cannot start yet (None: it can)."""
        return self.setup_state.start_blocked(self.app.backend.read_only, self._setup)

    def _show_gate(self) -> None:
        self._setup.show_gate(self.app.backend.read_only)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "start":
            if self.running or not self.app.started or self.app.backend.read_only:
                return False
            if self.finished == "done":
                return False  # restored: another restore starts from a fresh console
            if self.finished == "aborted" and self.journal_path is not None:
                return True  # resume from the failed step
            return self.start_blocked() is None
        if action == "recheck":
            return not self.running and self.phase == "setup"
        if action == "tick":
            return self.phase == "aftercare" and bool(self.aftercare_items)
        return True

    def params(self) -> dict:
        return self.setup_state.params(self._setup)

    # --- running ----------------------------------------------------------------------------

    def action_start(self) -> None:
        if self.running or self.finished == "done":
            return
        going_on = self.resume is not None or (self.finished == "aborted"
                                               and self.journal_path is not None)
        if not going_on:  # a resumed run passed the gate when it began
            why = self.start_blocked()
            if why:
                self.notify(f"Not started: {why}", severity="warning")
                return
        self._show_phase("run")
        self._run_phase.clear_panes()
        super().action_start()

    def start_resume(self, path, state: JournalState) -> None:
        params = state.params or {}
        procedure = QUORUM if state.runbook == "quorum-restore" else params.get("path")
        runbook = runbook_for(procedure)
        if runbook is None:
            self.notify(f"{path}: this build cannot resume a {state.runbook} run",
                        severity="error")
            return
        self._preflight_asked = True  # a resumed run does not start over from the checks
        self.set_runbook(runbook)
        self._setup.resume_choices(procedure, params.get("backup_dir") or "",
                                    params.get("backup_source") or "",
                                    params.get("override") or "")
        self.recovery_host = params.get("recovery_host")
        self.lost_hosts = list(params.get("lost_hosts") or [])
        self._setup.show_lost_hosts()
        self._show_phase("run")
        self.resume = state
        self.refresh_plan()  # the exact commands beside each step, from the journal's params
        super().start_resume(path, state)

    def _plain_context(self):
        return super()._run_context(None)

    def _run_context(self, journal):
        ctx = super()._run_context(journal)
        if journal is not None:
            self.live_context = ctx  # the API box reads which transport its API steps used
        elif self.report is not None and self.resume is None and \
                self.report.procedure == ctx.params.get("procedure"):
            # the plan shown before the start: with what the preflight found, as the run's
            # own preflight will apply it (keepalived hosts, lost hosts, version)
            _restore().apply_report(ctx, self.report)
        return ctx

    def on_run_event(self, event: RunEvent) -> None:
        super().on_run_event(event)
        kind = event.kind
        if kind in (RunEventKind.COMMAND, RunEventKind.OUTPUT):
            return  # the panes hear these from the fleet
        if event.step in self._step_state:
            match kind:
                case RunEventKind.STEP:
                    self._plan_of_run()
                    self.current_step = event.step
                    self.waiting.pop(event.step, None)
                    self._run_phase.follow(event.step)
                    self._run_phase.step_began(event.step, event.text, event.hosts)
                case RunEventKind.WAITING:
                    left = f" ({self.countdown(event.remaining)})" \
                        if event.remaining is not None else ""
                    self.waiting[event.step] = f"{event.text}{left}"
                case _:
                    self.waiting.pop(event.step, None)
        if is_guard_warning(event) and kind is not RunEventKind.WARNING:
            self._loud(event.text)  # a WARNING came through loud_warning already
        if kind in STEP_STATE:
            shown = self._shown_step()
            if shown == event.step or shown is None:
                self._show_step(event.step)

    def _plan_of_run(self) -> None:
        """The plan beside the steps, from the run's own context once it runs: its preflight
        fixed what the plan shown before the start only previewed (RST-19's
        forceRedeploymentReason, stamped when the run begins) and its steps learn facts, so
        the panel names what the run sends, as the step's confirmation does."""
        ctx = self.live_context
        if ctx is None or not self.running:
            return
        try:
            self.planned = {p.step.id: p for p in Runner(self.runbook, ctx).plan()}
            self.restore_plan = shared_plan(self.runbook, ctx) or self.restore_plan
        except (KeyError, EtcdDrError):
            pass  # the plan shown before keeps standing

    def loud_warning(self, text: str) -> None:
        self._loud(text)

    def _loud(self, text: str) -> None:
        self.guard_warning = text
        widget = self.query_one("#loud-warning", Static)
        widget.update(f"!! {escape(text)}")
        widget.display = True
        self.notify(text, severity="error", timeout=60)

    def _shown_step(self) -> str | None:
        return self._run_phase.shown_step()

    def _show_step(self, step_id: str | None) -> None:
        if not step_id or step_id not in self._step_state:
            self._run_phase.show_no_step()
            return
        shared = self.restore_plan.step(step_id) if self.restore_plan is not None and \
            self.restore_plan.title == self.runbook.title else None
        self._run_phase.show_step(
            self.runbook.step(step_id), shared=shared, planned=self.planned.get(step_id),
            time_scale=self.time_scale, state=self._step_state.get(step_id, "pending"),
            waiting=self.waiting.get(step_id), last=self._step_detail.get(step_id))

    @on(RunPhase.StepHighlighted)
    def _step_highlighted(self, message: RunPhase.StepHighlighted) -> None:
        self._show_step(message.step_id)

    def run_finished(self) -> None:
        if self.finished == "done":
            self._aftercare.load(_restore(), self._run_context(journal=None),
                                 self.journal_path, self.RUNBOOK)

    # --- aftercare --------------------------------------------------------------------------

    @property
    def aftercare_items(self) -> list:
        return self._aftercare.items

    @property
    def ticked(self) -> dict[str, bool]:
        return self._aftercare.ticked

    @on(AftercarePhase.Loaded)
    def _aftercare_loaded(self, message: AftercarePhase.Loaded) -> None:
        if message.guard is not None and not self.guard_warning:
            self._loud(message.guard)
        self._aftercare.show(self.guard_warning)
        self.query_one("#run-status", Static).update(self._aftercare.summary())
        self._show_phase("aftercare")

    def action_tick(self) -> None:
        row = self._aftercare.cursor_row
        if self.phase == "aftercare" and row is not None:
            self._toggle(row)

    @on(AftercarePhase.ItemToggled)
    def _item_toggled(self, message: AftercarePhase.ItemToggled) -> None:
        self._toggle(message.row)

    def _toggle(self, row: int) -> None:
        if self._aftercare.toggle(row, self.guard_warning):
            self.query_one("#run-status", Static).update(self._aftercare.summary())

    def _tick(self) -> None:
        if self.phase == "aftercare" and self.aftercare_items:
            return  # the aftercare count is the status line then
        super()._tick()
        if not self.running and not self.finished and self.phase == "setup":
            why = self.start_blocked()
            if why and not self.app.backend.read_only:
                self.query_one("#run-status", Static).update(f"start blocked: {why}")
        shown = self._shown_step()
        if self.running and shown in self.waiting:
            self._show_step(shown)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

