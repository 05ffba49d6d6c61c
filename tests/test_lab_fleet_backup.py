"""`etcd-dr run backup --inventory-dir DIR --keep 1` on two lab clusters at once: real OpenSSH
and real etcd members, each lab its own cluster on its own addresses. The test reads the
files left on each backup host through the lab's view of that host's directories, and checks
each snapshot with the machine's own etcd tools."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from tests.test_lab_backup import (BACKUP, OVERRIDE, clear_backups, etcd_dr,
                                   machine_snapshot_status)

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab


@pytest.mark.timeout(300)
def test_two_lab_clusters_backed_up_at_once_and_pruned_to_one(lab, make_lab, tmp_path):
    other = make_lab(label="fleetbak")
    labs = {}
    directory = tmp_path / "inventories"
    directory.mkdir()
    for each in (lab, other):
        clear_backups(each)
        path = each.write_inventory(directory / f"{each.label}.yaml")
        labs[each.inventory_dict()["cluster"]["name"]] = (each, path)
    assert len(labs) == 2
    args = ("run", "backup", "--inventory-dir", directory, "--keep", "1", "--parallel", "2",
            "--yes", "--override", OVERRIDE, "--json")
    try:
        nights = []
        for night in range(2):
            if night:
                # cluster-backup.sh names a pair by the second it starts: night 2 in the same
                # second as night 1 (a fast machine) would write night 1's names again
                time.sleep(1.05 - time.time() % 1)
            run = etcd_dr(*args, timeout=200)
            assert run.returncode == 0, run.stdout + run.stderr
            doc = json.loads(run.stdout)
            assert doc["succeeded"] == 2 and doc["failed"] == 0
            nights.append({c["cluster"]: c for c in doc["clusters"]})
        for name, (each, _) in labs.items():
            first, second = nights[0][name], nights[1][name]
            assert second["result"] == "ok" and second["verified"] is True
            host = each.host(second["host"])
            names = sorted(os.listdir(host.path(BACKUP)))
            ts = second["snapshot"][len("snapshot_"):-len(".db")]
            if first["host"] == second["host"]:  # night 1's pair pruned, night 2's kept
                assert second["pruned"] == [first["snapshot"][len("snapshot_"):-len(".db")]]
            assert names == sorted([second["snapshot"], second["static_kuberesources"],
                                    f"etcd-dr-manifest_{ts}.json"]), names
            # real etcd tools accept the snapshot, and it is what the manifest says
            status = machine_snapshot_status(each, host.path(BACKUP) / second["snapshot"])
            manifest = json.loads((host.path(BACKUP) / second["manifest"]).read_text())
            assert manifest["etcd"]["hash"] == status["hash"] == second["etcd"]["hash"]
            assert manifest["host"] == second["host"] and manifest["cluster"] == name
            assert re.search(rf"/{re.escape(name)}-backup-\d{{8}}-\d{{6}}(-\d+)?\.jsonl$",
                             second["journal"])
            for h in each.hosts:  # one host per cluster, per night
                if h.name not in (first["host"], second["host"]):
                    assert not h.path(BACKUP).exists(), h.name
    finally:
        for each, _ in labs.values():
            clear_backups(each)
