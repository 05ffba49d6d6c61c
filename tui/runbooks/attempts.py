"""Did this run already do it? Answers from evidence tied to this run, never from guesses.

A destructive host command of a runbook is sent with an attempt record (tui/fleet/attempts.py):
the journal line written before it is sent names the attempt's id, and the host keeps the
attempt's start, output and exit status under that id. When a step is retried or a killed
run resumes, `run_recorded` reads this run's journal for the command's attempts and, for one
the journal does not know the end of, the host's record of it:

- exit 0 (in the journal, or recorded on the host): done, not sent again;
- another exit status: it failed; the step fails and says what the host shows, and a retry
  is a new attempt;
- no record on the host: it never started there, so it is sent;
- still running: waited for, then as above;
- started and left no exit status (killed, host restarted), or the record cannot be read:
  unknown. Unknown is never taken for done or not done: the operator decides, shown what
  was seen (headless: exit 2 with the command to inspect and the flag to continue).

A command this run never sent is sent when the host's state says it is still to do (the
step's `state` probe); when the host already looks done, that is not this run's evidence
either: unknown, and the operator decides.
"""

from __future__ import annotations

import secrets
import shlex
import time
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Awaitable, Callable

from tui.errors import EtcdDrError
from tui.fleet.attempts import AttemptSeen, log_tail_script, probe_script, record_path
from tui.fleet.commands import Command
from tui.journal import read_journal
from tui.runbooks.context import RunEventKind

if TYPE_CHECKING:  # pragma: no cover
    from tui.fleet.fleet import RunResult
    from tui.runbooks.context import RunContext
    from tui.runbooks.runner import StepRun


class Verdict(str, Enum):
    DONE = "done"
    NOT_DONE = "not done"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Evidence:
    verdict: Verdict
    detail: str
    seen: tuple[str, ...] = ()  # what was seen on the host, line by line


@dataclass(frozen=True)
class UnknownState:
    """What the operator is asked about when the evidence is unknown."""

    step_id: str  # the step (or sub-step) ID
    host: str
    command: str  # the command in question, as journals show it
    detail: str
    seen: tuple[str, ...]
    inspect: tuple[str, ...]  # commands the operator can run to look for themselves


class UnknownDecision(str, Enum):
    DONE = "done"  # the operator says it was done: not sent (journaled as an override)
    RUN = "not-done"  # the operator says it was not done: sent
    ABORT = "abort"


@dataclass
class RecordedOutcome:
    done_before: bool  # done earlier in this run (or by the operator's word): not sent now
    result: "RunResult | None" = None  # the result when it was sent now
    detail: str = ""


@dataclass(frozen=True)
class _Attempt:
    id: str
    started_at: str
    ended: bool = False
    exit_status: int | None = None
    error: str | None = None


StateProbe = Callable[["RunContext", str], Awaitable[Evidence]]


def new_attempt_id() -> str:
    return f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"


def attempts_in_journal(ctx: "RunContext", step_id: str, host: str,
                        command: str) -> list[_Attempt]:
    """This run's attempts of `command` on `host` under `step_id`, oldest first."""
    if ctx.journal is None or not ctx.journal.path.exists():
        return []
    found: dict[str, _Attempt] = {}
    for r in read_journal(ctx.journal.path):
        attempt = r.get("attempt")
        if not attempt or r.get("step") != step_id or r.get("command") != command \
                or host not in (r.get("hosts") or []):
            continue
        if r["event"] == "started":
            found[attempt] = _Attempt(attempt, r.get("time", ""))
        elif r["event"] in ("finished", "failed") and attempt in found:
            found[attempt] = replace(found[attempt], ended=True,
                                     exit_status=r.get("exit_status"), error=r.get("error"))
    return list(found.values())


