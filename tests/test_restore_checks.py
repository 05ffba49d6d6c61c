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


# --- ranking: learners, stopped members and revision.json --------------------------------------

def _snapshot(members, states=None):
    from tui.cluster.api import ApiSnapshot
    from tui.status.snapshot import HostView, MemberView, StatusSnapshot

    states = states or {}
    hosts = [HostView(f"master-{i}", f"10.0.0.{i}", "control-plane",
                      states.get(f"master-{i}", "connected"), None, 0.0) for i in range(3)]
    views = [MemberView(name=h, member_id=i + 1, endpoint=f"https://10.0.0.{i}:2379", host=h,
                        raft_index=index, is_learner=learner)
             for i, (h, index, learner) in enumerate(members)]
    return StatusSnapshot("c", "4.18.5", True, hosts, views, [], ApiSnapshot(reachable=False),
                          0.0)


def test_a_learner_is_never_a_candidate_even_with_the_highest_index():
    snap = _snapshot([("master-0", 500, True), ("master-1", 400, False),
                      ("master-2", 300, False)])
    ranked = rank_recovery_hosts(snap)
    assert [c.host for c in ranked] == ["master-1", "master-2", "master-0"]
    learner = ranked[-1]
    assert not learner.eligible and not learner.score[0]
    assert "learner" in " ".join(learner.reasons)
    assert "raft index 400 (etcdctl endpoint status)" in " ".join(ranked[0].reasons)


def test_a_stopped_member_ranks_by_its_revision_json_and_says_so():
    from tui.etcd.parse import parse_revision_json

    snap = _snapshot([("master-0", 1000, False), ("master-1", None, False),
                      ("master-2", None, False)])
    rev = parse_revision_json('{"clusterId":18446744073709551615,"raftIndex":{},'
                              '"maxRaftIndex":9007199254740993,"created":"2026-12-01T03:00:00Z"}')
    ranked = rank_recovery_hosts(snap, {"master-1": rev,
                                        "master-2": "no /var/lib/etcd/revision.json"})
    assert [c.host for c in ranked] == ["master-1", "master-0", "master-2"]
    first = " ".join(ranked[0].reasons)
    assert "etcd does not answer here" in first
    assert ("raft index 9007199254740993: maxRaftIndex in /var/lib/etcd/revision.json, "
            "written 2026-12-01T03:00:00Z") in first
    assert ranked[0].score == (True, True, 2**53 + 1)
    assert "no /var/lib/etcd/revision.json" in " ".join(ranked[-1].reasons)
    assert ranked[-1].score[1:] == (False, -1)


def test_an_unreachable_host_ranks_below_every_reachable_one():
    snap = _snapshot([("master-0", 10, False), ("master-1", 99, False), ("master-2", 5, False)],
                     {"master-1": "unreachable"})
    ranked = rank_recovery_hosts(snap)
    assert ranked[-1].host == "master-1" and "SSH: unreachable" in ranked[-1].reasons
