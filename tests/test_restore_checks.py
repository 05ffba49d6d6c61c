"""The restore's starting checks: the procedure by version, the backup directory, the
recovery host (groundwork for the restore runbooks)."""

from __future__ import annotations

import pytest

from tui.backend import Backend, BackendSpec
from tui.runbooks.restore_checks import check_backup_listing, rank_recovery_hosts, restore_path

DIR = "/home/core/assets/backup"


@pytest.mark.parametrize("version, key, prefix", [
    ("4.12.30", "4.12-4.13", "RST"), ("4.13.0", "4.12-4.13", "RST"),
    ("4.14.1", "4.14-4.17", "RST"), ("4.17.9", "4.14-4.17", "RST"),
    ("4.18.5", "4.18+", "RSTN"), ("4.19.0", "4.18+", "RSTN"),
])
def test_the_procedure_follows_the_version(version, key, prefix):
    path = restore_path(version, "ClusterVersion")
    assert (path.key, path.step_prefix) == (key, prefix)
    assert version in path.why


@pytest.mark.parametrize("version", [None, "", "latest", "3.11.0"])
def test_an_unknown_version_means_ask(version):
    assert restore_path(version, "inventory") is None


def test_one_matching_pair_is_usable():
    check = check_backup_listing("snapshot_2026-11-27_084040.db\n"
                                 "static_kuberesources_2026-11-27_084040.tar.gz\n"
                                 "etcd-dr-manifest_2026-11-27_084040.json\n", DIR)
    assert check.ok and check.timestamp == "2026-11-27_084040" and not check.dirty


@pytest.mark.parametrize("listing, needle", [
    ("", "no snapshot_<ts>.db"),
    ("snapshot_2026-11-27_084040.db\n", "no static_kuberesources"),
    ("snapshot_2026-11-27_084040.db\nstatic_kuberesources_2026-11-27_090000.tar.gz\n",
     "different backups"),
    ("snapshot_2026-11-27_084040.db\nstatic_kuberesources_2026-11-27_084040.tar.gz\n"
     "snapshot_2026-11-28_084040.db\nstatic_kuberesources_2026-11-28_084040.tar.gz\n",
     "leave exactly one backup there"),
])
def test_unusable_backup_directories_are_refused_with_the_reason(listing, needle):
    check = check_backup_listing(listing, DIR)
    assert not check.ok and any(needle in p for p in check.problems)


def test_a_possibly_dirty_backup_is_flagged():
    check = check_backup_listing("snapshot_2026-11-27_084040__POSSIBLY_DIRTY__.db\n"
                                 "static_kuberesources_2026-11-27_084040__POSSIBLY_DIRTY__.tar.gz"
                                 "\n", DIR)
    assert check.ok and check.dirty


async def test_the_surviving_host_ranks_first_when_two_are_lost():
    backend = Backend(BackendSpec(scenario="quorum-lost-4.18"))
    await backend.start()
    try:
        ranked = rank_recovery_hosts(await backend.collector.collect())
    finally:
        await backend.close()
    assert ranked[0].host == "master-0"
    assert "raft index 2097230" in " ".join(ranked[0].reasons)
    assert all("SSH: unreachable" in " ".join(c.reasons) for c in ranked[1:])
