"""What the restore procedure touches on the drill's hosts, through the real SSH path: the
OVN databases (RST-15) and OVS's units, the recovery kubeconfig (RST-18), keepalived's VIPs
(RST-04f, RST-06), and the RST-04 moves and checks on a non-recovery host."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets

from tui.drill import hostfiles, kubelet
from tui.drill.model import SimClock
from tui.fleet.commands import Command

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
RECOVERY_KUBECONFIG = ("/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/"
                       "node-kubeconfigs/localhost-recovery.kubeconfig")
ETCD_GREP = 'sudo crictl ps | grep etcd | egrep -v "operator|etcd-guard"'
KAS_GREP = 'sudo crictl ps | grep kube-apiserver | egrep -v "operator|guard"'
KCM_GREP = 'sudo crictl ps | grep kube-controller-manager | egrep -v "operator|guard"'
KS_GREP = 'sudo crictl ps | grep kube-scheduler | egrep -v "operator|guard"'


def cluster_yaml(version: str, workers: int = 1) -> str:
    return f"""
name: hosts-{version}
version: "{version}"
control_plane: 3
workers: {workers}
"""


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=START)) as start:
        yield start


def shell(text: str) -> Command:
    return Command.of("sh", "-c", text, timeout=30)


async def settle(lab, fleet, host: str, seconds: float) -> None:
    lab.cluster.clock.advance(seconds)
    assert (await fleet.run_one(host, shell("true"))).ok
    await asyncio.sleep(0.05)


# --- OVN ---------------------------------------------------------------------------------


async def test_ovn_databases_before_414_are_on_control_plane_hosts(started):
    lab, fleet = await started(cluster_yaml("4.12.30"))
    for host in lab.cluster.hosts:
        r = await fleet.run_one(host.name, shell("sudo ls /var/lib/ovn/etc"))
        if host.role == "control-plane":
            assert r.ok and r.stdout.split() == ["ovnnb_db.db", "ovnsb_db.db"], r
        else:
            assert r.exit_status == 2 and "No such file or directory" in r.stderr
        r = await fleet.run_one(host.name, shell("sudo ls /var/lib/ovn-ic/etc"))
        assert r.exit_status == 2
    # RST-15a
    r = await fleet.run_one("master-1", shell("sudo rm -f /var/lib/ovn/etc/*.db"))
    assert r.ok
    r = await fleet.run_one("master-1", shell("sudo ls -A /var/lib/ovn/etc"))
    assert r.ok and r.stdout == ""
    host = lab.cluster.host("master-1")
    # the ovnkube-master pod comes back and recreates them
    assert hostfiles.write_ovn_dbs(lab.cluster, host) == [
        "/var/lib/ovn/etc/ovnnb_db.db", "/var/lib/ovn/etc/ovnsb_db.db"]
    r = await fleet.run_one("master-1", shell("sudo ls /var/lib/ovn/etc"))
    assert r.stdout.split() == ["ovnnb_db.db", "ovnsb_db.db"]
    assert hostfiles.write_ovn_dbs(lab.cluster, lab.cluster.host("worker-0")) == []


async def test_ovn_ic_databases_from_414_are_on_every_node(started):
    lab, fleet = await started(cluster_yaml("4.16.20", workers=2))
    for host in lab.cluster.hosts:
        r = await fleet.run_one(host.name, shell("sudo ls /var/lib/ovn-ic/etc"))
        assert r.ok and r.stdout.split() == ["ovnnb_db.db", "ovnsb_db.db"], (host.name, r)
        assert (await fleet.run_one(host.name, shell("sudo ls /var/lib/ovn/etc"))).exit_status == 2
    # RST-15 (4.14+), node by node
    host = lab.cluster.host("worker-1")
    r = await fleet.run_one("worker-1", shell(
        "sudo rm -f /var/lib/ovn-ic/etc/*.db && "
        "sudo systemctl restart ovs-vswitchd ovsdb-server && echo restarted"))
    assert r.ok and r.stdout == "restarted\n", r
    assert not any(p.startswith("/var/lib/ovn-ic/etc/") for p in host.files)
    status = await fleet.run_one("worker-1", shell(
        "systemctl status ovs-vswitchd ovsdb-server"))
    assert status.ok, status
    units = status.stdout.split("\n\n● ")
    assert len(units) == 2
    assert units[0].startswith("● ovs-vswitchd.service - Open vSwitch Forwarding Unit")
    assert units[1].startswith("ovsdb-server.service - Open vSwitch Database Unit")
    stamp = lab.cluster.clock.now_dt().strftime("%a %Y-%m-%d %H:%M:%S UTC")
    for unit in units:
        assert f"Active: active (running) since {stamp}" in unit
        assert "Started Open vSwitch" in unit
    journal = await fleet.run_one("worker-1", shell("journalctl -u ovsdb-server"))
    assert journal.stdout.splitlines()[-1].endswith(
        "systemd[1]: Started Open vSwitch Database Unit.")
    active = await fleet.run_one("worker-1", shell("systemctl is-active ovs-vswitchd"))
    assert active.stdout == "active\n"
    assert hostfiles.write_ovn_dbs(lab.cluster, host) == [
        "/var/lib/ovn-ic/etc/ovnnb_db.db", "/var/lib/ovn-ic/etc/ovnsb_db.db"]


async def test_restarting_ovs_needs_root(started):
    lab, fleet = await started(cluster_yaml("4.16.20"))
    r = await fleet.run_one("master-0", shell("systemctl restart ovs-vswitchd"))
    assert r.exit_status == 1
    assert r.stderr.startswith("Failed to restart ovs-vswitchd.service: Interactive "
                               "authentication required.")


# --- the recovery kubeconfig --------------------------------------------------------------


async def test_recovery_kubeconfig_on_control_plane_hosts_only_for_root(started):
    lab, fleet = await started(cluster_yaml("4.12.30"))
    for host in lab.cluster.hosts:
        r = await fleet.run_one(host.name, shell(f"sudo test -f {RECOVERY_KUBECONFIG}"))
        assert r.ok == (host.role == "control-plane"), host.name
    r = await fleet.run_one("master-0", shell(f"cat {RECOVERY_KUBECONFIG}"))
    assert r.exit_status == 1 and r.stdout == ""
    assert r.stderr == f"cat: {RECOVERY_KUBECONFIG}: Permission denied\n"
    ls = await fleet.run_one("master-0", shell(f"sudo ls -l {RECOVERY_KUBECONFIG}"))
    assert ls.stdout.startswith("-rw-------. 1 root root ")
    text = (await fleet.run_one("master-0", shell(f"sudo cat {RECOVERY_KUBECONFIG}"))).stdout
    assert "server: https://localhost:6443\n" in text
    assert "current-context: system:admin\n" in text
    assert "client-certificate-data: " in text and "client-key-data: " in text


async def test_no_host_output_carries_the_recovery_kubeconfig(started):
    # a restore prints its lines, journals keep theirs: none of them holds the secret
    lab, fleet = await started("lost-two-hosts")
    host = lab.cluster.host("master-0")
    secret = host.files[RECOVERY_KUBECONFIG].decode()
    key_line = next(line for line in secret.splitlines() if "client-key-data" in line)
    r = await fleet.run_one("master-0", shell(
        "sudo -E /usr/local/bin/cluster-restore.sh /home/core/assets/backup; "
        "sudo journalctl; sudo systemctl status kubelet"))
    assert key_line not in r.stdout and key_line not in r.stderr
    assert all(key_line not in line for line in host.log)


# --- keepalived (bare metal) -------------------------------------------------------------


async def test_keepalived_vips_are_listed_and_removed(started):
    lab, fleet = await started(cluster_yaml("4.12.30", workers=0))
    cluster = lab.cluster
    api_vip, ingress_vip = "127.0.3.240", "127.0.3.241"
    for h in cluster.control_plane():  # a bare-metal cluster's hosts
        hostfiles.populate_control_plane_host(cluster, h, keepalived=True, api_vip=api_vip,
                                              ingress_vip=ingress_vip)
    egrep = f"ip -o address | egrep '{api_vip}|{ingress_vip}'"
    r = await fleet.run_one("master-0", shell(egrep))
    assert r.ok and r.stdout.startswith(f"2: br-ex    inet {api_vip}/32 scope global br-ex\\")
    r = await fleet.run_one("master-2", shell(egrep))
    assert r.ok and f"inet {ingress_vip}/32" in r.stdout
    # RST-04f on master-2 (non-recovery)
    r = await fleet.run_one("master-2", shell(
        "sudo mv -v /etc/kubernetes/manifests/keepalived.yaml /tmp"))
    assert r.stdout == "renamed '/etc/kubernetes/manifests/keepalived.yaml' -> " \
                       "'/tmp/keepalived.yaml'\n"
    await settle(lab, fleet, "master-2", kubelet.STOP_DELAY + 1)
    ps = await fleet.run_one("master-2", shell("sudo crictl ps --name keepalived"))
    assert ps.ok and "keepalived" not in ps.stdout
    r = await fleet.run_one("master-2", shell(f"sudo ip address del {ingress_vip}/32 dev br-ex"))
    assert r.ok, r
    r = await fleet.run_one("master-2", shell(egrep))
    assert r.exit_status == 1 and r.stdout == ""
    # RST-06 on the recovery host: it holds the API VIP
    r = await fleet.run_one("master-0", shell(f"ip -o address | grep {api_vip}"))
    assert r.ok and api_vip in r.stdout


async def test_keepalived_from_the_clusters_vips(started):
    lab, _ = await started(cluster_yaml("4.12.30", workers=0))
    cluster = lab.cluster
    if not hasattr(cluster.api, "api_vips"):
        pytest.skip("the drill API's model has no VIPs yet")
    cluster.api.api_vips = ["127.0.3.240"]
    cluster.api.ingress_vips = ["127.0.3.241"]
    for host in cluster.control_plane():
        hostfiles.populate_control_plane_host(cluster, host)
        assert "/etc/kubernetes/manifests/keepalived.yaml" in host.files
        assert host.container("keepalived") is not None
    assert ("br-ex", "127.0.3.240/32") in cluster.host("master-0").ip_addresses
    assert ("br-ex", "127.0.3.241/32") in cluster.host("master-2").ip_addresses


# --- RST-04 on a non-recovery host --------------------------------------------------------


@pytest.mark.parametrize("version", ["4.12.30", "4.16.20"])
async def test_rst04_moves_and_checks(started, version):
    lab, fleet = await started(cluster_yaml(version, workers=0))
    cluster = lab.cluster
    host = cluster.host("master-1")
    for grep in (ETCD_GREP, KAS_GREP, KCM_GREP, KS_GREP):
        r = await fleet.run_one("master-1", shell(grep))
        assert r.ok and "Running" in r.stdout, (grep, r)
        assert "guard" not in r.stdout and "operator" not in r.stdout
    r = await fleet.run_one("master-1", shell(
        "sudo mv -v /etc/kubernetes/manifests/etcd-pod.yaml /tmp"))
    assert r.ok and r.stdout == \
        "renamed '/etc/kubernetes/manifests/etcd-pod.yaml' -> '/tmp/etcd-pod.yaml'\n"
    # kubelet needs a moment: still listed right away
    r = await fleet.run_one("master-1", shell(ETCD_GREP))
    assert r.ok and "etcd" in r.stdout
    await settle(lab, fleet, "master-1", kubelet.STOP_DELAY + 1)
    r = await fleet.run_one("master-1", shell(ETCD_GREP))
    assert (r.exit_status, r.stdout, r.stderr) == (1, "", "")
    assert not cluster.member_of(host).running
    moves = ["kube-apiserver-pod.yaml"]
    if version >= "4.14":  # RST-04g
        moves += ["kube-controller-manager-pod.yaml", "kube-scheduler-pod.yaml"]
    for name in moves:
        r = await fleet.run_one("master-1", shell(
            f"sudo mv -v /etc/kubernetes/manifests/{name} /tmp"))
        assert r.stdout == f"renamed '/etc/kubernetes/manifests/{name}' -> '/tmp/{name}'\n"
    await settle(lab, fleet, "master-1", kubelet.STOP_DELAY + 1)
    stopped = [KAS_GREP] + ([KCM_GREP, KS_GREP] if version >= "4.14" else [])
    for grep in stopped:
        r = await fleet.run_one("master-1", shell(grep))
        assert (r.exit_status, r.stdout) == (1, ""), (grep, r)
    if version < "4.14":  # the 4.12-4.13 procedure leaves these running
        for grep in (KCM_GREP, KS_GREP):
            assert (await fleet.run_one("master-1", shell(grep))).ok
    # RST-04e
    r = await fleet.run_one("master-1", shell("sudo mv -v /var/lib/etcd/ /tmp"))
    assert r.ok and r.stdout == "renamed '/var/lib/etcd/' -> '/tmp/etcd'\n"
    assert "/tmp/etcd/member/snap/db" in host.files
    assert not any(p.startswith("/var/lib/etcd/") for p in host.files)
