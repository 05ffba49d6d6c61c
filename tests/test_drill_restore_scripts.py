"""The restore scripts on the drill's control-plane hosts, run through the real SSH path:
cluster-restore.sh of 4.12-4.13, 4.14-4.17 and 4.18+, disable-etcd.sh and quorum-restore.sh.

They print what the real scripts (cluster-etcd-operator bindata/etcd/*.sh and the
etcd-common-tools they source) print, return once the restore pod's manifest is in place, and
kubelet then starts a single-member etcd (and, before 4.18, the control-plane pods again); the
API comes back shortly after.
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
    # 4.18-4.20 also wait for the etcd pod's etcd-backup-server container (UPSTREAM.md)
    assert out[3:] == [x for name in ("etcdctl", "etcd-metrics", "etcd-readyz", "etcd-rev",
                                      "etcd-backup-server")
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
        x for name in restore_scripts.etcd_containers_to_stop(lab.cluster)
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
    assert out[4:17] == ["...stopping etcd-pod.yaml"] + [
        x for name in restore_scripts.etcd_containers_to_stop(cluster)
        for x in (f"Waiting for container {name} to stop", "complete")]
    assert out[17:] == ["Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup",
                        "starting restore-etcd static pod"]
    assert "/var/lib/etcd-backup/member/snap/db" in host.files
    assert "/var/lib/etcd-backup/snapshot.db" in host.files
    assert "/var/lib/etcd-backup/revision.json" in host.files
    assert "/etc/kubernetes/manifests/etcd-pod.yaml" in host.files
    assert host.files["/var/lib/etcd-backup/snapshot.db"] == host.files[f"{BACKUP}/{snapshot}"]
    max_raft = json.loads(host.files["/var/lib/etcd-backup/revision.json"])["maxRaftIndex"]
    assert max_raft >= 1_048_576

    # kubelet starts the restore pod, the single member leads, then the API answers
    await settle(lab, fleet)
    assert etcd_running(host)
    etcd = cluster.etcd
    assert [m.name for m in etcd.members] == ["master-0"]
    assert etcd.has_quorum() and etcd.leader().name == "master-0"
    # 4.18+: bumped by maxRaftIndex * 1.2 of the revision.json the script moved aside
    assert etcd.revision >= status["revision"] + max_raft * 12 // 10
    assert etcd.revision < status["revision"] + restore_scripts.REV_BUMP
    # the restore pod deleted the snapshot copy once its restore succeeded (4.14+)
    assert "/var/lib/etcd-backup/snapshot.db" not in host.files
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
        # (a tarball real tar cannot read fails the restore: the drill's stand-in text)
        text = (f"etcd snapshot (drill), revision {800_000 if '08' in name else 850_000}"
                if name.endswith(".db") else "static pod resources (drill)")
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
    bump = restore_scripts.bump_amount(host, "/var/lib/etcd-backup/revision.json", 12)
    assert 1_048_576 * 12 // 10 <= bump < restore_scripts.REV_BUMP
    await settle(lab, fleet)
    assert lab.cluster.etcd.revision >= 850_000 + bump


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
    assert lines[1:-1] == [x for name in restore_scripts.etcd_containers_to_stop(cluster)
                           for x in (f"Waiting for container {name} to stop", "complete")]
    assert "/var/lib/etcd/member/snap/db" in host.files  # local data kept
    max_raft = json.loads(host.files["/var/lib/etcd/revision.json"])["maxRaftIndex"]
    await settle(lab, fleet)
    etcd = cluster.etcd
    assert etcd_running(host)
    assert [m.name for m in etcd.members] == ["master-0"]
    assert etcd.leader().name == "master-0"
    # the quorum-restore pod bumps by maxRaftIndex * 0.2 of /var/lib/etcd/revision.json
    assert etcd.revision >= old_revision + max_raft * 2 // 10
    assert etcd.revision < old_revision + restore_scripts.REV_BUMP
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


def shell(text: str, timeout: float = 60) -> Command:
    """A command line as the operator types it (sudo inside)."""
    return Command.of("sh", "-c", text, timeout=timeout)


async def wait_for_api(cluster) -> None:
    for _ in range(40):
        if cluster.api.reachable:
            return
        await asyncio.sleep(0.05)


KAS_PODS = ("kube-apiserver-pod.yaml", "kube-controller-manager-pod.yaml",
            "kube-scheduler-pod.yaml")


def resource_lines(host) -> list[str]:
    """restore_static_pods' lines for the host's current resource revisions (tar -v)."""
    out = []
    for name in KAS_PODS:
        base = name[:-len(".yaml")]
        rev = max(int(p.split(f"/{base}-")[1].split("/")[0]) for p in host.files
                  if p.startswith(f"/etc/kubernetes/static-pod-resources/{base}-")
                  and p.endswith(f"/{name}"))
        out += [f"starting {name}", f"static-pod-resources/{base}-{rev}/{name}"]
    return out


async def test_cluster_restore_412_stops_the_control_plane_and_starts_it_from_the_backup(
        started):
    lab, fleet = await started("lost-two-hosts")
    # the revision is checked exactly below: background writes taking the clock's jumps
    # after the restored member leads would race that check
    lab.stop_background_writes()
    cluster = lab.cluster
    host = cluster.host("master-0")
    old_revision = cluster.etcd.revision
    assert not cluster.api.reachable and cluster.restored_at is None
    r = await fleet.run_one("master-0", shell(
        "sudo -E /usr/local/bin/cluster-restore.sh /home/core/assets/backup"))
    assert r.ok, r
    out = r.stdout.splitlines()
    # dl_etcdctl: podman's container ID and `etcdctl version` (no cached etcdctl yet)
    assert re.fullmatch(r"[0-9a-f]{64}", out[0])
    assert out[1:3] == ["etcdctl version: 3.5.6", "API version: 3.5"]
    status = json.loads(out[3])
    assert set(status) == {"hash", "revision", "totalKey", "totalSize"}
    assert 0 < status["revision"] < old_revision
    # 4.12's check_snapshot_status runs `etcdctl snapshot status`, which warns
    assert r.stderr == restore_scripts.ETCDCTL_SNAPSHOT_DEPRECATED
    lines = stop_lines(out[4:])
    # 4.11-4.17 share one set of scripts (UPSTREAM.md): the control plane, then etcd
    assert lines == [
        "...stopping kube-apiserver-pod.yaml", "...stopping kube-controller-manager-pod.yaml",
        "...stopping kube-scheduler-pod.yaml",
        *[x for name in restore_scripts.AUX_STATIC_POD_CONTAINERS
          for x in (f"Waiting for container {name} to stop", "complete")],
        "...stopping etcd-pod.yaml",
        *[x for name in restore_scripts.ETCD_STATIC_POD_CONTAINERS_414
          for x in (f"Waiting for container {name} to stop", "complete")],
        "Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup",
        "starting restore-etcd static pod",
        *resource_lines(host)]
    # the kubelet takes a few seconds to stop etcd
    assert any(re.fullmatch(r"\.{3,}complete", line) for line in out)
    stopped = "/home/core/assets/manifests-stopped"
    for name in KAS_PODS + ("etcd-pod.yaml",):
        assert f"{stopped}/{name}" in host.files
        assert f"/etc/kubernetes/manifests/{name}" in host.files
    assert "/var/lib/etcd-backup/member/snap/db" in host.files
    assert "/var/lib/etcd-backup/snapshot.db" in host.files
    assert "restore" in host.files["/etc/kubernetes/manifests/etcd-pod.yaml"].decode()
    assert cluster.restored_at is not None and cluster.restored_at <= cluster.clock.now()
    # the API servers stopped with the script and are not back yet
    assert not cluster.api.reachable
    ps = await fleet.run_one("master-0", shell(
        'sudo crictl ps | grep kube-apiserver | egrep -v "operator|guard"'))
    assert ps.exit_status == 1 and ps.stdout == ""

    # kubelet starts the restore pod and the control plane; the API returns after the delay
    await settle(lab, fleet, 12)  # kubelet's START_DELAY and more
    assert etcd_running(host)
    assert [m.name for m in cluster.etcd.members] == ["master-0"]
    assert cluster.etcd.leader().name == "master-0"
    assert cluster.etcd.revision == status["revision"]  # the 4.12 restore pod: no bump
    assert not cluster.api.reachable  # etcd leads, but API_RETURN_DELAY has not passed
    await settle(lab, fleet, restore_scripts.API_RETURN_DELAY)
    await wait_for_api(cluster)
    assert cluster.api.reachable
    ps = await fleet.run_one("master-0", shell(
        'sudo crictl ps | grep kube-apiserver | egrep -v "operator|guard"'))
    assert ps.ok and "Running" in ps.stdout


async def test_cluster_restore_416_stops_the_control_plane_first_then_etcd(started):
    lab, fleet = await started("lost-two-hosts-4.16")
    # the revision is checked exactly below: background writes taking the clock's jumps
    # after the restored member leads would race that check
    lab.stop_background_writes()
    cluster = lab.cluster
    host = cluster.host("master-0")
    r = await fleet.run_one("master-0", shell(
        "sudo -E /usr/local/bin/cluster-restore.sh /home/core/assets/backup"))
    assert r.ok, r
    out = r.stdout.splitlines()
    assert re.fullmatch(r"[0-9a-f]{64}", out[0])
    assert out[1:3] == ["etcdctl version: 3.5.14", "API version: 3.5"]
    status = json.loads(out[3])
    assert r.stderr == ""  # etcdutl checks the snapshot from 4.14 on
    assert stop_lines(out[4:]) == [
        "...stopping kube-apiserver-pod.yaml", "...stopping kube-controller-manager-pod.yaml",
        "...stopping kube-scheduler-pod.yaml",
        *[x for name in restore_scripts.AUX_STATIC_POD_CONTAINERS
          for x in (f"Waiting for container {name} to stop", "complete")],
        "...stopping etcd-pod.yaml",
        *[x for name in restore_scripts.ETCD_STATIC_POD_CONTAINERS_414
          for x in (f"Waiting for container {name} to stop", "complete")],
        "Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup",
        "starting restore-etcd static pod",
        *resource_lines(host)]
    # etcdctl and etcdutl came out of the etcd image
    bins = await fleet.run_one("master-0", root("ls", "/etc/kubernetes/static-pod-resources/bin"))
    assert bins.stdout.split() == ["etcdctl", "etcdutl"]
    await settle(lab, fleet, 12)
    assert cluster.etcd.revision == status["revision"]  # no ETCD_ETCDCTL_RESTORE_ENABLE_BUMP
    await settle(lab, fleet, restore_scripts.API_RETURN_DELAY)
    await wait_for_api(cluster)
    assert cluster.api.reachable


async def test_cluster_restore_416_bumps_the_revision_when_asked(started):
    lab, fleet = await started("lost-two-hosts-4.16")
    cluster = lab.cluster
    r = await fleet.run_one("master-0", shell(
        "sudo ETCD_ETCDCTL_RESTORE_ENABLE_BUMP=true /usr/local/bin/cluster-restore.sh "
        "/home/core/assets/backup"))
    assert r.ok, r
    status = json.loads(r.stdout.splitlines()[3])
    manifest = cluster.host("master-0").files["/etc/kubernetes/manifests/etcd-pod.yaml"]
    assert b'ETCD_ETCDCTL_RESTORE_ENABLE_BUMP="true"' in manifest
    await settle(lab, fleet, 12)
    assert cluster.etcd.revision == status["revision"] + restore_scripts.REV_BUMP


async def test_cluster_restore_416_can_leave_the_control_plane_pods_alone(started):
    lab, fleet = await started("lost-two-hosts-4.16")
    host = lab.cluster.host("master-0")
    r = await fleet.run_one("master-0", shell(
        "sudo ETCD_RESTORE_SKIP_MOVE_CP_STATIC_PODS=true /usr/local/bin/cluster-restore.sh "
        "/home/core/assets/backup"))
    assert r.ok, r
    out = r.stdout.splitlines()
    assert not any("kube-" in line for line in out)
    assert out[-1] == "starting restore-etcd static pod"
    assert any(c.name == "kube-apiserver" and c.state == "Running" for c in host.containers)


async def test_cluster_restore_412_runs_again_when_run_twice(started):
    lab, fleet = await started("lost-two-hosts")
    cluster = lab.cluster
    host = cluster.host("master-0")
    cmd = shell("sudo -E /usr/local/bin/cluster-restore.sh /home/core/assets/backup")
    assert (await fleet.run_one("master-0", cmd)).ok
    await settle(lab, fleet, 12)
    first = cluster.restored_at
    again = await fleet.run_one("master-0", cmd)
    assert again.ok, again
    out = again.stdout.splitlines()
    assert out[0] == "etcdctl is already installed"  # cached by the first run (4.12-4.13)
    lines = stop_lines(out)
    assert "removing previous backup /var/lib/etcd-backup" in lines
    assert lines[-7:] == ["starting restore-etcd static pod", *resource_lines(host)]
    assert cluster.restored_at > first
    assert not cluster.api.reachable
    await settle(lab, fleet, 12 + restore_scripts.API_RETURN_DELAY)
    await wait_for_api(cluster)
    assert cluster.api.reachable and [m.name for m in cluster.etcd.members] == ["master-0"]


async def test_cluster_restore_412_without_the_resources_tarball(started):
    lab, fleet = await started("lost-two-hosts")
    host = lab.cluster.host("master-0")
    assert (await fleet.run_one("master-0", root(
        "sh", "-c", "rm -f /home/core/assets/backup/static_kuberesources_*"))).ok
    r = await fleet.run_one("master-0", shell(
        "sudo -E /usr/local/bin/cluster-restore.sh /home/core/assets/backup"))
    assert r.exit_status == 2
    assert "tar: : Cannot open: No such file or directory" in r.stderr
    # etcd and the control plane stay stopped: the operator must fix it by hand
    assert "/etc/kubernetes/manifests/etcd-pod.yaml" not in host.files
    assert "/etc/kubernetes/manifests/kube-apiserver-pod.yaml" not in host.files


@pytest.mark.parametrize("scenario,script", [
    ("lost-two-hosts", "cluster-restore.sh /home/core/assets/backup"),
    ("lost-two-hosts-4.18", "cluster-restore.sh /home/core/assets/backup"),
    ("quorum-lost-4.18", "quorum-restore.sh"),
])
async def test_rotated_kubelet_certificates_go_stale_with_any_restore(started, scenario, script):
    lab, fleet = await started(scenario)
    cluster = lab.cluster
    cluster.options["kubelet_certs_rotated"] = True
    assert all(h.kubelet_certs == "valid" for h in cluster.hosts)
    r = await fleet.run_one("master-0", shell(f"sudo -E /usr/local/bin/{script}"))
    assert r.ok, r
    assert cluster.restored_at is not None
    assert all(h.kubelet_certs == "stale" for h in cluster.hosts)


async def test_without_rotated_certificates_they_stay_valid(started):
    lab, fleet = await started("lost-two-hosts")
    lab.cluster.options.pop("kubelet_certs_rotated", None)
    r = await fleet.run_one("master-0", shell(
        "sudo -E /usr/local/bin/cluster-restore.sh /home/core/assets/backup"))
    assert r.ok, r
    assert all(h.kubelet_certs == "valid" for h in lab.cluster.hosts)
