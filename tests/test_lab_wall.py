"""`etcd-dr wall --json` over two lab clusters at once: real OpenSSH and real etcd members.
One is backed up with `etcd-dr run backup`; the wall finds that pair and verifies its
snapshot with the etcdctl/etcdutl the lab's cluster-backup.sh left on the host (a real
`snapshot status`, not the manifest) and lists its tarball, and finds no backup on the
other."""

from __future__ import annotations

import json

import pytest

from tests.test_lab_backup import OVERRIDE, clear_backups, etcd_dr

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab


@pytest.mark.timeout(300)
def test_the_wall_over_two_lab_clusters_verifies_with_the_hosts_own_tools(lab, make_lab,
                                                                         tmp_path):
    other = make_lab(label="wall")
    directory = tmp_path / "inventories"
    directory.mkdir()
    names = {}
    for h in lab.hosts:  # the shared lab as earlier tests left it: maybe fragmented
        lab.etcdctl(h, "defrag", timeout=60)
    for each in (lab, other):
        clear_backups(each)
        each.write_inventory(directory / f"{each.label}.yaml")
        names[each.label] = each.inventory_dict()["cluster"]["name"]
    try:
        backed = etcd_dr("run", "backup", "--inventory", directory / f"{lab.label}.yaml",
                         "--keep", "1", "--yes", "--override", OVERRIDE, "--json",
                         timeout=200)
        assert backed.returncode == 0, backed.stdout + backed.stderr
        (made,) = json.loads(backed.stdout)["clusters"]
        r = etcd_dr("wall", directory, "--json", timeout=120)
        rows = {row["name"]: row for row in map(json.loads, r.stdout.splitlines())}
        assert r.returncode == 1 and len(rows) == 2, r.stdout + r.stderr
        with_backup, without = rows[names[lab.label]], rows[names[other.label]]
        for row in rows.values():
            assert row["members"]["up"] == row["members"]["total"] == len(lab.hosts)
            assert row["leader"] is not None and row["alarms"] == []
            # the lab has no API: the encryption type is unknown
            assert row["encryption"] is None
            assert any("no API in the inventory" in why for why in row["reasons"])
        backup = with_backup["backup"]
        assert backup["newest"] == made["snapshot"][len("snapshot_"):-len(".db")]
        assert backup["host"] == made["host"] and 0 <= backup["age_s"] < 600
        assert backup["verified"] is True
        assert backup["verified_by"] in ("etcdutl snapshot status", "etcdctl snapshot status")
        # the lab's newest kube-apiserver revision holds secrets/encryption-config
        assert backup["encryption_config"] is True
        # restorable: only the missing API keeps it from ready
        assert with_backup["verdict"] == "degraded"
        assert with_backup["reasons"] == ["no API in the inventory (encryption state unknown)"]
        assert without["verdict"] == "at-risk" and without["backup"]["newest"] is None
        assert any(why.startswith("no backup in") for why in without["reasons"])
    finally:
        for each in (lab, other):
            clear_backups(each)
