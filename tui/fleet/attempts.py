"""Attempt records: how a destructive host command is sent so that its outcome can be read
back from the host later, even by a console that was killed while it ran.

For an attempt id A the host keeps, under ATTEMPTS_DIR:
  A.start  written before the command starts (its absence: the command never started)
  A.log    everything the command printed (stdout and stderr, merged)
  A.rc     its exit status, written when it ends (absent while it runs, or if it died)

The command's output also streams back over SSH as usual; `tee -p` keeps writing the log
when the SSH channel closes, so the command is not killed by SIGPIPE when the console dies:
it runs to its end and its exit status is recorded. Ids come from tui/runbooks/attempts.py
(a run id and a counter, [a-z0-9-] only): one run's records cannot be mistaken for another's.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

ATTEMPTS_DIR = "/var/lib/etcd-dr/attempts"
NO_RECORD_STATUS = 125  # the wrapper could not make its record: nothing was run
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,100}$")


def check_id(attempt: str) -> str:
    if not _ID.match(attempt):
        raise ValueError(f"not an attempt id: {attempt!r}")
    return attempt


def record_path(attempt: str, suffix: str) -> str:
    return f"{ATTEMPTS_DIR}/{check_id(attempt)}.{suffix}"


def wrap(attempt: str, inner: str) -> str:
    """The shell text that runs `inner` under attempt record `attempt`."""
    start, log, rc = (record_path(attempt, s) for s in ("start", "log", "rc"))
    body = shlex.quote(f"{inner}; echo $? > {rc}")
    return (f"mkdir -p {ATTEMPTS_DIR} && echo {attempt} > {start} && "
            f"sh -c {body} 2>&1 | tee -p -a {log}; "
            f'exit "$(cat {rc} 2>/dev/null || echo {NO_RECORD_STATUS})"')


def probe_script(attempt: str) -> str:
    """What is on the host about `attempt`: its start line, `rc=N` (or `rc=` while none),
    and `running` while its command still runs. The pgrep pattern is the wrapper's own
    `echo $? > .../A.rc` with the id's first character bracketed, so it matches the
    wrapper's command line and never the probe's (which names A.rc only after `cat`)."""
    rc = record_path(attempt, "rc")
    check_id(attempt)  # [a-z0-9-] only: nothing in it means anything to a regex but "-"
    pattern = f"echo .. > [^ ]*attempts/[{attempt[0]}]{attempt[1:]}\\.rc"
    return (f"cat {record_path(attempt, 'start')} 2>/dev/null; "
            f'echo "rc=$(cat {rc} 2>/dev/null)"; '
            f"pgrep -f {shlex.quote(pattern)} >/dev/null && echo running")


def log_tail_script(attempt: str, lines: int = 20) -> str:
    return f"tail -n {int(lines)} {record_path(attempt, 'log')}"


@dataclass(frozen=True)
class AttemptSeen:
    """What the host says of an attempt."""

    started: bool
    exit_status: int | None  # None: no exit status recorded (running, died, never started)
    running: bool

    @classmethod
    def parse(cls, attempt: str, stdout: str) -> "AttemptSeen":
        lines = [line.strip() for line in stdout.splitlines()]
        started = attempt in lines
        status = None
        for line in lines:
            if line.startswith("rc="):
                value = line[3:].strip()
                if value.lstrip("-").isdigit():
                    status = int(value)
        # a recorded exit status ends it, whatever pgrep saw: the wrapper's outer shell can
        # still be exiting for a moment after the status was written
        return cls(started, status, status is None and "running" in lines)

    def describe(self) -> str:
        if not self.started:
            return "no record on the host: the command never started there"
        if self.exit_status is not None:
            return f"the host recorded its exit status: {self.exit_status}"
        if self.running:
            return "it is still running on the host"
        return ("it started on the host and left no exit status (killed, or the host "
                "restarted)")
