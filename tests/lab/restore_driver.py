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
3 the journal's run had already ended. The reason is one paragraph on stderr; progress lines
(one per event, as `etcd-dr run` prints them) on stdout.

With STOP_EACH_LINE=1 in its environment the process stops itself (SIGSTOP) right after each
journal line is on disk, so that a test can SIGKILL it exactly at a journal boundary, or let
it go on (SIGCONT).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
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

    def show(self, event) -> None:
        super().show(event)
        hosts = f" [{', '.join(event.hosts)}]" if event.hosts else ""
        print(f"[{event.step}] {event.kind}: {event.text}{hosts}", flush=True)

    async def on_unknown(self, step, question):
        message, hint = unknown_message(self.ctx, question)
        raise UnknownOutcome(message, hint=hint)


async def drive(inventory: str, journal_path: Path, recovery_host: str, path_key: str) -> int:
    resume = None
    if journal_path.exists() and journal_path.stat().st_size > 0:
        resume = JournalState.from_records(read_journal(journal_path))
        if resume.finished:
            print(f"the journal's run already ended ({'aborted' if resume.aborted else 'finished'})",
                  file=sys.stderr)
            return ALREADY_ENDED
    operator = DriverOperator()
    backend = Backend(BackendSpec(inventory_path=inventory))
    journal = None
    try:
        await backend.start(wait=True)
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
        return 2 if isinstance(e, UnknownOutcome) else e.exit_code
    finally:
        if journal is not None:
            journal.close()
        await backend.close()


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: python -m tests.lab.restore_driver INVENTORY JOURNAL RECOVERY_HOST "
              "PATH_KEY", file=sys.stderr)
        return 2
    inventory, journal, recovery_host, path_key = argv
    if os.environ.get(STOP_EACH_LINE) == "1":
        add_listener(lambda _journal, _record: os.kill(os.getpid(), signal.SIGSTOP))
    return asyncio.run(drive(inventory, Path(journal), recovery_host, path_key))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
