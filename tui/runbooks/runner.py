"""The runner: executes a runbook's steps with checks, waits, confirmations and a journal.

Rules it keeps, whoever drives it (the console, `etcd-dr run`, a drill):
- before a mutating step acts, its check runs: if the postcondition already holds, the step
  is journaled `already-done` and does not act again (re-runs and resumes are safe);
- a line is fsync'd to the journal before a step acts and after it ends;
- a failed step stops the run and the operator chooses: retry, skip (with a typed reason,
  journaled as `override`) or abort;
- read-only mode refuses a mutating runbook before its first step.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from tui.errors import EtcdDrError, ReadOnlyRefused
from tui.fleet.fleet import RunResult
from tui.journal import JournalState
from tui.runbooks.context import ConfirmRequest, RunContext, RunEvent, RunEventKind
from tui.runbooks.attempts import PASS_THROUGH
from tui.runbooks.model import CheckResult, Confirm, Runbook, Step
from tui.runbooks.plan_text import flags, step_lines, wait_text


class RunAborted(EtcdDrError):
    """The operator aborted, or a step failed and was not retried (exit 1)."""

    exit_code = 1


class Refused(EtcdDrError):
    """An interlock refused the run before it started (exit 2)."""


class NotConfirmed(RunAborted):
    """The operator cancelled a step's confirmation: the step never started and nothing was
    sent for it (exit 1). Not a failure of the step: its journal has no line of it."""

    def __init__(self, step_id: str):
        super().__init__(f"cancelled before {step_id}: it was not confirmed, and nothing was "
                         f"sent for it", hint=f"Run again to continue from {step_id}")
        self.step_id = step_id


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    hosts: list[str]
    commands: dict[str, list[str]]  # host -> exact command lines as sent
    api: str | None
    skip_reason: str | None

    def lines(self, time_scale: float = 1.0) -> list[str]:
        """This step of the plan in the words every front end prints (plan_text.py)."""
        step = self.step
        return step_lines(
            id=step.id, title=step.title,
            where=", ".join(self.hosts) if self.hosts else step.targets.value,
            flags=flags(step.safety.value, step.confirm.value), explain=step.explain,
            skip_reason=self.skip_reason, warning=step.warning or "",
            commands=[(h, c) for h, commands in self.commands.items() for c in commands],
            api=self.api, wait=wait_text(step.wait, time_note(time_scale)))


def _shown(request: ConfirmRequest) -> tuple:
    return request.kind, tuple(request.hosts), tuple(request.commands)


_STRENGTH = (Confirm.NONE, Confirm.YES_NO, Confirm.TYPE_HOST, Confirm.TYPE_CLUSTER)


def _phase_request(phase: str, covered: list[ConfirmRequest], ctx: RunContext
                   ) -> ConfirmRequest:
    """One question for a phase's steps: the strongest confirmation any of them needs (one
    host's name only while every typed step acts on that same host), every step's commands
    under its ID, every step's text and warning."""
    kind = max((r.kind for r in covered), key=_STRENGTH.index)
    expected = covered[0].expected if kind == Confirm.YES_NO else ctx.inventory.cluster_name
    if kind == Confirm.TYPE_HOST:
        names = {r.expected for r in covered if r.kind == Confirm.TYPE_HOST}
        if len(names) == 1:
            expected = names.pop()
        else:
            kind = Confirm.TYPE_CLUSTER
    commands, texts = [], []
    for r in covered:
        commands.append(f"{r.step.id} {r.step.title}:")
        commands += [f"  {line}" for line in r.commands] or ["  (nothing it can list before "
                                                             "it runs: it says as it goes)"]
        texts.append(r.text + (f" Warning: {r.step.warning}" if r.step.warning else ""))
    ids = [r.step.id for r in covered]
    text = (f"{len(covered)} steps that change the cluster, confirmed once for this phase. "
            f"Each shows its commands as it sends them; one that would send anything else "
            f"than listed here asks again.")
    return ConfirmRequest(step=covered[0].step, hosts=sorted({h for r in covered
                                                               for h in r.hosts}),
                          commands=commands, kind=kind, expected=expected, text=text,
                          phase=phase, covers=tuple(ids), details="\n".join(texts))


