"""The restore wizard (RST, RST by release, RSTN, QRS; PV aftercare).

Three phases on one screen, so a half-done restore survives a trip to the status view:
1. setup: which procedure applies and why (with a typed-reason override), the preflight
   (green/red, blocking), the ranked recovery hosts, the backup directory, the lost hosts;
   the start stays blocked until the preflight is green or overridden with a typed reason;
2. run: the steps with their state beside the current step's explanation, commands and
   hosts, a live pane per host, waits with what they wait for; the API's state in the strip;
3. aftercare: the PV-1..4 checklist with the cluster's PVs, ticked off and journaled, and the
   RST-25 reminders.

The runbooks, their preflight and the aftercare list come from tui.runbooks.restore: the
screen renders them and sends the operator's choices as the runbook's parameters.
"""

from __future__ import annotations

import inspect
import time

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, DataTable, Input, Label, Log, Select, Static

from screens.runbook import SHORT_TARGETS as _SHORT_TARGETS
from screens.runbook import RunbookScreen
from tui.errors import EtcdDrError
from tui.journal import Journal, JournalState
from tui.runbooks.context import STEP_STATE, RunEvent, RunEventKind
from tui.runbooks.model import Runbook
from tui.runbooks.runner import Runner
from tui.widgets.api_state import ApiStateBox
from tui.widgets.banner import ClusterBanner
from tui.widgets.fit_table import FitTable
from tui.widgets.footer import QuietFooter
from tui.widgets.host_log import FLUSH_INTERVAL, HostLog
from tui.widgets.redacted_log import RedactedLog
from tui.widgets.host_strip import HostStrip
from tui.widgets.steady import SteadyStatic

DEFAULT_BACKUP_DIR = "/home/core/assets/backup"
QUORUM = "quorum"  # the procedure choice for QRS (no backup)
# a preflight under way this long (real seconds) is waiting on something that does not answer:
# a new reason to check cancels it and starts afresh rather than waiting behind it
PREFLIGHT_PATIENCE = 20.0
PROCEDURES = [
    ("restore from a backup, 4.12-4.13 (RST as written)", "4.12-4.13"),
    ("restore from a backup, 4.14-4.17 (RST by release)", "4.14-4.17"),
    ("restore from a backup, 4.18+ (RSTN)", "4.18+"),
    ("quorum restore without a backup, 4.18+ (QRS)", QUORUM),
]
PHASES = ("setup", "run", "aftercare")


