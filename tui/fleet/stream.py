"""Copy one file from a host to another through the console, streamed in fixed-size chunks.

The source is read with `sudo -n cat -- FILE` (or `tail -c +N` to resume) as a binary
stream, the target appends what arrives to a temporary name beside the destination
(`FILE.etcd-dr-part`) with `sudo -n sh -c 'cat >> PART'`, waiting for the target to take each
chunk before reading the next (back-pressure: the console holds at most a chunk or two,
whatever the file's size). The console hashes the bytes as they pass. The temporary file is
renamed to its final name only when `sha256sum` on the source host equals `sha256sum` of the
temporary file on the target (and the console's own hash, when the copy ran from the first
byte). A temporary file left by an interrupted copy is continued from its last byte; the
final comparison on both hosts proves the joined file. A mismatch removes the temporary
file (a retry starts afresh) and never renames it.

Root-only files are fine: every command runs under `sudo -n` when the inventory says so.
In read-only mode the copy is refused before anything is sent (the write side changes the
target host). The copy's timeout scales with the file's size: COPY_TIMEOUT_TEXT says how.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

import asyncssh

from tui import timeouts
from tui.errors import ConfigError
from tui.files import fsync_directory, open_private, refuse_unusual, write_all
from tui.fleet.commands import Command, Safety
from tui.fleet.fleet import Fleet, RunResult

CHUNK = 4 * 1024 * 1024  # bytes read from the source per step; the console's buffer
PART_SUFFIX = ".etcd-dr-part"
# the copy timeout is tui/timeouts.py's rule for copies (one rule for every scaled timeout)
COPY_TIMEOUT_TEXT = (f"{timeouts.COPY.floor:g} s plus 1 s per "
                     f"{timeouts.COPY.bytes_per_second / timeouts.MB:g} MiB")
_WINDOW = 8 * 1024 * 1024  # the SSH channel window of the streams (asyncssh's default: 2 MiB)
_STDERR_KEEP = 4096
_SHA_LINE = re.compile(r"^\\?([0-9a-f]{64}) ")

Runner = Callable[[str, Command], Awaitable[RunResult]]
# (event "started" | "finished" | "failed", host, command, extra journal fields)
StreamEvent = Callable[[str, str, Command, dict], None]


def copy_timeout(size: int) -> float:
    """Seconds allowed to move (or hash) `size` bytes (COPY_TIMEOUT_TEXT)."""
    return float(timeouts.copy_timeout(max(0, size)).seconds)


def part_name(path: str) -> str:
    return path + PART_SUFFIX


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


# --- the commands, as values (shown, journaled, checked against read-only mode) -------------

def read_command(path: str, offset: int = 0, size: int = 0) -> Command:
    """`cat -- FILE`, or `tail -c +N -- FILE` to send from byte offset (0-based) on."""
    argv = ("cat", "--", path) if offset <= 0 else ("tail", "-c", f"+{offset + 1}", "--", path)
    return Command.of(*argv, privileged=True, timeout=copy_timeout(size))


def write_command(part: str, size: int = 0) -> Command:
    """Append stdin to PART, made 0600 first (a backup holds every secret of the cluster)."""
    return Command.of("sh", "-c", 'touch -- "$1" && chmod 600 -- "$1" && cat >> "$1"',
                      "sh", part, privileged=True, safety=Safety.MUTATING,
                      timeout=copy_timeout(size))


def size_command(path: str) -> Command:
    return Command.of("stat", "-c", "%s", "--", path, privileged=True, timeout=30)


def hash_command(path: str, size: int = 0) -> Command:
    return Command.of("sha256sum", "--", path, privileged=True, timeout=copy_timeout(size))


def rename_command(part: str, final: str) -> Command:
    return Command.of("mv", "-f", "--", part, final, privileged=True, safety=Safety.MUTATING)


def remove_command(part: str) -> Command:
    return Command.of("rm", "-f", "--", part, privileged=True, safety=Safety.MUTATING)


# --- progress -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StreamProgress:
    source: str
    target: str
    path: str  # the destination's final name
    done: int  # bytes of the file on the target so far (resumed bytes included)
    total: int
    resumed_from: int
    elapsed: float  # seconds since this copy's first byte

    @property
    def rate(self) -> float:
        """Bytes per second sent by this copy (resumed bytes not counted)."""
        return (self.done - self.resumed_from) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        return max(0, self.total - self.done) / rate if rate > 0 else None

    def text(self) -> str:
        from tui.runbooks.runner import span  # lazy: runbooks import the fleet, not back

        name = self.path.rsplit("/", 1)[-1]
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        eta = self.eta
        left = f", {span(eta)} left" if eta is not None and self.done < self.total else ""
        return (f"{name}: {human_bytes(self.done)} of {human_bytes(self.total)}{share}, "
                f"{self.rate / 1e6:.1f} MB/s{left}")


class Throttle:
    """Pass on at most one progress report per `every` seconds (a final one always): a
    line a second in the step's pane and on a headless run's stdout."""

    def __init__(self, show: Callable[[Any], None], every: float = 1.0):
        self._show, self._every, self._last = show, every, float("-inf")

    def __call__(self, p: Any, final: bool = False) -> None:
        now = time.monotonic()
        if final or now - self._last >= self._every:
            self._last = now
            self._show(p)


# --- the copy -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StreamResult:
    source: str
    source_path: str
    target: str
    target_path: str
    size: int  # the source's size as `stat` gave it before the copy
    sent: int  # bytes this copy streamed (not those resumed from)
    resumed_from: int
    sha256: str | None  # the source host's
    duration: float
    error: str | None = None
    mismatch: bool = False  # the checksums differed: the temporary file was removed

    @property
    def ok(self) -> bool:
        return self.error is None


class _Failed(Exception):
    def __init__(self, message: str, mismatch: bool = False):
        super().__init__(message)
        self.message, self.mismatch = message, mismatch


def _why(r: RunResult) -> str:
    err = [line for line in r.stderr.strip().splitlines() if line.strip()]
    return r.error or (err[-1] if err else f"exit status {r.exit_status}")


async def copy_between_hosts(fleet: Fleet, source: str, source_path: str, target: str,
                             target_path: str, *, run: Runner | None = None,
                             on_progress: Callable[[StreamProgress], None] | None = None,
                             on_stream: StreamEvent | None = None,
                             chunk: int = CHUNK, limit: float | None = None) -> StreamResult:
    """Copy source:source_path to target:target_path (its directory must exist).

    run: how the small commands (stat, sha256sum, mv, rm) are sent (default fleet.run_one;
    a runbook passes its StepRun.run so they are shown and journaled). on_stream: told when
    each side of the stream starts and ends, with the command (for the journal). limit: the
    operator's timeout for the stream (default: the copy rule on the bytes still to move).
    Raises ReadOnlyRefused in read-only mode before anything is sent."""
    runner: Runner = run or (lambda host, command: fleet.run_one(host, command))
    part = part_name(target_path)
    # refused as a whole before anything is sent: the write side changes the target
    fleet.check_allowed(write_command(part))
    fleet.check_allowed(read_command(source_path, 1))
    started = time.monotonic()
    size = resumed = sent = 0
    want: str | None = None

    def result(error: str | None = None, mismatch: bool = False) -> StreamResult:
        return StreamResult(source, source_path, target, target_path, size, sent, resumed,
                            want, time.monotonic() - started, error, mismatch)

    try:
        size = await _size(runner, source, source_path, missing_ok=False)
        resumed = await _size(runner, target, part, missing_ok=True)
        if resumed > size:  # not a beginning of this file: start afresh
            await _must(runner, target, remove_command(part), f"cannot remove {part}")
            resumed = 0
        # the source's own hash runs while the bytes flow (the page cache serves both)
        source_hash = asyncio.ensure_future(_hash(runner, source, source_path, size))
        try:
            hasher = hashlib.sha256()
            if resumed < size or size == 0:
                sent = await _stream(fleet, source, source_path, target, part, size, resumed,
                                     hasher, on_progress, on_stream, chunk, limit)
            want = await source_hash
        finally:
            if not source_hash.done():
                source_hash.cancel()
        got = await _hash(runner, target, part, size)
        ours = hasher.hexdigest() if resumed == 0 else None
        if got != want or (ours is not None and ours != want):
            await runner(target, remove_command(part))
            seen = f", through the console {ours[:12]}…" if ours and ours != want else ""
            raise _Failed(f"checksum mismatch copying {source}:{source_path} to "
                          f"{target}:{target_path}: sha256 on {source} {want[:12]}…, of "
                          f"{part} on {target} {got[:12]}…{seen}; {part} was removed, it was "
                          f"never renamed", mismatch=True)
        await _must(runner, target, rename_command(part, target_path),
                    f"cannot rename {part} to {target_path}")
    except _Failed as e:
        return result(e.message, e.mismatch)
    return result()


async def _size(runner: Runner, host: str, path: str, missing_ok: bool) -> int:
    r = await runner(host, size_command(path))
    if r.ok and r.exit_status == 0 and r.stdout.strip().isdigit():
        return int(r.stdout.strip())
    if missing_ok and r.error is None and "No such file" in r.stderr:
        return 0
    raise _Failed(f"{host}: cannot read the size of {path}: {_why(r)}")


async def _hash(runner: Runner, host: str, path: str, size: int) -> str:
    r = await runner(host, hash_command(path, size))
    m = _SHA_LINE.match(r.stdout) if r.ok and r.exit_status == 0 else None
    if m is None:
        raise _Failed(f"{host}: sha256sum {path} failed: {_why(r)}")
    return m.group(1)


async def _must(runner: Runner, host: str, command: Command, what: str) -> None:
    r = await runner(host, command)
    if not r.ok or r.exit_status != 0:
        raise _Failed(f"{host}: {what}: {_why(r)}")


async def _stream(fleet: Fleet, source: str, source_path: str, target: str, part: str,
                  size: int, offset: int, hasher, on_progress, on_stream,
                  chunk: int, limit: float | None = None) -> int:
    """Stream source_path from byte `offset` onto the end of target's part; bytes sent."""
    use_sudo = fleet.inventory.ssh.sudo
    read, write = read_command(source_path, offset, size), write_command(part, size)
    src_conn, dst_conn = fleet.connection(source), fleet.connection(target)
    for host, conn in ((source, src_conn), (target, dst_conn)):
        if conn is None:
            st = fleet.status[host]
            raise _Failed(f"{host} is not connected ({st.state.value}"
                          f"{': ' + st.error if st.error else ''})")

    def tell(event: str, host: str, command: Command, **extra) -> None:
        if on_stream is not None:
            try:
                on_stream(event, host, command, extra)
            except Exception:  # a journal hook must not break the copy
                pass

    def progress(done: int, first_byte: float) -> None:
        if on_progress is not None:
            try:
                on_progress(StreamProgress(source, target, part[:-len(PART_SUFFIX)], done,
                                           size, offset, time.monotonic() - first_byte))
            except Exception:  # a broken progress line must not break the copy
                pass

    errors = {source: bytearray(), target: bytearray()}

    async def keep_stderr(host: str, reader) -> None:
        while data := await reader.read(65536):
            kept = errors[host]
            kept += data
            del kept[:-_STDERR_KEEP]

    limit = limit if limit is not None else copy_timeout(max(0, size - offset))
    sent = 0
    reader = writer = None
    tasks: list[asyncio.Future] = []
    tell("started", source, read)
    tell("started", target, write)
    began = time.monotonic()
    try:
        async with asyncio.timeout(limit):
            writer = await dst_conn.create_process(write.render(use_sudo), encoding=None)
            reader = await src_conn.create_process(read.render(use_sudo), encoding=None,
                                                   stdin=asyncssh.DEVNULL, window=_WINDOW)
            tasks = [asyncio.ensure_future(keep_stderr(source, reader.stderr)),
                     asyncio.ensure_future(keep_stderr(target, writer.stderr))]
            progress(offset, began)
            while data := await reader.stdout.read(chunk):
                hasher.update(data)
                writer.stdin.write(data)
                sent += len(data)
                await writer.stdin.drain()  # the target's pace sets ours: bounded memory
                progress(offset + sent, began)
            writer.stdin.write_eof()
            done_reading = await reader.wait(check=False)
            done_writing = await writer.wait(check=False)
            await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        for proc in (reader, writer):
            if proc is not None:
                proc.close()
        raise
    except (TimeoutError, asyncio.TimeoutError):
        for proc in (reader, writer):
            if proc is not None:
                proc.close()
        tell("failed", source, read, bytes=sent, error="timed out")
        raise _Failed(f"the copy to {target}:{part} timed out after {limit:.0f}s "
                      f"({COPY_TIMEOUT_TEXT}, or --timeout) with {offset + sent} of {size} bytes there; "
                      f"run it again to continue from there")
    except (asyncssh.Error, OSError, asyncio.IncompleteReadError) as e:
        for proc in (reader, writer):
            if proc is not None:
                proc.close()
        # the target's own words, when it stopped taking bytes (disk full, permission)
        said = bytes(errors[target] or errors[source]).decode("utf-8", "replace").strip()
        why = said.splitlines()[-1] if said else (str(e).strip() or e.__class__.__name__)
        tell("failed", target, write, bytes=sent, error=why)
        raise _Failed(f"the copy from {source} to {target}:{part} stopped after "
                      f"{offset + sent} of {size} bytes: {why}; run it again to continue "
                      f"from there")
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
    for host, command, done in ((source, read, done_reading), (target, write, done_writing)):
        status = done.exit_status
        if status != 0:
            said = bytes(errors[host]).decode("utf-8", "replace").strip()
            why = said.splitlines()[-1] if said else (
                f"exit status {status}" if status is not None and status >= 0 else
                f"killed by signal {done.exit_signal[0] if done.exit_signal else 'unknown'}")
            tell("failed", host, command, exit_status=status, bytes=sent, error=why)
            raise _Failed(f"{host}: {command.display(use_sudo)} failed after {offset + sent} "
                          f"of {size} bytes: {why}")
        tell("finished", host, command, exit_status=0, bytes=sent)
    return sent


