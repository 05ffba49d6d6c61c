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
from tui.drill.etcdctl_commands import (
    BLOCKED,
    DEADLINE,
    EXIT_BAD_CONNECTION,
    EXIT_BAD_FEATURE,
    EXIT_ERROR,
    EXIT_SUCCESS,
    FORMATS,
    REFUSED,
    TIMED_OUT,
    UNREACHABLE,
    EtcdctlCommands,
    etcd_minor,
)
from tui.drill.gofmt import GoFloat, zap_json

if TYPE_CHECKING:
    from tui.drill.model import DrillCluster, DrillHost, EtcdMember

__all__ = ["run_etcdctl"]


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


class _Etcdctl(EtcdctlCommands):
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
        self.is_36 = etcd_minor(self.version) >= (3, 6)
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
        if fmt not in FORMATS:
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
            return REFUSED
        host = self.cluster.host(member.name)
        if host is not None and not host.up:
            return UNREACHABLE
        if not member.running:
            return REFUSED
        if member.defragging:
            return BLOCKED
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
        if failure == BLOCKED:
            return TIMED_OUT
        if self.flavor == "3.4" and balancer_summary:
            return f"{DEADLINE} desc = latest balancer error: all SubConns are in TransientFailure"
        cause = "connect: connection refused" if failure == REFUSED else "i/o timeout"
        last = "" if self.flavor == "3.4" else "last connection error: "
        return (
            f"{DEADLINE} desc = latest balancer error: {last}connection error: "
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
            failures.append((ep, failure or REFUSED))
        if served is None:
            for ep, failure in failures:
                if failure == BLOCKED:
                    self._block(self._member_at(ep))
        target = self._client_target(endpoints)
        if served is None:
            ep, failure = failures[0]
            self._warn(target, self._dial_error(failure, self._hostport(ep), balancer_summary=True))
            return None
        if needs_quorum and not self.etcd.has_quorum():
            self._warn(target, TIMED_OUT)
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
