"""etcdctl's command line as the drill's etcdctl parses it: its help texts (verbatim from
etcdctl 3.5.1; 3.4.23 differs only where noted), its flags as cobra/pflag read them (Go
durations and booleans, inherited flags, the errors and "did you mean" suggestions), and
which command a line names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GLOBAL_OPTIONS = (
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


CLUSTER_GLOBAL = "      --cluster[=false]\t\t\t\tuse all endpoints from the cluster member list\n"


HELP: dict[str, str] = {
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


GET_COUNT_ONLY = "      --count-only[=false]\t\tGet only the count\n"  # 3.5 only


ROOT_COMMANDS_34 = (
    "alarm", "auth", "check", "compaction", "completion", "defrag", "del", "elect", "endpoint",
    "get", "help", "lease", "lock", "make-mirror", "member", "migrate", "move-leader", "put",
    "role", "snapshot", "txn", "user", "version", "watch",
)


ROOT_COMMANDS_35 = tuple(c for c in ROOT_COMMANDS_34 if c not in ("completion", "migrate"))


SUBCOMMANDS: dict[str, tuple[str, ...]] = {
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
COMMAND_FUNCS = {
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


def parse_go_duration(text: str) -> float:
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
            parse_go_duration(value)
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


class FlagError(Exception):
    pass


@dataclass
class Invocation:
    path: tuple[str, ...]
    args: list[str]
    values: dict[str, str]
    changed: set[str]
    lists: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def flag_bool(self, name: str) -> bool:
        return _go_bool(self.values.get(name, "false"))


def flags_for(path: tuple[str, ...], version: str) -> dict[str, _Flag]:
    flags = {f.name: f for f in _GLOBAL_FLAGS}
    if path[:1] == ("endpoint",):
        flags["cluster"] = _CLUSTER_FLAG
    for flag in _LOCAL_FLAGS.get(" ".join(path), ()):
        if flag.name == "count-only" and version == "3.4":
            continue
        flags[flag.name] = flag
    return flags


def inherited_flags(path: tuple[str, ...]) -> list[str]:
    names = [f.name for f in _GLOBAL_FLAGS]
    if path[:1] == ("endpoint",) and len(path) > 1:
        names.append("cluster")
    return names


def strip_flags(args: list[str], flags: dict[str, _Flag]) -> list[str]:
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


def parse_flags(args: list[str], flags: dict[str, _Flag], path: tuple[str, ...]) -> Invocation:
    """pflag's parse: interspersed flags, `--name=v`, `--name v`, `-xv`, `-x v`, `--`."""
    values = {f.name: f.default for f in flags.values()}
    changed: set[str] = set()
    lists: dict[str, list[str]] = {}
    positional: list[str] = []
    by_short = {f.shorthand: f for f in flags.values() if f.shorthand}

    def set_value(flag: _Flag, value: str) -> None:
        problem = _flag_value_error(flag, value)
        if problem:
            raise FlagError(problem)
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
                raise FlagError(f"unknown flag: --{name}")
            if eq:
                set_value(flag, value)
            elif flag.kind == "bool":
                set_value(flag, "true")
            elif rest:
                set_value(flag, rest.pop(0))
            else:
                raise FlagError(f"flag needs an argument: --{name}")
            continue
        if s.startswith("-") and len(s) > 1:
            shorts = s[1:]
            i = 0
            while i < len(shorts):
                c = shorts[i]
                flag = by_short.get(c)
                if flag is None:
                    raise FlagError(f"unknown shorthand flag: '{c}' in -{shorts}")
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
                    raise FlagError(f"flag needs an argument: '{c}' in -{c}")
                break
            continue
        if path_words and s == path_words[0]:
            path_words.pop(0)  # the command's own words are not arguments
            continue
        positional.append(s)
    return Invocation(path=path, args=positional, values=values, changed=changed, lists=lists)


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