# --- a host's file to the operator's machine --------------------------------------------------

async def fetch_to_local(fleet: Fleet, host: str, remote_path: str, local_path: str, *,
                         run: Runner | None = None,
                         on_progress: Callable[[StreamProgress], None] | None = None,
                         on_stream: StreamEvent | None = None, chunk: int = CHUNK,
                         limit: float | None = None) -> StreamResult:
    """Copy host:remote_path to local_path on this machine, the same way as a copy between
    hosts: `sudo -n cat` (or `tail -c +N` to continue) streamed in chunks into
    LOCAL.etcd-dr-part (0600, never through a symbolic link), hashed as it arrives, renamed
    to LOCAL only when it equals `sha256sum` on the host. A LOCAL already there is compared
    with the host's file: the same sha256 is "already here" (proved now, not assumed); a
    different one is refused, never overwritten. Nothing on the host changes, but its reads
    name the file after `--`, which the read-only grammar refuses: a read-only fleet refuses
    the whole fetch before sending anything (a fetch belongs to a backup, BAK-6)."""
    runner: Runner = run or (lambda h, command: fleet.run_one(h, command))
    final = Path(local_path)
    part = Path(part_name(str(final)))
    read = read_command(remote_path, 1)
    fleet.check_allowed(read)
    started = time.monotonic()
    size = resumed = sent = 0
    want: str | None = None
    hint = "choose another --fetch-to directory, or fix the path, then run it again"

    def result(error: str | None = None, mismatch: bool = False) -> StreamResult:
        return StreamResult(host, remote_path, "this machine", str(final), size, sent, resumed,
                            want, time.monotonic() - started, error, mismatch)

    try:
        size = await _size(runner, host, remote_path, missing_ok=False)
        want_task = asyncio.ensure_future(_hash(runner, host, remote_path, size))
        try:
            try:
                there = refuse_unusual(final, what="the fetched file", hint=hint)
                part_st = refuse_unusual(part, what="the fetched file's temporary copy",
                                         hint=hint)
            except ConfigError as e:
                raise _Failed(f"{e}: {final}") from None
            if there is not None:  # already fetched? only a hash made now can say so
                got = await asyncio.to_thread(_local_sha256, final)
                want = await want_task
                if got == want:
                    return result()
                raise _Failed(f"{final} is already there and differs from {host}:{remote_path} "
                              f"(sha256 {got[:12]}… here, {want[:12]}… there): it was left "
                              f"as it is; move it away and run again", mismatch=True)
            resumed = part_st.st_size if part_st is not None else 0
            try:
                fd, _ = open_private(part, what="the fetched file's temporary copy", hint=hint,
                                     append=True)
            except ConfigError as e:
                raise _Failed(str(e)) from None
            try:
                if resumed > size:  # not a beginning of this file: start afresh
                    os.ftruncate(fd, 0)
                    resumed = 0
                hasher = hashlib.sha256()
                if resumed:
                    hasher = await asyncio.to_thread(_local_hasher, part, resumed)
                if resumed < size:
                    sent = await _fetch_stream(fleet, host, remote_path, fd, size, resumed,
                                               hasher, on_progress, on_stream, chunk, limit)
                os.fsync(fd)
            except OSError as e:
                raise _Failed(f"cannot write {part} on this machine ({e.strerror or e}); "
                              f"{resumed + sent} of {size} bytes are there: free space or "
                              f"fix it, then run again to continue") from None
            finally:
                os.close(fd)
            want = await want_task
        finally:
            if not want_task.done():
                want_task.cancel()
        got = hasher.hexdigest()
        if got != want:
            part.unlink(missing_ok=True)
            raise _Failed(f"checksum mismatch fetching {host}:{remote_path}: sha256 on {host} "
                          f"{want[:12]}…, of {part} here {got[:12]}…; {part} was removed, it "
                          f"was never renamed", mismatch=True)
        os.replace(part, final)
        fsync_directory(final.parent)
    except _Failed as e:
        return result(e.message, e.mismatch)
    return result()


