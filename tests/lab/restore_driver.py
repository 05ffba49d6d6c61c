"""The restore runbook in a process of its own, for tests that kill it (issue #11 item 6).

    python -m tests.lab.restore_driver INVENTORY JOURNAL RECOVERY_HOST PATH_KEY

runs tui.runbooks.restore.restore_runbook(PATH_KEY) headless against a lab's INVENTORY,
journaled to JOURNAL, with the lab's operator (tests/test_lab_restore.py LabOperator):
every confirmation given (--yes), a step that failed for want of the OpenShift API skipped
(a journaled override), anything else aborts. When JOURNAL already holds an unfinished run,
it resumes that run as `etcd-dr run --journal` does: its parameters and facts from the
journal, `Runner(runbook, ctx, resume=state)`, RECOVERY_HOST and PATH_KEY then unused.

An unknown outcome (tui/runbooks/attempts.py) is answered as a headless run without
--assume answers it: the run stops. Exit status: 0 the run finished; 1 it stopped at a failed
step (RunAborted); 2 it stopped at an unknown outcome (UnknownOutcome) or was refused;
3 the journal's run had already finished (an aborted one is resumed). The reason is one
paragraph on stderr; progress lines (one per event, with seconds since the start) on stdout.

With STOP_EACH_LINE=1 in its environment the process stops itself (SIGSTOP) right after each
journal line is on disk, so that a test can SIGKILL it exactly at a journal boundary, or let
it go on (SIGCONT).

    python -m tests.lab.restore_driver --serve

starts the same runs faster, for a test that starts dozens (a Python start with these
imports takes a second): it imports all this once, then for each request on stdin forks a
process of its own that is the run above. Requests, one line each, answered on stdout:
  run {"argv": [INVENTORY, JOURNAL, RECOVERY_HOST, PATH_KEY], "log": FILE, "stop_each_line":
       BOOL}      -> pid N   (its stdout and stderr go to FILE)
  reap            -> rc N    (waits for the run's end: its exit status, or -SIGNAL)
The run is a child of the server, not of the test: the test SIGKILLs it by its pid, sees its
end in /proc (a zombie until reaped), and reaps it through the server, so its pid is never
reused while the test may still signal it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from tests.test_lab_restore import BACKUP, TIME_SCALE, LabOperator
from tui.backend import Backend, BackendSpec
from tui.errors import EtcdDrError
from tui.journal import Journal, JournalState, add_listener, read_journal
from tui.runbooks.attempts import UnknownOutcome, unknown_message
from tui.runbooks.context import RunContext
from tui.runbooks.restore import restore_runbook
from tui.runbooks.runner import Runner

ALREADY_ENDED = 3
STOP_EACH_LINE = "STOP_EACH_LINE"


class DriverOperator(LabOperator):
    """The lab's operator, saying what it sees on stdout, stopping at an unknown outcome."""

    def __init__(self):
        super().__init__()
        self.ctx: RunContext | None = None
        self.began = time.monotonic()

    def show(self, event) -> None:
        super().show(event)
        hosts = f" [{', '.join(event.hosts)}]" if event.hosts else ""
        print(f"{time.monotonic() - self.began:7.2f} [{event.step}] {event.kind}: "
              f"{event.text}{hosts}", flush=True)

    async def on_unknown(self, step, question):
        message, hint = unknown_message(self.ctx, question)
        raise UnknownOutcome(message, hint=hint)


async def drive(inventory: str, journal_path: Path, recovery_host: str, path_key: str) -> int:
    resume = None
    if journal_path.exists() and journal_path.stat().st_size > 0:
        try:
            resume = JournalState.from_records(read_journal(journal_path))
        except EtcdDrError as e:
            print(f"{type(e).__name__}: {e.message}", file=sys.stderr)
            return e.exit_code
        if resume.finished and not resume.aborted:  # an aborted run resumes, as headless
            print("the journal's run already finished", file=sys.stderr)
            return ALREADY_ENDED
    operator = DriverOperator()
    backend = journal = None
    try:
        backend = Backend(BackendSpec(inventory_path=inventory))
        await backend.start(wait=True)
        print(f"{time.monotonic() - operator.began:7.2f} connected", flush=True)
        journal = Journal(journal_path, "restore")
        params = dict(resume.params) if resume else {"recovery_host": recovery_host,
                                                     "backup_dir": BACKUP}
        ctx = RunContext(backend=backend, journal=journal, operator=operator, params=params,
                         time_scale=TIME_SCALE)
        operator.ctx = ctx
        if resume is not None:
            ctx.facts.update(resume.facts)
        runbook = restore_runbook(resume.params["path"] if resume else path_key)
        await Runner(runbook, ctx, resume=resume).run()
        return 0
    except EtcdDrError as e:
        print(f"{type(e).__name__}: {e.message}", file=sys.stderr)
        return e.exit_code  # UnknownOutcome: 2
    finally:
        if journal is not None:
            journal.close()
        if backend is not None:
            await backend.close()


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        return serve()
    if len(argv) != 4:
        print("usage: python -m tests.lab.restore_driver INVENTORY JOURNAL RECOVERY_HOST "
              "PATH_KEY", file=sys.stderr)
        return 2
    inventory, journal, recovery_host, path_key = argv
    if os.environ.get(STOP_EACH_LINE) == "1":
        add_listener(lambda _journal, _record: os.kill(os.getpid(), signal.SIGSTOP))
    return asyncio.run(drive(inventory, Path(journal), recovery_host, path_key))


def serve() -> int:
    """The fork server of the module docstring; ends at the end of its stdin."""
    child = None
    for line in sys.stdin:
        verb, _, rest = line.strip().partition(" ")
        if verb == "run" and child is None:
            request = json.loads(rest)
            sys.stdout.flush()
            child = os.fork()
            if child == 0:
                _child(request)  # never returns
            print(f"pid {child}", flush=True)
        elif verb == "reap" and child is not None:
            _, status = os.waitpid(child, 0)
            child = None
            print(f"rc {os.waitstatus_to_exitcode(status)}", flush=True)
        else:
            print(f"error: cannot {verb} now", flush=True)
    if child is not None:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    return 0


def _child(request: dict) -> None:
    rc = 70
    try:
        fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.close(0)
        os.environ[STOP_EACH_LINE] = "1" if request.get("stop_each_line") else "0"
        rc = main(list(request["argv"]))
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
