"""Real-size data on real etcd and real sshd (issue #13 item 4): a gigabyte, not megabytes.

One 3-host lab (etcd 3.5, the quota OpenShift sets: 8 GiB, a kubelet stand-in and
OpenShift 4.16's host scripts) is filled once with 1,024 values of about 1 MiB each, over a
gigabyte in all, through etcd's JSON gateway from a few threads (tests/lab/bigdata.py); each
value comes from its key alone, so "every key" is checked by reading them back in pages and
comparing sha256s, and the test never holds the gigabyte. The backup runbook then backs it
up on master-1 (the module's fixture: filling and backing up once serves both tests).

- A fragmented member: 15 of each 16 keys deleted, the history compacted; `etcd-dr run
  defrag` gives the space back on every member, the leader last, every member healthy, no
  kept key lost.
- Writes after the backup, master-1's member stopped and master-2 lost, then the restore
  runbook headless on master-0 with `--backup-source master-1:/home/core/assets/backup`:
  RST-03 streams the gigabyte snapshot from host to host through the console; afterwards
  every key of the backup is there with its value (the 15/16 deleted after it too), and the
  later writes are not.

They print their wall times; together about 3 minutes on two cores.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from types import SimpleNamespace

import pytest

from tests.cli_runner import run_cli
from tests.lab.bigdata import GiB, Gateway, check_every_key, fill, key_name
from tests.lab.fixtures import require_lab
from tests.lab.lab import Lab, LabError

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = [pytest.mark.lab, pytest.mark.slow]

GB = 1000 ** 3
KEYS = 1024  # x VALUE_BYTES (1 MiB - 4 KiB) = 1.07 GB
QUOTA = 8 * GiB  # OpenShift's --quota-backend-bytes
BACKUP = "/home/core/assets/backup"
OVERRIDE = "the lab has no API: no encryption migration can be under way"
PREFIX = "/big/"


def etcd_dr(*args, timeout: float) -> subprocess.CompletedProcess:
    proc = run_cli(*args, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def read_journal(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def statuses(lab) -> dict[str, dict]:
    """member name -> its dbSize, dbSizeInUse, leader, revision (the JSON gateway)."""
    return {h.name: Gateway(h.address).status() for h in lab.hosts
            if h.etcd is not None and h.etcd.running}


def leader_of(lab) -> str:
    rows = statuses(lab)
    leaders = {row["leader"] for row in rows.values()}
    assert len(leaders) == 1, rows
    [name] = [name for name, row in rows.items() if row["member"] in leaders]
    return name


def filled(lab, prefix: str) -> float:
    """KEYS values of about 1 MiB through every member's gateway; returns the seconds."""
    result = fill([h.address for h in lab.hosts], prefix, KEYS)
    assert result.bytes >= GB
    print(f"\nfilled {result.keys} keys, {result.bytes / GB:.2f} GB in {result.seconds:.1f}s "
          f"({result.rate:.1f} MiB/s)")
    return result.seconds


# --- one gigabyte, filled and backed up once ------------------------------------------------

@pytest.fixture(scope="module")
def gigabyte(tmp_path_factory):
    """The filled lab and master-1's backup of it (the backup runbook, headless)."""
    require_lab("3.5", namespaces=True, bastion=False)
    began = time.monotonic()
    lab = Lab(hosts_count=3, etcd="3.5", kubelet=True, openshift="4.16",
              quota_backend_bytes=QUOTA, label="big")
    try:
        lab.start()
    except LabError as e:
        pytest.fail(f"the lab did not start: {e}", pytrace=False)
    try:
        lab.path_key = "4.14-4.17"
        filled(lab, PREFIX)
        source = lab.hosts[1]
        started = time.monotonic()
        backup = etcd_dr("run", "backup", "--inventory", lab.inventory_path, "--host",
                         source.name, "--yes", "--journal",
                         tmp_path_factory.mktemp("big") / "backup.jsonl", "--override",
                         OVERRIDE, timeout=600)
        assert backup.returncode == 0, backup.stdout + backup.stderr
        [snapshot] = [p for p in source.path(BACKUP).iterdir() if p.name.endswith(".db")]
        assert snapshot.stat().st_size >= GB
        assert not lab.hosts[0].path(BACKUP).exists()  # the backup is on master-1 only
        print(f"backup on {source.name}: {time.monotonic() - started:.1f}s; filled and backed "
              f"up in {time.monotonic() - began:.1f}s")
        yield SimpleNamespace(lab=lab, source=source, snapshot=snapshot)
    finally:
        lab.stop()


# --- a fragmented gigabyte, defragmented ---------------------------------------------------

