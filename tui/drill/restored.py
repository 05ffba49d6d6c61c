"""What a restore leaves in the drill's etcd: a single member rebuilt from the snapshot (its
revision and raft index, whether it was forced into a new cluster), as the restore pod of
each release leaves it."""

from __future__ import annotations

import zlib

from tui.drill.model import DrillCluster, DrillHost, EtcdMember

ETCD_DATA_DIR = "/var/lib/etcd"


REV_BUMP = 1_000_000_000  # the restore pods' bump when there is no revision.json to size it


def _single_member(cluster: DrillCluster, member: EtcdMember, revision: int, *,
                   compacted: bool = True) -> None:
    etcd = cluster.etcd
    etcd.members = [member]
    etcd.revision = revision
    if compacted:
        etcd.compact_revision = revision  # --mark-compacted: older revisions are gone
    else:  # the snapshot keeps the compaction it was taken with
        etcd.compact_revision = min(etcd.compact_revision, revision)
    etcd.leader_id = member.member_id
    etcd.alarms = []
    etcd.leader_move_at = None
    member.is_learner = False
    member.defragging = False
    member.defrag_window = None


def after_restore(cluster: DrillCluster) -> None:
    """What every restore script leaves behind: the time of the restore (the API returns
    API_RETURN_DELAY later, tui.drill.kubelet) and, when the scenario says kubelet's
    certificates were rotated after the backup, stale certificates on every host."""
    cluster.restored_at = cluster.clock.now()
    if cluster.options.get("kubelet_certs_rotated"):
        for h in cluster.hosts:
            h.kubelet_certs = "stale"
    cluster.changed()


def restored_from_snapshot(cluster: DrillCluster, host: DrillHost, member: EtcdMember,
                           status: dict, *, bump: int = REV_BUMP) -> None:
    """The restore pod: `etcdutl snapshot restore` into a fresh /var/lib/etcd, a new
    single-member cluster, the revision bumped by `bump` and marked compacted (4.18+:
    maxRaftIndex * 1.2 of revision.json; 4.14-4.17 with ETCD_ETCDCTL_RESTORE_ENABLE_BUMP:
    REV_BUMP); bump 0: the snapshot as it is. (The 4.14+ pod then deletes
    /var/lib/etcd-backup/snapshot.db: tui.drill.kubelet, when it starts the pod.)"""
    now = cluster.clock.now()
    size = int(status.get("totalSize") or member.db_size_in_use)
    files = {
        f"{ETCD_DATA_DIR}/member/snap/db": (size, "drill stand-in for the bbolt database "
                                                  f"of etcd member {host.name} (restored)\n"),
        f"{ETCD_DATA_DIR}/member/wal/0000000000000000-0000000000000000.wal":
            (64_000_000, "drill stand-in for a write-ahead log segment\n"),
    }
    for d in (ETCD_DATA_DIR, f"{ETCD_DATA_DIR}/member", f"{ETCD_DATA_DIR}/member/snap",
              f"{ETCD_DATA_DIR}/member/wal"):
        host.dirs.add(d)
        host.modes[d] = 0o700
        host.owners[d] = "root"
        host.mtimes[d] = now
    for path, (fsize, text) in files.items():
        host.files[path] = text.encode()
        host.sizes[path] = fsize
        host.modes[path] = 0o600
        host.owners[path] = "root"
        host.mtimes[path] = now
    cluster.etcd.cluster_id = zlib.crc32(f"{cluster.name}/restored/{now}".encode()) << 31 | 0x89ab
    cluster.etcd.raft_term = 2
    member.raft_index = member.raft_applied_index = 4
    member.db_size = member.db_size_in_use = size
    revision = int(status["revision"]) + max(0, int(bump))
    _single_member(cluster, member, revision, compacted=bump > 0)
    cluster.changed()


def forced_new_cluster(cluster: DrillCluster, host: DrillHost, member: EtcdMember, *,
                       bump: int = REV_BUMP) -> None:
    """The quorum-restore pod: the local data restored as a single-member cluster with the
    revision bumped by `bump` (maxRaftIndex * 0.2 of revision.json) and marked compacted;
    the member list shrinks to this member, the cluster ID stays."""
    cluster.etcd.raft_term += 1
    _single_member(cluster, member, cluster.etcd.revision + max(0, int(bump)))
    cluster.changed()