def inspect_commands(ctx: "RunContext", host: str, attempt: str | None,
                     extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Commands the operator can paste into a terminal to look at the host themselves."""
    h = ctx.inventory.host(host)
    user = h.user or ctx.inventory.ssh.user
    port = h.port or ctx.inventory.ssh.port
    ssh = "ssh " + (f"-p {port} " if port and port != 22 else "") + \
        shlex.quote(f"{user}@{h.address}")
    sudo = "sudo " if ctx.use_sudo else ""
    out = []
    if attempt:
        out.append(f"{ssh} {shlex.quote(sudo + 'cat ' + record_path(attempt, 'log'))}")
        out.append(f"{ssh} {shlex.quote(sudo + 'ls -l ' + record_path(attempt, '*'))}")
    out += [f"{ssh} {shlex.quote(sudo + e)}" for e in extra]
    return tuple(out)


async def read_attempt(ctx: "RunContext", host: str, attempt: str) -> AttemptSeen | None:
    """The host's record of `attempt`, or None when it cannot be read."""
    r = await ctx.fleet.run_one(host, Command.of("sh", "-c", probe_script(attempt),
                                                 privileged=True, timeout=20), quiet=True)
    if r.error:
        return None
    seen = AttemptSeen.parse(attempt, r.stdout)
    if not seen.started and "rc=" not in r.stdout:
        return None  # the probe itself did not run as written
    return seen


async def log_tail(ctx: "RunContext", host: str, attempt: str, lines: int = 12) -> list[str]:
    r = await ctx.fleet.run_one(host, Command.of("sh", "-c", log_tail_script(attempt, lines),
                                                 privileged=True, timeout=20), quiet=True)
    return [l for l in r.stdout.splitlines() if l.strip()] if r.ok else []


async def run_recorded(run: "StepRun", host: str, command: Command, *,
                       step_id: str | None = None, state: StateProbe | None = None,
                       inspect: tuple[str, ...] = (),
                       on_failure: Callable[[str], Awaitable[str]] | None = None
                       ) -> RecordedOutcome:
    """Send `command` to `host` once in this run, under an attempt record.

    state: what the host shows when this run has no attempt that ended well (NOT_DONE: send
    it; DONE or UNKNOWN: the operator decides). inspect: extra commands (without sudo/ssh)
    worth running by hand when unknown. on_failure(text): more to say when it failed (what
    state the host is in, what to do), appended to the step's failure.
    """
    ctx, sid = run.ctx, step_id or run.step.id
    shown = command.redacted(ctx.use_sudo)
    past = attempts_in_journal(ctx, sid, host, shown)
    last = past[-1] if past else None

    if last is not None and last.ended and last.exit_status == 0 and not last.error:
        detail = f"done in this run: attempt {last.id} exited 0 (journal)"
        run.show(RunEventKind.ALREADY_DONE, f"{shown}: {detail}", [host], step_id=sid)
        return _done(run, detail)

    if last is not None and (not last.ended or last.error):
        outcome = await _settle(run, host, command, sid, shown, last, inspect, on_failure)
        if outcome is not None:
            return outcome

    if state is not None:
        evidence = await state(ctx, host)
        if evidence.verdict != Verdict.NOT_DONE:
            why = ("the host already looks done, but this run has no record of doing it"
                   if evidence.verdict == Verdict.DONE else evidence.detail)
            decided = await _ask(run, host, sid, shown, why, evidence.seen,
                                 inspect_commands(ctx, host, None, inspect))
            if decided is not None:
                return decided

    attempt = new_attempt_id()
    result = await run.run(host, replace(command, attempt=attempt), step_id=sid,
                           attempt=attempt)
    if result.error and result.exit_status is None:
        # the connection dropped or timed out: the command may still run (or have run)
        outcome = await _settle(run, host, command, sid, shown,
                                _Attempt(attempt, "", True, None, result.error), inspect,
                                on_failure)
        if outcome is not None:
            return outcome
        run.fail(f"{host}: {shown}: {result.error}")
    if result.exit_status != 0:
        more = await on_failure(_output_tail(result)) if on_failure else ""
        run.fail(f"{host}: {shown} exited {result.exit_status}"
                 + (f": {_output_tail(result)}" if _output_tail(result) else "")
                 + (f". {more}" if more else ""))
    if result.error:  # exit 0, but its output went over the cap: never a silent success
        run.fail(f"{host}: {shown}: {result.error}")
    return RecordedOutcome(False, result=result)


def _done(run, detail: str) -> RecordedOutcome:
    run.done_before = True
    return RecordedOutcome(True, detail=detail)


def _output_tail(result) -> str:
    text = (result.stderr.strip() or result.stdout.strip() or "")
    return text.splitlines()[-1] if text else ""


async def _settle(run, host, command, sid, shown, last: _Attempt, inspect,
                  on_failure) -> RecordedOutcome | None:
    """An attempt whose end this run did not see: what does the host say? None: it never
    started there (send it)."""
    ctx = run.ctx
    seen = await read_attempt(ctx, host, last.id)
    waited, budget = 0.0, max(command.timeout, 60.0)
    while seen is not None and seen.running and seen.exit_status is None and waited < budget:
        await run.wait(10.0, f"attempt {last.id} of `{shown}` still runs on {host}", [host],
                       step_id=sid)
        waited += 10.0
        seen = await read_attempt(ctx, host, last.id)
    if seen is None:
        decided = await _ask(run, host, sid, shown,
                             f"attempt {last.id} (sent {last.started_at or 'in this run'}) "
                             f"ended without an exit status here, and its record on {host} "
                             f"cannot be read", (),
                             inspect_commands(ctx, host, last.id, inspect), attempt=last.id)
        return decided
    if not seen.started:
        run.journal("failed", [host], step_id=sid, command=shown, attempt=last.id,
                    error="no attempt record on the host: it never started there",
                    evidence="attempt record")
        run.show(RunEventKind.NOTE,
                 f"{shown}: attempt {last.id} never started on {host}; sending it",
                 [host], step_id=sid)
        return None
    if seen.exit_status == 0:
        run.journal("finished", [host], step_id=sid, command=shown, attempt=last.id,
                    exit_status=0, evidence="attempt record")
        detail = f"done in this run: attempt {last.id} exited 0 (recorded on {host})"
        run.show(RunEventKind.ALREADY_DONE, f"{shown}: {detail}", [host], step_id=sid)
        return _done(run, detail)
    tail = await log_tail(ctx, host, last.id)
    if seen.exit_status is not None:
        run.journal("failed", [host], step_id=sid, command=shown, attempt=last.id,
                    exit_status=seen.exit_status, evidence="attempt record")
        for line in tail:
            run.show(RunEventKind.OUTPUT, line, [host], step_id=sid)
        more = await on_failure(tail[-1] if tail else "") if on_failure else ""
        run.fail(f"{host}: {shown} exited {seen.exit_status} (recorded on the host for "
                 f"attempt {last.id}, while the console was not watching)"
                 + (f": {tail[-1]}" if tail else "") + (f". {more}" if more else ""))
    decided = await _ask(run, host, sid, shown, f"attempt {last.id}: {seen.describe()}",
                         tuple(f"log: {l}" for l in tail),
                         inspect_commands(ctx, host, last.id, inspect), attempt=last.id)
    return decided


async def _ask(run, host, sid, shown, detail, seen, inspect,
               attempt: str | None = None) -> RecordedOutcome | None:
    """Unknown: the operator decides (journaled either way). None: send it (again)."""
    ctx = run.ctx
    question = UnknownState(sid, host, shown, detail, tuple(seen), tuple(inspect))
    run.show(RunEventKind.WARNING, f"{host}: unknown whether `{shown}` was done: {detail}", [host],
             step_id=sid)
    decision, reason = await ctx.operator.on_unknown(run.step, question)
    facts = {"unknown": detail, "seen": list(seen), "command": shown,
             **({"attempt": attempt} if attempt else {})}
    if decision == UnknownDecision.DONE:
        run.journal("override", [host], step_id=sid, decision="done",
                    reason=reason or "the operator says it was done", evidence=facts)
        text = f"done, on the operator's word ({reason})" if reason else \
            "done, on the operator's word"
        run.show(RunEventKind.ALREADY_DONE, f"{shown}: {text}", [host], step_id=sid)
        return _done(run, text)
    if decision == UnknownDecision.RUN:
        run.journal("confirmed", [host], step_id=sid, kind="assume-not-done",
                    reason=reason or "the operator says it was not done", evidence=facts)
        return None
    raise StoppedAtUnknown(f"stopped at {sid}: unknown whether `{shown}` was done on {host} "
                     f"({detail})", hint="Look at the host, then run again to resume")


class UnknownOutcome(EtcdDrError):
    """Headless: the evidence is unknown and no --assume says what to do (exit 2)."""

    exit_code = 2


class StoppedAtUnknown(EtcdDrError):
    """The operator chose to stop at an unknown outcome (exit 1, like an abort)."""

    exit_code = 1


# errors a step's action lets through as they are (the runner journals them and stops)
PASS_THROUGH = (UnknownOutcome, StoppedAtUnknown)


def unknown_message(ctx: "RunContext", q: UnknownState) -> tuple[str, str]:
    """(message, hint) for a headless run that stops on unknown evidence."""
    seen = "; ".join(q.seen) if q.seen else "nothing more"
    message = (f"{q.step_id} on {q.host}: unknown whether `{q.command}` was done: {q.detail}. "
               f"Seen: {seen}")
    look = "\n  ".join(q.inspect) if q.inspect else "(no command: the host cannot be reached)"
    hint = (f"Look at the host:\n  {look}\nthen run the same command again with "
            f"--assume {q.step_id}=done (it was done: it is not sent) or "
            f"--assume {q.step_id}=not-done (it was not: it is sent)")
    return message, hint
