"""Files etcd-dr writes from paths it is given (issue #12, part 5): a --journal that is a link,
a directory, a device, under a file, or on a full disk is a clean refusal (exit 2, the path
named, no traceback, nothing touched); a write that fails mid-run stops the run; a drill's
temporary directory is private and removed by the next drill once its owner is dead."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli_runner import run_cli
from tui.cli import main
from tui.errors import ConfigError
from tui.journal import Journal, read_journal

HINT_WORDS = ("--journal",)


def refused(args: list[str], path) -> str:
    """Run the CLI in-process; it must refuse with exit 2, one paragraph naming `path`."""
    result = CliRunner().invoke(main, args)
    message = result.stderr.strip()
    assert result.exit_code == 2, (result.exit_code, result.output, message)
    assert message.startswith("etcd-dr: ") and str(path) in message, message
    assert "internal error" not in message and "Traceback" not in result.output + message
    assert "\n" not in message
    assert result.stdout == ""  # refused before anything ran: no drill, no plan, no steps
    return message


def run_backup(journal) -> list[str]:
    return ["run", "backup", "--drill", "--yes", "--journal", str(journal)]


def test_a_symlinked_journal_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "precious"
    target.write_text("root:x:0:0::/root:/bin/bash\n")
    target.chmod(0o644)
    before = (target.read_bytes(), stat.S_IMODE(target.stat().st_mode))
    link = tmp_path / "j.jsonl"
    link.symlink_to(target)
    message = refused(run_backup(link), link)
    assert "symbolic link" in message
    assert (target.read_bytes(), stat.S_IMODE(target.stat().st_mode)) == before
    # and the Journal itself (the console's screens open it directly): O_NOFOLLOW
    with pytest.raises(ConfigError, match="symbolic link"):
        Journal(link, "backup")
    assert (target.read_bytes(), stat.S_IMODE(target.stat().st_mode)) == before
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "created-through-the-link")
    refused(run_backup(dangling), dangling)
    with pytest.raises(ConfigError):
        Journal(dangling, "backup")
    assert not (tmp_path / "created-through-the-link").exists()


def test_a_journal_under_a_file_is_refused(tmp_path):
    parent = tmp_path / "afile"
    parent.write_text("not a directory\n")
    journal = parent / "j.jsonl"
    message = refused(run_backup(journal), journal)
    assert "not a directory" in message
    with pytest.raises(ConfigError, match="not a directory"):
        Journal(parent / "deeper" / "j.jsonl", "backup")
    assert parent.read_text() == "not a directory\n"


def test_dev_full_and_a_directory_are_refused_as_journals(tmp_path):
    before = os.stat("/dev/full")
    message = refused(run_backup("/dev/full"), "/dev/full")
    assert "not a regular file" in message
    with pytest.raises(ConfigError, match="not a regular file"):
        Journal("/dev/full", "backup")
    after = os.stat("/dev/full")
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)  # never chmod'ed
    message = refused(run_backup(tmp_path), tmp_path)
    assert "is a directory" in message


def test_a_file_that_is_not_a_journal_gains_no_line_and_no_mode(tmp_path):
    """`--journal /etc/passwd`, run as root: refused, not appended to, not chmod'ed."""
    victim = tmp_path / "passwd"
    victim.write_text("root:x:0:0::/root:/bin/bash\n")
    victim.chmod(0o644)
    with pytest.raises(ConfigError, match="not an etcd-dr journal") as error:
        Journal(victim, "backup")
    assert str(victim) in error.value.message
    assert victim.read_text() == "root:x:0:0::/root:/bin/bash\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    linked = tmp_path / "hardlink.jsonl"
    os.link(victim, linked)
    with pytest.raises(ConfigError, match="hard links"):
        Journal(linked, "backup")


def test_a_journal_of_this_users_is_made_private_a_new_one_is_0600_in_a_0700_dir(tmp_path):
    existing = tmp_path / "old.jsonl"
    existing.write_text('{"time": "t", "runbook": "backup", "step": "-", "event": "planned"}\n')
    existing.chmod(0o644)
    Journal(existing, "backup").close()
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    fresh = tmp_path / "new" / "dir" / "j.jsonl"
    with Journal(fresh, "backup") as journal:
        journal.write("-", "planned")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KiB tmpfs (root only; skipped where mount is not permitted), unmounted after."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(mount: Path, leave: int) -> Path:
    """Fill the file system but `leave` bytes (tmpfs counts whole 4 KiB pages)."""
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    filler = mount / "filler"
    filler.write_bytes(b"\0" * (free - leave))
    return filler


