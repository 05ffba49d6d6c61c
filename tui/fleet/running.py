"""Running commands: one command on many hosts at once, each with its own timeout, its output
streamed line by line to the listeners and capped in the RunResult; read-only mode refuses
what would change a host. Fleet gets these methods from CommandRunner."""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Iterable

import asyncssh

from tui.errors import ReadOnlyRefused
from tui.fleet.batch import Batch
from tui.fleet.commands import Command
from tui.fleet.events import EventSource, FleetEvent, FleetEventKind, Listener, RunResult
from tui.fleet.hoststate import SUDO_DENIED_MARKERS, HostState, brief_error
from tui.fleet.output import OUTPUT_CAP, Capture, LineSplitter, open_output_file, over_cap_error
from tui.fleet.readonly import refusal
from tui.inventory import Inventory

_OUTPUT_LIMIT = OUTPUT_CAP  # the default cap of one stream kept in memory (tui/fleet/output.py)


class CommandRunner(EventSource):
    """The command half of the fleet: commands on the hosts' open connections."""

    inventory: Inventory
    read_only: bool
    _conns: dict[str, asyncssh.SSHClientConnection]

    def check_allowed(self, command: Command | Batch) -> None:
        if self.read_only:
            why = refusal(command)
            if why:
                raise ReadOnlyRefused(f"refused in read-only mode: {why}",
                                      where=command.display(self.inventory.ssh.sudo),
                                      hint="Start the console without --read-only to change hosts")

    async def run(self, hosts: Iterable[str], command: Command,
                  timeout: float | None = None) -> dict[str, RunResult]:
        """Run one command on many hosts in parallel; one result per host."""
        self.check_allowed(command)
        names = list(hosts)
        results = await asyncio.gather(*(self.run_one(n, command, timeout) for n in names))
        return dict(zip(names, results))

    async def run_batch(self, name: str, batch: Batch, *,
                        quiet: bool = False) -> list[RunResult]:
        """A batch's commands on one host over one SSH channel: one result per command, as
        if each had run alone (tui/fleet/batch.py)."""
        return batch.split(await self.run_one(name, batch, quiet=quiet))

    async def run_one(self, name: str, command: Command | Batch, timeout: float | None = None,
                      on_line: Callable[[str, str], None] | None = None,
                      quiet: bool = False) -> RunResult:
        """Run on one host. quiet: do not echo to the host's pane (routine status polls,
        which would otherwise bury what a runbook does under a refresh every 2 s)."""
        self.check_allowed(command)
        emit = (lambda event: None) if quiet else self._emit
        started = time.monotonic()
        limit = timeout if timeout is not None else command.timeout
        use_sudo = self.inventory.ssh.sudo
        status = self.status.get(name)
        if status is None:
            self.inventory.host(name)  # raises a clear ConfigError
        if status.state == HostState.SUDO_DENIED and command.privileged and use_sudo:
            return self._finish(name, RunResult(
                name, None, "", "", 0.0, error=f"sudo-denied: {status.error}"), emit)
        conn = self._conns.get(name)
        if conn is None or not status.state.usable:
            return self._finish(name, RunResult(
                name, None, "", "", 0.0,
                error=f"not connected ({status.state.value}"
                      f"{': ' + status.error if status.error else ''})"), emit)
        cap = command.max_output if command.max_output is not None else _OUTPUT_LIMIT
        sink = None
        if command.output_to is not None:
            try:
                sink = open_output_file(command.output_to)
            except OSError as e:
                return self._finish(name, RunResult(
                    name, None, "", "", 0.0,
                    error=f"cannot write the command's output to {command.output_to}: "
                          f"{e.strerror or e}; nothing was run"), emit)
        out, err = Capture(cap, sink), Capture(cap)
        if not quiet:  # (a quiet poll's display text, redacted, would only be dropped)
            emit(FleetEvent(FleetEventKind.COMMAND, name, text=command.display(use_sudo)))

        async def pump(reader, kept: Capture, stream: str) -> None:
            # read whatever has arrived (up to 64 KiB): one await per chunk rather than per
            # line keeps a flood of output from starving the UI. The lines are split in time
            # linear in the output's size, each cut at its cap (LineSplitter); what the
            # result keeps is capped too (Capture). Reading goes on to the end either way,
            # so the remote command is never left blocked on a full pipe.
            lines = LineSplitter()

            def deliver(complete: list[str]) -> None:
                # one event per chunk, not per line: a flood costs the UI one call
                emit(FleetEvent(FleetEventKind.OUTPUT, name, stream=stream, lines=tuple(complete)))
                if on_line:
                    for text in complete:
                        on_line(stream, text)

            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                kept.add(chunk)
                complete = lines.feed(chunk)
                if complete:
                    deliver(complete)
                await asyncio.sleep(0)  # let keys and repaints through between chunks
            rest = lines.finish()
            if rest:
                deliver(rest)

        def result(exit_status: int | None, error: str | None = None,
                   timed_out: bool = False) -> RunResult:
            over = [(s, c) for s, c in (("stdout", out), ("stderr", err)) if c.over_cap]
            if over and error is None:
                error = "; ".join(over_cap_error(s, c, exit_status) for s, c in over)
            return RunResult(name, exit_status, out.text, err.text,
                             time.monotonic() - started, error=error, timed_out=timed_out,
                             stdout_bytes=out.size, stderr_bytes=err.size,
                             over_cap=bool(over))

        proc = None
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for returns the result of an inner
            # await that completes as the task is cancelled, and the cancellation is lost
            # (gh-86296, fixed in 3.12): a cancelled run_one must raise CancelledError.
            # Opening the session counts against the timeout too: a connection whose peer
            # stopped answering must not hold a command past its limit.
            async with asyncio.timeout(limit):
                if command.stdin is None:
                    proc = await conn.create_process(command.render(use_sudo),
                                                     stdin=asyncssh.DEVNULL)
                else:
                    proc = await conn.create_process(command.render(use_sudo))
                    proc.stdin.write(command.stdin)
                    proc.stdin.write_eof()
                await asyncio.gather(pump(proc.stdout, out, "stdout"),
                                     pump(proc.stderr, err, "stderr"))
            async with asyncio.timeout(5):
                completed = await proc.wait(check=False)
            status_code = completed.exit_status
            if status_code is None or status_code < 0:
                signal = completed.exit_signal[0] if completed.exit_signal else "unknown"
                return self._finish(name, result(None, f"killed by signal {signal}"), emit)
            outcome = result(status_code)
            if status_code != 0 and command.privileged and use_sudo and \
                    any(m in outcome.stderr for m in SUDO_DENIED_MARKERS):
                self._set_state(name, HostState.SUDO_DENIED,
                                outcome.stderr.strip().splitlines()[-1])
                outcome = result(status_code, "sudo-denied")
            return self._finish(name, outcome, emit)
        except asyncio.CancelledError:
            # the caller gave up (a runbook aborted, the console closing): stop the remote
            # command too, and let the cancellation through
            if proc is not None:
                proc.close()
            emit(FleetEvent(FleetEventKind.NOTE, name, text="cancelled"))
            raise
        except asyncio.TimeoutError:
            if proc is not None:
                proc.close()
            return self._finish(name, result(None, f"timed out after {limit:g}s", True), emit)
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError) as e:
            return self._finish(name, result(None, f"connection lost: {brief_error(e)}"), emit)
        finally:
            if sink is not None:
                sink.close()

    @staticmethod
    def _finish(name: str, result: RunResult, emit: Listener) -> RunResult:
        emit(FleetEvent(FleetEventKind.RESULT, name, text=_describe(result), result=result))
        return result


def _describe(result: RunResult) -> str:
    if result.error:
        return f"failed: {result.error} ({result.duration:.1f}s)"
    return f"exit {result.exit_status} ({result.duration:.1f}s)"

