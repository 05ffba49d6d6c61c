"""The drill cluster is alive: raft indexes move with simulated time, and only with a leader."""

from __future__ import annotations

from tui.drill.activity import advance
from tui.drill.scenario import build_cluster


def test_writes_advance_raft_indexes_and_revision():
    cluster = build_cluster("healthy")
    before = [m.raft_index for m in cluster.etcd.members]
    revision = cluster.etcd.revision
    advance(cluster, 10)
    after = [m.raft_index for m in cluster.etcd.members]
    assert all(a - b == 400 for a, b in zip(after, before))
    assert cluster.etcd.revision == revision + 400
    assert all(m.raft_applied_index == m.raft_index for m in cluster.etcd.members)


def test_a_stopped_member_falls_behind_and_no_quorum_means_no_writes():
    cluster = build_cluster("healthy")
    m0, m1, m2 = cluster.etcd.members
    m2.running = False
    cluster.changed()
    stuck = m2.raft_index
    advance(cluster, 5)
    assert m2.raft_index == stuck and m0.raft_index > stuck
    m1.running = False
    cluster.changed()
    frozen = m0.raft_index
    advance(cluster, 5)
    assert m0.raft_index == frozen
