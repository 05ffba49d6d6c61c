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

import json
import math
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Coroutine
from urllib.parse import urlsplit

from tui.drill import faults

if TYPE_CHECKING:
    from tui.drill.model import DrillCluster, DrillHost, EtcdMember

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

# --- help texts (verbatim from etcdctl 3.5.1; 3.4.23 differs only where noted) ------------

_GLOBAL_OPTIONS = (
    '      --cacert=""\t\t\t\tverify certificates of TLS-enabled secure servers using this CA bundle\n'
    '      --cert=""\t\t\t\t\tidentify secure client using this TLS certificate file\n'
    "{cluster}"
    "      --command-timeout=5s\t\t\ttimeout for short running command (excluding dial timeout)\n"
    "      --debug[=false]\t\t\t\tenable client-side debug logging\n"
    "      --dial-timeout=2s\t\t\t\tdial timeout for client connections\n"
    '  -d, --discovery-srv=""\t\t\tdomain name to query for SRV records describing cluster endpoints\n'
    '      --discovery-srv-name=""\t\t\tservice name to query when using DNS discovery\n'
    "      --endpoints=[127.0.0.1:2379]\t\tgRPC endpoints\n"
    "      --hex[=false]\t\t\t\tprint byte strings as hex encoded strings\n"
    "      --insecure-discovery[=true]\t\taccept insecure SRV records describing cluster endpoints\n"
    "      --insecure-skip-tls-verify[=false]\tskip server certificate verification (CAUTION: this option should be enabled only for testing purposes)\n"
    "      --insecure-transport[=true]\t\tdisable transport security for client connections\n"
    "      --keepalive-time=2s\t\t\tkeepalive time for client connections\n"
    "      --keepalive-timeout=6s\t\t\tkeepalive timeout for client connections\n"
    '      --key=""\t\t\t\t\tidentify secure client using this TLS key file\n'
    '      --password=""\t\t\t\tpassword for authentication (if this option is used, --user option shouldn\'t include password)\n'
    '      --user=""\t\t\t\t\tusername[:password] for authentication (prompt if password is not supplied)\n'
    '  -w, --write-out="simple"\t\t\tset the output format (fields, json, protobuf, simple, table)\n'
)
_CLUSTER_GLOBAL = "      --cluster[=false]\t\t\t\tuse all endpoints from the cluster member list\n"

