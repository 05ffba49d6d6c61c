"""The 4.18+ restore scripts (disable-etcd.sh, cluster-restore.sh, quorum-restore.sh) on the
drill's control-plane hosts, run through the real SSH path.

They print what the real scripts (cluster-etcd-operator bindata/etcd/*.sh and the
etcd-common-tools they source) print, return once the restore pod's manifest is in place, and
kubelet then starts a single-member etcd; the API comes back shortly after.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets

from tui.backend import Backend, BackendSpec
from tui.drill import restore_scripts
from tui.drill.model import SimClock
from tui.fleet.commands import Command

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
BACKUP = "/home/core/assets/backup"


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=START)) as start:
        yield start


def root(*argv: str, timeout: float = 30) -> Command:
    return Command.of(*argv, privileged=True, timeout=timeout)


def etcd_running(host) -> bool:
    return any(c.name == "etcd" and c.state == "Running" for c in host.containers)


def stop_lines(out: list[str]) -> list[str]:
    """The mv_static_pods / wait_for_containers_to_stop part, dots folded away."""
    return [re.sub(r"^\.+(?=complete$)", "", line) for line in out]


async def settle(lab, fleet, seconds: float = 60) -> None:
    """Let simulated time pass and kubelet act (any command syncs it)."""
    lab.cluster.clock.advance(seconds)
    assert (await fleet.run_one("master-0", root("crictl", "ps"))).ok
    await asyncio.sleep(0.05)


async def test_disable_etcd_stops_etcd_and_again_is_harmless(started):
    lab, fleet = await started("lost-two-hosts-4.18")
    host = lab.cluster.host("master-0")
    assert etcd_running(host)
    r = await fleet.run_one("master-0", root("/usr/local/bin/disable-etcd.sh"))
    assert r.ok, r
    out = r.stdout.splitlines()
    assert out[0] == "...stopping etcd-pod.yaml"
    assert out[1] == "Waiting for container etcd to stop"
    assert re.fullmatch(r"\.{3,}complete", out[2])  # kubelet takes a few seconds
    assert out[3:] == [x for name in ("etcdctl", "etcd-metrics", "etcd-readyz", "etcd-rev")
                       for x in (f"Waiting for container {name} to stop", "complete")]
    assert "/etc/kubernetes/manifests/etcd-pod.yaml" not in host.files
    assert "/home/core/assets/manifests-stopped/etcd-pod.yaml" in host.files
    assert not etcd_running(host)
    assert not lab.cluster.member_of(host).running
    ps = await fleet.run_one("master-0", root("crictl", "ps", "--name", "^etcd$", "-q"))
    assert ps.ok and ps.stdout.strip() == ""
    # the API servers keep running
    assert any(c.name == "kube-apiserver" and c.state == "Running" for c in host.containers)

    again = await fleet.run_one("master-0", root("/usr/local/bin/disable-etcd.sh"))
    assert again.ok
    assert again.stdout.splitlines() == ["...stopping etcd-pod.yaml"] + [
        x for name in restore_scripts.ETCD_STATIC_POD_CONTAINERS
        for x in (f"Waiting for container {name} to stop", "complete")]
    assert "/home/core/assets/manifests-stopped/etcd-pod.yaml" in host.files


async def test_scripts_refuse_to_run_without_root(started):
    lab, fleet = await started("lost-two-hosts-4.18")
    for argv in (["/usr/local/bin/disable-etcd.sh"],
                 ["/usr/local/bin/cluster-restore.sh", BACKUP],
                 ["/usr/local/bin/quorum-restore.sh"]):
        r = await fleet.run_one("master-0", Command.of(*argv, timeout=15))
        assert r.exit_status == 1 and r.stdout == "This script must be run as root\n", r
    assert etcd_running(lab.cluster.host("master-0"))
    assert "/etc/kubernetes/manifests/etcd-pod.yaml" in lab.cluster.host("master-0").files


async def test_cluster_restore_brings_back_a_single_member_cluster_and_the_api(started):
    lab, fleet = await started("lost-two-hosts-4.18")
    cluster = lab.cluster
    host = cluster.host("master-0")
    assert not cluster.api.reachable and cluster.etcd.leader() is None
    old_revision = cluster.etcd.revision
    assert (await fleet.run_one("master-0", root("/usr/local/bin/disable-etcd.sh"))).ok
    snap = (await fleet.run_one("master-0", root("ls", BACKUP))).stdout.split()
    snapshot = next(n for n in snap if n.startswith("snapshot_"))

    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-restore.sh", BACKUP,
                                             timeout=60))
    assert r.ok, r
    out = r.stdout.splitlines()
    assert re.fullmatch(r"[0-9a-f]{64}", out[0])  # podman rm
    assert out[1:3] == ["etcdctl version: 3.5.16", "API version: 3.5"]
    status = json.loads(out[3])
    assert set(status) == {"hash", "revision", "totalKey", "totalSize"}
    assert 0 < status["revision"] <= old_revision
    # etcd was already stopped by disable-etcd.sh: nothing to wait for
    assert out[4:15] == ["...stopping etcd-pod.yaml"] + [
        x for name in restore_scripts.ETCD_STATIC_POD_CONTAINERS
        for x in (f"Waiting for container {name} to stop", "complete")]
    assert out[15:] == ["Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup",
                        "starting restore-etcd static pod"]
    assert "/var/lib/etcd-backup/member/snap/db" in host.files
    assert "/var/lib/etcd-backup/snapshot.db" in host.files
    assert "/var/lib/etcd-backup/revision.json" in host.files
    assert "/etc/kubernetes/manifests/etcd-pod.yaml" in host.files
    assert host.files["/var/lib/etcd-backup/snapshot.db"] == host.files[f"{BACKUP}/{snapshot}"]

    # kubelet starts the restore pod, the single member leads, then the API answers
    await settle(lab, fleet)
    assert etcd_running(host)
    etcd = cluster.etcd
    assert [m.name for m in etcd.members] == ["master-0"]
    assert etcd.has_quorum() and etcd.leader().name == "master-0"
    assert etcd.revision >= status["revision"] + restore_scripts.REV_BUMP
    for _ in range(40):
        if cluster.api.reachable:
            break
        await asyncio.sleep(0.05)
    assert cluster.api.reachable

    ps = await fleet.run_one("master-0", root("crictl", "ps", "--name", "^etcd$"))
    assert ps.ok and "Running" in ps.stdout
    etcdctl = await fleet.run_one("master-0", root(
        "crictl", "exec", host.container("etcdctl").container_id, "etcdctl",
        "endpoint", "status", "--cluster", "-w", "json"))
    assert etcdctl.ok, etcdctl
    rows = json.loads(etcdctl.stdout)
    assert len(rows) == 1
    header = rows[0]["Status"]["header"]
    assert rows[0]["Status"]["leader"] == header["member_id"]
    members = await fleet.run_one("master-0", root(
        "crictl", "exec", host.container("etcdctl").container_id, "etcdctl",
        "member", "list", "-w", "json"))
    assert members.ok and len(json.loads(members.stdout)["members"]) == 1


async def test_status_after_the_restore_shows_one_healthy_member():
    backend = Backend(BackendSpec(scenario="lost-two-hosts-4.18", frozen_clock=True))
    await backend.start()
    try:
        lab, fleet = backend.lab, backend.fleet
        before = await backend.collector.collect()
        assert not before.api.reachable
        assert (await fleet.run_one("master-0", root("/usr/local/bin/disable-etcd.sh"))).ok
        r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-restore.sh",
                                                 BACKUP + "/", timeout=60))
        assert r.ok, r
        await settle(lab, fleet)
        for _ in range(40):
            if lab.cluster.api.reachable:
                break
            await asyncio.sleep(0.05)
        snap = await backend.collector.collect()
        assert snap.api.reachable, snap.api.error
        assert [m.name for m in snap.members] == ["master-0"]
        member = snap.members[0]
        assert member.is_leader and not member.errors and member.host == "master-0"
        assert member.db_size is not None
        assert not snap.etcd_stale
    finally:
        await backend.close()


TWO_PAIRS = ["snapshot_2026-01-05_080000.db", "snapshot_2026-01-05_093000.db",
             "static_kuberesources_2026-01-05_080000.tar.gz",
             "static_kuberesources_2026-01-05_093000.tar.gz"]


async def test_two_snapshot_pairs_the_last_of_each_is_used(started):
    lab, fleet = await started("lost-two-hosts-4.18")
    host = lab.cluster.host("master-0")
    d = "/home/core/two"
    assert (await fleet.run_one("master-0", root("mkdir", "-p", d))).ok
    for name in TWO_PAIRS:
        text = (f"etcd snapshot (drill), revision {800_000 if '08' in name else 850_000}"
                if name.endswith(".db") else "resources")
        assert (await fleet.run_one("master-0", root("sh", "-c", f"echo '{text}' > {d}/{name}"))).ok
    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-restore.sh", d,
                                             timeout=60))
    assert r.ok, r
    status = json.loads(r.stdout.splitlines()[3])
    assert status["revision"] == 850_000  # the later snapshot (ls -v | tail -1)
    assert host.files["/var/lib/etcd-backup/snapshot.db"] == host.files[f"{d}/{TWO_PAIRS[1]}"]
    # cluster-restore.sh stops etcd itself when disable-etcd.sh did not run
    lines = stop_lines(r.stdout.splitlines())
    assert "...stopping etcd-pod.yaml" in lines and "complete" in lines
    await settle(lab, fleet)
    assert lab.cluster.etcd.revision >= 850_000 + restore_scripts.REV_BUMP


async def test_cluster_restore_usage_and_missing_snapshot(started):
    lab, fleet = await started("lost-two-hosts-4.18")
    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-restore.sh"))
    assert r.exit_status == 1 and r.stdout == restore_scripts.USAGE
    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-restore.sh",
                                             "/home/core/nope"))
    assert r.exit_status == 1 and r.stdout == restore_scripts.USAGE
    assert (await fleet.run_one("master-0", root("mkdir", "-p", "/home/core/empty"))).ok
    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-restore.sh",
                                             "/home/core/empty"))
    assert r.exit_status == 1
    assert r.stdout == "etcd snapshot  does not exist\n"
    assert "ls: cannot access '/home/core/empty/snapshot*.db'" in r.stderr
    assert etcd_running(lab.cluster.host("master-0"))  # nothing was stopped


async def test_quorum_restore_on_the_freshest_member(started):
    lab, fleet = await started("quorum-lost-4.18")
    cluster = lab.cluster
    host = cluster.host("master-0")
    old_revision = cluster.etcd.revision
    raft = cluster.member_of(host).raft_index
    assert not cluster.api.reachable and not cluster.etcd.has_quorum()
    r = await fleet.run_one("master-0", root("/usr/local/bin/quorum-restore.sh", timeout=60))
    assert r.ok, r
    lines = stop_lines(r.stdout.splitlines())
    assert lines[0] == "...stopping etcd-pod.yaml"
    assert lines[-1] == "starting restore-etcd static pod"
    assert lines[1:-1] == [x for name in restore_scripts.ETCD_STATIC_POD_CONTAINERS
                           for x in (f"Waiting for container {name} to stop", "complete")]
    assert "/var/lib/etcd/member/snap/db" in host.files  # local data kept
    await settle(lab, fleet)
    etcd = cluster.etcd
    assert etcd_running(host)
    assert [m.name for m in etcd.members] == ["master-0"]
    assert etcd.leader().name == "master-0"
    assert etcd.revision >= old_revision + restore_scripts.REV_BUMP
    assert cluster.member_of(host).raft_index >= raft
    for _ in range(40):
        if cluster.api.reachable:
            break
        await asyncio.sleep(0.05)
    assert cluster.api.reachable
    health = await fleet.run_one("master-0", root(
        "crictl", "exec", host.container("etcdctl").container_id, "etcdctl",
        "endpoint", "health", "--cluster"))
    assert health.ok, health


async def test_cluster_restore_before_418_keeps_the_earlier_stub(started):
    lab, fleet = await started("lost-two-hosts-4.16")
    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-restore.sh", BACKUP))
    assert r.exit_status == 1 and "not implemented" in r.stderr
