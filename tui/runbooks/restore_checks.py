"""Checks the restore (RST, RSTN, QRS) starts from: which procedure applies, whether a backup
directory is usable, which host should recover the cluster. Pure functions over what the
fleet and the status collector report, so the restore runbooks and their preflight share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.runbooks.backup import backup_sets
from tui.status.snapshot import StatusSnapshot
from tui.versions import openshift_minor


@dataclass(frozen=True)
class RestorePath:
    key: str  # "4.12-4.13" | "4.14-4.17" | "4.18+"
    step_prefix: str  # "RST" or "RSTN"
    why: str


def restore_path(version: str | None, source: str) -> RestorePath | None:
    """The procedure for a cluster version (None when the version is unknown: ask)."""
    minor = openshift_minor(version)
    if minor is None or minor[0] != 4:
        return None
    if minor >= (4, 18):
        return RestorePath("4.18+", "RSTN", f"{source} says {version}: 4.18 and later restore "
                                            f"with disable-etcd.sh and a single-member restore")
    if minor >= (4, 14):
        return RestorePath("4.14-4.17", "RST", f"{source} says {version}: the RST steps, with "
                                               f"OVN interconnect and the controller-manager and "
                                               f"scheduler manifests moved aside too")
    return RestorePath("4.12-4.13", "RST", f"{source} says {version}: the RST steps as the "
                                           f"source document writes them")


@dataclass(frozen=True)
class BackupCheck:
    ok: bool
    problems: tuple[str, ...]
    timestamp: str | None = None
    snapshot: str | None = None
    static_kuberesources: str | None = None
    dirty: bool = False


def check_backup_listing(listing: str, directory: str) -> BackupCheck:
    """A backup directory must hold exactly one snapshot_<ts>.db and one
    static_kuberesources_<ts>.tar.gz with the same <ts>: cluster-restore.sh silently takes
    the last of each when there are several, which may mix two backups."""
    sets = backup_sets(listing)
    snaps = [ts for ts, e in sets.items() if "snapshot" in e]
    tars = [ts for ts, e in sets.items() if "static_kuberesources" in e]
    problems = []
    if not snaps:
        problems.append(f"no snapshot_<ts>.db in {directory}")
    if not tars:
        problems.append(f"no static_kuberesources_<ts>.tar.gz in {directory}")
    if len(snaps) > 1 or len(tars) > 1:
        problems.append(f"{directory} holds {len(snaps)} snapshot(s) and {len(tars)} "
                        f"tarball(s): leave exactly one backup there (the restore script takes "
                        f"the last of each, which may mix two backups)")
    if len(snaps) == 1 and len(tars) == 1 and snaps != tars:
        problems.append(f"the snapshot ({snaps[0]}) and the tarball ({tars[0]}) come from "
                        f"different backups")
    if problems:
        return BackupCheck(False, tuple(problems))
    ts = snaps[0]
    entry = sets[ts]
    return BackupCheck(True, (), ts, entry["snapshot"], entry["static_kuberesources"],
                       bool(entry.get("dirty")))


@dataclass(frozen=True)
class Candidate:
    host: str
    score: tuple
    reasons: tuple[str, ...] = field(default=())


def rank_recovery_hosts(snapshot: StatusSnapshot) -> list[Candidate]:
    """Control-plane hosts best suited to recover the cluster, best first: reachable over
    SSH, with sudo, its etcd member answering (its data is there), the highest raft index."""
    members = {m.host: m for m in snapshot.members if m.host}
    out = []
    for h in snapshot.hosts:
        if h.role != "control-plane":
            continue
        reasons = []
        reachable = h.state == "connected"
        reasons.append("reachable over SSH with sudo" if reachable else f"SSH: {h.state}")
        member = members.get(h.name)
        answers = member is not None and member.raft_index is not None
        raft_index = member.raft_index if answers else -1
        if answers:
            reasons.append(f"etcd answers, raft index {raft_index}")
        else:
            reasons.append("etcd does not answer here")
        out.append(Candidate(h.name, (reachable, answers, raft_index), tuple(reasons)))
    return sorted(out, key=lambda c: c.score, reverse=True)