def test_a_full_disk_mid_run_stops_the_run_with_the_path_named(tiny_tmpfs):
    """ENOSPC on a journal write half-way through: the run stops there (exit 2, one
    paragraph), and nothing after that step was sent; the journal keeps what fitted."""
    fill(tiny_tmpfs, leave=4096)
    journal = tiny_tmpfs / "j.jsonl"
    proc = run_cli(*run_backup(journal),
                   "--speed", "30", stdin=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stderr.strip()
    assert message.startswith(f"etcd-dr: {journal}: cannot write the journal (the file "
                              f"system is full); the run stopped here"), message
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "\n" not in message
    records = read_journal(journal)  # a torn last line is no damage
    assert records and records[0]["event"] == "planned"
    assert ("-", "finished") not in [(r["step"], r["event"]) for r in records]
    started = [r["step"] for r in records if r["event"] == "started"]
    # nothing was started after the journal broke: the last started step is the last in stdout
    assert f"[{started[-1]}]" in proc.stdout
    later = [line for line in proc.stdout.splitlines()
             if line.startswith("[BAK-") and line.split("]")[0][1:] > started[-1]]
    assert all("$ " not in line for line in later), later  # no command sent past the break


def test_a_broken_journal_stays_broken(tiny_tmpfs):
    """After one failed write, every later write fails too (a caller that catches the first
    error cannot go on without its journal), even once space is back."""
    filler = fill(tiny_tmpfs, leave=4096)
    journal = Journal(tiny_tmpfs / "j.jsonl", "backup")
    journal.write("-", "planned")
    with pytest.raises(ConfigError, match="file system is full") as first:
        for _ in range(100):
            journal.write("BAK-4", "started", ["master-0"], detail="x" * 400)
    filler.unlink()
    with pytest.raises(ConfigError) as second:
        journal.write("BAK-4", "failed", ["master-0"])
    assert second.value.message == first.value.message
    journal.close()
    # the next run's open cuts the torn line and appends after it
    with Journal(tiny_tmpfs / "j.jsonl", "backup") as again:
        again.write("-", "resumed")
    assert read_journal(tiny_tmpfs / "j.jsonl")[-1]["event"] == "resumed"


# --- a drill's temporary directory ---------------------------------------------------------

def _dead_pid() -> tuple[int, str]:
    from tui.drill.lab import _process_start

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    start = _process_start(child.pid)
    child.kill()
    child.wait()
    return child.pid, start


def _workdir(base: Path, name: str, record: dict | None) -> Path:
    from tui.drill.lab import OWNER_FILE, WORKDIR_PREFIX

    d = base / f"{WORKDIR_PREFIX}{name}"
    d.mkdir(mode=0o700)
    (d / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    if record is not None:
        (d / OWNER_FILE).write_text(json.dumps(record))
    return d


def test_stale_drill_workdirs_of_dead_owners_are_removed_and_only_those(tmp_path):
    from tui.drill.lab import _boot_id, _owner_record, _process_start, remove_stale_workdirs

    boot = _boot_id()
    pid, start = _dead_pid()
    dead = _workdir(tmp_path, "dead", {"pid": pid, "start": start, "boot": boot})
    live = _workdir(tmp_path, "live", _owner_record())
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        other_live = _workdir(tmp_path, "other", {"pid": other.pid,
                                                  "start": _process_start(other.pid),
                                                  "boot": boot})
        # this very pid, but another start time: the owner died and its pid was reused
        reused = _workdir(tmp_path, "reused", {"pid": os.getpid(), "start": "1",
                                               "boot": boot})
        rebooted = _workdir(tmp_path, "rebooted", {**_owner_record(), "boot": "another-boot"})
        no_record = _workdir(tmp_path, "norecord", None)
        # a link named like a workdir, to a directory whose record says dead: never followed
        bait = _workdir(tmp_path, "bait-target", {"pid": pid, "start": start, "boot": boot})
        renamed = tmp_path / "elsewhere"
        bait.rename(renamed)
        (tmp_path / "etcd-dr-drill-link").symlink_to(renamed)
        foreign = _workdir(tmp_path, "foreign", {"pid": pid, "start": start, "boot": boot})
        os.chown(foreign, 65534, 65534)

        removed = remove_stale_workdirs(tmp_path)

        assert sorted(p.name for p in removed) == sorted(
            p.name for p in (dead, reused, rebooted))
        for gone in (dead, reused, rebooted):
            assert not gone.exists()
        for kept in (live, other_live, no_record, foreign):
            assert (kept / "id_ed25519").exists(), kept
        assert (renamed / "id_ed25519").exists() and (tmp_path / "etcd-dr-drill-link").is_symlink()
    finally:
        other.kill()
        other.wait()


async def test_a_drill_workdir_is_private_and_records_its_owner(tmp_path, monkeypatch):
    """0700, the key and kubeconfig (the API token) 0600, an owner record; a stale directory
    of a dead drill is gone once a new drill starts; nothing left after stop."""
    import tempfile

    from tui.drill.lab import OWNER_FILE, DrillLab, _owner_record

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pid, start = _dead_pid()
    stale = _workdir(tmp_path, "killed", {**_owner_record(), "pid": pid, "start": start})
    lab = DrillLab("healthy", address_base="127.0.3")
    try:
        assert not stale.exists()
        await lab.start()
        workdir = lab.workdir
        assert workdir.parent == tmp_path
        assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
        for name in ("id_ed25519", "kubeconfig", OWNER_FILE):
            assert stat.S_IMODE((workdir / name).stat().st_mode) == 0o600, name
        assert json.loads((workdir / OWNER_FILE).read_text())["pid"] == os.getpid()
        assert lab.cluster.api.token in (workdir / "kubeconfig").read_text()
    finally:
        await lab.stop()
    assert not workdir.exists()


def test_lab_serve_refuses_an_inventory_out_it_cannot_write_before_making_keys(tmp_path):
    parent = tmp_path / "afile"
    parent.write_text("x")
    for out in ("/dev/full", parent / "inventory.yaml", tmp_path):
        message = refused(["lab", "serve", "--inventory-out", str(out)], out)
        assert "--inventory-out" in message
    assert not Path("/dev/full.d").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