_HELP: dict[str, str] = {
    "endpoint": "NAME:\n\tendpoint - Endpoint related commands\n\nUSAGE:\n\tetcdctl endpoint <subcommand> [flags]\n\nAPI VERSION:\n\t{api}\n\n\nCOMMANDS:\n\thashkv\tPrints the KV history hash for each endpoint in --endpoints\n\thealth\tChecks the healthiness of endpoints specified in `--endpoints` flag\n\tstatus\tPrints out the status of endpoints specified in `--endpoints` flag\n\nOPTIONS:\n      --cluster[=false]\tuse all endpoints from the cluster member list\n  -h, --help[=false]\thelp for endpoint\n\n",
    "endpoint status": "NAME:\n\tendpoint status - Prints out the status of endpoints specified in `--endpoints` flag\n\nUSAGE:\n\tetcdctl endpoint status [flags]\n\nDESCRIPTION:\n\tWhen --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\n\tThe items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.\n\nOPTIONS:\n  -h, --help[=false]\thelp for status\n\n",
    "endpoint health": "NAME:\n\tendpoint health - Checks the healthiness of endpoints specified in `--endpoints` flag\n\nUSAGE:\n\tetcdctl endpoint health [flags]\n\nOPTIONS:\n  -h, --help[=false]\thelp for health\n\n",
    "member": "NAME:\n\tmember - Membership related commands\n\nUSAGE:\n\tetcdctl member <subcommand> [flags]\n\nAPI VERSION:\n\t{api}\n\n\nCOMMANDS:\n\tadd\tAdds a member into the cluster\n\tlist\tLists all members in the cluster\n\tpromote\tPromotes a non-voting member in the cluster\n\tremove\tRemoves a member from the cluster\n\tupdate\tUpdates a member in the cluster\n\nOPTIONS:\n  -h, --help[=false]\thelp for member\n\n",
    "member list": "NAME:\n\tmember list - Lists all members in the cluster\n\nUSAGE:\n\tetcdctl member list [flags]\n\nDESCRIPTION:\n\tWhen --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.\n\tThe items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.\n\nOPTIONS:\n  -h, --help[=false]\thelp for list\n\n",
    "alarm": "NAME:\n\talarm - Alarm related commands\n\nUSAGE:\n\tetcdctl alarm <subcommand> [flags]\n\nAPI VERSION:\n\t{api}\n\n\nCOMMANDS:\n\tdisarm\tDisarms all alarms\n\tlist\tLists all alarms\n\nOPTIONS:\n  -h, --help[=false]\thelp for alarm\n\n",
    "alarm list": "NAME:\n\talarm list - Lists all alarms\n\nUSAGE:\n\tetcdctl alarm list [flags]\n\nOPTIONS:\n  -h, --help[=false]\thelp for list\n\n",
    "alarm disarm": "NAME:\n\talarm disarm - Disarms all alarms\n\nUSAGE:\n\tetcdctl alarm disarm [flags]\n\nOPTIONS:\n  -h, --help[=false]\thelp for disarm\n\n",
    "defrag": 'NAME:\n\tdefrag - Defragments the storage of the etcd members with given endpoints\n\nUSAGE:\n\tetcdctl defrag [flags]\n\nOPTIONS:\n      --cluster[=false]\tuse all endpoints from the cluster member list\n      --data-dir=""\tOptional. If present, defragments a data directory not in use by etcd.\n  -h, --help[=false]\thelp for defrag\n\n',
    "version": "NAME:\n\tversion - Prints the version of etcdctl\n\nUSAGE:\n\tetcdctl version [flags]\n\nOPTIONS:\n  -h, --help[=false]\thelp for version\n\n",
    "put": "NAME:\n\tput - Puts the given key into the store\n\nUSAGE:\n\tetcdctl put [options] <key> <value> (<value> can also be given from stdin) [flags]\n\nDESCRIPTION:\n\tPuts the given key into the store.\n\t\n\tWhen <value> begins with '-', <value> is interpreted as a flag.\n\tInsert '--' for workaround:\n\t\n\t$ put <key> -- <value>\n\t$ put -- <key> <value>\n\t\n\tIf <value> isn't given as a command line argument and '--ignore-value' is not specified,\n\tthis command tries to read the value from standard input.\n\t\n\tIf <lease> isn't given as a command line argument and '--ignore-lease' is not specified,\n\tthis command tries to read the value from standard input.\n\t\n\tFor example,\n\t$ cat file | put <key>\n\twill store the content of the file to <key>.\n\nOPTIONS:\n  -h, --help[=false]\t\thelp for put\n      --ignore-lease[=false]\tupdates the key using its current lease\n      --ignore-value[=false]\tupdates the key using its current value\n      --lease=\"0\"\t\tlease ID (in hexadecimal) to attach to the key\n      --prev-kv[=false]\t\treturn the previous key-value pair before modification\n\n",
    "get": 'NAME:\n\tget - Gets the key or a range of keys\n\nUSAGE:\n\tetcdctl get [options] <key> [range_end] [flags]\n\nOPTIONS:\n      --consistency="l"\t\t\tLinearizable(l) or Serializable(s)\n{count_only}      --from-key[=false]\t\tGet keys that are greater than or equal to the given key using byte compare\n  -h, --help[=false]\t\t\thelp for get\n      --keys-only[=false]\t\tGet only the keys\n      --limit=0\t\t\t\tMaximum number of results\n      --order=""\t\t\tOrder of results; ASCEND or DESCEND (ASCEND by default)\n      --prefix[=false]\t\t\tGet keys with matching prefix\n      --print-value-only[=false]\tOnly write values when using the "simple" output format\n      --rev=0\t\t\t\tSpecify the kv revision\n      --sort-by=""\t\t\tSort target; CREATE, KEY, MODIFY, VALUE, or VERSION\n\n',
}
_GET_COUNT_ONLY = "      --count-only[=false]\t\tGet only the count\n"  # 3.5 only