def _restore():
    """tui.runbooks.restore (imported when first needed)."""
    from tui.runbooks import restore

    return restore


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

    def __init__(self) -> None:
        self.report = None  # the last PreflightReport
        # the plan shown before the start, the one `run restore --dry-run` prints
        # (tui/runbooks/restore/plan.py): the log and the step panel render it
        self.restore_plan = None
        self.preflight_error: str | None = None
        self.checking = False
        self.recovery_host: str | None = None
        self.suggested: str | None = None  # the procedure the checks point at
        self.suggested_why = ""
        self.lost_hosts: list[str] = []
        self.lost_evidence: dict[str, str] = {}  # host -> why the preflight says it is lost
        self.unproven: dict[str, str] = {}  # hosts neither answering nor proven lost
        self.confirmed_lost: dict[str, str] = {}  # the operator's confirmations: host -> why
        self.aftercare_items: list = []
        self.ticked: dict[str, bool] = {}
        self.guard_warning: str | None = None
        self.current_step: str | None = None
        self.waiting: dict[str, str] = {}  # step -> what it waits for (and time left)
        self._panes: dict[str, HostLog] = {}
        self._preflight_asked = False
        self._unsubscribe = None
        self.live_context = None
        self._watched = 0
        self.host_chosen = False  # the operator picked the recovery host (keep it)
        self._followed_ranking = False
        self._reason_timer = None  # a re-check after the procedure's reason is typed
        self._lost_timer = None  # a re-check once refusing hosts would count as lost
        self._preflight_busy = False  # a preflight worker is under way
        self._preflight_began = 0.0  # when it began (time.monotonic)
        self._preflight_gen = 0  # which one is current
        self._recheck_again = False  # asked again meanwhile: run once more after it
        super().__init__()

    def initial_runbook(self) -> Runbook:
        return _placeholder()  # the procedure is chosen in the setup phase

    STEP_COLUMNS = (("step", "STEP"), ("state", "STATE"), ("what", "WHAT"),
                    ("where", "WHERE"), ("detail", "DETAIL"))

    def step_cells(self, step) -> list:
        values = {"step": step.id, "state": "pending", "what": step.title,
                  "where": _SHORT_TARGETS.get(step.targets.name, step.targets.value),
                  "detail": ""}
        return [values[key] for key, _ in self.STEP_COLUMNS]

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ClusterBanner(id="banner")
        with Horizontal(id="restore-strip"):
            yield HostStrip(id="hosts")
            yield ApiStateBox(id="api-state")
        yield SteadyStatic("", id="loud-warning")
        yield SteadyStatic("", id="phase-bar")
        with ContentSwitcher(initial="setup", id="phases"):
            with VerticalScroll(id="setup"):
                with Vertical(id="runbook-head"):
                    yield Static("Restore to a previous cluster state", id="runbook-title")
                yield SteadyStatic("", id="path-why")
                with Horizontal(classes="params"):
                    yield Label("procedure")
                    yield Select(PROCEDURES, id="procedure", allow_blank=True,
                                 prompt="choose the procedure")
                # its own row, right under the choice it explains: beside it, a narrow
                # terminal put it off the screen
                with Horizontal(classes="params", id="path-reason-row"):
                    yield Label("why another")
                    yield Input(placeholder="reason to use another procedure", id="path-reason")
                # DETAIL, then CHECK, wrap to what the terminal leaves
                yield FitTable(id="preflight", cursor_type="none", zebra_stripes=True,
                               flex=(-1, 1), min_width=24, max_lines=20)
                yield Static("recovery host (Enter on a row chooses it):", classes="caption")
                yield FitTable(id="candidates", cursor_type="row", zebra_stripes=True,
                               flex=(-1,))
                yield SteadyStatic("", id="lost-hosts")
                with Horizontal(classes="params"):
                    yield Label("confirm lost")
                    yield Input(placeholder="HOST and why it is gone for good, then Enter "
                                            "(journaled)", id="confirm-lost")
                with Horizontal(classes="params"):
                    yield Label("backup directory")
                    yield Input(DEFAULT_BACKUP_DIR, id="backup-dir")
                    yield Label("copied from")
                    yield Input(placeholder="HOST:DIR if elsewhere", id="backup-source")
                with Horizontal(classes="params"):
                    yield Label("override")
                    yield Input(placeholder="reason to start despite failed checks "
                                            "(journaled)", id="override")
                yield SteadyStatic("", id="start-gate")
            with Vertical(id="run"):
                with Horizontal(id="run-top"):
                    yield FitTable(id="steps", cursor_type="row", zebra_stripes=True,
                                   flex=("detail", "what", "where"))
                    with VerticalScroll(id="step-detail-box"):
                        yield SteadyStatic("", id="step-detail")
                yield Horizontal(id="host-panes")
            with VerticalScroll(id="aftercare"):
                yield SteadyStatic("", id="aftercare-head")
                # WHAT, then DETAIL (the PVs to check), wrap to what the terminal leaves
                yield FitTable(id="aftercare-items", cursor_type="row", zebra_stripes=True,
                               flex=(-2, -1), min_width=24, max_lines=40)
        yield SteadyStatic("", id="run-status")
        yield RedactedLog(max_lines=5000, id="run-log")
        yield QuietFooter()

    def on_mount(self) -> None:
        # Textual also calls RunbookScreen.on_mount (after this): no super() call
        self.query_one("#preflight", DataTable).add_columns("", "CHECK", "BLOCKS", "DETAIL")
        self.query_one("#candidates", DataTable).add_columns("", "HOST", "WHY")
        self.query_one("#aftercare-items", DataTable).add_columns("DONE", "ID", "WHAT",
                                                                 "DETAIL")
        self.query_one("#loud-warning", Static).display = False
        self.query_one("#path-reason-row").display = False  # until another one is chosen
        self.set_interval(FLUSH_INTERVAL, self._flush_panes)
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
            self.query_one("#aftercare-items", DataTable).focus()
        elif phase == "run":
            self.query_one("#steps", DataTable).focus()
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
        self._ensure_panes([h.name for h in snap.hosts])
        if self._unsubscribe is None and app.started and app.backend.fleet is not None:
            self._unsubscribe = app.backend.fleet.subscribe(self._on_fleet_event)
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
        from tui.runbooks.restore_checks import best_recovery_host, rank_recovery_hosts

        snap = self.app.snapshot
        if snap is None:
            return
        ranked = rank_recovery_hosts(snap)
        if ranked and self.recovery_host is None:
            self.recovery_host = best_recovery_host(ranked)  # the preflight's rule
        self.lost_hosts = []  # lost only on evidence: the preflight says which
        self._show_candidates(ranked)
        self._show_lost_hosts()

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
        module = _restore()
        self.checking = True
        self._show_gate()
        ctx = self._plain_context()
        ctx.params.pop("lost_hosts", None)  # the preflight decides who is lost, from SSH
        asked = _preflight_inputs(ctx.params)
        try:
            report = await module.preflight_report(ctx, ctx.params["procedure"])
        except EtcdDrError as e:
            self.preflight_error = e.message
            self.report = None
        except Exception as e:  # one clear line, never a traceback
            self.preflight_error = f"the preflight failed: {e.__class__.__name__}: {e}"
            self.report = None
        else:
            self.preflight_error = None
            self.report = report
        finally:
            self.checking = False
        if self.running:
            return
        self._show_report()
        if _preflight_inputs(self._plain_context().params) != asked:
            # the operator changed a choice while it ran (the procedure, its reason, ...):
            # a report of the old choices must not gate the new ones
            self.action_recheck()

    def _show_report(self) -> None:
        report = self.report
        self._show_preflight_table()
        if report is None:
            self._show_gate()
            return
        candidates = list(getattr(report, "candidates", None) or [])
        recheck = False
        if candidates:
            # the host `run restore` takes without --host (reachable, not a learner)
            best = _restore().best_recovery_host(candidates)
            if self.recovery_host not in [c.host for c in candidates] or (
                    not self.host_chosen and self.recovery_host != best
                    and not self._followed_ranking):
                # the ranking from fresher data (once: raft indexes move, the ranking of
                # healthy members may flip back and forth): the checks must be the new host's
                recheck = self.recovery_host is not None
                self._followed_ranking = True
                self.recovery_host = best
            self._show_candidates(candidates)
        report_lost = getattr(report, "lost_hosts", None)
        if report_lost is not None:
            self.lost_hosts = list(report_lost)
        self.lost_evidence = dict(getattr(report, "lost_evidence", None) or {})
        self.unproven = dict(getattr(report, "unproven", None) or {})
        self._show_lost_hosts()
        wait = getattr(report, "lost_wait", 0.0) or 0.0
        # one look-again at a time: an earlier report's timer is stale once a newer report
        # is here (it re-checked for nothing, once more, a moment later)
        if self._lost_timer is not None:
            self._lost_timer.stop()
            self._lost_timer = None
        if wait > 0:
            # hosts that refuse, but not for long enough yet: look again once they would be
            # lost on that alone (the operator may confirm them lost meanwhile)
            self._lost_timer = self.set_timer(wait + 0.5, self.action_recheck)
        self._suggest_procedure(report)
        self._show_gate()
        self.refresh_plan()
        self._tick()
        if recheck:
            self.action_recheck()

    def _show_preflight_table(self) -> None:
        report = self.report
        table = self.query_one("#preflight", DataTable)
        table.clear()
        if report is None:
            table.add_row(Text("??", style="bold red"), "preflight", "yes",
                          self.preflight_error or "not run yet")
            return
        for item in report.items:
            mark = Text("ok", style="green") if item.ok else (
                Text("FAIL", style="bold red") if item.blocking else Text("warn", "yellow"))
            blocks = "no" if not item.blocking else (
                "yes" if getattr(item, "overridable", True) else "yes, always")
            # (markup=False: a detail is text, "[...]" in it is not a style)
            table.add_row(mark, item.title, blocks, Text(item.detail or ""))


    def _suggest_procedure(self, report) -> None:
        # what the version calls for, not the operator's choice the report also carries (fed
        # back as "suggested", each re-check wrapped its reason once more, and the changed
        # reason asked for another re-check: a preflight loop that never settled)
        path = report.detected_path if report.procedure == "restore" else report.path
        backup_ok = all(i.ok for i in report.items if i.key in ("backup", "snapshot"))
        # the one rule (tui/runbooks/restore/plan.py): `run restore --dry-run` names the
        # quorum restore on the same findings
        suggested = _restore().suggest_procedure(report.procedure, path,
                                                 report.version_source, backup_ok)
        if getattr(report, "procedure", "restore") != "quorum-restore" or \
                self.suggested is None:
            # the quorum restore's checks say nothing about backups: keep what the restore's
            # checks suggested (or this, when it was chosen first)
            self.suggested, self.suggested_why = suggested
        select = self.query_one("#procedure", Select)
        if self.suggested and not isinstance(select.value, str):
            select.value = self.suggested  # the operator's own choice is kept on re-checks
        self._show_procedure()

    def _show_procedure(self) -> None:
        chosen = self.procedure
        why = escape(self.suggested_why or "checking which procedure applies…")
        if version := (self.report.version if self.report else None):
            why += f"\n[dim](version {escape(version)} from {escape(self.report.version_source or '?')})[/dim]"
        if chosen and self.suggested and chosen != self.suggested:
            why += (f"\n[yellow]You chose {escape(chosen)} instead of {escape(self.suggested)}: "
                    f"type why (journaled).[/yellow]")
        self.query_one("#path-why", Static).update(why)
        runbook = None
        try:
            runbook = runbook_for(chosen)
        except (KeyError, ValueError, EtcdDrError) as e:
            self.notify(f"no runbook for {chosen}: {e}", severity="error")
        if runbook is not None and (runbook.name != self.runbook.name
                                    or runbook.title != self.runbook.title):
            self.set_runbook(runbook)
        self.query_one("#path-reason-row").display = bool(
            chosen and self.suggested and chosen != self.suggested)

    @property
    def procedure(self) -> str | None:
        value = self.query_one("#procedure", Select).value
        return value if isinstance(value, str) else None

    def _show_candidates(self, candidates) -> None:
        table = self.query_one("#candidates", DataTable)
        table.clear()
        for i, c in enumerate(candidates):
            chosen = c.host == self.recovery_host
            mark = Text("chosen" if chosen else ("best" if i == 0 else ""),
                        style="bold green" if chosen else "dim")
            table.add_row(mark, c.host, "; ".join(c.reasons), key=c.host)

    def choose_recovery_host(self, host: str) -> None:
        if self.running or host == self.recovery_host:
            return
        self.recovery_host = host
        self.host_chosen = True
        candidates = list(getattr(self.report, "candidates", None) or [])
        if candidates:
            self._show_candidates(candidates)
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
        self.restore_plan = self._shared_plan(ctx)
        if self.restore_plan is None:
            return super().plan_lines(ctx, plan)
        return ([f"Plan for {self.runbook.title} — nothing runs until you press g and "
                 f"confirm each mutating step."] + self.restore_plan.summary_lines()
                + ["Steps:"] + self.restore_plan.step_lines())

    def _shared_plan(self, ctx):
        module = _restore()
        if not isinstance(self.runbook, module.RestoreRunbook):
            return None  # no procedure chosen yet
        return module.restore_plan(self.runbook, ctx)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "candidates" and event.row_key.value:
            self.choose_recovery_host(event.row_key.value)
        elif event.data_table.id == "aftercare-items":
            self._toggle(event.cursor_row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "steps" and event.row_key is not None:
            self._show_step(event.row_key.value)

    def _show_lost_hosts(self) -> None:
        if self.lost_hosts:
            text = ("lost hosts (on evidence; host steps skip them, their machines are "
                    f"replaced): [b]{escape(', '.join(self.lost_hosts))}[/b]")
            for host in self.lost_hosts:
                if host in self.lost_evidence:
                    text += f"\n  {escape(host)}: {escape(self.lost_evidence[host])}"
        elif self.unproven:
            text = "lost hosts: none proven"
        else:
            text = "lost hosts: none (every control-plane host answers over SSH)"
        for host, why in self.unproven.items():
            text += (f"\n  [yellow]{escape(host)} is not proven lost[/yellow]: {escape(why)}")
        if self.unproven:
            text += ("\n  To confirm one lost, type its name and why in 'confirm lost' "
                     "(e.g. [i]master-1 powered off, disk failed[/i]) and press Enter.")
        self.query_one("#lost-hosts", Static).update(text)

    def confirm_lost(self, text: str) -> str | None:
        """The operator's typed confirmation that a host is lost: "HOST why". Returns what
        is wrong with it (None: accepted, and the preflight runs again)."""
        name, _, reason = text.strip().partition(" ")
        reason = reason.strip()
        snap = self.app.snapshot
        cp = {h.name: h for h in (snap.hosts if snap is not None else [])
              if h.role == "control-plane"}
        if not name:
            return "type the host's name, then why it is lost"
        if name not in cp:
            return f"{name} is not a control-plane host of this cluster"
        if cp[name].state == "connected":
            return f"{name} answers over SSH: a host that answers is not lost"
        if name == self.recovery_host:
            return f"{name} is the chosen recovery host"
        if not reason:
            return f"say why {name} is lost (after its name): it is journaled"
        self.confirmed_lost[name] = reason
        self.notify(f"{name} confirmed lost: {reason}", timeout=8)
        self.action_recheck()
        return None

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "procedure":
            kind = "quorum-restore" if event.value == QUORUM else "restore"
            self._show_procedure()
            self._show_gate()
            self.refresh_plan()
            if self.report is not None and self.report.procedure != kind and not self.running:
                self.action_recheck()  # the quorum restore checks other things

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show_gate()
        if event.input.id == "path-reason" and self.report is not None and not self.running:
            # the Procedure check reads the reason: check again once the typing pauses
            if self._reason_timer is not None:
                self._reason_timer.stop()
            self._reason_timer = self.set_timer(0.5, self.action_recheck)
        if event.input.id in ("backup-dir", "backup-source"):
            self.refresh_plan()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("backup-dir", "backup-source"):
            self.action_recheck()  # the backup checks read that directory
        elif event.input.id == "confirm-lost" and not self.running:
            problem = self.confirm_lost(event.value)
            if problem:
                self.notify(f"Not confirmed: {problem}", severity="warning")
            else:
                event.input.value = ""

    # --- the gate ---------------------------------------------------------------------------

    def blocking_failures(self) -> list:
        if self.report is None:
            return []
        return [i for i in self.report.items if i.blocking and not i.ok]

    def start_blocked(self) -> str | None:
        """Why the run cannot start yet (None: it can)."""
        if self.app.backend.read_only:
            return "read-only console: the wizard shows the plan, it cannot restore"
        if self.checking and self.report is None:
            return "the preflight is running"
        if self.report is None:
            return f"the preflight did not run: {self.preflight_error or 'press c'}"
        if not self.procedure:
            return "choose the procedure"
        if self.suggested and self.procedure != self.suggested and not self._value("#path-reason"):
            return f"type why you chose {self.procedure} instead of {self.suggested}"
        if not self.recovery_host:
            return "choose the recovery host"
        failed = self.blocking_failures()
        hard = [i for i in failed if not getattr(i, "overridable", True)]
        if hard:
            return (f"{', '.join(i.title for i in hard)} failed, and no override lets a "
                    f"restore start past that: {hard[0].detail}")
        if self.report.procedure != ("quorum-restore" if self.procedure == QUORUM
                                     else "restore"):
            return "the preflight is running for the chosen procedure"
        if failed and not self._value("#override"):
            return (f"{len(failed)} blocking check(s) failed ("
                    f"{', '.join(i.title for i in failed)}): fix them and press c, or type a "
                    f"reason in override to start anyway")
        return None

    def _show_gate(self) -> None:
        gate = self.query_one("#start-gate", Static)
        why = self.start_blocked()
        # a re-check keeps the last verdict on screen (it still gates the start), marked as
        # being checked again, rather than blanking it on every timer or typed reason
        again = " [yellow](checking again…)[/yellow]" if self.checking else ""
        if self.checking and self.report is None:
            gate.update("[yellow]checking…[/yellow]")
        elif why:
            gate.update(f"[red]Start blocked:[/red] {escape(why)}{again}")
        elif self.blocking_failures():
            gate.update("[yellow]Ready with an override (journaled): press g to start[/yellow]"
                        + again)
        else:
            gate.update("[green]Preflight green: press g to start; every mutating step asks "
                        "first[/green]" + again)
        self.refresh_bindings()

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

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

    # --- parameters -------------------------------------------------------------------------

    def params(self) -> dict:
        procedure = self.procedure
        backup_dir = self._value("#backup-dir") or DEFAULT_BACKUP_DIR
        source = self._value("#backup-source") or (
            f"{self.recovery_host}:{backup_dir}" if self.recovery_host else "")
        typed = self._value("#path-reason")
        if self.suggested and procedure != self.suggested:
            # empty until typed: the preflight's own "Procedure" item then blocks too
            path_reason = (f"chosen by the operator instead of {self.suggested}: {typed}"
                           if typed else "")
        elif self.suggested:
            path_reason = self.suggested_why
        else:
            path_reason = f"chosen by the operator (the version is unknown){': ' + typed if typed else ''}"
        params = {"procedure": "quorum-restore" if procedure == QUORUM else "restore",
                  "recovery_host": self.recovery_host, "backup_dir": backup_dir,
                  "backup_source": source, "override": self._value("#override")}
        if procedure and procedure != QUORUM:
            params["path"] = procedure
            params["path_reason"] = path_reason
        if self.report is not None:
            params["lost_hosts"] = list(self.lost_hosts)
        if self.confirmed_lost:
            # the run's own preflight decides who is lost again, with these confirmations
            params["confirmed_lost"] = dict(self.confirmed_lost)
        return params

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
        for pane in self._panes.values():
            pane.clear()
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
        select = self.query_one("#procedure", Select)
        select.value = procedure
        self.recovery_host = params.get("recovery_host")
        self.lost_hosts = list(params.get("lost_hosts") or [])
        self.query_one("#backup-dir", Input).value = params.get("backup_dir") or ""
        self.query_one("#backup-source", Input).value = params.get("backup_source") or ""
        self.query_one("#override", Input).value = params.get("override") or ""
        self._show_lost_hosts()
        self._show_phase("run")
        self.resume = state
        self.refresh_plan()  # the exact commands beside each step, from the journal's params
        super().start_resume(path, state)

    def _on_fleet_event(self, event) -> None:
        """The host panes show what the fleet sent and heard: the runbook's commands and the
        `oc` its API steps run on the recovery host while the API is away (status polls are
        quiet and stay out)."""
        pane = self._panes.get(event.host)
        if pane is not None:
            pane.show_event(event)

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
                    self._follow(event.step)
                    for host in event.hosts:
                        pane = self._panes.get(host)
                        if pane is not None:
                            pane.add(f"== {event.step} {event.text}")
                case RunEventKind.WAITING:
                    left = f" ({self.countdown(event.remaining)})" \
                        if event.remaining is not None else ""
                    self.waiting[event.step] = f"{event.text}{left}"
                case _:
                    self.waiting.pop(event.step, None)
        if self._is_guard_warning(event) and kind is not RunEventKind.WARNING:
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
            self.restore_plan = self._shared_plan(ctx) or self.restore_plan
        except (KeyError, EtcdDrError):
            pass  # the plan shown before keeps standing

    def _is_guard_warning(self, event: RunEvent) -> bool:
        # a RunEvent of kind "warning", or the runbook's closing warning as a "note" (RST-25 /
        # RSTN-07 when the guard stayed off, from runbooks that predate the "warning" kind); a
        # step that turns the guard off on purpose (RST-17, RSTN-05) says "is off" and is no
        # alarm
        text = event.text.lower()
        return event.kind is RunEventKind.WARNING or (
            event.kind is RunEventKind.NOTE and "quorum guard" in text
            and ("still off" in text or "left off" in text))

    def loud_warning(self, text: str) -> None:
        self._loud(text)

    def _loud(self, text: str) -> None:
        self.guard_warning = text
        widget = self.query_one("#loud-warning", Static)
        widget.update(f"!! {escape(text)}")
        widget.display = True
        self.notify(text, severity="error", timeout=60)

    def _follow(self, step_id: str) -> None:
        table = self.query_one("#steps", DataTable)
        try:
            table.move_cursor(row=table.get_row_index(step_id))
        except Exception:  # a row that is not there (another runbook): nothing to follow
            pass

    def _shown_step(self) -> str | None:
        table = self.query_one("#steps", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:
            return None

    def _show_step(self, step_id: str | None) -> None:
        detail = self.query_one("#step-detail", Static)
        if not step_id or step_id not in self._step_state:
            detail.update("")
            return
        step = self.runbook.step(step_id)
        planned = self.planned.get(step_id)
        shared = self.restore_plan.step(step_id) if self.restore_plan is not None and \
            self.restore_plan.title == self.runbook.title else None
        state = self._step_state.get(step_id, "pending")
        # the plan's own lines, as `run RUNBOOK --dry-run` prints this step (one wording,
        # plan_text.py), under the step's state in this run
        if shared is not None:
            body = shared.lines()
        elif planned is not None:  # the runbook's own plan (no shared plan yet)
            body = planned.lines(self.time_scale)
        else:
            body = [f"{step.id}  {step.title}", f"    {step.explain}"]
        lines = [f"[b]{escape(body[0])}[/b]", f"[b]state:[/b] {state}"]
        lines += [escape(line[4:] if line.startswith("    ") else line) for line in body[1:]]
        if step_id in self.waiting:
            lines.append(f"[yellow]waiting for: {escape(self.waiting[step_id])}[/yellow]")
        if self._step_detail.get(step_id) and step_id not in self.waiting:
            lines.append(f"[b]last:[/b] {escape(self._step_detail[step_id])}")
        detail.update("\n".join(lines))

    def _ensure_panes(self, hosts: list[str]) -> None:
        row = self.query_one("#host-panes", Horizontal)
        for name in hosts:
            if name not in self._panes:
                self._panes[name] = HostLog(name)
                row.mount(self._panes[name])

    def _flush_panes(self) -> None:
        for pane in self._panes.values():
            pane.flush()

    def run_finished(self) -> None:
        if self.finished == "done":
            self.run_worker(self._load_aftercare(), name="aftercare", group="aftercare",
                            exclusive=True, exit_on_error=False)

    # --- aftercare --------------------------------------------------------------------------

    async def _load_aftercare(self) -> None:
        module = _restore()
        items: list = []
        ctx = self._run_context(journal=None)
        try:
            result = module.aftercare(ctx)
            items = list(await result if inspect.isawaitable(result) else result)
        except EtcdDrError as e:
            self.notify(f"aftercare: {e.message}", severity="warning")
        except Exception as e:  # the list must still appear: say what went wrong
            self.notify(f"aftercare: {e.__class__.__name__}: {e}", severity="warning")
        self.aftercare_items = items
        self.ticked = {self._item_id(i, n): False for n, i in enumerate(items)}
        guard = next((i for i in items if "QUORUM GUARD" in str(getattr(i, "title", ""))
                      .upper()), None)
        if guard is not None and not self.guard_warning:
            self._loud(f"{guard.title}: {guard.detail}")
        self._show_aftercare()
        self._show_phase("aftercare")

    @staticmethod
    def _item_id(item, n: int) -> str:
        for name in ("key", "id", "step"):
            value = getattr(item, name, None)
            if value:
                return str(value)
        return f"item-{n + 1}"

    def _show_aftercare(self) -> None:
        guard = (f"\n[bold red]!! {escape(self.guard_warning)}[/bold red]"
                 if self.guard_warning else "")
        self.query_one("#aftercare-head", Static).update(
            "[b]Aftercare[/b]: persistent volumes are not in the etcd snapshot. Tick each "
            "item once you have checked it (space or Enter); ticks go into the journal." + guard)
        table = self.query_one("#aftercare-items", DataTable)
        table.clear()
        for n, item in enumerate(self.aftercare_items):
            item_id = self._item_id(item, n)
            title = str(getattr(item, "title", "") or item_id)
            detail = getattr(item, "detail", "") or ""
            extra = getattr(item, "pvs", None) or getattr(item, "objects", None)
            if extra:
                detail = (detail + "\n" if detail else "") + "\n".join(
                    f"  - {x}" for x in extra)
            if getattr(item, "reminder", False):
                title = f"(reminder) {title}"
            mark = Text("[x]" if self.ticked.get(item_id) else "[ ]",
                        style="bold green" if self.ticked.get(item_id) else "")
            # (a detail is text, "[...]" in it is not a style; FitTable wraps it)
            table.add_row(mark, item_id, title, Text(detail), key=item_id)
        done = sum(self.ticked.values())
        self.query_one("#run-status", Static).update(
            f"aftercare: {done}/{len(self.ticked)} ticked — "
            + (f"journal {self.journal_path}" if self.journal_path else "no journal"))

    def action_tick(self) -> None:
        table = self.query_one("#aftercare-items", DataTable)
        if self.phase == "aftercare" and table.row_count:
            self._toggle(table.cursor_row)

    def _toggle(self, row: int) -> None:
        if not 0 <= row < len(self.aftercare_items):
            return
        item = self.aftercare_items[row]
        item_id = self._item_id(item, row)
        self.ticked[item_id] = not self.ticked.get(item_id)
        if self.journal_path is not None:
            try:
                with Journal(self.journal_path, self.RUNBOOK) as journal:
                    journal.write(item_id, "confirmed", kind="aftercare",
                                  ticked=self.ticked[item_id],
                                  title=str(getattr(item, "title", "")))
            except EtcdDrError as e:
                self.notify(e.message, severity="error")
        self._show_aftercare()
        table = self.query_one("#aftercare-items", DataTable)
        table.move_cursor(row=row)

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


def _preflight_inputs(params: dict) -> tuple:
    """The operator's choices a preflight report answers for: when they change while it
    runs, its report is of another plan."""
    return tuple(repr(params.get(k)) for k in (
        "procedure", "path", "path_reason", "recovery_host", "backup_dir", "backup_source",
        "confirmed_lost"))
