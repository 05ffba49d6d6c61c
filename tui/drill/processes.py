"""The processes running on each drill host, as `pgrep -f` and `ps` would see them.

Every program the drill shell runs (tui.drill.shell.run_program) and every SSH exec request's
`bash -c COMMAND` holds an entry here for as long as it runs: its pid, its command line (argv
joined by spaces, as /proc/PID/cmdline reads with `pgrep -f`), its user and its start. A
host keeps the last HISTORY_LENGTH ended processes too, with their exit status, so a test or a
debrief can tell how often a script really ran on a host.

The console's attempt records (tui.fleet.attempts) rely on this: their probe asks
`pgrep -f 'attempts/[x]yz\\.rc'` whether the wrapped command (`sh -c 'INNER; echo $? > ...rc'`)
still runs. `attempt_inner` sees through that wrapper: the inner command is what was run.
"""

from __future__ import annotations

import re
import shlex
from collections import deque
from dataclasses import dataclass, field

from tui.drill.model import DrillHost

FIRST_PID = 4100  # sshd, systemd and friends hold the low ones
HISTORY_LENGTH = 200


@dataclass
class Process:
    pid: int
    argv: tuple[str, ...]
    user: str
    started: float  # simulated epoch seconds
    ended: float | None = None
    status: int | None = None

    @property
    def cmdline(self) -> str:
        return " ".join(self.argv)


@dataclass
class ProcessTable:
    running: dict[int, Process] = field(default_factory=dict)
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY_LENGTH))
    next_pid: int = FIRST_PID

    def start(self, argv: list[str] | tuple[str, ...], user: str, now: float) -> Process:
        proc = Process(self.next_pid, tuple(argv), user, now)
        self.next_pid += 1 + (self.next_pid % 3)  # other processes take pids meanwhile
        self.running[proc.pid] = proc
        return proc

    def end(self, proc: Process, status: int | None, now: float) -> None:
        self.running.pop(proc.pid, None)
        proc.ended, proc.status = now, status
        self.history.append(proc)

    def matching(self, pattern: re.Pattern, *, full: bool, exact: bool = False,
                 exclude: int | None = None) -> list[Process]:
        """Running processes whose command line (full) or name matches, as pgrep does."""
        out = []
        for proc in sorted(self.running.values(), key=lambda p: p.pid):
            if proc.pid == exclude:
                continue
            text = proc.cmdline if full else comm(proc.argv)
            hit = pattern.fullmatch(text) if exact else pattern.search(text)
            if hit:
                out.append(proc)
        return out


def comm(argv: tuple[str, ...]) -> str:
    """The process name (/proc/PID/comm): the program's base name, 15 characters at most."""
    return (argv[0].rsplit("/", 1)[-1] if argv else "")[:15]


def table(host: DrillHost) -> ProcessTable:
    """The host's process table (made on first use; it lives as long as the host)."""
    t = host.__dict__.get("_drill_processes")
    if t is None:
        t = ProcessTable()
        host.__dict__["_drill_processes"] = t
    return t


def ran(host: DrillHost, program: str) -> list[Process]:
    """The ended and running processes of `program` (a path or a base name) on the host,
    oldest first; a script run as `sh -c '... program ...'` counts only as its own process."""
    t = table(host)
    procs = list(t.history) + sorted(t.running.values(), key=lambda p: p.pid)
    base = program.rsplit("/", 1)[-1]
    return [p for p in procs if p.argv and (p.argv[0] == program or
                                            p.argv[0].rsplit("/", 1)[-1] == base)]


_WRAPPER = re.compile(
    r"^mkdir -p (?P<dir>\S+) && echo (?P<id>[a-z0-9-]+) > \S+\.start && "
    r"sh -c (?P<body>.+) 2>&1 \| tee -p -a \S+\.log; exit .*$", re.S)


def attempt_inner(text: str) -> tuple[str, str] | None:
    """(attempt id, inner command) when `text` is the shell text of an attempt record's
    wrapper (tui.fleet.attempts.wrap), also as sent under `sudo -n sh -c '...'`; None when it
    is not one. The inner command is what the console, or a trainee, ran."""
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    while words and words[0] == "sudo":  # sudo [-n] [-E] sh -c TEXT
        words = words[1:]
        while words and words[0].startswith("-"):
            words = words[1:]
    if len(words) == 3 and words[0] in ("sh", "bash", "/bin/sh", "/bin/bash") and \
            words[1] == "-c":
        text = words[2]
    m = _WRAPPER.match(text.strip())
    if not m:
        return None
    try:
        body = shlex.split(m.group("body"))
    except ValueError:
        return None
    if len(body) != 1:
        return None
    inner, sep, _ = body[0].rpartition("; echo $? > ")
    if not sep:
        return None
    return m.group("id"), inner
