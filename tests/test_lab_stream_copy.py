"""Host-to-host streamed copy (tui/fleet/stream.py) and the SFTP copy's resume, on real sshd:
a 64 MiB root-only file, bounded memory, a resume after an interrupted copy, a damaged
temporary file refused and never renamed."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import stat

import pytest

from tui.errors import ReadOnlyRefused
from tui.fleet.commands import Command, Safety
from tui.fleet.fleet import Fleet
from tui.fleet.stream import PART_SUFFIX, copy_between_hosts, fetch_to_local
from tui.fleet.transfer import copy_dir_to_host
from tui.inventory import load_inventory

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

SIZE = 64 * 1024 * 1024
WORK = "/var/lib/etcd/etcd-dr-copy"  # each lab host has its own /var/lib/etcd


def sha(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def peak_rss_reset() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the peak resident size, to the current size


def rss_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"{key}:\s+(\d+)", f.read()).group(1))


async def settled_size(path, what: str) -> int:
    """The size of a file a killed `cat >> FILE` may still be finishing, once it stops."""
    last = -1
    for _ in range(100):
        size = path.stat().st_size if path.exists() else 0
        if size == last:
            return size
        last = size
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} kept growing")


async def interrupted_copy(fleet, a, src, b, dst, after: int) -> int:
    """Start a copy and kill it (the console going away) once `after` bytes were sent; the
    partial temporary file's size."""
    task = None

    def on_progress(p) -> None:
        if p.done >= after and task is not None:
            task.cancel()

    task = asyncio.ensure_future(copy_between_hosts(fleet, a.name, src, b.name, dst,
                                                    on_progress=on_progress))
    with pytest.raises(asyncio.CancelledError):
        await task
    part = b.path(dst + PART_SUFFIX)
    have = await settled_size(part, "the partial copy")
    assert 0 < have < SIZE
    assert not b.path(dst).exists()
    return have


async def test_a_root_only_file_streams_host_to_host_in_bounded_memory_and_resumes(lab):
    a, b = lab.hosts[0], lab.hosts[1]
    src = f"{WORK}/snapshot_2026-12-03_000000.db"
    source_dir = a.path(WORK)
    source_dir.mkdir(mode=0o700, exist_ok=True)
    data = os.urandom(SIZE)
    a.path(src).write_bytes(data)
    os.chmod(a.path(src), 0o600)  # root's alone: only `sudo cat` reads it
    want = hashlib.sha256(data).hexdigest()
    del data
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    try:
        mk = await fleet.run_one(b.name, Command.of("mkdir", "-p", WORK, privileged=True,
                                                    safety=Safety.MUTATING))
        assert mk.ok and mk.exit_status == 0, mk

        # 1. a whole copy: every byte, both hashes, 0600, and the console never held the file
        progress = []
        peak_rss_reset()
        before = rss_kib("VmRSS")
        result = await copy_between_hosts(fleet, a.name, src, b.name, f"{WORK}/whole.db",
                                          on_progress=progress.append)
        grew_mib = (rss_kib("VmHWM") - before) / 1024
        assert result.ok, result.error
        assert (result.size, result.sent, result.resumed_from) == (SIZE, SIZE, 0)
        assert result.sha256 == want
        landed = b.path(f"{WORK}/whole.db")
        assert landed.stat().st_size == SIZE and sha(landed) == want
        assert stat.S_IMODE(landed.stat().st_mode) == 0o600
        assert not b.path(f"{WORK}/whole.db{PART_SUFFIX}").exists()
        assert grew_mib < 40, f"the console's peak RSS grew {grew_mib:.0f} MiB for 64 MiB"
        assert [p.done for p in progress] == sorted(p.done for p in progress)
        assert progress[-1].done == SIZE and "64.0 MiB of 64.0 MiB" in progress[-1].text()

        # 2. killed midway, then again: it continues from the bytes already there
        have = await interrupted_copy(fleet, a, src, b, f"{WORK}/resumed.db", after=16 << 20)
        again = await copy_between_hosts(fleet, a.name, src, b.name, f"{WORK}/resumed.db")
        assert again.ok, again.error
        assert again.resumed_from == have and again.sent == SIZE - have < SIZE
        assert sha(b.path(f"{WORK}/resumed.db")) == want

        # 3. a damaged partial file: the joined file's sha256 differs; refused, never renamed
        await interrupted_copy(fleet, a, src, b, f"{WORK}/damaged.db", after=8 << 20)
        with open(b.path(f"{WORK}/damaged.db{PART_SUFFIX}"), "r+b") as f:
            f.seek(4096)
            f.write(b"\0" * 64)
        bad = await copy_between_hosts(fleet, a.name, src, b.name, f"{WORK}/damaged.db")
        assert not bad.ok and bad.mismatch
        assert bad.error.startswith(f"checksum mismatch copying {a.name}:{src} to "
                                    f"{b.name}:{WORK}/damaged.db")
        assert "never renamed" in bad.error
        assert not b.path(f"{WORK}/damaged.db").exists()
        assert not b.path(f"{WORK}/damaged.db{PART_SUFFIX}").exists()
    finally:
        for host in (a, b):
            await fleet.run_one(host.name, Command.of("rm", "-rf", WORK, privileged=True,
                                                      safety=Safety.DESTRUCTIVE))
        await fleet.close()


