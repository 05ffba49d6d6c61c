"""What every runbook screen shares: the plan as a table of steps with their live state,
the run's own log, and an operator that asks through dialogs.

A screen subclass says which runbook, and which parameters the operator chooses; the
runner, the journal and the checks are the same ones `etcd-dr run` uses.
"""

from __future__ import annotations

import time
from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Log, Static

from tui.widgets.footer import QuietFooter

from screens.dialogs import ConfirmStepScreen, FailureScreen, UnknownStateScreen
from tui.errors import EtcdDrError
from tui.journal import Journal, JournalState, load_state
from tui.runbooks import registry
from tui.runbooks.attempts import UnknownDecision, UnknownState
from tui.runbooks.context import (STEP_STATE, ConfirmRequest, Decision, RunContext, RunEvent,
                                  RunEventKind)
from tui.runbooks.headless import journal_path_for
from tui.runbooks.model import Runbook, Step
from tui.secrets import redact_text
from tui.widgets.redacted_log import RedactedLog
from tui.runbooks.runner import NotConfirmed, PlannedStep, Runner, countdown
from tui.widgets.banner import ClusterBanner
from tui.widgets.fit_table import FitTable
from tui.widgets.steady import SteadyStatic

# the steps table's WHERE, short (the plan and the confirmations say which hosts)
SHORT_TARGETS = {"CHOSEN_HOST": "chosen host", "RECOVERY_HOST": "recovery host",
                 "NON_RECOVERY_HOSTS": "other control plane", "CONTROL_PLANE": "control plane",
                 "ALL_NODES": "every node", "API": "API", "CONSOLE": "console"}
_STATE_STYLE = {"pending": "dim", "running": "bold yellow", "waiting": "yellow",
                "done": "green", "already-done": "green", "skipped": "dim",
                "failed": "bold red", "not started": "dim"}


class ScreenOperator:
    """The Operator the runner talks to, answered with dialogs on this screen."""

    def __init__(self, screen: "RunbookScreen"):
        self.screen = screen

    async def confirm(self, request: ConfirmRequest) -> bool:
        if not request.commands:
            # a step that decides as it goes (a custom action) sends nothing the runner can
            # list beforehand: show what its plan said it would send
            planned = self.screen.planned.get(request.step.id)
            if planned is not None:
                lines = [f"{host}: {c}" for host, commands in planned.commands.items()
                         for c in commands]
                if planned.api:
                    lines.append(f"API: {planned.api}")
                if lines:
                    request = replace(request, commands=["(as planned)"] + lines)
        request = replace(request, text=redact_text(request.text),
                          commands=[redact_text(c) for c in request.commands],
                          details=redact_text(request.details))
        return bool(await self.screen.app.push_screen_wait(ConfirmStepScreen(request)))

    async def on_failure(self, step: Step, error: str) -> Decision:
        result = await self.screen.app.push_screen_wait(
            FailureScreen(step.id, step.title, redact_text(error)))
        return result or Decision("abort")

    async def on_unknown(self, step: Step, question: UnknownState
                         ) -> tuple[UnknownDecision, str]:
        answer = await self.screen.app.push_screen_wait(UnknownStateScreen(question))
        return answer or (UnknownDecision.ABORT, "")

    def show(self, event: RunEvent) -> None:
        # the log, the steps table and notifications all show this text: redacted once here;
        # the screen shows it from its message queue, in the runner's order
        self.screen.post_message(RunbookScreen.RunUpdate(replace(event,
                                                                 text=redact_text(event.text))))