_ROOT_COMMANDS_34 = (
    "alarm", "auth", "check", "compaction", "completion", "defrag", "del", "elect", "endpoint",
    "get", "help", "lease", "lock", "make-mirror", "member", "migrate", "move-leader", "put",
    "role", "snapshot", "txn", "user", "version", "watch",
)
_ROOT_COMMANDS_35 = tuple(c for c in _ROOT_COMMANDS_34 if c not in ("completion", "migrate"))
_SUBCOMMANDS: dict[str, tuple[str, ...]] = {
    "alarm": ("disarm", "list"),
    "auth": ("disable", "enable", "status"),
    "check": ("datascale", "perf"),
    "completion": ("bash", "fish", "powershell", "zsh"),
    "endpoint": ("hashkv", "health", "status"),
    "lease": ("grant", "keep-alive", "list", "revoke", "timetolive"),
    "member": ("add", "list", "promote", "remove", "update"),
    "role": ("add", "delete", "get", "grant-permission", "list", "revoke-permission"),
    "snapshot": ("restore", "save", "status"),
    "user": ("add", "delete", "get", "grant-role", "list", "passwd", "revoke-role"),
}

# Stack frames zap prints under a 3.5 fatal error, per command (file, function).
_COMMAND_FUNCS = {
    "endpoint status": ("ep_command.go", "epStatusCommandFunc", 186),
    "endpoint health": ("ep_command.go", "epHealthCommandFunc", 100),
    "member list": ("member_command.go", "memberListCommandFunc", 243),
    "alarm list": ("alarm_command.go", "alarmListCommandFunc", 77),
    "alarm disarm": ("alarm_command.go", "alarmDisarmCommandFunc", 48),
    "defrag": ("defrag_command.go", "defragCommandFunc", 56),
    "compaction": ("compaction_command.go", "compactionCommandFunc", 45),
    "put": ("put_command.go", "putCommandFunc", 70),
    "get": ("get_command.go", "getCommandFunc", 69),
}


# --- flags ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flag:
    name: str
    kind: str  # bool | string | duration | int | strings
    default: str = ""
    shorthand: str = ""


_GLOBAL_FLAGS = (
    _Flag("cacert", "string"),
    _Flag("cert", "string"),
    _Flag("command-timeout", "duration", "5s"),
    _Flag("debug", "bool", "false"),
    _Flag("dial-timeout", "duration", "2s"),
    _Flag("discovery-srv", "string", shorthand="d"),
    _Flag("discovery-srv-name", "string"),
    _Flag("endpoints", "strings", "127.0.0.1:2379"),
    _Flag("help", "bool", "false", "h"),
    _Flag("hex", "bool", "false"),
    _Flag("insecure-discovery", "bool", "true"),
    _Flag("insecure-skip-tls-verify", "bool", "false"),
    _Flag("insecure-transport", "bool", "true"),
    _Flag("keepalive-time", "duration", "2s"),
    _Flag("keepalive-timeout", "duration", "6s"),
    _Flag("key", "string"),
    _Flag("password", "string"),
    _Flag("user", "string"),
    _Flag("write-out", "string", "simple", "w"),
)
_CLUSTER_FLAG = _Flag("cluster", "bool", "false")
# Flags a command declares itself (not inherited, so `ETCDCTL_<NAME>` does not set them).
_LOCAL_FLAGS: dict[str, tuple[_Flag, ...]] = {
    "defrag": (_CLUSTER_FLAG, _Flag("data-dir", "string")),
    "compaction": (_Flag("physical", "bool", "false"),),
    "put": (
        _Flag("ignore-lease", "bool", "false"),
        _Flag("ignore-value", "bool", "false"),
        _Flag("lease", "string", "0"),
        _Flag("prev-kv", "bool", "false"),
    ),
    "get": (
        _Flag("consistency", "string", "l"),
        _Flag("count-only", "bool", "false"),
        _Flag("from-key", "bool", "false"),
        _Flag("keys-only", "bool", "false"),
        _Flag("limit", "int", "0"),
        _Flag("order", "string"),
        _Flag("prefix", "bool", "false"),
        _Flag("print-value-only", "bool", "false"),
        _Flag("rev", "int", "0"),
        _Flag("sort-by", "string"),
    ),
}

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}


