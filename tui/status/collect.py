"""Collect one status snapshot from the fleet (etcdctl over SSH) and the API, in parallel.

Member data comes from one control-plane host at a time (`endpoint status --cluster`,
`member list`, `alarm list`, sent together over one SSH channel), falling back to the next
connected host when a host's own member does not answer. When no host answers, the last
good member data is kept and marked stale rather than blanked: an operator at 3 a.m. needs
the last known picture.
"""

from __future__ import annotations

import asyncio
import re
import time

from tui.cluster.api import ApiSnapshot, ClusterApi
from tui.errors import ParseError
from tui.etcd import etcdctl
from tui.etcd.parse import (parse_alarm_list, parse_endpoint_status, parse_member_list)
from tui.fleet.batch import Batch
from tui.fleet.commands import Command
from tui.fleet.fleet import Fleet, RunResult
from tui.status.snapshot import AlarmView, HostView, MemberView, StatusSnapshot


# etcd repeats every active alarm in each member's status errors
# ("memberID:7333571114512663934 alarm:NOSPACE"); the alarms list already says it
_ALARM_ECHO = re.compile(r"memberID:\d+ alarm:(\w+)")


def _failure(result: RunResult) -> str:
    if result.error:
        return result.error
    lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
    # etcdctl's own "Error: ..." says more than crictl's closing "command terminated" line
    errors = [l for l in lines if l.startswith("Error:")]
    return (errors or lines or [f"exit status {result.exit_status}"])[-1]


