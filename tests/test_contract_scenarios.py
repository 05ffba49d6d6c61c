"""Every scenario name the contract lists exists, loads, and looks like what it says."""

from __future__ import annotations

import json

import pytest

from tests.cli_runner import run_cli
from tui.drill.scenario import build_cluster, list_scenarios

CONTRACT = ["healthy", "nospace", "host-down", "encryption-in-progress", "lost-two-hosts",
            "lost-two-hosts-4.16", "lost-two-hosts-4.18", "quorum-lost-4.18"]


def test_every_contract_scenario_is_listed_with_a_description():
    listed = {s.name: s.description for s in list_scenarios()}
    for name in CONTRACT:
        assert listed.get(name), f"scenario {name} missing or undescribed"


@pytest.mark.parametrize("name, version", [("lost-two-hosts", "4.12"),
                                           ("lost-two-hosts-4.16", "4.16"),
                                           ("lost-two-hosts-4.18", "4.18"),
                                           ("quorum-lost-4.18", "4.18"),
                                           # current releases, beside the contract's
                                           ("lost-two-hosts-4.20", "4.20"),
                                           ("lost-two-hosts-4.21", "4.21"),
                                           ("quorum-lost-4.21", "4.21")])
def test_lost_hosts_scenarios_have_no_quorum_and_no_api(name, version):
    cluster = build_cluster(name)
    assert cluster.api.version.startswith(version + ".")
    assert [h.name for h in cluster.hosts if not h.up] == ["master-1", "master-2"]
    assert not cluster.etcd.has_quorum() and cluster.etcd.leader() is None
    assert not cluster.api.reachable
    backups = [p for p in cluster.host("master-0").files
               if p.startswith("/home/core/assets/backup/")]
    if name.startswith("lost-two-hosts"):
        snaps = [p for p in backups if p.endswith(".db")]
        tars = [p for p in backups if p.endswith(".tar.gz")]
        assert len(snaps) == len(tars) == 1
        assert snaps[0].split("snapshot_")[1][:-3] == tars[0].split("static_kuberesources_")[1][:-7]
    else:
        assert backups == []


def test_healthy_keeps_its_contract_meaning_beside_the_current_default():
    """`healthy` stays 3 hosts on 4.12, all well, whatever `etcd-dr drill` opens by default."""
    cluster = build_cluster("healthy")
    assert cluster.api.version.startswith("4.12.")
    assert len(cluster.control_plane()) == 3 and all(h.up for h in cluster.hosts)
    assert cluster.etcd.has_quorum() and cluster.api.reachable


def test_status_of_a_lost_quorum_shows_the_survivor_and_its_raft_index():
    r = run_cli("status", "--drill", "--scenario",
                "quorum-lost-4.18", "--json", timeout=60)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["leader"] is None and doc["api"]["reachable"] is False
    [m0] = doc["members"]
    assert m0["name"] == "master-0" and m0["raft_index"] == 2097230
    assert m0["errors"] == ["etcdserver: no leader"]