async def test_read_only_refuses_the_streamed_copy_before_sending_anything(lab):
    fleet = Fleet(load_inventory(lab.inventory_path), read_only=True)
    sent = []
    fleet.subscribe(lambda e: sent.append(e) if e.kind == "command" else None)
    with pytest.raises(ReadOnlyRefused, match="read-only"):
        await copy_between_hosts(fleet, lab.hosts[0].name, "/etc/hostname",
                                 lab.hosts[1].name, "/tmp/hostname")
    assert sent == []


async def test_read_only_refuses_a_fetch_here_before_sending_anything(lab, tmp_path):
    """A fetch is part of a backup (BAK-6), which a read-only console never runs; its reads
    use `--` before the path (a file named like a flag stays a file), which the read-only
    grammar refuses: refused as a whole, before any command, nothing written here."""
    fleet = Fleet(load_inventory(lab.inventory_path), read_only=True)
    sent = []
    fleet.subscribe(lambda e: sent.append(e) if e.kind == "command" else None)
    await fleet.start()
    try:
        with pytest.raises(ReadOnlyRefused, match="read-only"):
            await fetch_to_local(fleet, lab.hosts[0].name, "/etc/hostname",
                                 str(tmp_path / "hostname"))
        assert sent == [] and list(tmp_path.iterdir()) == []
    finally:
        await fleet.close()


async def test_the_sftp_copy_continues_a_partial_temporary_file(lab, tmp_path):
    a = lab.hosts[0]
    backup = "/home/core/assets/backup"
    local = tmp_path / "backup"
    local.mkdir()
    data = os.urandom(6 * 1024 * 1024)
    (local / "snapshot_2026-12-03_000000.db").write_bytes(data)
    part = a.path(f"{backup}/snapshot_2026-12-03_000000.db{PART_SUFFIX}")
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:2 * 1024 * 1024])  # what an interrupted copy left
    os.chown(part.parent.parent, *_core_ids(a))
    os.chown(part.parent, *_core_ids(a))
    os.chown(part, *_core_ids(a))
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    progress = []
    try:
        result = await copy_dir_to_host(fleet, a.name, local, backup,
                                        on_progress=progress.append)
        assert result.ok, result.error
        assert progress[0].file_done == 2 * 1024 * 1024  # started where the last one stopped
        landed = a.path(f"{backup}/snapshot_2026-12-03_000000.db")
        assert landed.read_bytes() == data
        assert not part.exists()
    finally:
        await fleet.run_one(a.name, Command.of("rm", "-rf", "/home/core/assets",
                                               privileged=True, safety=Safety.DESTRUCTIVE))
        await fleet.close()


def _core_ids(host) -> tuple[int, int]:
    """The uid/gid the lab's SSH user owns its home with (SFTP writes as that user)."""
    st = host.path("/home/core").stat()
    return st.st_uid, st.st_gid


# --- a host's root-only file fetched to this machine (BAK-6 --fetch-to) ------------------------

