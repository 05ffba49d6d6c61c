"""The drill's host scripts, release by release, as ../shared/reference/UPSTREAM.md says the
real ones behave: where cluster-restore.sh can still fail after it moved data, what the
restore pod deletes, revision.json, the 4.21 changes, cluster-backup.sh's etcdctl abort and
hang, and `tar` over the drill's tarballs (the restore preflight lists one with tar -tzf)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets

from tui.drill import backup_script, restore_scripts
from tui.drill.model import SimClock
from tui.fleet.commands import Command

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
BACKUP = "/home/core/assets/backup"
RESTORE = "/usr/local/bin/cluster-restore.sh"


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=START)) as start:
        yield start


def root(*argv: str, timeout: float = 60) -> Command:
    return Command.of(*argv, privileged=True, timeout=timeout)


def shell(text: str, timeout: float = 60) -> Command:
    return Command.of("sh", "-c", text, privileged=True, timeout=timeout)


async def settle(lab, fleet, seconds: float = 60) -> None:
    lab.cluster.clock.advance(seconds)
    assert (await fleet.run_one("master-0", root("crictl", "ps"))).ok
    await asyncio.sleep(0.05)


async def test_416_a_corrupt_tarball_fails_after_the_member_was_moved(started):
    lab, fleet = await started("lost-two-hosts-4.16")
    host = lab.cluster.host("master-0")
    assert (await fleet.run_one("master-0", shell(
        f"echo garbage > {BACKUP}/static_kuberesources_*.tar.gz"))).ok
    r = await fleet.run_one("master-0", root(RESTORE, BACKUP))
    assert r.exit_status == 2, r
    assert r.stderr.endswith("gzip: stdin: not in gzip format\ntar: Child returned status 1\n"
                             "tar: Error is not recoverable: exiting now\n")
    assert r.stdout.splitlines()[-1] == (
        "Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup")
    assert "/var/lib/etcd-backup/member/snap/db" in host.files
    assert "/var/lib/etcd/member/snap/db" not in host.files
    assert "/var/lib/etcd-backup/snapshot.db" not in host.files  # not copied yet
    assert "/etc/kubernetes/manifests/etcd-pod.yaml" not in host.files
    assert lab.cluster.restored_at is None


@pytest.mark.parametrize("scenario,deleted", [("lost-two-hosts-4.16", True),
                                              ("lost-two-hosts", False)])
async def test_the_restore_pod_deletes_snapshot_db_from_414(started, scenario, deleted):
    lab, fleet = await started(scenario)
    host = lab.cluster.host("master-0")
    assert (await fleet.run_one("master-0", root(RESTORE, BACKUP))).ok
    assert "/var/lib/etcd-backup/snapshot.db" in host.files  # the script copied it
    await settle(lab, fleet, 12)  # kubelet starts the restore pod
    assert ("/var/lib/etcd-backup/snapshot.db" not in host.files) == deleted
    assert "/var/lib/etcd/revision.json" not in host.files  # 4.18+ only


async def test_418_not_empty_fails_after_snapshot_db_was_copied(started):
    lab, fleet = await started("lost-two-hosts-4.18")
    host = lab.cluster.host("master-0")
    rev = json.loads(host.files["/var/lib/etcd/revision.json"])
    assert isinstance(rev["clusterId"], int) and rev["maxRaftIndex"] >= 1_048_576
    assert (await fleet.run_one("master-0", root("touch", "/var/lib/etcd/stray.txt"))).ok
    r = await fleet.run_one("master-0", root(RESTORE, BACKUP))
    assert r.exit_status == 1, r
    out = r.stdout.splitlines()
    assert "Waiting for container etcd-backup-server to stop" in out
    assert out[-1] == ("folder /var/lib/etcd is not empty, please review and remove all files "
                       "in it")
    assert "/var/lib/etcd-backup/snapshot.db" in host.files
    assert "/var/lib/etcd-backup/revision.json" in host.files
    assert "/var/lib/etcd-backup/member/snap/db" in host.files
    assert "/etc/kubernetes/manifests/etcd-pod.yaml" not in host.files
    assert lab.cluster.restored_at is None


async def test_421_moves_stray_files_aside_and_prints_the_banner(started):
    lab, fleet = await started("lost-two-hosts-4.21")
    host = lab.cluster.host("master-0")
    assert restore_scripts.script_generation(lab.cluster) == "4.21+"
    assert (await fleet.run_one("master-0", root("touch", "/var/lib/etcd/stray.txt"))).ok
    r = await fleet.run_one("master-0", root(RESTORE, BACKUP))
    assert r.ok, r
    out = r.stdout.splitlines()
    assert not any("etcd-backup-server" in line for line in out)
    assert ("moving the files left in /var/lib/etcd to "
            "/var/lib/etcd-backup/extra-data-dir-contents") in out
    assert "/var/lib/etcd-backup/extra-data-dir-contents/stray.txt" in host.files
    assert out[-5] == "starting restore-etcd static pod"
    assert out[-3] == "###              SNAPSHOT RESTORE COMPLETED               ###"
    assert lab.cluster.restored_at is not None


@pytest.mark.parametrize("version,pulls", [("4.12.30", False), ("4.13.10", False),
                                           ("4.13.30", True), ("4.12.60", True),
                                           ("4.16.3", True), ("4.21.4", True)])
def test_one_function_decides_the_414_backup_script(version, pulls):
    from tui.drill.scenario import build_cluster

    cluster = build_cluster("healthy", clock=SimClock(frozen=True, start=START))
    cluster.api.version = version
    assert backup_script.pulls_etcdctl_first(cluster) is pulls
    if version.startswith(("4.12", "4.13")):
        cluster.options["backup_pulls_etcdctl"] = not pulls  # a scenario may say otherwise
        assert backup_script.pulls_etcdctl_first(cluster) is (not pulls)


async def test_backup_aborts_without_etcdctl_and_leaves_the_tarball(started):
    lab, fleet = await started("healthy-4.20")
    host = lab.cluster.host("master-0")
    assert (await fleet.run_one("master-0", root("rm", "/var/lib/kubelet/config.json"))).ok
    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-backup.sh", "/home/core/b"))
    assert r.exit_status == 1, r
    assert r.stdout.splitlines()[-1] == (
        "Could neither pull etcdctl nor find it locally in cache. Aborting!")
    left = sorted(p.rsplit("/", 1)[1] for p in host.files if p.startswith("/home/core/b/"))
    assert len(left) == 1 and re.fullmatch(r"static_kuberesources_[\d_-]+\.tar\.gz", left[0])


async def test_backup_hang_leaves_the_part_file_and_the_tarball(started):
    lab, fleet = await started("healthy")
    cluster = lab.cluster
    cluster.member_of(cluster.host("master-2")).running = False
    task = asyncio.create_task(fleet.run_one("master-2", root(
        "/usr/local/bin/cluster-backup.sh", "/home/core/b", timeout=3)))
    r = await task
    assert r.timed_out or r.exit_status is None
    names = sorted(p.rsplit("/", 1)[1] for p in cluster.host("master-2").files
                   if p.startswith("/home/core/b/"))
    assert [n.split("_")[0] for n in names] == ["snapshot", "static"]
    assert names[0].endswith(".db.part") and names[1].endswith(".tar.gz")


async def test_tar_lists_the_backup_tarball_as_real_tar(started):
    lab, fleet = await started("healthy")
    cluster = lab.cluster
    cluster.api.encryption_type = "aescbc"
    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-backup.sh", "/home/core/b"))
    assert r.ok, r
    tarball = next(p for p in cluster.host("master-0").files
                   if p.startswith("/home/core/b/static_kuberesources_"))
    listing = await fleet.run_one("master-0", root("tar", "-tzf", tarball))
    assert listing.ok and listing.stderr == ""
    names = listing.stdout.splitlines()
    assert all(n.startswith("static-pod-resources/") for n in names)
    assert "static-pod-resources/kube-apiserver-pod-9/" in names
    assert names.index("static-pod-resources/kube-apiserver-pod-9/") < names.index(
        "static-pod-resources/kube-apiserver-pod-9/kube-apiserver-pod.yaml")
    assert ("static-pod-resources/kube-apiserver-pod-9/secrets/encryption-config/"
            "encryption-config") in names
    long = await fleet.run_one("master-0", root("tar", "-tvf", tarball, "--wildcards",
                                                "*kube-apiserver-pod.yaml"))
    assert long.ok, long
    fields = long.stdout.split()
    assert fields[0] == "-rw-------" and fields[1] == "root/root"
    assert fields[5] == "static-pod-resources/kube-apiserver-pod-9/kube-apiserver-pod.yaml"
    x = await fleet.run_one("master-0", shell(
        f"mkdir -p /tmp/m && tar -xvf {tarball} --strip-components=2 -C /tmp/m "
        "static-pod-resources/kube-apiserver-pod-9/kube-apiserver-pod.yaml && ls /tmp/m"))
    assert x.ok and x.stdout.splitlines()[-1] == "kube-apiserver-pod.yaml", x
    missing = await fleet.run_one("master-0", root("tar", "-tzf", "/home/core/none.tar.gz"))
    assert missing.exit_status == 2
    assert missing.stderr == ("tar: /home/core/none.tar.gz: Cannot open: No such file or "
                              "directory\ntar: Error is not recoverable: exiting now\n")


async def test_a_scenario_with_a_corrupt_tarball_fails_the_416_restore_after_the_move(tmp_path):
    """restore: {corrupt_tarball: true}: cluster-restore.sh (4.16) moves the member, then
    tar fails, as the real script does with a damaged backup."""
    from tests.conftest import drill_fleets
    from tui.fleet.commands import Command

    scenario = """
name: corrupt-416
description: a damaged static_kuberesources tarball
version: "4.16.20"
control_plane: 3
etcd: {version: "3.5.16"}
backup: {host: master-0, dir: /home/core/assets/backup, taken_minutes_ago: 30}
restore: {corrupt_tarball: true}
"""
    async with drill_fleets(tmp_path) as start:
        lab, fleet = await start(scenario)
        r = await fleet.run_one("master-0", Command.of(
            "/usr/local/bin/cluster-restore.sh", "/home/core/assets/backup", privileged=True,
            timeout=120))
        assert r.exit_status not in (0, None), r
        assert "tar" in (r.stderr + r.stdout)
        moved = await fleet.run_one("master-0", Command.of(
            "ls", "-A", "/var/lib/etcd-backup", privileged=True))
        assert "member" in moved.stdout.split()
