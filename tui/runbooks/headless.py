"""Running a runbook without the UI: `etcd-dr run`.

One progress line per step event on stdout. On a terminal, confirmations are asked at the
prompt (destructive ones by typing the host or cluster name); elsewhere mutating steps need
--yes. A failed step aborts (exit 1): headless runs do not guess.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from tui.backend import Backend, BackendSpec
from tui.errors import ConfigError
from tui.journal import Journal, JournalState, default_journal_dir, read_journal
from tui.runbooks import registry, resolve_runbook
from tui.runbooks.attempts import (UnknownDecision, UnknownOutcome, UnknownState,
                                   unknown_message)
from tui.runbooks.context import ConfirmRequest, Decision, RunContext, RunEvent, RunEventKind
from tui.runbooks.model import Confirm, Step
from tui.runbooks.runner import Refused, RunAborted, Runner, countdown, time_note
from tui.secrets import RedactingWriter, register


class HeadlessOperator:
    def __init__(self, *, yes: bool, out=None, err=None, interactive: bool | None = None,
                 time_scale: float = 1.0, assume: dict[str, str] | None = None):
        self.yes = yes
        # --assume STEP=done|not-done: the operator's answers for unknown outcomes
        self.assume = dict(assume or {})
        self.ctx: RunContext | None = None  # set by run_headless: inspect commands need it
        # every line printed passes through the one redactor (tui/secrets.py)
        self.out = _redacting(out or sys.stdout)
        self.err = _redacting(err or sys.stderr)
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.time_scale = time_scale  # a drill's --speed: countdowns say so
        # the last countdown line printed: when, for what (step and reason), its countdown
        self._last_wait = 0.0
        self._last_wait_key: tuple[str, str] | None = None
        self._last_left = ""

    def show(self, event: RunEvent) -> None:
        if event.kind is RunEventKind.OUTPUT:
            return  # the journal and the console's panes keep output; stdout keeps progress
        if event.kind is RunEventKind.WARNING:
            # loud (a quorum guard left off): on stderr, red on a terminal, never throttled
            prefix = f"[{event.step}] " if event.step != "-" else ""
            text = f"{prefix}{event.text}"
            if getattr(self.err, "isatty", lambda: False)():
                text = f"\033[1;31m{text}\033[0m"
            print(text, file=self.err, flush=True)
            return
        if event.kind is RunEventKind.WAITING:
            line = self._waiting_line(event)
            if line is not None:
                self._print(line)
            return
        self._last_wait_key, self._last_left = None, ""  # a countdown after this is news
        hosts = f" [{', '.join(event.hosts)}]" \
            if event.hosts and event.kind is RunEventKind.STEP else ""
        self._print(f"[{event.step}] {event.text}{hosts}")

    def _waiting_line(self, event: RunEvent) -> str | None:
        """A countdown line only when it says something new: another reason (a rollout's
        progress), or, for the same reason, a countdown that moved on, at most once every
        10 s. A wait that polls (RST-23 waits 30 s before each look) starts its countdown
        afresh on every poll: the same "30s left" is printed once, not on every poll."""
        now = time.monotonic()
        left = countdown(event.remaining, self.time_scale) if event.remaining is not None \
            else ""
        key = (event.step, event.text)
        if key == self._last_wait_key and (now - self._last_wait < 10
                                           or left == self._last_left):
            return None
        shown = f" ({left})" if left and left != self._last_left else ""
        self._last_wait, self._last_wait_key, self._last_left = now, key, left
        return f"[{event.step}] waiting: {event.text}{shown}"

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def confirm(self, request: ConfirmRequest) -> bool:
        if self.yes:
            return True
        if not self.interactive:
            raise Refused(f"{request.step.id} changes the cluster and needs confirmation, but "
                          f"there is no terminal to ask on", hint="Add --yes to confirm "
                          "every step in advance, or run it in a terminal")
        if request.covers:  # one question for a phase's steps
            self._print(f"{request.phase} ({', '.join(request.covers)}):")
        self._print(request.text)
        for line in request.commands:
            self._print(f"    {line}")
        if request.details:
            self._print(request.details)
        if request.kind in (Confirm.TYPE_HOST, Confirm.TYPE_CLUSTER):
            prompt = f"Type {request.expected} to go ahead: "
        else:
            prompt = "Go ahead? [y/N] "
        answer = await asyncio.to_thread(input, prompt)
        if request.kind in (Confirm.TYPE_HOST, Confirm.TYPE_CLUSTER):
            return answer.strip() == request.expected
        return answer.strip().lower() in ("y", "yes")

    async def on_failure(self, step: Step, error: str) -> Decision:
        return Decision("abort")

    async def on_unknown(self, step: Step, question: UnknownState
                         ) -> tuple[UnknownDecision, str]:
        """--assume answers; else a terminal asks; else the run stops (exit 2) saying what
        was seen, how to look, and the flag to continue."""
        answer = self.assume.get(question.step_id) or self.assume.get(step.id)
        if answer:
            return (UnknownDecision.DONE if answer == "done" else UnknownDecision.RUN,
                    f"--assume {question.step_id if question.step_id in self.assume else step.id}"
                    f"={answer}")
        message, hint = unknown_message(self.ctx, question) if self.ctx else \
            (f"{question.step_id} on {question.host}: unknown whether it was done", "")
        if self.interactive and not self.yes:
            self._print(message)
            self._print(hint)
            reply = (await asyncio.to_thread(
                input, "Type done, not-done, or press Enter to stop: ")).strip()
            if reply == "done":
                return UnknownDecision.DONE, "answered done at the terminal"
            if reply == "not-done":
                return UnknownDecision.RUN, "answered not-done at the terminal"
            return UnknownDecision.ABORT, ""
        raise UnknownOutcome(message, hint=hint)


def journal_path_for(runbook: str, cluster: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return default_journal_dir() / f"{cluster}-{runbook}-{stamp}.jsonl"


def resume_state(path: Path, runbook: str) -> JournalState | None:
    """The state to resume from, when `path` holds an unfinished run of `runbook`."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    state = JournalState.from_records(read_journal(path))
    if state.runbook != runbook:
        raise ConfigError(f"the journal is for the {state.runbook} runbook, not {runbook}",
                          where=str(path), hint="Give another --journal file")
    if state.finished and not state.aborted:
        raise ConfigError("the journal's run already finished", where=str(path),
                          hint="Give a new --journal file to run it again")
    return state