class StatusCollector:
    def __init__(self, fleet: Fleet, api: ClusterApi, *, clock=time.time):
        self.fleet = fleet
        self.api = api
        self.inventory = fleet.inventory
        self.clock = clock
        self._last_members: list[MemberView] = []
        self._last_alarms: list[AlarmView] = []
        self._last_etcd_at: float | None = None
        self._last_source: str | None = None
        self._preferred: str | None = None
        self.last: StatusSnapshot | None = None  # the latest snapshot, for plans and previews

    def hosts_view(self) -> list[HostView]:
        out = []
        for h in self.inventory.hosts:
            st = self.fleet.status[h.name]
            out.append(HostView(h.name, h.address, h.role, st.state.value, st.error, st.since,
                                st.reconnecting, st.fingerprint))
        return out

    async def collect(self, brief: bool = False) -> StatusSnapshot:
        """`brief`: the API's brief look (ClusterApi.snapshot), for the readiness wall."""
        snap, _ = await self.collect_along(None, brief=brief)
        return snap

    async def collect_along(self, along: Command | None, brief: bool = False
                            ) -> tuple[StatusSnapshot, dict[str, RunResult]]:
        """A snapshot, and `along` (a plain read, privileged as etcdctl is) sent in the same
        batch as the member reads: its result by host, on each host where it ran to its
        end. The wall's backup listing of the host it reads costs no channel of its own."""
        api_task = asyncio.ensure_future(self.api.snapshot(brief=brief))
        members, alarms, source, etcd_error, along_results = await self._collect_etcd(along)
        api: ApiSnapshot = await api_task
        now = self.clock()
        stale = False
        if members is None:
            members, alarms = self._last_members, self._last_alarms
            stale = bool(members)
        else:
            self._last_members, self._last_alarms = members, alarms
            self._last_etcd_at, self._last_source = now, source
        snap = StatusSnapshot(
            cluster_name=self.inventory.cluster_name,
            cluster_version=(api.version if api.reachable and api.version
                             else self.inventory.cluster_version),
            drill=self.inventory.drill,
            hosts=self.hosts_view(), members=members, alarms=alarms, api=api,
            collected_at=now, etcd_collected_at=self._last_etcd_at,
            etcd_source=self._last_source, etcd_stale=stale, etcd_error=etcd_error,
        )
        snap.problems = problems_of(snap)
        self.last = snap
        return snap, along_results

    def _sources(self) -> list[str]:
        usable = self.fleet.connected_hosts("control-plane")
        if self._preferred in usable:
            usable.remove(self._preferred)
            usable.insert(0, self._preferred)
        return usable

    async def _collect_etcd(self, along: Command | None = None):
        """(members, alarms, source, error, along's results by host); members None when no
        host could tell us."""
        errors = []
        along_results: dict[str, RunResult] = {}
        for name in self._sources():
            host = self.inventory.host(name)
            # one SSH channel for the three reads (a wall of a hundred clusters looks often)
            reads = (etcdctl.endpoint_status_cluster(self.inventory, host),
                     etcdctl.member_list(self.inventory, host),
                     etcdctl.alarm_list(self.inventory, host))
            status_r, members_r, alarms_r, *also = await self.fleet.run_batch(
                name, Batch(reads + ((along,) if along is not None else ())), quiet=True)
            if also and also[0].error is None:  # it ran to its end on this host
                along_results[name] = also[0]
            if status_r.error:
                errors.append(f"{name}: {status_r.error}")
                continue
            try:
                status = parse_endpoint_status(status_r.stdout, status_r.stderr,
                                               status_r.exit_status or 0)
                member_list = parse_member_list(members_r.stdout) if members_r.ok else ()
                alarm_list = parse_alarm_list(alarms_r.stdout) if alarms_r.ok else ()
            except ParseError as e:
                errors.append(f"{name}: {e}")
                continue
            if not status.rows and not member_list:
                errors.append(f"{name}: {_failure(status_r)}")
                continue
            self._preferred = name
            members = self._merge(status, member_list, members_r, status_r)
            names = {m.member_id: m.name for m in members}
            alarms = [AlarmView(a.member_id, a.alarm, names.get(a.member_id)) for a in alarm_list]
            return members, alarms, f"ssh:{name}", None, along_results
        if not errors:
            errors.append("no control-plane host is connected over SSH")
            return None, [], None, "; ".join(errors), along_results
        own = await self._own_members()
        if own:
            # without quorum `--cluster` cannot list the members (etcd 3.5), but each member
            # still reports its own status: exactly what a quorum restore picks a host by
            return own, [], "ssh:each host", "; ".join(errors), along_results
        return None, [], None, "; ".join(errors), along_results

    async def _own_members(self) -> list[MemberView]:
        """Each reachable member's own `endpoint status`, when the cluster view failed."""
        names = self.fleet.connected_hosts("control-plane")
        results = await asyncio.gather(*(
            self.fleet.run_one(n, etcdctl.etcdctl(self.inventory, self.inventory.host(n),
                                                  "endpoint", "status", "-w", "json"),
                               quiet=True) for n in names))
        members = []
        for name, r in zip(names, results):
            try:
                status = parse_endpoint_status(r.stdout, r.stderr, r.exit_status or 0)
            except ParseError:
                continue
            for row in status.rows:
                view = self._view(name, row, None, host=name)
                members.append(view)
        return members

    def _host_for(self, endpoint: str, name: str) -> str | None:
        for h in self.inventory.control_plane:
            if h.name == name or f"//{h.address}:" in endpoint:
                return h.name
        return None

    def _merge(self, status, member_list, members_r: RunResult, status_r: RunResult):
        rows = {r.member_id: r for r in status.rows}
        leader_ids = {r.leader_id for r in status.rows if r.leader_id}
        leader_id = next(iter(leader_ids)) if len(leader_ids) == 1 and not status.no_leader \
            else None
        out: list[MemberView] = []
        listed = list(member_list)
        if not listed:  # member list failed: build from the status rows alone
            for r in status.rows:
                out.append(self._view(r.endpoint.split("//")[-1].split(":")[0], r, leader_id))
            return out
        for m in listed:
            endpoint = m.client_urls[0] if m.client_urls else ""
            row = rows.get(m.member_id)
            name = m.name or "(unstarted)"
            if row is not None:
                out.append(self._view(name, row, leader_id, host=self._host_for(endpoint, name)))
                continue
            error = next((e for ep, e in status.failed_endpoints.items()
                          if ep.rstrip("/") in [u.rstrip("/") for u in m.client_urls]), None)
            if error is None:
                error = "did not answer endpoint status" if m.started else "not started"
            out.append(MemberView(name=name, member_id=m.member_id, endpoint=endpoint,
                                  is_learner=m.is_learner, errors=(error,),
                                  host=self._host_for(endpoint, name)))
        return out

    def _view(self, name, row, leader_id, host=None) -> MemberView:
        errors = tuple(_ALARM_ECHO.sub(r"alarm:\1", e) for e in row.errors)
        if leader_id is None and "etcdserver: no leader" not in errors:
            errors += ("etcdserver: no leader",)
        return MemberView(
            name=name, member_id=row.member_id, endpoint=row.endpoint, version=row.version,
            is_leader=leader_id is not None and row.member_id == leader_id,
            is_learner=row.is_learner, db_size=row.db_size, db_size_in_use=row.db_size_in_use,
            raft_term=row.raft_term, raft_index=row.raft_index,
            raft_applied_index=row.raft_applied_index, errors=errors,
            host=host or self._host_for(row.endpoint, name))


def problems_of(snap: StatusSnapshot) -> list[str]:
    """Why a snapshot is degraded; empty = healthy (exit 0)."""
    out = []
    for h in snap.hosts:
        if h.state != "connected":
            out.append(f"host {h.name}: {h.state}" + (f" ({h.error})" if h.error else ""))
    if snap.etcd_error and (snap.etcd_stale or not snap.members):
        out.append(f"etcd: no member data ({snap.etcd_error})")
    elif snap.members and snap.leader is None:
        out.append("etcd: no leader")
    for m in snap.members:
        for e in m.errors:
            if e != "etcdserver: no leader" and not e.startswith("alarm:"):
                out.append(f"member {m.name}: {e}")
    for a in snap.alarms:
        out.append(f"alarm {a.alarm} on member {a.member or a.member_id}")
    return out