async def test_a_root_only_file_is_fetched_here_resumed_and_never_overwritten(lab, tmp_path):
    a = lab.hosts[0]
    src = f"{WORK}/snapshot_2026-12-03_000000.db"
    a.path(WORK).mkdir(mode=0o700, exist_ok=True)
    data = os.urandom(SIZE)
    a.path(src).write_bytes(data)
    os.chmod(a.path(src), 0o600)  # root's alone: only `sudo cat` reads it
    want = hashlib.sha256(data).hexdigest()
    del data
    local = tmp_path / "safe" / "cluster"
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    try:
        # 1. whole: every byte, 0600, the temporary name gone, memory bounded
        peak_rss_reset()
        before = rss_kib("VmRSS")
        progress = []
        whole = await fetch_to_local(fleet, a.name, src, str(local / "whole.db"),
                                     on_progress=progress.append)
        grew_mib = (rss_kib("VmHWM") - before) / 1024
        assert whole.ok, whole.error
        assert (whole.size, whole.sent, whole.resumed_from, whole.sha256) == (SIZE, SIZE, 0,
                                                                              want)
        assert sha(local / "whole.db") == want
        assert stat.S_IMODE((local / "whole.db").stat().st_mode) == 0o600
        assert not (local / f"whole.db{PART_SUFFIX}").exists()
        assert grew_mib < 40, f"the console's peak RSS grew {grew_mib:.0f} MiB for 64 MiB"
        assert progress[-1].done == SIZE

        # 2. killed midway: the next fetch continues from the bytes already here
        task = None

        def stop(p) -> None:
            if p.done >= 16 << 20 and task is not None:
                task.cancel()

        task = asyncio.ensure_future(fetch_to_local(fleet, a.name, src,
                                                    str(local / "resumed.db"),
                                                    on_progress=stop))
        with pytest.raises(asyncio.CancelledError):
            await task
        have = (local / f"resumed.db{PART_SUFFIX}").stat().st_size
        assert 0 < have < SIZE and not (local / "resumed.db").exists()
        again = await fetch_to_local(fleet, a.name, src, str(local / "resumed.db"))
        assert again.ok, again.error
        assert again.resumed_from == have and again.sent == SIZE - have
        assert sha(local / "resumed.db") == want

        # 3. a damaged partial file: refused on the hash, removed, never renamed
        (local / f"damaged.db{PART_SUFFIX}").write_bytes(b"\0" * (4 << 20))
        bad = await fetch_to_local(fleet, a.name, src, str(local / "damaged.db"))
        assert not bad.ok and bad.mismatch and "never renamed" in bad.error
        assert not (local / "damaged.db").exists()
        assert not (local / f"damaged.db{PART_SUFFIX}").exists()

        # 4. already here: proved by a hash made now; a different file is left alone
        same = await fetch_to_local(fleet, a.name, src, str(local / "whole.db"))
        assert same.ok and same.sent == 0 and same.sha256 == want
        (local / "other.db").write_bytes(b"someone else's file")
        other = await fetch_to_local(fleet, a.name, src, str(local / "other.db"))
        assert not other.ok and "already there and differs" in other.error
        assert (local / "other.db").read_bytes() == b"someone else's file"

        # 5. a symbolic link where the file goes is refused, its target untouched
        (tmp_path / "elsewhere").write_bytes(b"x")
        (local / "link.db").symlink_to(tmp_path / "elsewhere")
        linked = await fetch_to_local(fleet, a.name, src, str(local / "link.db"))
        assert not linked.ok and "link" in linked.error
        assert (tmp_path / "elsewhere").read_bytes() == b"x"
    finally:
        await fleet.run_one(a.name, Command.of("rm", "-rf", WORK, privileged=True,
                                               safety=Safety.DESTRUCTIVE))
        await fleet.close()


async def test_the_operators_timeout_bounds_both_copies(lab, tmp_path):
    """--timeout on a restore (RST-03) and a fetch's limit: the stream stops there and says
    how far it got, leaving the temporary file to continue from."""
    a, b = lab.hosts[0], lab.hosts[1]
    src = f"{WORK}/big.db"
    a.path(WORK).mkdir(mode=0o700, exist_ok=True)
    a.path(src).write_bytes(os.urandom(SIZE))
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    try:
        await fleet.run_one(b.name, Command.of("mkdir", "-p", WORK, privileged=True,
                                               safety=Safety.MUTATING))
        copied = await copy_between_hosts(fleet, a.name, src, b.name, f"{WORK}/big.db",
                                          limit=0.05)
        assert not copied.ok and "timed out after 0s" in copied.error
        assert "or --timeout" in copied.error and "continue" in copied.error
        assert not b.path(f"{WORK}/big.db").exists()
        fetched = await fetch_to_local(fleet, a.name, src, str(tmp_path / "big.db"),
                                       limit=0.05)
        assert not fetched.ok and "timed out" in fetched.error
        assert not (tmp_path / "big.db").exists()
    finally:
        for host in (a, b):
            await fleet.run_one(host.name, Command.of("rm", "-rf", WORK, privileged=True,
                                                      safety=Safety.DESTRUCTIVE))
        await fleet.close()