def _parse_go_duration(text: str) -> float:
    """Seconds from a Go duration ("30s", "1m30s", "500ms"); ValueError with Go's message."""
    s = text
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            if re.fullmatch(r"[\d.]+", s[pos:]):
                raise ValueError(f'time: missing unit in duration "{text}"')
            unit = re.match(r"[\d.]*([^\d.]*)", s[pos:])
            if unit and unit.group(1) and re.match(r"[\d.]", s[pos:]):
                raise ValueError(f'time: unknown unit "{unit.group(1)}" in duration "{text}"')
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def _flag_value_error(flag: _Flag, value: str) -> str | None:
    """pflag's complaint about a bad value, or None when the value is fine."""
    if flag.kind == "duration":
        try:
            _parse_go_duration(value)
        except ValueError as exc:
            return f'invalid argument "{value}" for "--{flag.name}" flag: {exc}'
    elif flag.kind == "bool":
        if value not in _GO_BOOLS:
            return (
                f'invalid argument "{value}" for "--{flag.name}" flag: '
                f'strconv.ParseBool: parsing "{value}": invalid syntax'
            )
    elif flag.kind == "int":
        if not re.fullmatch(r"[+-]?\d+", value):
            return (
                f'invalid argument "{value}" for "--{flag.name}" flag: '
                f'strconv.ParseInt: parsing "{value}": invalid syntax'
            )
    return None


_GO_BOOLS = ("1", "0", "t", "f", "T", "F", "true", "false", "TRUE", "FALSE", "True", "False")


def _go_bool(value: str) -> bool:
    return value in ("1", "t", "T", "true", "TRUE", "True")


class _FlagError(Exception):
    pass


@dataclass
class _Invocation:
    path: tuple[str, ...]
    args: list[str]
    values: dict[str, str]
    changed: set[str]
    lists: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def flag_bool(self, name: str) -> bool:
        return _go_bool(self.values.get(name, "false"))


def _flags_for(path: tuple[str, ...], version: str) -> dict[str, _Flag]:
    flags = {f.name: f for f in _GLOBAL_FLAGS}
    if path[:1] == ("endpoint",):
        flags["cluster"] = _CLUSTER_FLAG
    for flag in _LOCAL_FLAGS.get(" ".join(path), ()):
        if flag.name == "count-only" and version == "3.4":
            continue
        flags[flag.name] = flag
    return flags


def _inherited_flags(path: tuple[str, ...]) -> list[str]:
    names = [f.name for f in _GLOBAL_FLAGS]
    if path[:1] == ("endpoint",) and len(path) > 1:
        names.append("cluster")
    return names