class Runner:
    def __init__(self, runbook: Runbook, ctx: RunContext, *, resume: JournalState | None = None):
        self.runbook = runbook
        self.ctx = ctx
        self.resume = resume
        # phases confirmed in this run: phase -> (the step that asked, what each step it
        # covered was shown to send); a resumed run asks again (nothing carries over)
        self._phases: dict[str, tuple[str, dict[str, tuple]]] = {}

    # --- the plan ---------------------------------------------------------------------------

    def plan(self) -> list[PlannedStep]:
        out = []
        for step in self.runbook.steps:
            reason = step.skip_if(self.ctx) if step.skip_if else None
            hosts = self.ctx.targets(step)
            commands = {h: [c.redacted(self.ctx.use_sudo) for c in self.ctx.commands_for(step, h)]
                        for h in hosts} if step.commands else {}
            if step.preview is not None:
                for host, command in step.preview(self.ctx):
                    commands.setdefault(host, []).append(command.redacted(self.ctx.use_sudo))
            api = step.api.describe(self.ctx) if step.api else None
            out.append(PlannedStep(step, hosts, commands, api, reason))
        return out

    # --- running ----------------------------------------------------------------------------

    def _journal(self, step: str, event: str, hosts=(), **extra) -> None:
        if self.ctx.journal is not None:
            self.ctx.journal.write(step, event, hosts, **extra)

    def _show(self, kind: RunEventKind, step: str = "-", text: str = "", hosts=(),
              remaining=None):
        self.ctx.operator.show(RunEvent(kind, step, text, tuple(hosts), remaining))

    def refuse_read_only(self) -> None:
        if self.runbook.mutating and self.ctx.backend.read_only:
            raise Refused(f"the {self.runbook.name} runbook changes the cluster and the console "
                          f"is read-only", hint="Run it without --read-only")

    async def preflight(self) -> None:
        """Interlocks; raises Refused with every reason."""
        self.refuse_read_only()
        override = self.ctx.params.get("override")
        if override not in (None, ""):  # "": a screen's empty override field, no override
            # an interlock is passed only for a reason someone wrote: spaces are none
            reason = override.strip() if isinstance(override, str) else ""
            if not reason:
                raise Refused("an override needs a reason: say, in words, why it is safe to "
                              "run despite the interlock (it is journaled)")
            self.ctx.params["override"] = reason
        missing = [p for p in self.runbook.params if self.ctx.params.get(p) in (None, "")]
        if missing:
            raise Refused(f"the {self.runbook.name} runbook needs {', '.join(missing)}")
        if self.runbook.preflight is not None:
            reasons = await self.runbook.preflight(self.ctx)
            if reasons:
                raise Refused(f"{self.runbook.name} refused: " + "; ".join(reasons))

    async def run(self) -> None:
        """Run to the end; raises RunAborted (exit 1) or Refused (exit 2)."""
        # the pace (tui.pace) counts the time the runner works apart from the time it waits
        # for the operator: a drill's fair clock counts only the latter at real speed
        ctx, pace = self.ctx, self.ctx.pace
        operator = ctx.operator
        ctx.operator = _Asking(operator, pace)
        try:
            with pace.working():
                await self._run()
        finally:
            ctx.operator = operator

    async def _run(self) -> None:
        if self.resume is None:
            await self.preflight()
            self._journal("-", "planned", params=self.ctx.params,
                          steps=[s.id for s in self.runbook.steps])
            if self.ctx.params.get("override"):
                self._journal("-", "override", reason=self.ctx.params["override"])
                self._show(RunEventKind.NOTE,
                           text=f"interlock overridden: {self.ctx.params['override']}")
        else:
            # a resume skips the interlocks the first run passed (they may no longer hold
            # half-way through), but never read-only: nothing is journaled, nothing is sent
            self.refuse_read_only()
            self._journal("-", "resumed", params=self.ctx.params,
                          in_flight=self.resume.in_flight, done=sorted(self.resume.done))
            self._show(RunEventKind.NOTE,
                       text=f"resuming: {len(self.resume.done)} step(s) already done"
                       + (f"; {self.resume.in_flight} was under way: checking it first"
                          if self.resume.in_flight else ""))
        for step in self.runbook.steps:
            if self.resume is not None and step.id in self.resume.done:
                continue
            await self._run_step(step)
        self._journal("-", "finished")
        self._show(RunEventKind.DONE, text=f"{self.runbook.title}: done")

    async def _run_step(self, step: Step) -> None:
        ctx = self.ctx
        reason = step.skip_if(ctx) if step.skip_if else None
        hosts = ctx.targets(step)
        if reason:
            self._journal(step.id, "skipped", hosts, reason=reason)
            self._show(RunEventKind.SKIP, step.id, f"{step.title}: skipped ({reason})", hosts)
            return
        self._show(RunEventKind.STEP, step.id, step.title, hosts)
        retried = False
        while True:
            try:
                await self._attempt(step, hosts, confirmed=retried)
                return
            except NotConfirmed as cancelled:
                # the step never started: the run is journaled as cancelled before it, and
                # the step goes back to not started (a failed line would count as a failure)
                self._journal("-", "failed", error=cancelled.what)
                self._show(RunEventKind.CANCELLED, step.id, cancelled.what, hosts)
                raise
            except (RunAborted, *PASS_THROUGH) as stop:
                # raised from inside a step (the operator stopped at an unknown outcome, or a
                # headless run has no answer for one): the journal says where and why
                self._journal(step.id, "failed", hosts, error=stop.message)
                self._journal("-", "failed", error=f"stopped at {step.id}: {stop.message}")
                raise
            except _StepFailed as failure:
                self._journal(step.id, "failed", hosts, error=failure.message)
                self._show(RunEventKind.FAILED, step.id, f"failed: {failure.message}", hosts)
                decision = await ctx.operator.on_failure(step, failure.message)
                if decision.action == "retry":
                    # choosing retry after seeing the failure is the confirmation
                    self._journal(step.id, "confirmed", hosts, kind="retry")
                    self._show(RunEventKind.NOTE, step.id, "retrying")
                    retried = True
                    continue
                if decision.action == "skip" and decision.reason.strip():
                    self._journal(step.id, "override", hosts, reason=decision.reason.strip())
                    self._journal(step.id, "skipped", hosts,
                                  reason=f"override: {decision.reason.strip()}")
                    self._show(RunEventKind.SKIP, step.id, "skipped by the operator: "
                                                f"{decision.reason.strip()}")
                    return
                self._journal("-", "failed", error=f"aborted at {step.id}: {failure.message}")
                raise RunAborted(f"{self.runbook.title} stopped at {step.id} ({step.title}): "
                                 f"{failure.message}",
                                 hint=f"The journal has every step so far; fix the cause and "
                                      f"run again to resume from {step.id}")

    async def _attempt(self, step: Step, hosts: list[str], confirmed: bool = False) -> None:
        ctx = self.ctx
        acts = bool(step.commands or step.api or step.action)
        if acts and step.check is not None and step.precheck:
            # the postcondition may already hold: a re-run or a resumed in-flight step
            verdict = await self._check(step, hosts)
            if verdict.ok:
                self._journal(step.id, "already-done", hosts, detail=verdict.detail)
                self._show(RunEventKind.ALREADY_DONE, step.id,
                           f"already done: {verdict.detail}", hosts)
                return
        if step.confirm != Confirm.NONE and not confirmed:
            await self._confirm(step, hosts)
        self._journal(step.id, "started", hosts)
        if step.commands:
            await self._run_commands(step, hosts)
        if step.action:
            step_run = StepRun(self, step)
            what = await step.action(ctx, step_run)
            if step.check is None:
                # nothing sent, and what it would have sent was done earlier in this run
                # (tui/runbooks/attempts.py): the step is already done, by that evidence
                event = "already-done" if step_run.done_before and not step_run.sent \
                    else "finished"
                self._journal(step.id, event, hosts, detail=what,
                              **({"facts": dict(ctx.facts)} if ctx.facts else {}))
                self._show(RunEventKind.ALREADY_DONE if event == "already-done"
                           else RunEventKind.DONE, step.id,
                           f"{'already done' if event == 'already-done' else 'done'}: {what}",
                           hosts)
                return
        if step.api:
            try:
                what = await step.api.call(ctx)
            except ReadOnlyRefused:
                raise
            except EtcdDrError as e:
                raise _StepFailed(e.message) from None
            except Exception as e:  # API client errors: say what and where
                from tui.cluster.api import describe_api_error

                raise _StepFailed(describe_api_error(e, ctx.api.server)) from None
            self._journal(step.id, "finished", [], api=step.api.describe(ctx), detail=what)
        if step.check is not None:
            verdict = await self._wait_for(step, hosts)
            if not verdict.ok:
                raise _StepFailed(verdict.detail or "its check did not hold")
            self._journal(step.id, "finished", hosts, detail=verdict.detail,
                          **({"facts": dict(ctx.facts)} if ctx.facts else {}))
            self._show(RunEventKind.DONE, step.id, f"done: {verdict.detail}", hosts)
        else:
            self._journal(step.id, "finished", hosts)
            self._show(RunEventKind.DONE, step.id, "done", hosts)

    async def _confirm(self, step: Step, hosts: list[str]) -> None:
        """Ask before a step that changes the cluster, once per phase: the phase's first
        confirming step asks for all of them, listing each one's commands and hosts. A later
        step goes ahead on that answer only if it sends exactly what was shown; anything
        else (other hosts, other commands, a step not listed then) asks on its own."""
        request = self._confirm_request(step, hosts)
        asked_at, shown = self._phases.get(step.phase, ("", {})) if step.phase else ("", {})
        if step.id in shown:
            if shown[step.id] == _shown(request):
                self._journal(step.id, "confirmed", hosts, kind="phase", phase=step.phase,
                              by=asked_at)
                self._show(RunEventKind.NOTE,
                           step.id, f"confirmed with its phase at {asked_at}", hosts)
                return
            request = replace(request, text="Changed since the phase was confirmed at "
                                             f"{asked_at}: {request.text}")
        elif step.phase and step.phase not in self._phases:
            covered = [request] + self._later_in_phase(step)
            if len(covered) > 1:
                request = _phase_request(step.phase, covered, self.ctx)
        if not await self.ctx.operator.confirm(request):
            raise NotConfirmed(step.id)
        extra = {}
        if request.covers:
            self._phases[step.phase] = (step.id, {r.step.id: _shown(r) for r in covered})
            extra = {"phase": step.phase, "covers": list(request.covers)}
        self._journal(step.id, "confirmed", hosts, kind=request.kind.value, **extra)

    def _later_in_phase(self, step: Step) -> list[ConfirmRequest]:
        """What the phase's later confirming steps would ask now (those that apply now and
        whose commands can be listed now; the others ask when they come)."""
        ctx, out = self.ctx, []
        after = self.runbook.steps[self.runbook.steps.index(step) + 1:]
        done = self.resume.done if self.resume is not None else set()
        for later in after:
            if later.phase != step.phase or later.confirm == Confirm.NONE or later.id in done:
                continue
            try:
                if later.skip_if is not None and later.skip_if(ctx):
                    continue
                out.append(self._confirm_request(later, ctx.targets(later)))
            except Exception:  # noqa: BLE001 - it needs what an earlier step learns: asks then
                continue
        return out

    def _confirm_request(self, step: Step, hosts: list[str]) -> ConfirmRequest:
        ctx = self.ctx
        lines = []
        for h in hosts:
            for c in ctx.commands_for(step, h):
                lines.append(f"{h}: {c.redacted(ctx.use_sudo)}")
        if step.api:
            lines.append(f"API: {step.api.describe(ctx)}")
        if step.preview is not None:
            # a custom action: what it expects to send (the restore's host and API steps)
            lines += [f"{h}: {c.redacted(ctx.use_sudo)}" for h, c in step.preview(ctx)]
        expected = {Confirm.TYPE_HOST: hosts[0] if hosts else "",
                    Confirm.TYPE_CLUSTER: ctx.inventory.cluster_name}.get(step.confirm, "yes")
        where = ", ".join(hosts) if hosts else step.targets.value
        return ConfirmRequest(step=step, hosts=hosts, commands=lines, kind=step.confirm,
                              expected=expected,
                              text=f"{step.id} {step.title} on {where}: {step.explain}")

    async def _run_commands(self, step: Step, hosts: list[str]) -> None:
        ctx = self.ctx

        async def on_host(host: str) -> RunResult | None:
            result = None
            for command in ctx.commands_for(step, host):
                self._show(RunEventKind.COMMAND,
                           step.id, f"$ {command.display(ctx.use_sudo)}", [host])
                self._journal(step.id, "started", [host],
                              command=command.redacted(ctx.use_sudo))
                result = await ctx.fleet.run_one(
                    host, command,
                    on_line=lambda stream, text, h=host: self._show(
                        "output", step.id, text if stream == "stdout" else f"! {text}", [h]))
                learned = {}
                if step.on_output is not None:
                    step.on_output(ctx, host, result)
                    # on the command's own line: what its output said (the backup's closing
                    # {"hash":...} line) survives a console killed before the step ends
                    learned = {"facts": dict(ctx.facts)} if ctx.facts else {}
                event = "finished" if result.ok else "failed"
                self._journal(step.id, event, [host], command=command.redacted(ctx.use_sudo),
                              exit_status=result.exit_status,
                              **({"error": result.error} if result.error else {}),
                              duration=round(result.duration, 3), **learned)
                if not result.ok:
                    raise _StepFailed(f"{host}: {_result_problem(result)}")
            return result

        if step.parallel:
            outcomes = await asyncio.gather(*(on_host(h) for h in hosts),
                                            return_exceptions=True)
            problems = [o for o in outcomes if isinstance(o, BaseException)]
            for p in problems:
                if not isinstance(p, _StepFailed):
                    raise p
            if problems:
                raise _StepFailed("; ".join(p.message for p in problems))
        else:
            for h in hosts:
                await on_host(h)

    async def _check(self, step: Step, hosts: list[str]) -> CheckResult:
        try:
            if step.targets in (step.targets.API, step.targets.CONSOLE) or not hosts:
                return await step.check(self.ctx, None)
            results = await asyncio.gather(*(step.check(self.ctx, h) for h in hosts))
        except EtcdDrError as e:
            return CheckResult(False, e.message)
        bad = [f"{h}: {r.detail}" for h, r in zip(hosts, results) if not r.ok]
        if bad:
            return CheckResult(False, "; ".join(bad))
        details = {r.detail for r in results if r.detail}
        return CheckResult(True, "; ".join(sorted(details)))

    async def _wait_for(self, step: Step, hosts: list[str]) -> CheckResult:
        verdict = await self._check(step, hosts)
        if verdict.ok or step.wait is None:
            return verdict
        # the step's wait is in the operator's time (a drill's simulated seconds); the loop
        # sleeps in real seconds, and every countdown it shows is in the operator's time
        # the step's wait is in the operator's time (a drill's simulated seconds, which the
        # drill's pace skips ahead through); every countdown shown is in that time too
        pace, scale = self.ctx.pace, max(self.ctx.time_scale, 1e-6)
        interval = max(0.1 * scale, step.wait.interval)
        deadline = pace.now() + step.wait.timeout
        while True:
            remaining = deadline - pace.now()
            if remaining <= 0:
                return CheckResult(False, f"still not done after "
                                          f"{span(step.wait.timeout)}{time_note(scale)}: "
                                          f"{verdict.detail}")
            self._show(RunEventKind.WAITING, step.id, verdict.detail, hosts, remaining=remaining)
            await pace.sleep(min(interval, remaining))
            verdict = await self._check(step, hosts)
            if verdict.ok:
                return verdict


