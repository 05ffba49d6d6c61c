"""Checks the restore (RST, RSTN, QRS) starts from: which procedure applies, whether a backup
directory is usable, which host should recover the cluster. Pure functions over what the
fleet and the status collector report, so the restore runbooks and their preflight share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from tui.etcd.parse import RevisionFile
from tui.runbooks.backup import backup_sets
from tui.status.snapshot import StatusSnapshot
from tui.versions import release_of

# OpenShift 4.18+ keeps the raft indexes its etcd last saw here (UPSTREAM.md): the only way
# to tell how far a stopped member's data went without starting etcd
REVISION_JSON = "/var/lib/etcd/revision.json"


@dataclass(frozen=True)
class RestorePath:
    key: str  # "4.12-4.13" | "4.14-4.17" | "4.18+"
    step_prefix: str  # "RST" or "RSTN"
    why: str


def restore_path(version: str | None, source: str) -> RestorePath | None:
    """The procedure for a cluster version (None when the version is unknown: ask), as
    tui.versions.RELEASES gives it."""
    release = release_of(version)
    if release is None:
        return None
    if release.restore_path == "4.18+":
        return RestorePath("4.18+", "RSTN", f"{source} says {version}: 4.18 and later restore "
                                            f"with disable-etcd.sh and a single-member restore")
    if release.restore_path == "4.14-4.17":
        return RestorePath("4.14-4.17", "RST", f"{source} says {version}: the RST steps, with "
                                               f"OVN interconnect and the controller-manager and "
                                               f"scheduler manifests moved aside too")
    late = ("" if release.backup_pulls_etcdctl is False else
            " (a late 4.12/4.13 z-stream may carry the 4.14 backup script, which pulls etcdctl "
            "with podman; its restore stays this procedure)")
    return RestorePath("4.12-4.13", "RST", f"{source} says {version}: the RST steps as the "
                                           f"source document writes them{late}")


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
    score: tuple  # (eligible and reachable, index known, raft index): higher is better
    reasons: tuple[str, ...] = field(default=())
    eligible: bool = True  # False for a learner: never proposed, refused if chosen


def rank_recovery_hosts(snapshot: StatusSnapshot,
                        stopped: Mapping[str, RevisionFile | str] | None = None
                        ) -> list[Candidate]:
    """Control-plane hosts best suited to recover the cluster, best first: reachable over
    SSH, not a learner, with the highest raft index known for its member.

    The index of a member whose etcd answers comes from `etcdctl endpoint status`; of one
    that does not (stopped by disable-etcd.sh, or without quorum), from `stopped[host]`: the
    host's /var/lib/etcd/revision.json read by the caller (4.18+), or a string that says why
    it could not be read. Each candidate's reasons say which source its index came from.
    A learner is never a candidate (the docs: the member with the highest raft index that is
    not a learner): its log is not the quorum's.
    """
    stopped = stopped or {}
    members = {m.host: m for m in snapshot.members if m.host}
    out = []
    for h in snapshot.hosts:
        if h.role != "control-plane":
            continue
        reasons = []
        reachable = h.state == "connected"
        reasons.append("reachable over SSH with sudo" if reachable else f"SSH: {h.state}")
        member = members.get(h.name)
        learner = member is not None and member.is_learner
        answers = member is not None and member.raft_index is not None
        index: int | None = member.raft_index if answers else None
        if learner:
            reasons.append("etcd learner: never a recovery host (its log is not the quorum's)")
        if answers:
            reasons.append(f"etcd answers, raft index {index} (etcdctl endpoint status)")
        else:
            reasons.append("etcd does not answer here")
            seen = stopped.get(h.name)
            if isinstance(seen, RevisionFile):
                index = seen.max_raft_index
                when = f", written {seen.created}" if seen.created else ""
                reasons.append(f"raft index {index}: maxRaftIndex in {REVISION_JSON}{when}")
            elif seen:
                reasons.append(seen)
        eligible = not learner
        out.append(Candidate(h.name, (reachable and eligible, index is not None,
                                      -1 if index is None else index),
                             tuple(reasons), eligible))
    return sorted(out, key=lambda c: c.score, reverse=True)


def best_recovery_host(candidates: list[Candidate]) -> str | None:
    """The host a ranking proposes: the first candidate that is reachable and not a learner
    (rank_recovery_hosts puts those first); None when there is none. Both front ends use it:
    the restore wizard's default choice, `run restore` without --host."""
    return next((c.host for c in candidates if c.score[0]), None)
