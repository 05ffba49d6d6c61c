"""Read-only mode: the fleet and the API layer refuse every mutating command themselves."""

from __future__ import annotations

import pytest

from tui.cluster.api import CONFIG_GROUP, ClusterApi
from tui.drill.lab import DrillLab
from tui.errors import ReadOnlyRefused
from tui.etcd import etcdctl
from tui.fleet.commands import Command, Safety
from tui.fleet.fleet import Fleet


@pytest.fixture
async def lab(tmp_path):
    lab = DrillLab("healthy", workdir=tmp_path / "lab")
    inventory = await lab.start()
    yield lab, inventory
    await lab.stop()


MUTATING = [
    lambda inv: Command.of("mv", "-v", "/etc/kubernetes/manifests/etcd-pod.yaml", "/tmp",
                           privileged=True),
    lambda inv: Command.of("systemctl", "restart", "kubelet.service", privileged=True),
    lambda inv: etcdctl.etcdctl(inv, inv.hosts[0], "defrag", "--command-timeout=30s"),
    lambda inv: etcdctl.etcdctl(inv, inv.hosts[0], "alarm", "disarm"),
    # mislabelled as read-only by its author: still refused, the allowlist reads the argv
    lambda inv: Command.of("rm", "-rf", "/var/lib/etcd", privileged=True, safety=Safety.READ),
]


@pytest.mark.parametrize("make", MUTATING)
async def test_fleet_refuses_mutating_commands_and_sends_nothing(lab, make):
    drill, inventory = lab
    fleet = Fleet(inventory, read_only=True)
    sent = []
    fleet.subscribe(lambda e: sent.append(e) if e.kind == "command" else None)
    await fleet.start()
    try:
        manifests_before = dict(drill.cluster.host("master-0").files)
        with pytest.raises(ReadOnlyRefused, match="read-only"):
            await fleet.run(["master-0"], make(inventory))
        with pytest.raises(ReadOnlyRefused):
            await fleet.run_one("master-0", make(inventory))
        assert sent == []
        assert drill.cluster.host("master-0").files == manifests_before
    finally:
        await fleet.close()


async def test_fleet_in_read_only_mode_still_reads(lab):
    _, inventory = lab
    fleet = Fleet(inventory, read_only=True)
    await fleet.start()
    try:
        result = await fleet.run_one("master-0", Command.of("ip", "-o", "address"))
        assert result.ok and "br-ex" in result.stdout
    finally:
        await fleet.close()


async def test_api_refuses_writes_in_read_only_mode_even_below_the_client(lab):
    drill, inventory = lab
    api = ClusterApi.from_inventory(inventory, read_only=True)
    try:
        with pytest.raises(ReadOnlyRefused):
            await api.patch_cluster_object(CONFIG_GROUP, "apiservers", "cluster",
                                           {"spec": {"encryption": {"type": "aescbc"}}})
        # a caller that goes around ClusterApi's own methods hits the REST-level guard
        from kubernetes.aio import client as kclient

        raw = kclient.CustomObjectsApi(await api._api_client())
        with pytest.raises(ReadOnlyRefused):
            await raw.patch_cluster_custom_object(
                "config.openshift.io", "v1", "apiservers", "cluster",
                {"spec": {"encryption": {"type": "aescbc"}}},
                _content_type="application/merge-patch+json")
        assert drill.cluster.api.encryption_type == ""
        snap = await api.snapshot()
        assert snap.reachable and snap.encryption_type == "identity"
    finally:
        await api.close()


async def test_api_writes_work_outside_read_only_mode(lab):
    drill, inventory = lab
    api = ClusterApi.from_inventory(inventory)
    try:
        await api.patch_cluster_object(CONFIG_GROUP, "apiservers", "cluster",
                                       {"spec": {"encryption": {"type": "aescbc"}}})
        assert drill.cluster.api.encryption_type == "aescbc"
    finally:
        await api.close()