def _strip_flags(args: list[str], flags: dict[str, _Flag]) -> list[str]:
    """The non-flag words, as cobra finds the command (an unknown `--x` eats the next word)."""
    bools = {f.name for f in flags.values() if f.kind == "bool"}
    short_bools = {f.shorthand for f in flags.values() if f.kind == "bool" and f.shorthand}
    words: list[str] = []
    rest = list(args)
    while rest:
        s = rest.pop(0)
        if s == "--":
            break
        if s.startswith("--") and "=" not in s and s[2:] not in bools:
            if not rest:
                break
            rest.pop(0)
            continue
        short = s.startswith("-") and not s.startswith("--") and len(s) == 2
        if short and s[1:] not in short_bools:
            if not rest:
                break
            rest.pop(0)
            continue
        if s and not s.startswith("-"):
            words.append(s)
    return words


def _parse_flags(args: list[str], flags: dict[str, _Flag], path: tuple[str, ...]) -> _Invocation:
    """pflag's parse: interspersed flags, `--name=v`, `--name v`, `-xv`, `-x v`, `--`."""
    values = {f.name: f.default for f in flags.values()}
    changed: set[str] = set()
    lists: dict[str, list[str]] = {}
    positional: list[str] = []
    by_short = {f.shorthand: f for f in flags.values() if f.shorthand}

    def set_value(flag: _Flag, value: str) -> None:
        problem = _flag_value_error(flag, value)
        if problem:
            raise _FlagError(problem)
        if flag.kind == "strings":
            items = [v.strip() for v in value.split(",")] if value else []
            lists[flag.name] = (lists.get(flag.name, []) if flag.name in changed else []) + items
            values[flag.name] = ",".join(lists[flag.name])
        else:
            values[flag.name] = value
        changed.add(flag.name)

    rest = list(args)
    path_words = list(path)
    while rest:
        s = rest.pop(0)
        if s == "--":
            positional.extend(rest)
            break
        if s.startswith("--"):
            name, eq, value = s[2:].partition("=")
            flag = flags.get(name)
            if flag is None:
                raise _FlagError(f"unknown flag: --{name}")
            if eq:
                set_value(flag, value)
            elif flag.kind == "bool":
                set_value(flag, "true")
            elif rest:
                set_value(flag, rest.pop(0))
            else:
                raise _FlagError(f"flag needs an argument: --{name}")
            continue
        if s.startswith("-") and len(s) > 1:
            shorts = s[1:]
            i = 0
            while i < len(shorts):
                c = shorts[i]
                flag = by_short.get(c)
                if flag is None:
                    raise _FlagError(f"unknown shorthand flag: '{c}' in -{shorts}")
                if i + 1 < len(shorts) and shorts[i + 1] == "=":
                    set_value(flag, shorts[i + 2 :])
                    break
                if flag.kind == "bool":
                    set_value(flag, "true")
                    i += 1
                    continue
                if i + 1 < len(shorts):
                    set_value(flag, shorts[i + 1 :])
                elif rest:
                    set_value(flag, rest.pop(0))
                else:
                    raise _FlagError(f"flag needs an argument: '{c}' in -{c}")
                break
            continue
        if path_words and s == path_words[0]:
            path_words.pop(0)  # the command's own words are not arguments
            continue
        positional.append(s)
    return _Invocation(path=path, args=positional, values=values, changed=changed, lists=lists)


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# --- formatting ----------------------------------------------------------------------------


def human_bytes(n: int) -> str:
    """go-humanize's Bytes (SI units), as etcdctl's DB SIZE column prints sizes."""
    if n < 10:
        return f"{n} B"
    sizes = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    e = int(math.floor(math.log(n) / math.log(1000)))
    e = min(e, len(sizes) - 1)
    val = math.floor(n / math.pow(1000, e) * 10 + 0.5) / 10
    return f"{val:.0f} {sizes[e]}" if val >= 10 else f"{val:.1f} {sizes[e]}"