@pytest.mark.timeout(900)
def test_a_fragmented_gigabyte_is_defragmented_leader_last_and_keeps_every_key(gigabyte,
                                                                                tmp_path):
    began = time.monotonic()
    lab = gigabyte.lab
    lab.heal()
    gateway = Gateway(lab.hosts[0].address)
    # 15 of each 16 keys deleted (64 ranges), then the history compacted away
    for block in range(0, KEYS, 16):
        gateway.delete_range(key_name(PREFIX, block + 1), key_name(PREFIX, block + 16))
    kept = range(0, KEYS, 16)
    gateway.compact(gateway.status()["revision"])
    gateway.close()
    lab.settle(timeout=60)
    before = statuses(lab)
    for name, row in before.items():  # a gigabyte file, a sixteenth of it in use
        assert row["dbSize"] >= GB and row["dbSizeInUse"] < row["dbSize"] / 8, (name, row)
    leader = leader_of(lab)

    journal = tmp_path / "defrag.jsonl"
    started = time.monotonic()
    proc = etcd_dr("run", "defrag", "--inventory", lab.inventory_path, "--yes", "--wait", "2s",
                   "--journal", journal, timeout=600)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr

    after = statuses(lab)
    assert set(after) == set(before)
    for name in before:  # the file shrank to about what is in use
        assert after[name]["dbSize"] <= before[name]["dbSize"] / 8, (name, before[name],
                                                                     after[name])
        assert after[name]["dbSize"] <= 2 * before[name]["dbSizeInUse"], (name, after[name])
    for h in lab.hosts:  # every member healthy, each with every kept key, none lost
        assert lab.etcdctl(h, "endpoint", "health", check=False).returncode == 0, h.name
        assert check_every_key(h.address, PREFIX, kept) == len(kept)

    lines = read_journal(journal)
    order = [l["member"] for l in lines if l["step"] in ("DEF-MAN-2", "DEF-MAN-5")
             and l["event"] == "started" and "member" in l]
    assert sorted(order) == sorted(before) and order[-1] == leader, (order, leader)
    checks = {l["member"]: l for l in lines if l["step"] == "DEF-MAN-3"}
    for name, check in checks.items():  # what the console read is what etcd reports
        assert check["db_size_before"] == before[name]["dbSize"]
        assert check["db_size_after"] == after[name]["dbSize"]
    assert set(checks) == set(before)
    assert (lines[-1]["step"], lines[-1]["event"]) == ("-", "finished")
    print(f"defrag of 3 x {before[leader]['dbSize'] / GB:.2f} GB: {took:.1f}s; "
          f"test wall time {time.monotonic() - began:.1f}s")


# --- the gigabyte backed up on one host, restored on another -------------------------------

async def run_restore(lab, recovery, backup_source: str, journal_path):
    """The restore runbook headless on `recovery`, the backup taken from `backup_source`
    (HOST:DIR), the lab's missing API skipped as tests/test_lab_restore.py does."""
    from tests.test_lab_restore import TIME_SCALE, LabOperator
    from tui.backend import Backend, BackendSpec
    from tui.journal import Journal
    from tui.runbooks.context import RunContext
    from tui.runbooks.restore import restore_runbook
    from tui.runbooks.runner import Runner

    operator = LabOperator()
    backend = Backend(BackendSpec(inventory_path=str(lab.inventory_path)))
    await backend.start(wait=True)
    journal = Journal(journal_path, "restore")
    try:
        ctx = RunContext(backend=backend, journal=journal, operator=operator,
                         params={"recovery_host": recovery.name, "backup_dir": BACKUP,
                                 "backup_source": backup_source},
                         time_scale=TIME_SCALE)
        await Runner(restore_runbook(lab.path_key), ctx).run()
    finally:
        journal.close()
        await backend.close()
    return operator


@pytest.mark.timeout(1200)
async def test_a_gigabyte_backed_up_on_one_host_restores_on_another_with_every_key(
        gigabyte, tmp_path):
    from tests.test_lab_restore import NEEDS_API, wait_for

    if shutil.which("ssh") is None:
        pytest.skip("no ssh client on this machine")
    began = time.monotonic()
    lab, snapshot = gigabyte.lab, gigabyte.snapshot
    await asyncio.to_thread(lab.heal)
    recovery, source, gone = lab.hosts  # master-0 restores from master-1's backup
    later = "/big-later/"

    # writes after the backup, then two hosts lost: master-1's member stopped (its sshd
    # still answers, and it holds the backup), master-2 gone entirely
    gateway = Gateway(recovery.address)
    for i in range(10):
        gateway.put(key_name(later, i), b"written after the backup")
    gateway.close()
    source.etcd.stop()
    lab.lose_host(gone)
    await asyncio.to_thread(wait_for, lambda: "etcd" not in source.kubelet.running_containers(),
                            10, "master-1's etcd container to show it stopped")

    journal = tmp_path / "restore.jsonl"
    started = time.monotonic()
    operator = await run_restore(lab, recovery, f"{source.name}:{BACKUP}", journal)
    restore_took = time.monotonic() - started
    assert operator.aborted == [], operator.aborted
    assert sorted(operator.skipped) == sorted(NEEDS_API[lab.path_key])

    # RST-03 brought the snapshot to the recovery host whole, from master-1
    copied = recovery.path(f"{BACKUP}/{snapshot.name}")
    assert copied.stat().st_size == snapshot.stat().st_size
    lines = read_journal(journal)
    assert lines[0]["params"]["backup_source"] == f"{source.name}:{BACKUP}"
    rst03 = [l for l in lines if l["step"] == "RST-03"]
    assert rst03 and rst03[-1]["event"] == "finished", rst03[-3:]
    assert (lines[-1]["step"], lines[-1]["event"]) == ("-", "finished")

    # a single-member cluster with every key of the backup, none written after it
    await asyncio.to_thread(
        wait_for, lambda: lab.etcdctl(recovery, "endpoint", "health", check=False
                                      ).returncode == 0, 60, "the restored member to answer")
    members = json.loads(lab.etcdctl(recovery, "member", "list", "-w", "json").stdout)
    assert [m["name"] for m in members["members"]] == [recovery.name]
    started = time.monotonic()
    assert await asyncio.to_thread(check_every_key, recovery.address, PREFIX,
                                   range(KEYS)) == KEYS
    checked_took = time.monotonic() - started
    assert await asyncio.to_thread(check_every_key, recovery.address, later, []) == 0
    assert Gateway(recovery.address).status()["dbSize"] >= GB
    print(f"restore runbook with --backup-source: {restore_took:.1f}s; every key checked in "
          f"{checked_took:.1f}s; test wall time {time.monotonic() - began:.1f}s")
