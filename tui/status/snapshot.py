"""One status snapshot: what the status screen shows and `etcd-dr status --json` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from tui.cluster.api import ApiSnapshot

# OpenShift runs etcd with --quota-backend-bytes=8589934592 (8 GiB)
OPENSHIFT_QUOTA_BYTES = 8 * 1024 ** 3


@dataclass(frozen=True)
class HostView:
    name: str
    address: str
    role: str
    state: str
    error: str | None
    since: float
    reconnecting: bool = False
    fingerprint: str | None = None


@dataclass(frozen=True)
class MemberView:
    name: str
    member_id: int
    endpoint: str
    version: str | None = None
    is_leader: bool = False
    is_learner: bool = False
    db_size: int | None = None
    db_size_in_use: int | None = None
    raft_term: int | None = None
    raft_index: int | None = None
    raft_applied_index: int | None = None
    errors: tuple[str, ...] = ()
    host: str | None = None  # the inventory host running this member, when known

    @property
    def fragmentation(self) -> float | None:
        if not self.db_size or self.db_size_in_use is None:
            return None
        return max(0.0, (self.db_size - self.db_size_in_use) / self.db_size)

    def quota_use(self, quota: int = OPENSHIFT_QUOTA_BYTES) -> float | None:
        return None if self.db_size is None else self.db_size / quota

    def to_json(self) -> dict:
        return {
            "name": self.name, "member_id": member_id_json(self.member_id),
            "endpoint": self.endpoint, "version": self.version,
            "is_leader": self.is_leader, "is_learner": self.is_learner,
            "db_size": self.db_size, "db_size_in_use": self.db_size_in_use,
            "fragmentation": None if self.fragmentation is None else round(self.fragmentation, 4),
            "quota_use": None if self.quota_use() is None else round(self.quota_use(), 4),
            "raft_term": self.raft_term, "raft_index": self.raft_index,
            "raft_applied_index": self.raft_applied_index, "errors": list(self.errors),
            "host": self.host,
        }


@dataclass(frozen=True)
class AlarmView:
    member_id: int
    alarm: str
    member: str | None = None


@dataclass
class StatusSnapshot:
    cluster_name: str
    cluster_version: str | None
    drill: bool
    hosts: list[HostView]
    members: list[MemberView]
    alarms: list[AlarmView]
    api: ApiSnapshot
    collected_at: float
    etcd_collected_at: float | None = None  # when the member data was read (may be older)
    etcd_source: str | None = None  # e.g. "ssh:master-0"
    etcd_stale: bool = False
    etcd_error: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def leader(self) -> MemberView | None:
        return next((m for m in self.members if m.is_leader), None)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        api = self.api
        api_json: dict = {"reachable": api.reachable, "error": api.error, "encryption": None,
                          "configured": api.configured}
        if api.reachable:
            api_json["encryption"] = {
                "type": api.encryption_type,
                "conditions": {k: (c.to_json() if c else None) for k, c in api.encrypted.items()},
            }
            api_json["nodes"] = [{"name": n.name, "ready": n.ready, "roles": list(n.roles)}
                                 for n in api.nodes]
            api_json["etcd_operator"] = {k: (c.to_json() if c else None)
                                         for k, c in api.etcd_conditions.items()}
            api_json["etcd_pods"] = [{"name": p.name, "node": p.node, "phase": p.phase}
                                     for p in api.etcd_pods]
        return {
            "collected_at": _iso(self.collected_at),
            "healthy": self.healthy,
            "drill": self.drill,
            "cluster": {"name": self.cluster_name, "version": self.cluster_version},
            "hosts": [{"name": h.name, "address": h.address, "role": h.role,
                       "ssh": {"state": h.state, "error": h.error,
                               "reconnecting": h.reconnecting}} for h in self.hosts],
            "members": [m.to_json() for m in self.members],
            "leader": self.leader.name if self.leader else None,
            "alarms": [{"member_id": member_id_json(a.member_id), "alarm": a.alarm,
                        "member": a.member} for a in self.alarms],
            "api": api_json,
            "etcd": {"collected_at": _iso(self.etcd_collected_at) if self.etcd_collected_at
                     else None, "source": self.etcd_source, "stale": self.etcd_stale,
                     "error": self.etcd_error},
            "problems": list(self.problems),
        }


def member_id_json(member_id: int) -> str:
    """A member ID as the status JSON carries it: always 16 lower-case hex digits (contract),
    where etcdctl's tables print `%x` unpadded (member_id_hex: what screens show)."""
    return format(member_id, "016x")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")
