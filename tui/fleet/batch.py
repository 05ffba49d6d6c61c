"""Several read commands over one SSH channel, each with its own result.

A status look asks one host three things (`endpoint status --cluster`, `member list`,
`alarm list`). Sent as three commands that is three SSH channels, each opened, run and closed
on both sides: for a wall of a hundred clusters, most of a refresh. A Batch sends them as one
shell script that runs each in turn and, after each, prints a marker line with its exit
status on stdout and a marker line on stderr; `split` cuts the one result back into one
RunResult per command, as if each had run alone.

- Only plain commands batch: no attempt record, no input, no output file, no exported
  variables (Batch refuses them when built). Read-only mode checks every command of a batch
  by its grammar (tui/fleet/readonly.py); the glue between them is fixed text of this module.
- The markers carry a random token (one per console process), after a newline: no output
  can end a command's part early, and a command's output keeps its own last newline (or its
  lack of one).
- The batch's time limit is its longest command's: a command that hangs uses it up. A
  command the script never finished (a timeout, a lost connection, sudo refused) gets the
  whole run's error; the commands before it keep their own results, those after it never
  ran.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass, field, replace

from tui.fleet.commands import Command
from tui.fleet.events import RunResult

# one random token per console process: the same batch is the same text each look (a host's
# shell may cache its parse: the drill's does), and no output can know it in advance
_TOKEN = secrets.token_hex(8)


@dataclass(frozen=True)
class Batch:
    commands: tuple[Command, ...]
    token: str = field(default_factory=lambda: _TOKEN)

    def __post_init__(self) -> None:
        if not self.commands:
            raise ValueError("a batch needs at least one command")
        for c in self.commands:
            if c.attempt or c.stdin is not None or c.output_to is not None or c.env:
                raise ValueError(f"only plain commands batch, not {c.display()!r}")
        if len({c.privileged for c in self.commands}) != 1:
            raise ValueError("a batch's commands all run under sudo, or none does")

    # -- what Fleet.run_one reads of a command --

    @property
    def privileged(self) -> bool:
        return self.commands[0].privileged

    @property
    def timeout(self) -> float:
        return max(c.timeout for c in self.commands)

    @property
    def max_output(self) -> int | None:
        caps = [c.max_output for c in self.commands]
        return None if None in caps else sum(caps)  # type: ignore[arg-type]

    stdin = None
    output_to = None
    attempt = None

    def _mark(self, i: int) -> str:
        return f"@@etcd-dr-{self.token} {i}"

    def script(self) -> str:
        parts = []
        for i, c in enumerate(self.commands):
            mark = shlex.quote(self._mark(i))
            parts.append(f"{c.plain_script()}; printf '\\n%s %s\\n' {mark} \"$?\"; "
                         f"printf '\\n%s\\n' {mark} >&2")
        return "; ".join(parts)

    def render(self, use_sudo: bool) -> str:
        """The text sent over SSH: the script, under `sudo -n sh -c` when privileged."""
        if self.privileged and use_sudo:
            return f"sudo -n sh -c {shlex.quote(self.script())}"
        return f"sh -c {shlex.quote(self.script())}"

    def display(self, use_sudo: bool = True) -> str:
        """For panes: the commands as each shows itself, joined by `;`."""
        return "; ".join(c.display(use_sudo) for c in self.commands)

    # -- the one result, cut back into one per command --

    def split(self, whole: RunResult) -> list[RunResult]:
        out_parts, out_rest = self._parts(whole.stdout, with_status=True)
        err_parts, err_rest = self._parts(whole.stderr, with_status=False)
        done = len(out_parts)  # the commands whose exit status came back
        results = []
        for i in range(len(self.commands)):
            if i < len(err_parts):
                stderr = err_parts[i][0]
            else:
                stderr = self._unmarked(err_rest, i) if i == len(err_parts) else ""
            if i < done:
                stdout, status = out_parts[i]
                results.append(replace(whole, exit_status=status, stdout=stdout, stderr=stderr,
                                       error=None, timed_out=False,
                                       stdout_bytes=len(stdout.encode()),
                                       stderr_bytes=len(stderr.encode())))
                continue
            # unfinished (what it printed so far) or never started: the whole run's outcome
            stdout = self._unmarked(out_rest, i) if i == done else ""
            error = whole.error or (f"the batch ended before this command finished (exit "
                                    f"status {whole.exit_status})")
            results.append(replace(whole, exit_status=None, stdout=stdout, stderr=stderr,
                                   error=error, stdout_bytes=len(stdout.encode()),
                                   stderr_bytes=len(stderr.encode())))
        return results

    def _parts(self, text: str, *,
               with_status: bool) -> tuple[list[tuple[str, int | None]], str]:
        """Each finished command's part of `text` (and exit status), then what follows."""
        parts: list[tuple[str, int | None]] = []
        rest = text
        for i in range(len(self.commands)):
            pattern = re.escape("\n" + self._mark(i)) + (r" (\d+)\n" if with_status else r"\n")
            m = re.search(pattern, rest)
            if m is None:
                break
            parts.append((rest[:m.start()], int(m.group(1)) if with_status else None))
            rest = rest[m.end():]
        return parts, rest

    def _unmarked(self, rest: str, i: int) -> str:
        """What command i printed before the run was cut: without its marker, or the part
        of its marker that had arrived (a trailing newline may go with it: unknowable)."""
        mark = "\n" + self._mark(i)
        at = rest.find(mark)
        if at >= 0:
            return rest[:at]
        for k in range(min(len(mark), len(rest)), 0, -1):
            if rest.endswith(mark[:k]):
                return rest[:-k]
        return rest


def commands_of(command: Command | Batch) -> tuple[Command, ...]:
    """The commands a fleet call sends: a batch's, or the command itself."""
    return command.commands if isinstance(command, Batch) else (command,)
