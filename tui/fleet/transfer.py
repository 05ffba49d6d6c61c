"""Copy a local directory to a host over the fleet's own SSH connection (SFTP), then prove it
arrived intact: `sha256sum` on the host, compared with the sha256 of the local files.

Used to put a backup (snapshot_*.db, static_kuberesources_*.tar.gz) onto the recovery host
before a restore. No second connection is opened: the copy rides on the session the fleet
already holds, so it works through a jump host and counts against no MaxStartups.
Each file goes to a temporary name beside its own (FILE.etcd-dr-part) and is renamed to
FILE only once every file's sha256 on the host matches this machine's; a temporary file an
interrupted copy left is continued from its last byte (the sha256 proves the joined file).
Failures come back in the CopyResult (like RunResult), with a message an operator can act
on; `CopyResult.check()` turns them into a CommandFailed where raising suits the caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import asyncssh

from tui.errors import CommandFailed, ReadOnlyRefused
from tui.fleet.commands import Command
from tui.fleet.fleet import Fleet
from tui.fleet.stream import PART_SUFFIX, copy_timeout, part_name

_CHUNK = 1024 * 1024
_SUMS_PER_COMMAND = 200  # keep sha256sum's argv far below ARG_MAX
_SHA_LINE = re.compile(r"^\\?([0-9a-f]{64}) ")


@dataclass(frozen=True)
class CopyProgress:
    """One progress report: the file under way and the whole copy."""

    host: str
    path: str  # relative to the copied directory
    file_done: int
    file_total: int
    done: int  # bytes of all files so far
    total: int


@dataclass(frozen=True)
class CopiedFile:
    path: str  # relative to the copied directory, with "/" separators
    size: int
    sha256: str  # of the local file


@dataclass(frozen=True)
class CopyResult:
    host: str
    local_dir: str
    remote_dir: str
    files: tuple[CopiedFile, ...]
    bytes: int
    duration: float
    error: str | None = None
    mismatched: tuple[str, ...] = ()  # files whose checksum on the host differs

    @property
    def ok(self) -> bool:
        return self.error is None

    def check(self) -> "CopyResult":
        if self.error:
            raise CommandFailed(self.error, where=self.host,
                                hint="Nothing on the host was removed; copy again once the "
                                     "cause is fixed")
        return self


ProgressHandler = Callable[[CopyProgress], None]


def _local_files(local_dir: Path) -> tuple[list[str], list[tuple[str, Path]]]:
    """(sub-directories, files) under local_dir, relative with "/" separators, sorted."""
    dirs: list[str] = []
    files: list[tuple[str, Path]] = []
    for root, subdirs, names in os.walk(local_dir):
        subdirs.sort()
        rel_root = Path(root).relative_to(local_dir).as_posix()
        for d in subdirs:
            if os.path.islink(os.path.join(root, d)):
                raise ValueError(f"{os.path.join(root, d)} is a symbolic link")
            dirs.append(d if rel_root == "." else f"{rel_root}/{d}")
        for name in sorted(names):
            full = Path(root) / name
            if full.is_symlink() or not full.is_file():
                raise ValueError(f"{full} is not a regular file")
            files.append((name if rel_root == "." else f"{rel_root}/{name}", full))
    return dirs, files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def copy_dir_to_host(fleet: Fleet, host_name: str, local_dir: str | os.PathLike,
                           remote_dir: str, on_progress: ProgressHandler | None = None
                           ) -> CopyResult:
    """Copy local_dir's files into remote_dir on one host (made if missing), then verify them.

    on_progress is called as bytes go out: per file (file_done/file_total) and overall.
    """
    started = time.monotonic()
    local = Path(local_dir)
    remote_dir = remote_dir.rstrip("/") or "/"

    def result(files=(), total=0, error=None, mismatched=()) -> CopyResult:
        if error:
            fleet._note(host_name, f"copy to {remote_dir} failed: {error}")
        return CopyResult(host_name, str(local), remote_dir, tuple(files), total,
                          time.monotonic() - started, error, tuple(mismatched))

    if fleet.read_only:
        raise ReadOnlyRefused(f"refused in read-only mode: copying {local} to {remote_dir} "
                              f"writes to the host", where=host_name,
                              hint="Start the console without --read-only to change hosts")
    if not local.is_dir():
        return result(error=f"{local} is not a directory on this machine")
    try:
        dirs, entries = await asyncio.to_thread(_local_files, local)
        sums = await asyncio.to_thread(lambda: [_sha256(p) for _, p in entries])
    except (OSError, ValueError) as e:
        return result(error=f"cannot read {local}: {e}")
    files = [CopiedFile(rel, p.stat().st_size, digest)
             for (rel, p), digest in zip(entries, sums)]
    total = sum(f.size for f in files)

    conn = fleet.connection(host_name)
    if conn is None:
        st = fleet.status[host_name]
        return result(files, total, error=f"not connected ({st.state.value}"
                                          f"{': ' + st.error if st.error else ''})")

    fleet._note(host_name, f"copying {len(files)} files ({total} bytes) to {remote_dir} "
                           f"over SFTP")
    done_before = 0

    def report(rel: str, file_done: int, file_total: int) -> None:
        if on_progress is None:
            return
        try:
            on_progress(CopyProgress(host_name, rel, file_done, file_total,
                                     done_before + file_done, total))
        except Exception:  # a broken progress bar must not break the copy
            pass

    current = ""
    resumed: dict[str, int] = {}
    try:
        async with conn.start_sftp_client() as sftp:
            await sftp.makedirs(remote_dir, exist_ok=True)
            for d in dirs:
                current = d
                await sftp.makedirs(posixpath.join(remote_dir, d), exist_ok=True)
            for f, (_, path) in zip(files, entries):
                current = f.path
                part = part_name(posixpath.join(remote_dir, f.path))
                have = await _remote_size(sftp, part)
                if have > f.size:  # not a beginning of this file: start afresh
                    await sftp.remove(part)
                    have = 0
                report(f.path, have, f.size)
                if have == 0:
                    await sftp.put(str(path), part,
                                   progress_handler=lambda _s, _d, n, size, rel=f.path:
                                   report(rel, n, size))
                elif have < f.size:
                    resumed[f.path] = have
                    await _append_from(sftp, path, part, have,
                                       lambda n, rel=f.path, size=f.size: report(rel, n, size))
                else:
                    resumed[f.path] = have
                report(f.path, f.size, f.size)
                done_before += f.size
    except asyncssh.SFTPError as e:
        where = posixpath.join(remote_dir, current) if current else remote_dir
        return result(files, total, error=f"SFTP refused {where}: {e.reason}")
    except (asyncssh.Error, OSError) as e:
        return result(files, total, error=f"connection lost while copying {current or '-'}: "
                                          f"{str(e).strip() or e.__class__.__name__}")
    if resumed:
        fleet._note(host_name, "continued " + ", ".join(
            f"{rel} from byte {n}" for rel, n in resumed.items())
            + " (left by an earlier copy; sha256 proves the whole file)")

    # the proof: the host's own sha256sum of what it now has under the temporary names
    mismatched: list[str] = []
    details: list[str] = []
    timeout = copy_timeout(total)
    for i in range(0, len(files), _SUMS_PER_COMMAND):
        batch = files[i:i + _SUMS_PER_COMMAND]
        command = Command.of("sha256sum", "--",
                             *(part_name(posixpath.join(remote_dir, f.path)) for f in batch),
                             timeout=timeout)
        run = await fleet.run_one(host_name, command)
        if run.error or run.exit_status != 0:
            why = run.error or (run.stderr.strip().splitlines() or [f"exit {run.exit_status}"])[-1]
            return result(files, total, error=f"could not verify the copy in {remote_dir}: "
                                              f"sha256sum failed: {why}")
        remote = [m.group(1) for m in map(_SHA_LINE.match, run.stdout.splitlines()) if m]
        if len(remote) != len(batch):
            return result(files, total, error=f"could not verify the copy in {remote_dir}: "
                                              f"sha256sum reported {len(remote)} of "
                                              f"{len(batch)} files")
        for f, theirs in zip(batch, remote):
            if theirs != f.sha256:
                mismatched.append(f.path)
                details.append(f"{f.path} (sha256 here {f.sha256[:12]}…, "
                               f"on {host_name} {theirs[:12]}…)")
    try:
        async with conn.start_sftp_client() as sftp:
            if mismatched:
                # a bad temporary file is removed (a retry sends it afresh); the good ones
                # stay under their temporary names, and a retry only checks them again
                for rel in mismatched:
                    await sftp.remove(part_name(posixpath.join(remote_dir, rel)))
            else:
                for f in files:
                    current = f.path
                    final = posixpath.join(remote_dir, f.path)
                    await _rename(sftp, part_name(final), final)
    except (asyncssh.Error, OSError) as e:
        reason = getattr(e, "reason", "") or str(e).strip() or e.__class__.__name__
        if mismatched:
            details.append(f"the bad temporary file could not be removed: {reason}")
        else:
            return result(files, total, error=f"verified, but could not rename "
                                              f"{part_name(posixpath.join(remote_dir, current))}"
                                              f" to its name: {reason}")
    if mismatched:
        return result(files, total, mismatched=mismatched,
                      error=f"checksum mismatch after copying to {remote_dir}: "
                            + "; ".join(details) + " (nothing was renamed: the files keep "
                            f"their {PART_SUFFIX} names until all match)")
    fleet._note(host_name, f"copied {len(files)} files to {remote_dir}; sha256 verified")
    return result(files, total)


async def _remote_size(sftp: asyncssh.SFTPClient, path: str) -> int:
    """Bytes of a temporary file an earlier copy left, 0 when there is none."""
    try:
        return (await sftp.stat(path)).size or 0
    except asyncssh.SFTPNoSuchFile:
        return 0


async def _append_from(sftp: asyncssh.SFTPClient, local: Path, part: str, offset: int,
                       report: Callable[[int], None]) -> None:
    """Send local from byte `offset` onto the end of part, a chunk at a time."""
    done = offset
    with open(local, "rb") as source:
        source.seek(offset)
        async with sftp.open(part, "ab") as remote:
            while chunk := await asyncio.to_thread(source.read, _CHUNK):
                await remote.write(chunk, done)
                done += len(chunk)
                report(done)


async def _rename(sftp: asyncssh.SFTPClient, part: str, final: str) -> None:
    """part -> final, replacing final (OpenSSH's posix-rename; else remove, then rename)."""
    try:
        await sftp.posix_rename(part, final)
        return
    except asyncssh.SFTPOpUnsupported:
        pass
    try:
        await sftp.remove(final)
    except asyncssh.SFTPNoSuchFile:
        pass
    await sftp.rename(part, final)
