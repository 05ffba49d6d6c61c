"""A cluster's readiness for a restore, judged from what the probes saw (no I/O here).

`judge(...)` turns one status snapshot and one look at the backups into a ClusterReadiness:
a verdict (`ready`, `degraded`, `at-risk`, `down`) with every reason listed, worst first.
What a probe could not tell is unknown (None), and an unknown never counts as good: a
backup whose snapshot could not be checked is not a verified one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.status.snapshot import OPENSHIFT_QUOTA_BYTES, StatusSnapshot

# worst first: the wall sorts by this, and a cluster's verdict is its worst reason's
VERDICTS = ("down", "at-risk", "degraded", "ready")
SEVERITY = {verdict: rank for rank, verdict in enumerate(VERDICTS)}
ENCRYPTING = ("aescbc", "aesgcm")  # types whose data a restore cannot read without the keys
RISKY_ALARMS = ("NOSPACE", "CORRUPT")


@dataclass(frozen=True)
class Thresholds:
    """Where a number turns a cluster's verdict (etcd-dr wall's options)."""

    max_backup_age_s: float = 24 * 3600.0  # `--max-backup-age`
    # OpenShift's own defrag controller (cluster-etcd-operator) defragments above 45%
    max_fragmentation: float = 0.45
    max_quota_use: float = 0.80  # a database over 80% of the 8 GiB quota


@dataclass(frozen=True)
class BackupFacts:
    """The newest complete backup pair (snapshot_<ts>.db + static_kuberesources_<ts>.tar.gz)
    on the cluster's reachable control-plane hosts, and what could be checked about it.
    None means unknown: the probe could not tell."""

    directory: str
    listed: tuple[str, ...] = ()  # hosts whose backup directory could be listed
    unlisted: tuple[str, ...] = ()  # hosts that could not be asked (and why, in `notes`)
    newest: str | None = None  # the pair's timestamp, e.g. 2026-12-05_013158
    host: str | None = None
    snapshot: str | None = None
    tarball: str | None = None
    age_s: float | None = None
    verified: bool | None = None
    verified_by: str | None = None  # "etcdutl snapshot status", ..., "etcd-dr manifest"
    encryption_config: bool | None = None
    manifest_encryption: str | None = None  # the encryption type the manifest recorded
    dirty: bool = False  # cluster-backup.sh's __POSSIBLY_DIRTY__ mark
    notes: tuple[str, ...] = ()  # why something is unknown or false, in words

    def to_json(self) -> dict:
        return {"newest": self.newest, "age_s": None if self.age_s is None else
                round(self.age_s), "host": self.host, "verified": self.verified,
                "encryption_config": self.encryption_config, "directory": self.directory,
                "snapshot": self.snapshot, "tarball": self.tarball,
                "verified_by": self.verified_by, "possibly_dirty": self.dirty,
                "hosts_listed": list(self.listed), "notes": list(self.notes)}


@dataclass(frozen=True)
class ClusterReadiness:
    name: str
    verdict: str
    reasons: tuple[str, ...]
    version: str | None = None
    members_up: int | None = None  # None: no member data (nobody answered)
    members_total: int | None = None
    leader: str | None = None
    db_size_max: int | None = None
    fragmentation_max: float | None = None
    alarms: tuple[tuple[str, str | None], ...] | None = None  # (alarm, member); None unknown
    encryption: str | None = None  # the API's type, else the backup manifest's; None unknown
    backup: BackupFacts | None = None
    source: str = ""  # the inventory file
    collected_at: float | None = None
    drill: bool = False

    @property
    def rank(self) -> int:
        return SEVERITY[self.verdict]

    def to_json(self) -> dict:
        """One line of `etcd-dr wall --json` (contract: Wall JSON in CONTRACTS.md)."""
        return {
            "name": self.name, "version": self.version, "verdict": self.verdict,
            "members": {"up": self.members_up, "total": self.members_total},
            "leader": self.leader, "db_size_max": self.db_size_max,
            "fragmentation_max": None if self.fragmentation_max is None else
            round(self.fragmentation_max, 4),
            "alarms": None if self.alarms is None else
            [{"alarm": alarm, "member": member} for alarm, member in self.alarms],
            "encryption": self.encryption,
            "backup": (self.backup or BackupFacts(directory="")).to_json(),
            "reasons": list(self.reasons), "inventory": self.source, "drill": self.drill,
        }


def worst_first(rows: list[ClusterReadiness]) -> list[ClusterReadiness]:
    return sorted(rows, key=lambda r: (r.rank, r.name, r.source))


def age_text(seconds: float | None) -> str:
    """`42m`, `5h07m`, `3.1d`; `?` when unknown."""
    if seconds is None:
        return "?"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 48 * 3600:
        hours, rest = divmod(int(seconds), 3600)
        return f"{hours}h{rest // 60:02d}m"
    return f"{seconds / 86400:.1f}d"


@dataclass
class _Reasons:
    found: dict[str, list[str]] = field(default_factory=lambda: {v: [] for v in VERDICTS})

    def add(self, verdict: str, reason: str) -> None:
        self.found[verdict].append(reason)

    def verdict(self) -> tuple[str, tuple[str, ...]]:
        worst = next((v for v in VERDICTS if self.found[v]), "ready")
        return worst, tuple(r for v in VERDICTS for r in self.found[v])


def _members(snap: StatusSnapshot) -> tuple[int | None, int]:
    """(members that answered, members the cluster should have)."""
    control_plane = sum(1 for h in snap.hosts if h.role == "control-plane")
    total = max(len(snap.members), control_plane)
    if snap.etcd_stale or not snap.members:
        return None, total
    answered = sum(1 for m in snap.members if m.db_size is not None or m.raft_index is not None)
    return answered, total


def judge(name: str, snap: StatusSnapshot | None, backup: BackupFacts | None,
          thresholds: Thresholds | None = None, *, error: str | None = None,
          source: str = "", collected_at: float | None = None) -> ClusterReadiness:
    """The verdict and its reasons (README, "The readiness wall", lists the rules):

    down      no status at all, no etcd member answered, or no quorum (no leader, or half
              the members or fewer up);
    at-risk   no backup, backups unknown, the newest older than the threshold, its snapshot
              not verified (failed or unknown), marked possibly dirty, a NOSPACE/CORRUPT
              alarm, or an encrypted (or unknown) cluster whose tarball does not (or may not)
              carry the encryption config;
    degraded  a member or host down or in error, fragmentation or quota use over the
              threshold, the API unreachable or not configured;
    ready     none of these.
    """
    thresholds = thresholds or Thresholds()
    reasons = _Reasons()
    if snap is None:
        reasons.add("down", f"no status: {error or 'the probe did not answer'}")
        verdict, why = reasons.verdict()
        return ClusterReadiness(name=name, verdict=verdict, reasons=why, backup=backup,
                                source=source, collected_at=collected_at)
    if error:
        reasons.add("degraded", error)
    up, total = _members(snap)
    leader = snap.leader.name if snap.leader and not snap.etcd_stale else None
    answering = [] if up is None else [m for m in snap.members if m.db_size is not None]
    if up is None:
        reasons.add("down", "no etcd member answered" + (f" ({snap.etcd_error})"
                                                         if snap.etcd_error else ""))
    elif leader is None or up * 2 <= total:
        reasons.add("down", f"no quorum: {up}/{total} members answer"
                    + ("" if leader else ", no leader"))
    elif up < total:
        reasons.add("degraded", f"{total - up} of {total} members down")
    for h in snap.hosts:
        if h.state != "connected":
            reasons.add("degraded", f"host {h.name}: {h.state}")
    for m in [] if up is None else snap.members:
        for e in m.errors:
            if e != "etcdserver: no leader" and not e.startswith("alarm:"):
                reasons.add("degraded", f"member {m.name}: {e}")
    alarms = None if up is None else tuple((a.alarm, a.member) for a in snap.alarms)
    for alarm, member in alarms or ():
        reasons.add("at-risk" if alarm in RISKY_ALARMS else "degraded",
                    f"alarm {alarm}" + (f" on {member}" if member else ""))
    sizes = [m.db_size for m in answering if m.db_size is not None]
    frags = [(m.fragmentation, m.name) for m in answering if m.fragmentation is not None]
    frag_max = max(frags)[0] if frags else None
    if frags and frag_max > thresholds.max_fragmentation:
        worst = max(frags)
        reasons.add("degraded", f"fragmentation {worst[0]:.0%} on {worst[1]} (over "
                                f"{thresholds.max_fragmentation:.0%}: defragment)")
    if sizes and max(sizes) > thresholds.max_quota_use * OPENSHIFT_QUOTA_BYTES:
        reasons.add("degraded", f"largest database {max(sizes) / 1024 ** 3:.1f} GiB, over "
                                f"{thresholds.max_quota_use:.0%} of the 8 GiB quota")
    api = snap.api
    encryption = api.encryption_type if api.reachable and api.encryption_type else None
    if not api.reachable:
        reasons.add("degraded", f"API unreachable ({api.error})" if api.configured and api.error
                    else "API unreachable" if api.configured else
                    "no API in the inventory (encryption state unknown)")
    busy = [f"{op}: {c.reason}" for op, c in api.encrypted.items()
            if api.reachable and c is not None and (c.reason or "").endswith("InProgress")]
    if busy:  # a backup now would be refused; the last one may predate the new keys
        reasons.add("degraded", "encryption migration in progress (" + ", ".join(busy) + ")")
    if encryption is None and backup is not None and backup.manifest_encryption:
        encryption = backup.manifest_encryption
    _judge_backup(reasons, backup, encryption, thresholds)
    verdict, why = reasons.verdict()
    return ClusterReadiness(
        name=name, verdict=verdict, reasons=why, version=snap.cluster_version,
        members_up=up, members_total=total, leader=leader,
        db_size_max=max(sizes) if sizes else None, fragmentation_max=frag_max,
        alarms=alarms, encryption=encryption, backup=backup, source=source,
        collected_at=collected_at if collected_at is not None else snap.collected_at,
        drill=snap.drill)


def _judge_backup(reasons: _Reasons, backup: BackupFacts | None, encryption: str | None,
                  thresholds: Thresholds) -> None:
    if backup is None or not backup.listed:
        why = "; ".join(backup.notes) if backup is not None and backup.notes else \
            "no control-plane host could be asked"
        reasons.add("at-risk", f"backups unknown: {why}")
        return
    if backup.newest is None:
        reasons.add("at-risk", f"no backup in {backup.directory} (no snapshot + "
                               f"static_kuberesources pair on {', '.join(backup.listed)}"
                    + (f"; {', '.join(backup.unlisted)} not asked)" if backup.unlisted else ")"))
        return
    if backup.age_s is None:
        reasons.add("at-risk", f"backup {backup.newest}: age unknown")
    elif backup.age_s > thresholds.max_backup_age_s:
        reasons.add("at-risk", f"newest backup is {age_text(backup.age_s)} old (over "
                               f"{age_text(thresholds.max_backup_age_s)})")
    if backup.verified is False:
        reasons.add("at-risk", "backup does not verify" + _notes(backup))
    elif backup.verified is None:
        reasons.add("at-risk", "backup not verified (unknown)" + _notes(backup))
    if backup.dirty:
        reasons.add("at-risk", "backup marked __POSSIBLY_DIRTY__: take another")
    if encryption in ENCRYPTING:
        if backup.encryption_config is False:
            reasons.add("at-risk", f"encryption {encryption}, but the backup's tarball has no "
                                   f"encryption-config: its data could not be read")
        elif backup.encryption_config is None:
            reasons.add("at-risk", f"encryption {encryption}: unknown whether the tarball "
                                   f"carries the encryption-config")
    elif encryption is None and backup.encryption_config is not True:
        reasons.add("at-risk", "encryption unknown, and the tarball "
                    + ("has no encryption-config" if backup.encryption_config is False else
                       "could not be listed") + ": a restore may not read its data")


def _notes(backup: BackupFacts) -> str:
    return f": {'; '.join(backup.notes)}" if backup.notes else ""