class _Asking:
    """The operator, with every question it is asked counted as the operator's time by the
    pace (tui.pace): a confirmation, a failed step's choice, an unknown outcome's."""

    def __init__(self, operator, pace):
        self._operator = operator
        self._pace = pace

    def __getattr__(self, name):
        return getattr(self._operator, name)

    async def confirm(self, request: ConfirmRequest) -> bool:
        with self._pace.asking():
            return await self._operator.confirm(request)

    async def on_failure(self, step: Step, error: str):
        with self._pace.asking():
            return await self._operator.on_failure(step, error)

    async def on_unknown(self, step: Step, question):
        with self._pace.asking():
            return await self._operator.on_unknown(step, question)


class StepRun:
    """What a step's custom action acts through: every command and wait it makes is shown
    to the operator and journaled under its step, as the runner does for plain steps."""

    def __init__(self, runner: Runner, step: Step):
        self._runner = runner
        self.step = step
        self.ctx = runner.ctx
        self.sent = 0  # commands sent to hosts through run()
        self.done_before = False  # a recorded command was found done earlier in this run

    def journal(self, event: str, hosts=(), step_id: str | None = None, **extra) -> None:
        self._runner._journal(step_id or self.step.id, event, hosts, **extra)

    def show(self, kind: RunEventKind, text: str, hosts=(), remaining=None,
             step_id: str | None = None) -> None:
        self._runner._show(kind, step_id or self.step.id, text, hosts, remaining)

    async def run(self, host: str, command, step_id: str | None = None,
                  attempt: str | None = None) -> RunResult:
        """Run one command on one host, shown and journaled; returns the result (no raise).
        attempt: the id of the attempt record the command is sent with (its journal lines
        carry it: tui/runbooks/attempts.py reads them back)."""
        ctx, sid = self.ctx, step_id or self.step.id
        extra = {"attempt": attempt} if attempt else {}
        self.sent += 1
        self.show(RunEventKind.COMMAND, f"$ {command.display(ctx.use_sudo)}", [host], step_id=sid)
        self.journal("started", [host], step_id=sid, command=command.redacted(ctx.use_sudo),
                     **extra)
        result = await ctx.fleet.run_one(
            host, command,
            on_line=lambda stream, text: self.show(
                "output", text if stream == "stdout" else f"! {text}", [host], step_id=sid))
        self.journal("finished" if result.ok else "failed", [host], step_id=sid,
                     command=command.redacted(ctx.use_sudo), exit_status=result.exit_status,
                     duration=round(result.duration, 3), **extra,
                     **({"error": result.error} if result.error else {}))
        return result

    async def wait(self, seconds: float, why: str, hosts=(), step_id: str | None = None) -> None:
        """A visible countdown of `seconds` in the operator's time (a drill's simulated
        seconds: it sleeps seconds / time_scale real ones); `remaining` is shown in the
        operator's time, as the runner's own waits show it."""
        pace, scale = self.ctx.pace, max(self.ctx.time_scale, 1e-6)
        deadline = pace.now() + seconds
        while (left := deadline - pace.now()) > 0:
            self.show(RunEventKind.WAITING, why, hosts, remaining=left, step_id=step_id)
            await pace.sleep(min(1.0 * scale, left))

    def fail(self, message: str) -> None:
        raise _StepFailed(message)


def span(seconds: float) -> str:
    """A stretch of time as a countdown shows it: 42s, 4m 10s, 1h 05m."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def time_note(scale: float) -> str:
    """' (drill time, x600)' when the clock runs at another speed than the wall's."""
    return f" (drill time, x{scale:g})" if scale != 1 else ""


def countdown(remaining: float, scale: float = 1.0) -> str:
    """A RunEvent's `remaining` (the operator's seconds: a drill's simulated ones) for the
    operator: "4m 10s left", in a drill at --speed 600 "4m 10s left (drill time, x600)"."""
    return f"{span(remaining)} left{time_note(scale)}"


class _StepFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _result_problem(result: RunResult) -> str:
    if result.error:
        return result.error
    err = [l for l in result.stderr.strip().splitlines() if l.strip()]
    tail = err[-1] if err else ""
    return f"exit status {result.exit_status}" + (f": {tail}" if tail else "")
