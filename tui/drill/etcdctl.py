"""The drill's etcdctl: prints what real etcdctl 3.4/3.5/3.6 prints for the drill cluster's state.

`run_etcdctl` is called by the drill shell for `etcdctl ...` on a simulated host. Output is
modelled byte for byte on real etcdctl 3.4.23 and 3.5.1 runs against real clusters (the
fixtures in tests/fixtures/etcdctl/, made by capture.sh there), so the console's parsers and
an operator reading raw output see exactly what a real cluster would show:

- flags are parsed the cobra/pflag way (interspersed, `--f=v`, `--f v`, `-w json`, `-wjson`,
  `--`), and unknown commands/flags fail with the real messages and exit statuses;
- an `ETCDCTL_*` variable and the same flag on the command line is a fatal error in both
  versions (that is why the runbook says `unset ETCDCTL_ENDPOINTS` before `--endpoints`);
- a member that is stopped, on a host that is down, or busy defragmenting answers nothing:
  etcdctl prints the others, the gRPC retry warning and `Failed to ... (context deadline
  exceeded)` on stderr, and exits 1 (without the real multi-second wait for a dead member);
- a defrag takes time (tui.drill.faults: ~1 simulated second per 100 MB of file) and blocks
  its member meanwhile: `defrag` really waits for it (the clock's real seconds), up to
  `--command-timeout`, then prints the real timeout failure while the defrag goes on; a
  request to a member that is defragmenting waits until the defrag ends or the command
  times out. Then `run_etcdctl` returns a coroutine (the drill shell awaits it); with a
  frozen clock nothing waits and what the wait would have brought happens at once;
- without quorum, 3.4 still lists members (served locally) and shows `etcdserver: no leader`
  per endpoint, while 3.5 lists members linearizably, so `--cluster` fails outright with
  `failed to fetch endpoints from etcd cluster member list`; writes time out.
- a 3.6.x member (OpenShift 4.21 and later) behaves as 3.5 does, and its `endpoint status
  -w json` adds `storageVersion`, `dbSizeQuota` and `downgradeInfo` after `isLearner`, as
  etcd 3.6's StatusResponse does (no 3.6 capture exists: tests/fixtures/etcdctl/3.6/ is
  derived from etcd's source and says from where).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Coroutine
from urllib.parse import urlsplit

from tui.drill import faults

if TYPE_CHECKING:
    from tui.drill.model import DrillCluster, DrillHost, EtcdMember
from tui.drill.etcdctl_cli import (
    CLUSTER_GLOBAL,
    COMMAND_FUNCS,
    GET_COUNT_ONLY,
    GLOBAL_OPTIONS,
    HELP,
    ROOT_COMMANDS_34,
    ROOT_COMMANDS_35,
    SUBCOMMANDS,
    FlagError,
    Invocation,
    flags_for,
    inherited_flags,
    levenshtein,
    parse_flags,
    parse_go_duration,
    strip_flags,
)
from tui.drill.gofmt import GoFloat, go_duration, go_json, human_bytes, render_table, zap_json

__all__ = ["run_etcdctl"]

# etcdctl's exit statuses (pkg/cobrautl).
EXIT_SUCCESS = 0
EXIT_ERROR = 1
EXIT_BAD_CONNECTION = 2
EXIT_BAD_FEATURE = 4
EXIT_BAD_ARGS = 128

_ALARM_NAMES = {"NONE": 0, "NOSPACE": 1, "CORRUPT": 2}
_ALARM_ERRORS = {
    "NOSPACE": "etcdserver: mvcc: database space exceeded",
    "CORRUPT": "etcdserver: corrupt cluster",
}
_FORMATS = ("simple", "json", "table", "fields", "protobuf")
_DEADLINE = "rpc error: code = DeadlineExceeded"
_TIMED_OUT = f"{_DEADLINE} desc = context deadline exceeded"

# --- the simulated etcdctl -----------------------------------------------------------------


@dataclass
class _Out:
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def out(self, text: str) -> None:
        self.stdout.append(text)

    def err(self, text: str) -> None:
        self.stderr.append(text)


class _Exit(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class _Blocked(Exception):
    """A request reached a member that is defragmenting: wait until `until` (simulated),
    then run the command again (the member answers by then, or it is given up on)."""

    def __init__(self, member_id: int, until: float):
        super().__init__(member_id, until)
        self.member_id = member_id
        self.until = until


# Why an endpoint does not answer: nothing listens (refused), the machine is gone (dial
# timeout), or the member is up but blocked, e.g. defragmenting (request timeout).
_REFUSED = "refused"
_UNREACHABLE = "unreachable"
_BLOCKED = "blocked"


class _Etcdctl:
    def __init__(
        self, argv: list[str], env: dict[str, str], cluster: DrillCluster, host: DrillHost,
        waited: set[int] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cluster = cluster
        self.etcd = cluster.etcd
        self.host = host
        local = cluster.member_of(host)
        self.version = (
            local.version
            if local is not None
            else (cluster.etcd.members[0].version if cluster.etcd.members else "3.5.9")
        )
        self.flavor = "3.4" if self.version.startswith("3.4") else "3.5"
        # 3.6 behaves as 3.5 everywhere the flavor decides, and adds status fields
        self.is_36 = _minor(self.version) >= (3, 6)
        self.api = ".".join(self.version.split(".")[:2])
        self.io = _Out()
        # Seeded from the state so the same command on the same state prints the same text.
        seed = f"{' '.join(self.argv)}|{self.etcd.revision}|{self.etcd.raft_term}"
        self.rng = random.Random(seed)
        self.inv: Invocation | None = None
        # Waiting on a busy member needs a clock that moves; members already waited for
        # (this command's earlier runs) fail at once.
        self.may_wait = cluster.clock.real_seconds(1.0) > 0
        self.waited = waited if waited is not None else set()
        self.blocked: _Blocked | None = None
        self.returns_at: float | None = None  # simulated time the answer comes (defrag)

    # -- entry ---------------------------------------------------------------------------

    def run(self) -> tuple[int, str, str]:
        try:
            status = self._main()
        except _Exit as done:
            status = done.status
        except _Blocked as blocked:  # the caller waits, then runs the command again
            self.blocked = blocked
            status = EXIT_ERROR
        return status, "".join(self.io.stdout), "".join(self.io.stderr)

    def _main(self) -> int:
        # etcdctl's main() reads and unsets ETCDCTL_API before anything looks at the env.
        self.env.pop("ETCDCTL_API", None)
        roots = ROOT_COMMANDS_34 if self.flavor == "3.4" else ROOT_COMMANDS_35
        root_flags = flags_for((), self.flavor)
        words = strip_flags(self.argv, root_flags)
        if not words:
            try:
                parse_flags(self.argv, root_flags, ())
            except FlagError as exc:
                return self._flag_error((), str(exc))
            self.io.out(self._root_help())
            return EXIT_SUCCESS
        first = words[0]
        if first not in roots:
            return self._unknown_command(first, roots)
        path: tuple[str, ...] = (first,)
        subs = SUBCOMMANDS.get(first)
        if subs:
            sub_words = strip_flags(self.argv, flags_for(path, self.flavor))
            nxt = sub_words[1] if len(sub_words) > 1 else None
            if nxt in subs:
                path = (first, nxt)
        flags = flags_for(path, self.flavor)
        try:
            inv = parse_flags(self.argv, flags, path)
        except FlagError as exc:
            return self._flag_error(path, str(exc))
        self.inv = inv
        if inv.flag_bool("help") or (subs and len(path) == 1):
            # A parent command (or `-h`) prints its help and succeeds, as cobra does.
            self.io.out(self._help(path))
            return EXIT_SUCCESS
        if first == "help":
            self.io.out(self._root_help())
            return EXIT_SUCCESS
        handler = self._handlers().get(" ".join(path))
        if handler is None:
            self.io.err(
                f'Error: the drill etcdctl does not simulate "{" ".join(path)}" '
                "(only endpoint status/health, member list, alarm list/disarm, defrag, "
                "compaction, version, put and get)\n"
            )
            return EXIT_ERROR
        return handler()

    def _handlers(self) -> dict[str, Callable[[], int]]:
        return {
            "endpoint status": self._endpoint_status,
            "endpoint health": self._endpoint_health,
            "member list": self._member_list,
            "alarm list": lambda: self._alarm(disarm=False),
            "alarm disarm": lambda: self._alarm(disarm=True),
            "defrag": self._defrag,
            "compaction": self._compact,
            "version": self._version,
            "put": self._put,
            "get": self._get,
        }

    # -- help and usage errors ---------------------------------------------------------------

    def _help(self, path: tuple[str, ...]) -> str:
        key = " ".join(path)
        head = HELP.get(key)
        if head is None:
            return self._root_help()
        head = head.replace("{api}", self.api).replace(
            "{count_only}", GET_COUNT_ONLY if self.flavor == "3.5" else ""
        )
        cluster = CLUSTER_GLOBAL if path[:1] == ("endpoint",) and len(path) > 1 else ""
        return head + "GLOBAL OPTIONS:\n" + GLOBAL_OPTIONS.replace("{cluster}", cluster) + "\n"

    def _root_help(self) -> str:
        roots = ROOT_COMMANDS_34 if self.flavor == "3.4" else ROOT_COMMANDS_35
        lines = []
        for name in roots:
            for sub in SUBCOMMANDS.get(name, ("",)):
                lines.append(f"\t{name} {sub}".rstrip() + "\n")
        options = GLOBAL_OPTIONS.replace("{cluster}", "").replace(
            "      --hex[=false]",
            "  -h, --help[=false]\t\t\t\thelp for etcdctl\n      --hex[=false]",
        )
        return (
            "NAME:\n\tetcdctl - A simple command line client for etcd3.\n\n"
            f"USAGE:\n\tetcdctl [flags]\n\nVERSION:\n\t{self.version}\n\n"
            f"API VERSION:\n\t{self.api}\n\n\nCOMMANDS:\n{''.join(lines)}\n"
            f"OPTIONS:\n{options}\n"
        )

    def _flag_error(self, path: tuple[str, ...], message: str) -> int:
        # cobra prints the error and the usage; etcdctl then prints the error once more.
        self.io.out(self._help(path) if path else self._root_help())
        self.io.err(f"Error: {message}\n\nError: {message}\n")
        return EXIT_ERROR

    def _unknown_command(self, word: str, roots: tuple[str, ...]) -> int:
        suggestions = [
            r
            for r in roots
            if r != "help"
            and (levenshtein(word.lower(), r.lower()) <= 2 or r.lower().startswith(word.lower()))
        ]
        message = f'unknown command "{word}" for "etcdctl"'
        if suggestions:
            message += "\n\nDid you mean this?\n" + "".join(f"\t{s}\n" for s in suggestions)
        self.io.err(f"Error: {message}\nRun 'etcdctl --help' for usage.\nError: {message}\n")
        return EXIT_ERROR

    # -- environment, endpoints and connections ---------------------------------------------

    def _ts_iso(self) -> str:
        now = self.cluster.clock.now_dt()
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"

    def _ts_float(self) -> GoFloat:
        return GoFloat(round(self.cluster.clock.now(), 7))

    def _check_env(self) -> None:
        """pkg/flags.SetPflagsFromEnv: env fills unset flags; env plus flag is fatal."""
        assert self.inv is not None
        inherited = inherited_flags(self.inv.path)
        known = {"ETCDCTL_" + n.upper().replace("-", "_"): n for n in inherited}
        for key in sorted(self.env):
            if not key.startswith("ETCDCTL_"):
                continue
            name = known.get(key)
            if name is None:
                self._env_warning(f"{key}={self.env[key]}")
                continue
            if name in self.inv.changed:
                self._env_conflict(key)
                raise _Exit(EXIT_ERROR)
            value = self.env[key]
            if value:
                if name == "endpoints":
                    self.inv.lists["endpoints"] = [v.strip() for v in value.split(",")]
                self.inv.values[name] = value

    def _env_warning(self, entry: str) -> None:
        if self.flavor == "3.4":
            ts = self.cluster.clock.now_dt().strftime("%Y-%m-%d %H:%M:%S.%f")
            self.io.err(f"{ts} W | pkg/flags: unrecognized environment variable {entry}\n")
        else:
            line = {
                "level": "warn",
                "ts": self._ts_float(),
                "caller": "flags/flag.go:93",
                "msg": "unrecognized environment variable",
                "environment-variable": entry,
            }
            self.io.err(zap_json(line) + "\n")

    def _env_conflict(self, key: str) -> None:
        if self.flavor == "3.4":
            ts = self.cluster.clock.now_dt().strftime("%Y-%m-%d %H:%M:%S.%f")
            self.io.err(
                f'{ts} C | pkg/flags: conflicting environment variable "{key}" is shadowed by '
                "corresponding command-line flag "
                "(either unset environment variable or disable flag)\n"
            )
            return
        assert self.inv is not None
        src = f"/tmp/etcd-release-{self.version}/etcd/release/etcd"
        file, func, line = COMMAND_FUNCS.get(" ".join(self.inv.path), ("ctl.go", "Start", 107))
        frames = [
            ("go.etcd.io/etcd/pkg/v3/flags.verifyEnv", f"{src}/pkg/flags/flag.go:85"),
            ("go.etcd.io/etcd/pkg/v3/flags.SetPflagsFromEnv", f"{src}/pkg/flags/flag.go:63"),
            (
                "go.etcd.io/etcd/etcdctl/v3/ctlv3/command.clientConfigFromCmd",
                f"{src}/etcdctl/ctlv3/command/global.go:128",
            ),
            (
                "go.etcd.io/etcd/etcdctl/v3/ctlv3/command.mustClientFromCmd",
                f"{src}/etcdctl/ctlv3/command/global.go:174",
            ),
            (
                f"go.etcd.io/etcd/etcdctl/v3/ctlv3/command.{func}",
                f"{src}/etcdctl/ctlv3/command/{file}:{line}",
            ),
            ("go.etcd.io/etcd/etcdctl/v3/ctlv3.Start", f"{src}/etcdctl/ctlv3/ctl.go:107"),
            ("go.etcd.io/etcd/etcdctl/v3/ctlv3.MustStart", f"{src}/etcdctl/ctlv3/ctl.go:111"),
            ("main.main", f"{src}/etcdctl/main.go:59"),
        ]
        entry = {
            "level": "fatal",
            "ts": self._ts_float(),
            "caller": "flags/flag.go:85",
            "msg": "conflicting environment variable is shadowed by corresponding command-line "
            "flag (either unset environment variable or disable flag))",
            "environment-variable": key,
            "stacktrace": "\n".join(f"{fn}\n\t{where}" for fn, where in frames),
        }
        self.io.err(zap_json(entry) + "\n")

    def _endpoints(self) -> list[str]:
        """What building a client does: env, output format, the --endpoints list."""
        assert self.inv is not None
        self._check_env()
        # etcdctl sets up its printer only when it builds a client, after reading the env:
        # `version -w yaml` works, and ETCDCTL_WRITE_OUT counts like -w.
        fmt = self.inv.get("write-out")
        if fmt not in _FORMATS:
            self.io.err("Error: unsupported output format\n")
            raise _Exit(EXIT_BAD_FEATURE)
        if fmt == "protobuf":
            self.io.err("Error: the drill etcdctl does not print protobuf output\n")
            raise _Exit(EXIT_BAD_FEATURE)
        if "endpoints" in self.inv.lists:
            eps = [e for e in self.inv.lists["endpoints"] if e]
        else:
            eps = [e.strip() for e in self.inv.get("endpoints").split(",") if e.strip()]
        if not eps:
            self.io.err("Error: etcdclient: no available endpoints\n")
            raise _Exit(EXIT_BAD_CONNECTION)
        return eps

    def _timeout(self) -> float:
        assert self.inv is not None
        try:
            return parse_go_duration(self.inv.get("command-timeout"))
        except ValueError:
            return 5.0

    def _member_at(self, endpoint: str) -> EtcdMember | None:
        member = self.etcd.member_by_client_url(endpoint)
        if member is not None:
            return member
        try:
            parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
            hostname, port = parts.hostname, parts.port or 2379
        except ValueError:
            return None
        if hostname in ("localhost", "127.0.0.1", "::1"):
            local = self.cluster.member_of(self.host)
            return local if port == _port_of(local.client_url if local else "") else None
        for m in self.etcd.members:
            try:
                mp = urlsplit(m.client_url)
                if mp.hostname == hostname and (mp.port or 2379) == port:
                    return m
            except ValueError:
                continue
        return None

    def _failure(self, member: EtcdMember | None) -> str | None:
        """Why this member does not answer (None: it answers)."""
        if member is None:
            return _REFUSED
        host = self.cluster.host(member.name)
        if host is not None and not host.up:
            return _UNREACHABLE
        if not member.running:
            return _REFUSED
        if member.defragging:
            return _BLOCKED
        return None

    def _block(self, member: EtcdMember | None) -> None:
        """A request to a defragmenting member hangs until the defrag ends or the command's
        timeout: raise _Blocked so the caller really waits (once per member and command)."""
        if member is None or not self.may_wait or member.member_id in self.waited:
            return
        now = self.cluster.clock.now()
        give_up = now + self._timeout() if self.inv is not None else now + 5.0
        window = member.defrag_window
        until = give_up if window is None else min(max(window[1], now), give_up)
        raise _Blocked(member.member_id, until)

    def _hostport(self, endpoint: str) -> str:
        return endpoint.split("://", 1)[-1].rstrip("/")

    def _pointer(self) -> str:
        return f"0xc000{self.rng.randrange(0x100000, 0xFFFFFF):06x}"[:12]

    def _warn(self, target: str, error: str, *, health: bool = False) -> None:
        """The gRPC retry interceptor's warning that precedes every failed request.

        3.5's `endpoint health` clients log as "client" with an epoch-float timestamp; every
        other 3.5 client as "etcd-client" with an ISO one; 3.4 names no logger.
        """
        entry: dict[str, object] = {"level": "warn"}
        if self.flavor == "3.4":
            entry["ts"] = self._ts_iso()
            entry["caller"] = "clientv3/retry_interceptor.go:62"
        else:
            entry["ts"] = self._ts_float() if health else self._ts_iso()
            entry["logger"] = "client" if health else "etcd-client"
            entry["caller"] = "v3/retry_interceptor.go:62"
        entry["msg"] = "retrying of unary invoker failed"
        entry.update({"target": target, "attempt": 0, "error": error})
        self.io.err(zap_json(entry) + "\n")

    def _dial_error(self, failure: str, hostport: str, *, balancer_summary: bool) -> str:
        if failure == _BLOCKED:
            return _TIMED_OUT
        if self.flavor == "3.4" and balancer_summary:
            return f"{_DEADLINE} desc = latest balancer error: all SubConns are in TransientFailure"
        cause = "connect: connection refused" if failure == _REFUSED else "i/o timeout"
        last = "" if self.flavor == "3.4" else "last connection error: "
        return (
            f"{_DEADLINE} desc = latest balancer error: {last}connection error: "
            f'desc = "transport: Error while dialing dial tcp {hostport}: {cause}"'
        )

    def _client_target(self, endpoints: list[str]) -> str:
        first = self._hostport(endpoints[0])
        if self.flavor == "3.4":
            return f"endpoint://client-{self._uuid()}/{first}"
        return f"etcd-endpoints://{self._pointer()}/{first}"

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _request(self, endpoints: list[str], *, needs_quorum: bool) -> EtcdMember | None:
        """One RPC through a client balanced over `endpoints`: the member that served it, or
        None after printing the retry warning (the caller prints its own `Error:` line)."""
        served = None
        failures = []
        for ep in endpoints:
            member = self._member_at(ep)
            failure = self._failure(member)
            if failure is None and member is not None:
                served = member
                break
            failures.append((ep, failure or _REFUSED))
        if served is None:
            for ep, failure in failures:
                if failure == _BLOCKED:
                    self._block(self._member_at(ep))
        target = self._client_target(endpoints)
        if served is None:
            ep, failure = failures[0]
            self._warn(target, self._dial_error(failure, self._hostport(ep), balancer_summary=True))
            return None
        if needs_quorum and not self.etcd.has_quorum():
            self._warn(target, _TIMED_OUT)
            return None
        return served

    def _cluster_endpoints(self, endpoints: list[str]) -> list[str]:
        """--cluster: the client URLs from a member list through `endpoints`."""
        served = self._request(endpoints, needs_quorum=self.flavor == "3.5")
        if served is None:
            self.io.err(
                "Error: failed to fetch endpoints from etcd cluster member list: "
                "context deadline exceeded\n"
            )
            raise _Exit(EXIT_ERROR)
        eps: list[str] = []
        for m in self._sorted_members():
            if m.name and m.client_url:
                eps.append(m.client_url)
        return eps

    def _sorted_members(self) -> list[EtcdMember]:
        return sorted(self.etcd.members, key=lambda m: m.member_id)

    def _header(self, member: EtcdMember, *, revision: bool = True) -> dict[str, int]:
        hdr = {"cluster_id": self.etcd.cluster_id, "member_id": member.member_id}
        if revision and self.etcd.revision:
            hdr["revision"] = self.etcd.revision
        if self.etcd.raft_term:
            hdr["raft_term"] = self.etcd.raft_term
        return hdr

    def _alarm_errors(self) -> list[str]:
        # The protobuf text form etcd puts in Status.errors (note the trailing space).
        return [f"memberID:{mid} alarm:{name} " for mid, name in self.etcd.alarms]

    # -- commands ------------------------------------------------------------------------

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
            if failure == _BLOCKED:
                self._block(member)
            if failure is not None or member is None:
                hp = self._hostport(ep)
                # 3.4 dials each endpoint on its own; 3.5 uses one client for all of them
                target = f"passthrough:///{ep}" if self.flavor == "3.4" else target35
                error = self._dial_error(failure or _REFUSED, hp, balancer_summary=False)
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
                    status["dbSizeInUse"] = m.db_size_in_use
                if m.is_learner:
                    status["isLearner"] = True
                if self.is_36:
                    # etcd 3.6's Status(): storage version, the --quota-backend-bytes value,
                    # and a DowngradeInfo that is always set (so `{}` with no downgrade)
                    status["storageVersion"] = _storage_version(m.version)
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
            if failure == _BLOCKED:
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
                self._warn(target, _TIMED_OUT, health=True)
                results.append((ep, False, slow, "context deadline exceeded"))
            elif self.etcd.alarms and self.flavor != "3.4":
                # 3.5 also lists alarms and calls any member with one unhealthy; 3.4 does not.
                kinds = "".join(
                    f"{name if name in _ALARM_NAMES else 'UNKNOWN'} "
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
                    {"memberID": mid, "alarm": _ALARM_NAMES.get(name, 0)} for mid, name in alarms
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
            if member is None or failure not in (None, _BLOCKED):
                hp = self._hostport(ep)
                error = self._dial_error(failure or _REFUSED, hp, balancer_summary=False)
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
                self._warn(target, _TIMED_OUT)
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
        for m in self.etcd.members:
            if m.running:
                m.db_size_in_use = max(64 * 1024, int(m.db_size_in_use * 0.9))
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
            if name in _ALARM_ERRORS:
                message = _ALARM_ERRORS[name]
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


def _minor(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (3, 5)


def _storage_version(version: str) -> str:
    """etcd 3.6 reports the storage (schema) version as MAJOR.MINOR.0."""
    major, minor = _minor(version)
    return f"{major}.{minor}.0"


def _port_of(url: str) -> int | None:
    try:
        return urlsplit(url).port or 2379 if url else None
    except ValueError:
        return None


def run_etcdctl(
    argv: list[str], env: dict[str, str], cluster: DrillCluster, host: DrillHost
) -> tuple[int, str, str] | Coroutine[None, None, tuple[int, str, str]]:
    """Run `etcdctl ARGV` on `host` against the drill cluster: (exit status, stdout, stderr).

    Uses the output formats of the etcd version of the member on `host` (3.4 or 3.5).
    Commands that change state (defrag, alarm disarm, put) change `cluster.etcd`.

    When the command has to wait in simulated time (a defrag; a request to a member that is
    defragmenting) and the clock moves, the result is a coroutine that really waits
    (`clock.real_seconds`) and then gives the tuple; otherwise the tuple itself.
    """
    faults.tick(cluster)
    cmd = _Etcdctl(argv, env, cluster, host)
    result = cmd.run()
    if cmd.blocked is None:
        if cmd.returns_at is None or cmd.returns_at <= cluster.clock.now():
            return result
        if not cmd.may_wait:  # a frozen clock: what the wait would bring happens at once
            faults.tick(cluster, now=cmd.returns_at)
            return result
    return _answer_when_done(cmd, result, argv, env, cluster, host)


async def _answer_when_done(
    cmd: _Etcdctl, result: tuple[int, str, str], argv: list[str], env: dict[str, str],
    cluster: DrillCluster, host: DrillHost,
) -> tuple[int, str, str]:
    waited: set[int] = set()
    while cmd.blocked is not None:
        waited.add(cmd.blocked.member_id)
        await faults.wait_until(cluster, cmd.blocked.until)
        cmd = _Etcdctl(argv, env, cluster, host, waited=waited)
        result = cmd.run()
    if cmd.returns_at is not None:
        await faults.wait_until(cluster, cmd.returns_at)
    return result