async def _write_off_loop(fd: int, data: bytes) -> None:
    """Write a chunk in a thread (a slow disk must not freeze the screen); when cancelled,
    wait for the thread's write to end first, so the caller never closes an fd in use."""
    write = asyncio.ensure_future(asyncio.to_thread(write_all, fd, data))
    try:
        await asyncio.shield(write)
    except asyncio.CancelledError:
        await asyncio.wait([write])
        raise


def _local_hasher(path, length: int):
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        left = length
        while left > 0 and (block := f.read(min(CHUNK, left))):
            hasher.update(block)
            left -= len(block)
    return hasher


def _local_sha256(path) -> str:
    return _local_hasher(path, os.stat(path).st_size).hexdigest()


async def _fetch_stream(fleet: Fleet, host: str, remote_path: str, fd: int, size: int,
                        offset: int, hasher, on_progress, on_stream, chunk: int,
                        limit: float | None) -> int:
    """Stream remote_path from byte `offset` onto the end of the local fd; bytes written."""
    use_sudo = fleet.inventory.ssh.sudo
    read = read_command(remote_path, offset, size)
    conn = fleet.connection(host)
    if conn is None:
        st = fleet.status[host]
        raise _Failed(f"{host} is not connected ({st.state.value}"
                      f"{': ' + st.error if st.error else ''})")

    def tell(event: str, **extra) -> None:
        if on_stream is not None:
            try:
                on_stream(event, host, read, extra)
            except Exception:  # a journal hook must not break the copy
                pass

    limit = limit if limit is not None else copy_timeout(max(0, size - offset))
    stderr = bytearray()
    sent = 0
    reader = None
    tell("started")
    began = time.monotonic()

    async def keep_stderr(stream) -> None:
        while data := await stream.read(65536):
            stderr.extend(data)
            del stderr[:-_STDERR_KEEP]

    task: asyncio.Future | None = None
    try:
        async with asyncio.timeout(limit):
            reader = await conn.create_process(read.render(use_sudo), encoding=None,
                                               stdin=asyncssh.DEVNULL, window=_WINDOW)
            task = asyncio.ensure_future(keep_stderr(reader.stderr))
            while data := await reader.stdout.read(chunk):
                hasher.update(data)
                await _write_off_loop(fd, data)
                sent += len(data)
                if on_progress is not None:
                    try:
                        on_progress(StreamProgress(host, "this machine", remote_path,
                                                   offset + sent, size, offset,
                                                   time.monotonic() - began))
                    except Exception:
                        pass
            done = await reader.wait(check=False)
            await task
    except asyncio.CancelledError:
        if reader is not None:
            reader.close()
        raise
    except (TimeoutError, asyncio.TimeoutError):
        if reader is not None:
            reader.close()
        tell("failed", bytes=sent, error="timed out")
        raise _Failed(f"fetching {host}:{remote_path} timed out after {limit:.0f}s with "
                      f"{offset + sent} of {size} bytes here; run it again to continue")
    except OSError as e:  # this machine's disk (full, read-only): the caller says so
        if reader is not None:
            reader.close()
        tell("failed", bytes=sent, error=e.strerror or str(e))
        raise
    except (asyncssh.Error, asyncio.IncompleteReadError) as e:
        if reader is not None:
            reader.close()
        tell("failed", bytes=sent, error=str(e) or e.__class__.__name__)
        raise _Failed(f"fetching {host}:{remote_path} stopped after {offset + sent} of {size} "
                      f"bytes: {str(e).strip() or e.__class__.__name__}; run it again to "
                      f"continue from there")
    finally:
        if task is not None and not task.done():
            task.cancel()
    if done.exit_status != 0:
        said = bytes(stderr).decode("utf-8", "replace").strip()
        why = said.splitlines()[-1] if said else f"exit status {done.exit_status}"
        tell("failed", exit_status=done.exit_status, bytes=sent, error=why)
        raise _Failed(f"{host}: {read.display(use_sudo)} failed after {offset + sent} of {size} "
                      f"bytes: {why}")
    tell("finished", exit_status=0, bytes=sent)
    return sent
