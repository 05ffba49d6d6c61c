"""The etcdctl commands the drill's etcdctl answers (version, endpoint status and health,
member list, alarm list/disarm, defrag, compaction, put, get), with the exit statuses and
errors they end with.

`EtcdctlCommands` is the command part of tui.drill.etcdctl's simulated etcdctl: that module
reads the command line and the environment and reaches the members; these print what each
command prints, field for field as etcdctl 3.4, 3.5 and 3.6 do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.drill import faults
from tui.drill.gofmt import go_duration, go_json, human_bytes, render_table

if TYPE_CHECKING:
    from tui.drill.model import EtcdMember

# etcdctl's exit statuses (pkg/cobrautl).

EXIT_SUCCESS = 0
EXIT_ERROR = 1
EXIT_BAD_CONNECTION = 2
EXIT_BAD_FEATURE = 4
EXIT_BAD_ARGS = 128

ALARM_NAMES = {"NONE": 0, "NOSPACE": 1, "CORRUPT": 2}
ALARM_ERRORS = {
    "NOSPACE": "etcdserver: mvcc: database space exceeded",
    "CORRUPT": "etcdserver: corrupt cluster",
}
FORMATS = ("simple", "json", "table", "fields", "protobuf")
DEADLINE = "rpc error: code = DeadlineExceeded"
TIMED_OUT = f"{DEADLINE} desc = context deadline exceeded"

# --- the simulated etcdctl -----------------------------------------------------------------
REFUSED = "refused"
UNREACHABLE = "unreachable"
BLOCKED = "blocked"


def etcd_minor(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (3, 5)


def storage_version(version: str) -> str:
    """etcd 3.6 reports the storage (schema) version as MAJOR.MINOR.0."""
    major, minor = etcd_minor(version)
    return f"{major}.{minor}.0"


class EtcdctlCommands:
    """The commands (mixed into the simulated etcdctl: `self` holds the invocation, the
    cluster and the connections)."""

    def _version(self) -> int:
        self.io.out(f"etcdctl version: {self.version}\nAPI version: {self.api}\n")
        return EXIT_SUCCESS

    def _endpoint_status(self) -> int:
        assert self.inv is not None
        endpoints = self._endpoints()
        if self.inv.flag_bool("cluster"):
            endpoints = self._cluster_endpoints(endpoints)
        leader = self.etcd.leader()
        rows: list[tuple[str, EtcdMember]] = []
        failed = False
        target35 = f"etcd-endpoints://{self._pointer()}/{self._hostport(endpoints[0])}"
        for ep in endpoints:
            member = self._member_at(ep)
            failure = self._failure(member)
            if failure == BLOCKED:
                self._block(member)
            if failure is not None or member is None:
                hp = self._hostport(ep)
                # 3.4 dials each endpoint on its own; 3.5 uses one client for all of them
                target = f"passthrough:///{ep}" if self.flavor == "3.4" else target35
                error = self._dial_error(failure or REFUSED, hp, balancer_summary=False)
                self._warn(target, error)
                self.io.err(
                    f"Failed to get the status of endpoint {ep} (context deadline exceeded)\n"
                )
                failed = True
                continue
            rows.append((ep, member))
        fmt = self.inv.get("write-out")
        errors_common = (["etcdserver: no leader"] if leader is None else []) + self._alarm_errors()
        leader_id = leader.member_id if leader is not None else 0
        if fmt == "json":
            items = []
            for ep, m in rows:
                status: dict[str, object] = {"header": self._header(m), "version": m.version}
                if m.db_size:
                    status["dbSize"] = m.db_size
                if leader_id:
                    status["leader"] = leader_id
                for key, value in (
                    ("raftIndex", m.raft_index),
                    ("raftTerm", self.etcd.raft_term),
                    ("raftAppliedIndex", m.raft_applied_index),
                ):
                    if value:
                        status[key] = value
                if errors_common:
                    status["errors"] = list(errors_common)
                if m.db_size_in_use:
                    status["dbSizeInUse"] = m.reported_in_use
                if m.is_learner:
                    status["isLearner"] = True
                if self.is_36:
                    # etcd 3.6's Status(): storage version, the --quota-backend-bytes value,
                    # and a DowngradeInfo that is always set (so `{}` with no downgrade)
                    status["storageVersion"] = storage_version(m.version)
                    if self.etcd.quota_backend_bytes:
                        status["dbSizeQuota"] = self.etcd.quota_backend_bytes
                    status["downgradeInfo"] = {}
                items.append({"Endpoint": ep, "Status": status})
            self.io.out(go_json(items) + "\n")
        elif fmt == "table":
            header = [
                "ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER",
                "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS",
            ]
            table_rows = [self._status_cells(ep, m, leader_id, errors_common) for ep, m in rows]
            self.io.out(render_table(header, table_rows))
        elif fmt == "fields":
            for ep, m in rows:
                errs = "[" + " ".join(errors_common) + "]"
                self.io.out(
                    f'"ClusterID" : {self.etcd.cluster_id}\n"MemberID" : {m.member_id}\n'
                    f'"Revision" : {self.etcd.revision}\n"RaftTerm" : {self.etcd.raft_term}\n'
                    f'"Version" : "{m.version}"\n"DBSize" : {m.db_size}\n"Leader" : {leader_id}\n'
                    f'"IsLearner" : {str(m.is_learner).lower()}\n"RaftIndex" : {m.raft_index}\n'
                    f'"RaftTerm" : {self.etcd.raft_term}\n'
                    f'"RaftAppliedIndex" : {m.raft_applied_index}\n'
                    f'"Errors" : {errs}\n"Endpoint" : "{ep}"\n\n'
                )
        else:
            for ep, m in rows:
                self.io.out(", ".join(self._status_cells(ep, m, leader_id, errors_common)) + "\n")
        return EXIT_ERROR if failed else EXIT_SUCCESS

    def _status_cells(self, ep: str, m: EtcdMember, leader_id: int, errors: list[str]) -> list[str]:
        return [
            ep,
            format(m.member_id, "x"),
            m.version,
            human_bytes(m.db_size),
            str(leader_id == m.member_id and leader_id != 0).lower(),
            str(m.is_learner).lower(),
            str(self.etcd.raft_term),
            str(m.raft_index),
            str(m.raft_applied_index),
            ", ".join(errors),
        ]

    def _endpoint_health(self) -> int:
        assert self.inv is not None
        endpoints = self._endpoints()
        if self.inv.flag_bool("cluster"):
            endpoints = self._cluster_endpoints(endpoints)
        timeout = self._timeout()
        results: list[tuple[str, bool, str, str]] = []  # endpoint, health, took, error
        for i, ep in enumerate(endpoints):
            member = self._member_at(ep)
            failure = self._failure(member)
            if failure == BLOCKED:
                self._block(member)
            hp = self._hostport(ep)
            target = (
                f"endpoint://client-{self._uuid()}/{hp}"
                if self.flavor == "3.4"
                else f"etcd-endpoints://{self._pointer()}/{hp}"
            )
            slow = go_duration(timeout + self.rng.uniform(0.0002, 0.0012))
            if failure is not None:
                error = self._dial_error(failure, hp, balancer_summary=True)
                self._warn(target, error, health=True)
                results.append((ep, False, slow, "context deadline exceeded"))
            elif not self.etcd.has_quorum():
                self._warn(target, TIMED_OUT, health=True)
                results.append((ep, False, slow, "context deadline exceeded"))
            elif self.etcd.alarms and self.flavor != "3.4":
                # 3.5 also lists alarms and calls any member with one unhealthy; 3.4 does not.
                kinds = "".join(
                    f"{name if name in ALARM_NAMES else 'UNKNOWN'} "
                    for _, name in self.etcd.alarms
                )
                took = go_duration(self.rng.uniform(0.0015, 0.0035))
                results.append((ep, False, took, f"Active Alarm(s): {kinds}"))
            else:
                results.append((ep, True, go_duration(self.rng.uniform(0.0015, 0.0035)), ""))
        fmt = self.inv.get("write-out")
        if fmt == "json":
            items = []
            for ep, ok, took, error in results:
                item: dict[str, object] = {"endpoint": ep, "health": ok, "took": took}
                if error:
                    item["error"] = error
                items.append(item)
            self.io.out(go_json(items) + "\n")
        elif fmt == "table":
            self.io.out(
                render_table(
                    ["ENDPOINT", "HEALTH", "TOOK", "ERROR"],
                    [[ep, str(ok).lower(), took, error] for ep, ok, took, error in results],
                )
            )
        elif fmt == "fields":
            for ep, ok, took, error in results:
                self.io.out(
                    f'"Endpoint" : "{ep}"\n"Health" : {str(ok).lower()}\n'
                    f'"Took" : {took}\n"Error" : {error}\n\n'
                )
        else:
            for ep, ok, took, error in results:
                if ok:
                    line = f"{ep} is healthy: successfully committed proposal: took = {took}\n"
                    # 3.4 prints even the healthy lines to stderr; 3.5 to stdout.
                    (self.io.err if self.flavor == "3.4" else self.io.out)(line)
                else:
                    self.io.err(f"{ep} is unhealthy: failed to commit proposal: {error}\n")
        if not all(ok for _, ok, _, _ in results):
            self.io.err("Error: unhealthy cluster\n")
            return EXIT_ERROR
        return EXIT_SUCCESS

    def _member_list(self) -> int:
        assert self.inv is not None
        endpoints = self._endpoints()
        # 3.5 serves MemberList linearizably (needs a leader); 3.4 answers from local state.
        served = self._request(endpoints, needs_quorum=self.flavor == "3.5")
        if served is None:
            self.io.err("Error: context deadline exceeded\n")
            return EXIT_ERROR
        members = self._sorted_members()
        fmt = self.inv.get("write-out")
        if fmt == "json":
            items = []
            for m in members:
                item: dict[str, object] = {"ID": m.member_id}
                if m.name:
                    item["name"] = m.name
                item["peerURLs"] = [m.peer_url]
                if m.name and m.client_url:
                    item["clientURLs"] = [m.client_url]
                if m.is_learner:
                    item["isLearner"] = True
                items.append(item)
            body = {"header": self._header(served, revision=False), "members": items}
            self.io.out(go_json(body) + "\n")
        elif fmt == "table":
            rows = [self._member_cells(m) for m in members]
            header = ["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"]
            self.io.out(render_table(header, rows))
        elif fmt == "fields":
            out = [
                f'"ClusterID" : {self.etcd.cluster_id}\n"MemberID" : {served.member_id}\n'
                f'"Revision" : 0\n"RaftTerm" : {self.etcd.raft_term}\n'
            ]
            for m in members:
                out.append(f'"ID" : {m.member_id}\n"Name" : "{m.name}"\n')
                out.append(f'"PeerURL" : "{m.peer_url}"\n')
                if m.name and m.client_url:
                    out.append(f'"ClientURL" : "{m.client_url}"\n')
                out.append(f'"IsLearner" : {str(m.is_learner).lower()}\n\n')
            self.io.out("".join(out))
        else:
            for m in members:
                self.io.out(", ".join(self._member_cells(m)) + "\n")
        return EXIT_SUCCESS

    def _member_cells(self, m: EtcdMember) -> list[str]:
        started = bool(m.name)
        return [
            format(m.member_id, "x"),
            "started" if started else "unstarted",
            m.name,
            m.peer_url,
            m.client_url if started else "",
            str(m.is_learner).lower(),
        ]

    def _alarm(self, *, disarm: bool) -> int:
        assert self.inv is not None
        endpoints = self._endpoints()
        served = self._request(endpoints, needs_quorum=True)
        if served is None:
            self.io.err("Error: context deadline exceeded\n")
            return EXIT_ERROR
        alarms = list(self.etcd.alarms)
        if disarm:
            self.etcd.alarms.clear()
            for m in self.etcd.members:  # writes resume, and release what was freed
                m.freed_unreleased = 0
            self.cluster.changed()
        fmt = self.inv.get("write-out")
        if fmt == "table":
            self.io.err("Error: table not supported as output format\n")
            return EXIT_BAD_FEATURE
        if fmt == "json":
            body: dict[str, object] = {}
            if self.flavor == "3.5":
                body["header"] = self._header(served)
            if alarms:
                body["alarms"] = [
                    {"memberID": mid, "alarm": ALARM_NAMES.get(name, 0)} for mid, name in alarms
                ]
            self.io.out(go_json(body) + "\n")
        elif fmt == "fields":
            hdr = self._header(served)
            out = [
                f'"ClusterID" : {hdr["cluster_id"]}\n"MemberID" : {hdr["member_id"]}\n'
                f'"Revision" : {hdr.get("revision", 0)}\n"RaftTerm" : {hdr.get("raft_term", 0)}\n'
            ]
            for mid, name in alarms:
                out.append(f'"MemberID" : {mid}\n"AlarmType" : {name}\n\n')
            self.io.out("".join(out))
        else:
            for mid, name in alarms:
                self.io.out(f"memberID:{mid} alarm:{name} \n")
        return EXIT_SUCCESS

    def _defrag(self) -> int:
        assert self.inv is not None
        if self.inv.get("data-dir"):
            self.io.err("Error: the drill etcdctl does not defragment a data directory\n")
            return EXIT_ERROR
        endpoints = self._endpoints()
        if self.inv.flag_bool("cluster"):
            endpoints = self._cluster_endpoints(endpoints)
        failed = False
        target35 = f"etcd-endpoints://{self._pointer()}/{self._hostport(endpoints[0])}"
        timeout = self._timeout()
        at = self.cluster.clock.now()  # etcdctl asks the members one after the other
        for ep in endpoints:
            member = self._member_at(ep)
            failure = self._failure(member)
            target = f"passthrough:///{ep}" if self.flavor == "3.4" else target35
            if member is None or failure not in (None, BLOCKED):
                hp = self._hostport(ep)
                error = self._dial_error(failure or REFUSED, hp, balancer_summary=False)
                self._warn(target, error)
                self.io.err(f"Failed to defragment etcd member[{ep}] (context deadline exceeded)\n")
                failed = True
                continue
            # Defrag rewrites the file without its free pages, blocking the member meanwhile
            # (one still busy with an earlier defrag takes this one after it). etcdctl waits
            # up to --command-timeout for each member; the defrag goes on if it gives up.
            plan = faults.schedule_defrag(self.cluster, member, at, timeout)
            at = plan.returns_at
            if plan.finished:
                self.io.out(f"Finished defragmenting etcd member[{ep}]\n")
            else:
                self._warn(target, TIMED_OUT)
                self.io.err(f"Failed to defragment etcd member[{ep}] (context deadline exceeded)\n")
                failed = True
        self.returns_at = at
        faults.tick(self.cluster)  # the first member is busy from now on
        self.cluster.changed()
        return EXIT_ERROR if failed else EXIT_SUCCESS

    def _compact(self) -> int:
        """`etcdctl compact REV`: history before REV goes; the pages it held become free
        space in the file (in use drops, the file does not shrink until a defrag)."""
        assert self.inv is not None
        if len(self.inv.args) != 1:
            self.io.err("Error: compaction command needs 1 argument\n")
            return EXIT_BAD_ARGS
        try:
            rev = int(self.inv.args[0])
        except ValueError:
            self.io.err(f"Error: strconv.ParseInt: parsing {self.inv.args[0]!r}: "
                        f"invalid syntax\n".replace("'", '"'))
            return EXIT_BAD_ARGS
        served = self._request(self._endpoints(), needs_quorum=True)
        if served is None:
            self.io.err("Error: context deadline exceeded\n")
            return EXIT_ERROR
        if rev <= self.etcd.compact_revision:
            self.io.err("Error: etcdserver: mvcc: required revision has been compacted\n")
            return EXIT_ERROR
        if rev > self.etcd.revision:
            self.io.err("Error: etcdserver: mvcc: required revision is a future revision\n")
            return EXIT_ERROR
        self.etcd.compact_revision = rev
        # on a live cluster the next write (there is always one) releases the freed pages;
        # under NOSPACE no write comes, so they still read as in use (EtcdMember)
        writes_refused = any(name == "NOSPACE" for _, name in self.etcd.alarms)
        for m in self.etcd.members:
            if m.running:
                now = max(64 * 1024, int(m.db_size_in_use * 0.9))
                if writes_refused:
                    m.freed_unreleased += m.db_size_in_use - now
                m.db_size_in_use = now
        self.io.out(f"compacted revision {rev}\n")
        return EXIT_SUCCESS

    def _put(self) -> int:
        assert self.inv is not None
        if len(self.inv.args) not in (1, 2):
            self.io.err("Error: put command needs 1 argument and input from stdin or 2 arguments\n")
            return EXIT_BAD_ARGS
        endpoints = self._endpoints()
        served = self._request(endpoints, needs_quorum=True)
        if served is None:
            self.io.err("Error: context deadline exceeded\n")
            return EXIT_ERROR
        # a member whose file reached the quota refuses the write and raises NOSPACE
        faults.raise_nospace(self.cluster, served)
        for _, name in self.etcd.alarms:
            if name in ALARM_ERRORS:
                message = ALARM_ERRORS[name]
                code = "ResourceExhausted" if name == "NOSPACE" else "DataLoss"
                target = self._client_target(endpoints)
                self._warn(target, f"rpc error: code = {code} desc = {message}")
                self.io.err(f"Error: {message}\n")
                return EXIT_ERROR
        self.etcd.revision += 1
        for m in self.etcd.members:
            if m.running:
                m.raft_index += 1
                m.raft_applied_index += 1
        fmt = self.inv.get("write-out")
        if fmt == "json":
            self.io.out(go_json({"header": self._header(served)}) + "\n")
        else:
            self.io.out("OK\n")
        return EXIT_SUCCESS

    def _get(self) -> int:
        assert self.inv is not None
        if len(self.inv.args) not in (1, 2):
            self.io.err(
                "Error: get command needs one argument as key "
                "and an optional argument as range_end\n"
            )
            return EXIT_BAD_ARGS
        endpoints = self._endpoints()
        serializable = self.inv.get("consistency") == "s"
        served = self._request(endpoints, needs_quorum=not serializable)
        if served is None:
            self.io.err("Error: context deadline exceeded\n")
            return EXIT_ERROR
        # The drill keeps no keys: every get finds nothing, which etcdctl prints as nothing.
        if self.inv.get("write-out") == "json":
            self.io.out(go_json({"header": self._header(served)}) + "\n")
        return EXIT_SUCCESS
