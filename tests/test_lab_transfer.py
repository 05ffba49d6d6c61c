"""SFTP directory copy over the fleet's own connection, checked with sha256sum on the host."""

from __future__ import annotations

import hashlib
import os

import pytest

from tui.errors import CommandFailed, ReadOnlyRefused
from tui.fleet.commands import Command, Safety
from tui.fleet.fleet import Fleet
from tui.fleet.transfer import copy_dir_to_host
from tui.inventory import load_inventory

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

BACKUP = "/home/core/assets/backup"


@pytest.fixture
def backup_dir(tmp_path):
    """What a backup looks like: a 5 MB snapshot, a tarball, a small file in a sub-directory."""
    d = tmp_path / "backup"
    (d / "extra").mkdir(parents=True)
    (d / "snapshot_2026-11-27_080000.db").write_bytes(os.urandom(5 * 1024 * 1024))
    (d / "static_kuberesources_2026-11-27_080000.tar.gz").write_bytes(os.urandom(300_000))
    (d / "extra" / "note.txt").write_text("taken before the restore\n")
    (d / "empty").write_bytes(b"")
    return d


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def remove_backup(fleet: Fleet, host: str) -> None:
    await fleet.run_one(host, Command.of("rm", "-rf", "/home/core/assets",
                                         privileged=True, safety=Safety.DESTRUCTIVE))


async def test_a_directory_lands_on_that_host_only_and_is_verified(lab, backup_dir):
    a, b = lab.hosts[0], lab.hosts[1]
    machine_home_core = os.path.exists("/home/core/assets")
    fleet = Fleet(load_inventory(lab.inventory_path))
    notes = []
    fleet.subscribe(lambda e: notes.append(e.text) if e.kind == "note" and e.host == a.name
                    else None)
    await fleet.start()
    progress = []
    try:
        result = await copy_dir_to_host(fleet, a.name, backup_dir, BACKUP,
                                        on_progress=progress.append)
        assert result.ok, result.error
        local = sorted(p.relative_to(backup_dir).as_posix()
                       for p in backup_dir.rglob("*") if p.is_file())
        assert sorted(f.path for f in result.files) == local
        assert result.bytes == sum((backup_dir / p).stat().st_size for p in local)

        # landed in A's own /home/core, byte for byte ...
        for rel in local:
            landed = a.path(f"{BACKUP}/{rel}")
            assert sha(landed) == sha(backup_dir / rel), rel
        # ... and nowhere else
        assert not b.path("/home/core/assets").exists()
        assert os.path.exists("/home/core/assets") == machine_home_core

        # progress: per file up to its size, overall up to the total, never backwards
        snapshot = [p for p in progress if p.path == "snapshot_2026-11-27_080000.db"]
        assert len(snapshot) > 2 and snapshot[-1].file_done == snapshot[-1].file_total == 5 << 20
        assert [p.done for p in progress] == sorted(p.done for p in progress)
        assert progress[-1].done == progress[-1].total == result.bytes
        assert any("sha256 verified" in n for n in notes)
    finally:
        await remove_backup(fleet, a.name)
        await fleet.close()


async def test_a_file_changed_on_the_host_is_a_checksum_mismatch(lab, backup_dir):
    a = lab.hosts[0]
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    target = "static_kuberesources_2026-11-27_080000.tar.gz"

    def corrupt_once_copied(p) -> None:
        # the file is complete and closed on the host, under its temporary name until the
        # checksums match: damage it there, as a bad disk would
        if p.path == target and p.file_done == p.file_total:
            with open(a.path(f"{BACKUP}/{target}.etcd-dr-part"), "r+b") as f:
                f.seek(1000)
                f.write(b"\0" * 16)

    try:
        result = await copy_dir_to_host(fleet, a.name, backup_dir, BACKUP,
                                        on_progress=corrupt_once_copied)
        assert not result.ok
        assert result.mismatched == (target,)
        assert result.error.startswith(f"checksum mismatch after copying to {BACKUP}: {target}")
        with pytest.raises(CommandFailed, match="checksum mismatch"):
            result.check()
        # never renamed: no file has its final name; the bad one is gone, the good ones wait
        assert not a.path(f"{BACKUP}/{target}").exists()
        assert not a.path(f"{BACKUP}/{target}.etcd-dr-part").exists()
        assert a.path(f"{BACKUP}/snapshot_2026-11-27_080000.db.etcd-dr-part").exists()
        assert not a.path(f"{BACKUP}/snapshot_2026-11-27_080000.db").exists()
    finally:
        await remove_backup(fleet, a.name)
        await fleet.close()


async def test_copy_is_refused_read_only_and_reports_a_host_it_cannot_reach(lab, backup_dir,
                                                                             tmp_path):
    fleet = Fleet(load_inventory(lab.inventory_path), read_only=True)
    await fleet.start()
    try:
        with pytest.raises(ReadOnlyRefused):
            await copy_dir_to_host(fleet, lab.hosts[0].name, backup_dir, BACKUP)
    finally:
        await fleet.close()
    assert not lab.hosts[0].path("/home/core/assets").exists()

    wrong = lab.new_user_key()
    fleet = Fleet(load_inventory(lab.write_inventory(tmp_path / "inv.yaml",
                                                     identity_file=wrong)))
    await fleet.start()
    try:
        result = await copy_dir_to_host(fleet, lab.hosts[0].name, backup_dir, BACKUP)
        assert not result.ok and result.error.startswith("not connected (auth-failed")
    finally:
        await fleet.close()