class RunbookScreen(Screen):
    RUNBOOK = ""  # the registry name

    class RunEnded(Message):
        """A run ended: done, aborted or refused (before its first step), with what the
        operator was told. It bubbles to the app (a drill session counts refusals)."""

        def __init__(self, runbook: str, outcome: str, message: str = "") -> None:
            super().__init__()
            self.runbook, self.outcome, self.message = runbook, outcome, message

    class RunUpdate(Message):
        """One RunEvent of the run on this screen, posted by its operator (ScreenOperator)
        and shown in the order the runner made them."""

        def __init__(self, event: RunEvent) -> None:
            super().__init__()
            self.event = event

    class RunOver(Message):
        """The runner's worker has ended: posted after its last RunUpdate, so the screen
        says how the run ended only once it has shown everything the run said."""

        def __init__(self, finished: str, error: str = "", cancelled_before: str | None = None,
                     notice: str = "") -> None:
            super().__init__()
            self.finished, self.error = finished, error
            self.cancelled_before, self.notice = cancelled_before, notice

    BINDINGS = [
        Binding("g", "start", "Run"),
        Binding("escape", "app.switch_mode('status')", "Status", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runbook: Runbook = self.initial_runbook()
        self.running = False
        self.finished: str | None = None  # "done" | "aborted" | "refused"
        self.journal_path = None
        self._step_state: dict[str, str] = {s.id: "pending" for s in self.runbook.steps}
        self._step_detail: dict[str, str] = {}
        self._run_started: float | None = None
        self.resume: JournalState | None = None
        self.planned: dict[str, PlannedStep] = {}  # the last plan shown, by step ID
        # the step whose confirmation the operator cancelled (the last run stopped before it)
        self.cancelled_before: str | None = None
        # what the last run wrote in the log, and the choices it ran with: its output (the
        # backup's file names, ...) stays in the log after it ends
        self._run_output: list[str] = []
        self._run_params: dict | None = None

    def initial_runbook(self) -> Runbook:
        return registry()[self.RUNBOOK]

    def set_runbook(self, runbook: Runbook) -> None:
        """Show another runbook's steps (not while one runs)."""
        if self.running:
            return
        self.RUNBOOK = runbook.name
        self.runbook = runbook
        self._step_state = {s.id: "pending" for s in runbook.steps}
        self._step_detail = {}
        self.planned = {}
        table = self.query_one("#steps", DataTable)
        table.clear()
        for step in runbook.steps:
            table.add_row(*self.step_cells(step), key=step.id)
        self.query_one("#runbook-title", Static).update(runbook.title)

    # the steps table: (column key, heading); "state" and "detail" are updated as it runs
    STEP_COLUMNS = (("step", "STEP"), ("what", "WHAT"), ("where", "WHERE"),
                    ("safety", "SAFETY"), ("state", "STATE"), ("detail", "DETAIL"))

    def step_cells(self, step: Step) -> list:
        values = {"step": step.id, "what": step.title,
                  "where": SHORT_TARGETS.get(step.targets.name, step.targets.value),
                  "safety": step.safety.value, "state": "pending", "detail": ""}
        return [values[key] for key, _ in self.STEP_COLUMNS]

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ClusterBanner(id="banner")
        with Vertical(id="runbook-head"):
            yield Static(self.runbook.title, id="runbook-title")
            yield from self.compose_params()
        # DETAIL, then WHAT and WHERE, wrap rather than run off a narrow terminal's edge
        yield FitTable(id="steps", cursor_type="row", zebra_stripes=True,
                       flex=("detail", "what", "where"))
        yield SteadyStatic("", id="run-status")
        yield RedactedLog(max_lines=5000, id="run-log")
        yield QuietFooter()

    def compose_params(self) -> ComposeResult:
        return iter(())

    def on_mount(self) -> None:
        backend = self.app.backend
        inv = backend.inventory
        self.query_one(ClusterBanner).show(
            name=inv.cluster_name if inv else "?", version=inv.cluster_version if inv else None,
            drill=backend.spec.is_drill, read_only=backend.read_only,
            scenario=backend.spec.scenario)
        table = self.query_one("#steps", DataTable)
        for key, heading in self.STEP_COLUMNS:
            table.add_column(heading, key=key)
        for step in self.runbook.steps:
            table.add_row(*self.step_cells(step), key=step.id)
        self.set_interval(1.0, self._tick)
        self._tick()  # what g does (or why it cannot) from the start, not a second later
        self.refresh_plan()

    def params(self) -> dict:
        """The runbook's parameters from this screen's inputs."""
        return {}

    def refresh_plan(self) -> None:
        """Show each step's exact commands for the current parameters, before anything runs."""
        if self.running or not self.app.started:
            return
        if self._run_output and self.params() == self._run_params:
            return  # the same choices as the run that ended: its output stays in the log
        log = self.query_one("#run-log", Log)
        log.clear()
        if self._run_output:
            # other choices than the run's: its output stays above the plan for them
            log.write_lines(self._run_output)
            log.write_line("-- the run above has ended; for the choices now made:")
        ctx = self._run_context(journal=None)
        # as the runner's preflight: an empty list (no lost hosts) is a value, None is not
        missing = [p for p in self.runbook.params if ctx.params.get(p) in (None, "")]
        if missing:
            log.write_line(f"Choose {', '.join(missing)} above to see the plan.")
            return
        try:
            plan = Runner(self.runbook, ctx).plan()
        except (KeyError, EtcdDrError) as e:
            log.write_line(f"Choose the parameters above ({e}).")
            return
        self.planned = {p.step.id: p for p in plan}
        try:
            lines = self.plan_lines(ctx, plan)
        except (KeyError, EtcdDrError) as e:
            log.write_line(f"Choose the parameters above ({e}).")
            return
        log.write_lines(lines)

    def plan_lines(self, ctx: RunContext, plan: list[PlannedStep]) -> list[str]:
        """The plan as the log shows it before a run (the restore wizard: the plan `etcd-dr
        run restore --dry-run` prints, in its words)."""
        lines = [f"Plan for {self.runbook.title} — nothing runs until you press g and "
                 f"confirm each mutating step."]
        for p in plan:  # the words `etcd-dr run RUNBOOK --dry-run` prints
            lines += p.lines(ctx.time_scale)
        return lines

    # --- running ----------------------------------------------------------------------------

    @property
    def time_scale(self) -> float:
        """How much faster than the wall the run's clock goes (a drill at --speed X)."""
        spec = self.app.backend.spec
        return spec.speed if spec.is_drill else 1.0

    def countdown(self, remaining: float) -> str:
        """A waiting event's time left, with its unit: "4m 10s left (drill time, x600)"."""
        return countdown(remaining, self.time_scale)

    def _run_context(self, journal) -> RunContext:
        backend = self.app.backend
        params = dict(self.resume.params) if self.resume else self.params()
        return RunContext(backend=backend, journal=journal, operator=ScreenOperator(self),
                          params=params, time_scale=self.time_scale)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "start":
            return not self.running and not self.app.backend.read_only and self.app.started
        return True

    def action_start(self) -> None:
        if self.running:
            return
        if self.finished == "aborted" and self.journal_path is not None and self.resume is None:
            self.resume = load_state(self.journal_path)  # go on from where it stopped
        elif self.finished == "done":
            self.journal_path = None  # a new run, a new journal
        self.run_worker(self._run(), name=f"runbook:{self.RUNBOOK}", exclusive=True,
                        exit_on_error=False)

    def start_resume(self, path, state: JournalState) -> None:
        self.resume = state
        self.journal_path = path
        for step_id in state.done:
            self._set_state(step_id, "done", "done before the restart")
        self.action_start()

    async def _run(self) -> None:
        backend = self.app.backend
        inv = backend.inventory
        self.running = True
        self.finished = None
        self.cancelled_before = None
        self._run_output, self._run_params = [], self.params()
        self._last_error = ""
        self.refresh_bindings()
        self._run_started = time.monotonic()
        if self.journal_path is None:
            self.journal_path = journal_path_for(self.RUNBOOK, inv.cluster_name)
        log = self.query_one("#run-log", Log)
        log.clear()
        log.write_line(f"journal: {self.journal_path}")
        try:
            # a journal that cannot be opened (a link, a full disk, ...) ends the run as
            # refused, like any other error, and the screen does not stay "running"
            journal = Journal(self.journal_path, self.RUNBOOK)
        except EtcdDrError as e:
            self.post_message(self.RunOver("refused", e.message))
            return
        try:
            ctx = self._run_context(journal)
            if self.resume is not None:
                ctx.facts.update(self.resume.facts)
                from tui.runbooks.checks import reread_redacted_proxy

                await reread_redacted_proxy(ctx)
            await Runner(self.runbook, ctx, resume=self.resume).run()
            over = self.RunOver("done")
        except NotConfirmed as e:
            # the operator's own choice, not a failure: nothing was sent for the step, and
            # g goes on from it (the journal says the run stopped before it; the log has
            # the runner's event already)
            over = self.RunOver("aborted", e.what, cancelled_before=e.step_id,
                                notice=f"{e.what}; press g to go on from {e.step_id}")
        except EtcdDrError as e:
            over = self.RunOver("refused" if e.exit_code == 2 else "aborted", e.message)
        except BaseException:  # the worker cancelled (the console closing): no verdict
            self._settle()
            raise
        finally:
            journal.close()
        self.post_message(over)

    @on(RunUpdate)
    def _show_run_update(self, message: RunUpdate) -> None:
        self.on_run_event(message.event)

    @on(RunOver)
    def _run_over(self, message: RunOver) -> None:
        self.finished = message.finished
        self.cancelled_before = message.cancelled_before
        self._last_error = message.error
        if message.notice:
            self.notify(message.notice, severity="warning", timeout=10)
        elif message.error and message.finished != "done":
            self.query_one("#run-log", Log).write_line(f"!! {message.error}")
            self.notify(redact_text(message.error), severity="error", timeout=20)
        self._settle()
        self.post_message(self.RunEnded(self.RUNBOOK, self.finished, self._last_error))
        self._keep_run_output()
        self.run_finished()

    def _settle(self) -> None:
        """The run is no longer under way, with or without a verdict."""
        self.running = False
        self.resume = None
        self.refresh_bindings()
        self._tick()

    def _keep_run_output(self) -> None:
        self._run_output = list(self.query_one("#run-log", Log).lines)

    def run_finished(self) -> None:
        """Called after a run ends (done, aborted or refused): self.finished says which."""

    def on_run_event(self, event: RunEvent) -> None:
        """A RunEvent (from a RunUpdate message, in the runner's order): the log, and
        the steps table for the kinds that move a step's state (STEP_STATE)."""
        log = self.query_one("#run-log", Log)
        kind = event.kind
        host = event.hosts[0] if event.hosts else ""
        match kind:
            case RunEventKind.OUTPUT:
                log.write_line(f"  {host}| {event.text}")
                return
            case RunEventKind.COMMAND:
                log.write_line(f"  {host}{event.text}")
                return
        if kind in STEP_STATE and event.step in self._step_state:
            self._set_state(event.step, STEP_STATE[kind], self._state_detail(event))
        prefix = f"[{event.step}] " if event.step != "-" else ""
        if kind is RunEventKind.WARNING:
            log.write_line(f"!! {prefix}{event.text}")
            self.loud_warning(event.text)
        elif kind is not RunEventKind.WAITING:
            log.write_line(f"{prefix}{event.text}")

    def _state_detail(self, event: RunEvent) -> str:
        """What the steps table's DETAIL says for a step after this event."""
        match event.kind:
            case RunEventKind.STEP:
                return ""
            case RunEventKind.SKIP:
                return event.text.split(": skipped ", 1)[-1]
            case RunEventKind.WAITING if event.remaining is not None:
                return f"{event.text} ({self.countdown(event.remaining)})"
            case RunEventKind.CANCELLED:
                return "confirmation cancelled: nothing sent"
        detail = event.text
        for prefix in ("done: ", "already done: ", "failed: "):
            detail = detail.removeprefix(prefix)
        return detail

    def loud_warning(self, text: str) -> None:
        """A RunEvent of kind "warning": red, and it stays up until dismissed."""
        self.notify(text, severity="error", timeout=60)

    def _set_state(self, step_id: str, state: str, detail: str = "") -> None:
        self._step_state[step_id] = state
        self._step_detail[step_id] = detail
        table = self.query_one("#steps", DataTable)
        table.update_cell(step_id, "state", Text(state, style=_STATE_STYLE.get(state, "")))
        table.update_cell(step_id, "detail", detail)

    def _tick(self) -> None:
        status = self.query_one("#run-status", Static)
        if self.running and self._run_started is not None:
            elapsed = int(time.monotonic() - self._run_started)
            status.update(f"running for {elapsed // 60}m{elapsed % 60:02d}s — journal "
                          f"{self.journal_path}")
        elif self.finished == "aborted" and self.cancelled_before:
            step = self.cancelled_before
            status.update(f"cancelled before {step}: nothing was sent for it; press g to go "
                          f"on from {step}" + (f" — journal {self.journal_path}"
                                               if self.journal_path else ""))
        elif self.finished:
            status.update({"done": "finished", "aborted": "stopped (see the log); press g to "
                           "resume from the failed step",
                           "refused": "refused before it started (see the log)"}
                          [self.finished] + (f" — journal {self.journal_path}"
                                             if self.journal_path else ""))
        elif self.app.backend.read_only:
            status.update("read-only console: this runbook cannot run here")
        else:
            status.update("press g to run; every mutating step asks first")