async def run_headless(name: str, spec: BackendSpec, params: dict, *, yes: bool,
                       journal_path: str | None, dry_run: bool, out=None,
                       assume: dict[str, str] | None = None) -> int:
    runbooks = registry()
    runbook = runbooks[name]
    operator = HeadlessOperator(yes=yes, out=out, assume=assume)
    asks = next((s for s in runbook.steps if s.confirm != Confirm.NONE), None)
    if asks is not None and not (yes or dry_run or operator.interactive):
        # refused before it starts (no journal, nothing sent), not half-way at asks.id
        raise Refused(f"the {name} runbook changes the cluster and asks for confirmation "
                      f"({asks.id} first), but there is no terminal to ask on",
                      hint="Add --yes to confirm every step in advance, or run it in a "
                           "terminal")
    backend = Backend(spec)
    try:
        await backend.start(wait=True)
        path = Path(journal_path) if journal_path else \
            journal_path_for(name, backend.inventory.cluster_name)
        resume = None if dry_run else resume_state(path, name)
        if resume is not None:
            params = {**resume.params, **{k: v for k, v in params.items()
                                          if k not in resume.params}}
        elif name == "backup" and not params.get("host"):
            from tui.runbooks.backup import suggest_host

            params["host"] = suggest_host(await backend.collector.collect())
            if params["host"] is None:
                raise Refused("no healthy control-plane host to take the backup on",
                              hint="Check `etcd-dr status`, or name one with --host")
            operator._print(f"backup host: {params['host']} (a healthy non-leader; choose "
                            f"another with --host)")
        for key in ("host", "recovery_host"):  # --host, for every runbook: exit 2 when unknown
            if params.get(key):
                backend.inventory.require_host(params[key], "--host")
        journal = None if dry_run else Journal(path, name, secrets=_secrets(backend))
        ctx = RunContext(backend=backend, journal=journal, operator=operator, params=params,
                         dry_run=dry_run, time_scale=spec.speed if spec.is_drill else 1.0)
        operator.time_scale = ctx.time_scale
        operator.ctx = ctx
        if resume is not None:
            ctx.facts.update(resume.facts)
            from tui.runbooks.checks import reread_redacted_proxy

            await reread_redacted_proxy(ctx)
        try:
            # `restore` reads the cluster's version to choose its procedure
            runbook = await resolve_runbook(runbook, ctx)
        except BaseException:
            if journal is not None:
                journal.close()
            raise
        asks = next((s for s in runbook.steps if s.confirm != Confirm.NONE), None)
        if asks is not None and not (yes or dry_run or operator.interactive):
            if journal is not None:
                journal.close()
            raise Refused(f"the {name} runbook changes the cluster and asks for confirmation "
                          f"({asks.id} first), but there is no terminal to ask on",
                          hint="Add --yes to confirm every step in advance, or run it in a "
                               "terminal")
        runner = Runner(runbook, ctx, resume=resume)
        try:
            if dry_run:
                await runner.preflight()
                getattr(runbook, "print_plan", lambda r, o: print_plan(r, o))(
                    runner, operator.out)
                operator.out.flush()
                return 0
            operator._print(f"{runbook.title}: cluster {backend.inventory.cluster_name}"
                            f"{' (DRILL)' if backend.inventory.drill else ''}; journal: {path}")
            try:
                await runner.run()
            except RunAborted as stopped:
                if backend.inventory.drill:  # not "run again to resume": it cannot be
                    stopped.hint = ("This drill's simulated cluster ends with this run, so the "
                                    "run cannot be resumed: start a new drill (the same "
                                    "command), or drill in the console (`etcd-dr drill`), "
                                    "which offers a retry")
                raise
            return 0
        finally:
            if journal is not None:
                journal.close()
    finally:
        await backend.close()


def _secrets(backend: Backend) -> set[str]:
    """Values that must never reach a journal: the API token of the kubeconfig in use
    (registered process-wide too: stdout and panes never show it either)."""
    out = set()
    lab = backend.lab
    if lab is not None and lab.cluster.api.token:
        out.add(lab.cluster.api.token)
    register(*out)
    return out


def _redacting(stream):
    return stream if isinstance(stream, RedactingWriter) else RedactingWriter(stream)


def print_plan(runner: Runner, out) -> None:
    """The dry run's plan, in the words the console's runbook screens show it
    (PlannedStep.lines)."""
    ctx = runner.ctx
    print(f"Plan: {runner.runbook.title} on {ctx.inventory.cluster_name} (dry run: nothing "
          f"is sent)", file=out)
    for p in runner.plan():
        for line in p.lines(ctx.time_scale):
            print(line, file=out)