def _go_duration(seconds: float) -> str:
    """Go's time.Duration.String()."""
    ns = int(round(seconds * 1e9))
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)

    def frac(value: int, unit: int, digits: int) -> str:
        whole, rest = divmod(value, unit)
        tail = str(rest).rjust(digits, "0").rstrip("0")
        return f"{whole}.{tail}" if tail else str(whole)

    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{frac(ns, 1_000, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{frac(ns, 1_000_000, 6)}ms"
    hours, ns = divmod(ns, 3_600_000_000_000)
    minutes, ns = divmod(ns, 60_000_000_000)
    secs = frac(ns, 1_000_000_000, 9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return f"{sign}{secs}"


def _go_json(obj: object) -> str:
    """encoding/json's compact output (it escapes <, > and & but not other non-ASCII)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class GoFloat(float):
    """A float zap prints the Go way (shortest form, no trailing ".0")."""


def zap_json(entry: dict[str, object]) -> str:
    """A zap JSON log line: like encoding/json, but epoch timestamps are bare floats."""
    parts = []
    for key, value in entry.items():
        if isinstance(value, GoFloat):
            text = repr(float(value))
            text = text[:-2] if text.endswith(".0") else text
        else:
            text = _go_json(value)
        parts.append(f"{_go_json(key)}:{text}")
    return "{" + ",".join(parts) + "}"


def _wrap_words(words: list[str], limit: int) -> list[list[str]]:
    """tablewriter's minimum-raggedness line breaking (spaces of 1, penalty 1e5)."""
    n = len(words)
    lengths = [[0] * n for _ in range(n)]
    for i in range(n):
        lengths[i][i] = len(words[i])
        for j in range(i + 1, n):
            lengths[i][j] = lengths[i][j - 1] + 1 + len(words[j])
    breaks = [0] * n
    cost = [2**31 - 1] * n
    for i in range(n - 1, -1, -1):
        if lengths[i][n - 1] <= limit:
            cost[i] = 0
            breaks[i] = n
            continue
        for j in range(i + 1, n):
            d = limit - lengths[i][j - 1]
            c = d * d + cost[j]
            if lengths[i][j - 1] > limit:
                c += 100_000
            if c < cost[i]:
                cost[i] = c
                breaks[i] = j
    lines = []
    i = 0
    while i < n:
        lines.append(words[i : breaks[i]])
        i = breaks[i]
    return lines


def _cell_lines(text: str, max_width: int = 30) -> tuple[list[str], int]:
    """A cell's lines and the width it claims (tablewriter's parseDimension).

    A wrapped cell claims the full wrap width even when its lines come out narrower.
    """
    raw = text.split("\n")
    width = min(max(len(line) for line in raw), max_width)
    claimed = width
    out: list[str] = []
    for i, para in enumerate(raw):
        words = para.split(" ")
        limit = max([width] + [len(w) for w in words])
        if i > 0:
            out.append(" ")
        for line in _wrap_words(words, limit):
            joined = " ".join(line)
            claimed = max(claimed, len(joined))
            out.append(joined)
    return out, claimed


def _render_table(header: list[str], rows: list[list[str]]) -> str:
    """olekukonko/tablewriter as etcdctl sets it up: right aligned, cells wrapped at 30."""
    head_cells = [_cell_lines(h) for h in header]
    body_cells = [[_cell_lines(c) for c in row] for row in rows]
    widths = [w for _, w in head_cells]
    for row_cells in body_cells:
        for i, (_, w) in enumerate(row_cells):
            widths[i] = max(widths[i], w)
    head = [lines for lines, _ in head_cells]
    body = [[lines for lines, _ in row_cells] for row_cells in body_cells]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"

    def center(s: str, w: int) -> str:
        gap = w - len(s)
        left = gap // 2
        return " " * left + s + " " * (gap - left)

    out = [border]
    for k in range(max(len(lines) for lines in head)):
        cells = [center(lines[k] if k < len(lines) else "", w) for lines, w in zip(head, widths)]
        out.append("|" + "|".join(f" {c} " for c in cells) + "|\n")
    out.append(border)
    for row in body:
        for k in range(max(len(lines) for lines in row)):
            cells = [(lines[k] if k < len(lines) else "").rjust(w) for lines, w in zip(row, widths)]
            out.append("|" + "|".join(f" {c} " for c in cells) + "|\n")
    out.append(border)
    return "".join(out)


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
        self.inv: _Invocation | None = None
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
        roots = _ROOT_COMMANDS_34 if self.flavor == "3.4" else _ROOT_COMMANDS_35
        root_flags = _flags_for((), self.flavor)
        words = _strip_flags(self.argv, root_flags)
        if not words:
            try:
                _parse_flags(self.argv, root_flags, ())
            except _FlagError as exc:
                return self._flag_error((), str(exc))
            self.io.out(self._root_help())
            return EXIT_SUCCESS
        first = words[0]
        if first not in roots:
            return self._unknown_command(first, roots)
        path: tuple[str, ...] = (first,)
        subs = _SUBCOMMANDS.get(first)
        if subs:
            sub_words = _strip_flags(self.argv, _flags_for(path, self.flavor))
            nxt = sub_words[1] if len(sub_words) > 1 else None
            if nxt in subs:
                path = (first, nxt)
        flags = _flags_for(path, self.flavor)
        try:
            inv = _parse_flags(self.argv, flags, path)
        except _FlagError as exc:
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
        head = _HELP.get(key)
        if head is None:
            return self._root_help()
        head = head.replace("{api}", self.api).replace(
            "{count_only}", _GET_COUNT_ONLY if self.flavor == "3.5" else ""
        )
        cluster = _CLUSTER_GLOBAL if path[:1] == ("endpoint",) and len(path) > 1 else ""
        return head + "GLOBAL OPTIONS:\n" + _GLOBAL_OPTIONS.replace("{cluster}", cluster) + "\n"

    def _root_help(self) -> str:
        roots = _ROOT_COMMANDS_34 if self.flavor == "3.4" else _ROOT_COMMANDS_35
        lines = []
        for name in roots:
            for sub in _SUBCOMMANDS.get(name, ("",)):
                lines.append(f"\t{name} {sub}".rstrip() + "\n")
        options = _GLOBAL_OPTIONS.replace("{cluster}", "").replace(
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
            and (_levenshtein(word.lower(), r.lower()) <= 2 or r.lower().startswith(word.lower()))
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
        inherited = _inherited_flags(self.inv.path)
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
        file, func, line = _COMMAND_FUNCS.get(" ".join(self.inv.path), ("ctl.go", "Start", 107))
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
            return _parse_go_duration(self.inv.get("command-timeout"))
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
            self.io.out(_go_json(items) + "\n")
        elif fmt == "table":
            header = [
                "ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER",
                "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS",
            ]
            table_rows = [self._status_cells(ep, m, leader_id, errors_common) for ep, m in rows]
            self.io.out(_render_table(header, table_rows))
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
            slow = _go_duration(timeout + self.rng.uniform(0.0002, 0.0012))
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
                took = _go_duration(self.rng.uniform(0.0015, 0.0035))
                results.append((ep, False, took, f"Active Alarm(s): {kinds}"))
            else:
                results.append((ep, True, _go_duration(self.rng.uniform(0.0015, 0.0035)), ""))
        fmt = self.inv.get("write-out")
        if fmt == "json":
            items = []
            for ep, ok, took, error in results:
                item: dict[str, object] = {"endpoint": ep, "health": ok, "took": took}
                if error:
                    item["error"] = error
                items.append(item)
            self.io.out(_go_json(items) + "\n")
        elif fmt == "table":
            self.io.out(
                _render_table(
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
            self.io.out(_go_json(body) + "\n")
        elif fmt == "table":
            rows = [self._member_cells(m) for m in members]
            header = ["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"]
            self.io.out(_render_table(header, rows))
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
            self.io.out(_go_json(body) + "\n")
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
            self.io.out(_go_json({"header": self._header(served)}) + "\n")
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
            self.io.out(_go_json({"header": self._header(served)}) + "\n")
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
