"""The read-only grammar: what a read-only console may send to a host, word by word.

In read-only mode the fleet refuses every command that is not, stage by stage, a sentence
of this grammar, whatever the screen that built it believed about it. Refuse by default:

- the program is a bare name (looked up on the host's PATH); the only paths are the two
  tools OpenShift's backup script leaves in TRUSTED_PATHS, for `snapshot status`;
- each program has the subcommands and flags etcd-dr itself sends in read-only mode, each
  flag with its arity and, where cheap, its values; an unknown flag, `--`, a flag glued to
  its value in a form we do not accept, or an extra word refuses;
- the inventory's etcdctl prefix is read through its own grammar again (tui/fleet/prefix.py)
  and its etcdctl flags are checked together with the stage, by the same etcdctl grammar;
- exported variables, data sent to the command's input and the attempt record's wrapper
  (which writes files on the host) are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from tui.fleet.batch import Batch
from tui.fleet.commands import Command
from tui.fleet.prefix import PREFIX_FLAGS, prefix_problem

Check = Callable[[str], bool]


class Refused(Exception):
    """Why a stage is not in the grammar (internal: refusal() returns the text)."""


# --- value checks ---------------------------------------------------------------------------

def _word(v: str) -> bool:
    """Any non-empty value that cannot be taken for a flag."""
    return bool(v) and not v.startswith("-")


def _one_of(*values: str) -> Check:
    allowed = set(values)
    return lambda v: v in allowed


def _match(pattern: str) -> Check:
    rx = re.compile(pattern)
    return lambda v: bool(rx.fullmatch(v))


_NUMBER = _match(r"\+?[0-9]{1,9}")
_DURATION = _match(r"([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+")
_UNIT = _match(r"[A-Za-z0-9@_.:\\-]+")
_ETCD_FORMATS = _one_of("json", "table", "simple", "fields")
_BOOLS = {"true", "false", "True", "False", "TRUE", "FALSE", "1", "0", "t", "f", "T", "F"}


# --- the grammar engine ---------------------------------------------------------------------

@dataclass(frozen=True)
class Flags:
    """A program's flags: booleans and flags that take a value (and how it is checked).

    Long flags take their value as `--flag value` or `--flag=value`; short ones as
    `-f value` only. `bundle`: single-letter booleans may be combined (`-la`).
    `pflag_bools`: booleans may be written `--flag=true|false` (Go's pflag)."""

    bools: frozenset[str] = frozenset()
    values: dict[str, Check] = field(default_factory=dict)
    bundle: bool = False
    pflag_bools: bool = False

    def read(self, args: list[str], program: str) -> tuple[list[tuple[str, str | None]], list[str]]:
        """(flags given, positional words), or Refused."""
        given: list[tuple[str, str | None]] = []
        words: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                raise Refused(f"{program}: `--` is not in the read-only grammar")
            if not arg.startswith("-") or arg == "-":
                if arg == "-":
                    raise Refused(f"{program}: `-` (standard input) is not in the read-only "
                                  f"grammar")
                words.append(arg)
                i += 1
                continue
            name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
            if name in self.values:
                if not eq:
                    if i + 1 >= len(args):
                        raise Refused(f"{program} {name} needs a value")
                    value = args[i + 1]
                    i += 1
                if not self.values[name](value):
                    raise Refused(f"{program} {name} {value!r} is not in the read-only grammar")
                given.append((name, value))
            elif name in self.bools:
                if eq and not (self.pflag_bools and value in _BOOLS):
                    raise Refused(f"{program} {name} takes no value")
                given.append((name, None))
            elif self.bundle and not arg.startswith("--") and len(arg) > 2 and \
                    all(f"-{c}" in self.bools for c in arg[1:]):
                given += [(f"-{c}", None) for c in arg[1:]]
            else:
                raise Refused(f"{program}: flag {arg!r} is not in the read-only grammar")
            i += 1
        return given, words


def _files(words: list[str], program: str, least: int = 1) -> None:
    if len(words) < least:
        raise Refused(f"{program} needs {'a file' if least == 1 else f'{least} files'}")


def _none(words: list[str], program: str) -> None:
    if words:
        raise Refused(f"{program}: {words[0]!r} is an extra word")


def _one_file(words: list[str], program: str) -> None:
    _files(words, program)
    _none(words[1:], program)


@dataclass(frozen=True)
class Simple:
    """A program without subcommands: flags, then a check of its positional words."""

    flags: Flags
    words: Callable[[list[str], str], None] = _none
    given: Callable[[list[tuple[str, str | None]], str], None] | None = None

    def check(self, program: str, args: list[str]) -> None:
        given, words = self.flags.read(args, program)
        if self.given is not None:
            self.given(given, program)
        self.words(words, program)


# --- etcdctl and etcdutl ----------------------------------------------------------------------

# global flags (etcdctl --help, OPTIONS) the console or an inventory prefix uses
# (the prefix's flags are the same table: a prefix and a stage are read by one grammar)
_ETCDCTL_GLOBAL = Flags(
    bools=frozenset(name for name, check in PREFIX_FLAGS.items() if check is None),
    values={"-w": _ETCD_FORMATS, "--write-out": _ETCD_FORMATS,
            **{name: check for name, check in PREFIX_FLAGS.items()  # type: ignore[misc]
               if check is not None}},
    pflag_bools=True)
# subcommand -> (its own flags, how many more words: a file for snapshot status)
_ETCDCTL_READS: dict[tuple[str, ...], tuple[frozenset[str], int]] = {
    ("endpoint", "status"): (frozenset({"--cluster"}), 0),
    ("endpoint", "health"): (frozenset({"--cluster"}), 0),
    ("endpoint", "hashkv"): (frozenset({"--cluster"}), 0),
    ("member", "list"): (frozenset(), 0),
    ("alarm", "list"): (frozenset(), 0),
    ("version",): (frozenset(), 0),
    ("snapshot", "status"): (frozenset(), 1),
}
_ETCDCTL = Flags(bools=_ETCDCTL_GLOBAL.bools | {"--cluster"}, values=_ETCDCTL_GLOBAL.values,
                 pflag_bools=True)
_ETCDUTL = Flags(values={"-w": _ETCD_FORMATS, "--write-out": _ETCD_FORMATS})


def _subcommand(words: list[str], reads, program: str) -> tuple[tuple[str, ...], list[str]]:
    for sub in sorted(reads, key=len, reverse=True):
        if tuple(words[:len(sub)]) == sub:
            return sub, words[len(sub):]
    shown = " ".join(words[:2]) or "(no subcommand)"
    raise Refused(f"'{program} {shown}' is not a read-only {program} command")


class _Etcdctl:
    def check(self, program: str, args: list[str]) -> None:
        given, words = _ETCDCTL.read(args, program)
        sub, rest = _subcommand(words, _ETCDCTL_READS, program)
        local, files = _ETCDCTL_READS[sub]
        for name, _ in given:
            if name == "--cluster" and name not in local:
                raise Refused(f"{program} {' '.join(sub)} does not take --cluster")
        if len(rest) != files:
            extra = rest[files] if len(rest) > files else None
            raise Refused(f"{program} {' '.join(sub)}: " + (f"{extra!r} is an extra word"
                                                            if extra else "a file is needed"))


class _Etcdutl:
    def check(self, program: str, args: list[str]) -> None:
        _, words = _ETCDUTL.read(args, program)
        sub, rest = _subcommand(words, {("snapshot", "status"), ("version",)}, program)
        if len(rest) != (1 if sub == ("snapshot", "status") else 0):
            raise Refused(f"{program} {' '.join(sub)}: wrong number of words")


# --- crictl, systemctl, journalctl, ip ---------------------------------------------------------

_CRICTL_SUBS: dict[str, tuple[Flags, int | None]] = {  # subcommand -> flags, words (None: 1+)
    "ps": (Flags(bools=frozenset({"-q", "--quiet", "-a", "--all", "--no-trunc", "-l",
                                  "--latest"}),
                 values={"--name": _word, "--state": _one_of(
                     "running", "exited", "created", "unknown", "Running", "Exited",
                     "Created", "Unknown"),
                         "--label": _word, "--id": _word, "--pod": _word,
                         "-o": _one_of("json", "yaml", "table"),
                         "--output": _one_of("json", "yaml", "table")}), 0),
    "pods": (Flags(bools=frozenset({"-q", "--quiet", "--no-trunc", "-l", "--latest"}),
                   values={"--name": _word, "--namespace": _word, "--label": _word,
                           "--state": _one_of("ready", "notready", "Ready", "NotReady"),
                           "-o": _one_of("json", "yaml", "table"),
                           "--output": _one_of("json", "yaml", "table")}), 0),
    "inspect": (Flags(values={"-o": _one_of("json", "yaml", "go-template", "table"),
                              "--output": _one_of("json", "yaml", "go-template", "table")}),
                None),
    "inspectp": (Flags(values={"-o": _one_of("json", "yaml", "table"),
                               "--output": _one_of("json", "yaml", "table")}), None),
    "version": (Flags(), 0),
}


class _Crictl:
    """`crictl SUBCOMMAND ...`: no global flags (-i, -r, --config ... choose another runtime
    or image endpoint and would turn the next word into their value)."""

    def check(self, program: str, args: list[str]) -> None:
        if not args or args[0] not in _CRICTL_SUBS:
            shown = args[0] if args else "(no subcommand)"
            raise Refused(f"'crictl {shown}' is not a read-only crictl command")
        flags, count = _CRICTL_SUBS[args[0]]
        _, words = flags.read(args[1:], f"crictl {args[0]}")
        if count is None and not words or count is not None and len(words) != count:
            raise Refused(f"crictl {args[0]}: wrong number of words")


_SYSTEMCTL_VERBS = {"is-active", "is-enabled", "is-failed", "status", "show", "list-units"}
_SYSTEMCTL = Flags(bools=frozenset({"--no-pager", "-q", "--quiet", "--no-legend", "-l",
                                    "--full", "--plain"}))


class _Systemctl:
    def check(self, program: str, args: list[str]) -> None:
        _, words = _SYSTEMCTL.read(args, program)
        if not words or words[0] not in _SYSTEMCTL_VERBS:
            shown = words[0] if words else "(no verb)"
            raise Refused(f"'systemctl {shown}' is not a read-only systemctl command")
        for unit in words[1:]:
            if not _UNIT(unit):
                raise Refused(f"systemctl: {unit!r} is not a unit name")
        if words[0].startswith("is-") and len(words) < 2:
            raise Refused(f"systemctl {words[0]} needs a unit")


_JOURNALCTL = Flags(
    bools=frozenset({"--no-pager", "-q", "--quiet", "-r", "--reverse", "--utc", "-k",
                     "--dmesg", "--no-hostname"}),
    values={"-u": _UNIT, "--unit": _UNIT, "-n": _NUMBER, "--lines": _NUMBER,
            "--since": _word, "--until": _word, "-t": _word, "--identifier": _word,
            "-p": _match(r"[0-7a-z.]+"), "--priority": _match(r"[0-7a-z.]+"),
            **{flag: _one_of("short", "short-iso", "short-iso-precise", "short-precise",
                             "short-monotonic", "short-unix", "cat", "json", "verbose",
                             "with-unit") for flag in ("-o", "--output")}})

_IP_OPTIONS = {"-o", "-oneline", "-j", "-json", "-4", "-6", "-br", "-brief", "-d",
               "-details", "-s", "-stats", "-p", "-pretty"}
_IP_OBJECTS = {"address", "addr", "a", "route", "r", "link", "l"}


class _Ip:
    """`ip [OPTIONS] address|route|link [show|list [dev NAME]]`. ip reads its options only
    before the object; -batch, -force, -netns and friends are not among them."""

    def check(self, program: str, args: list[str]) -> None:
        i = 0
        while i < len(args) and args[i].startswith("-"):
            if args[i] not in _IP_OPTIONS:
                raise Refused(f"ip: option {args[i]!r} is not in the read-only grammar")
            i += 1
        rest = args[i:]
        if not rest or rest[0] not in _IP_OBJECTS:
            raise Refused(f"'ip {rest[0] if rest else ''}' is not a read-only ip command")
        rest = rest[1:]
        if rest and rest[0] in {"show", "list", "ls", "lst"}:
            rest = rest[1:]
        if rest and rest[0] == "dev" and len(rest) == 2 and _UNIT(rest[1]):
            rest = []
        if rest:
            raise Refused(f"ip: {rest[0]!r} is not in the read-only grammar (only show/list, "
                          f"optionally with dev NAME)")


# --- small generic tools --------------------------------------------------------------------

def _date_words(words: list[str], program: str) -> None:
    """At most one +FORMAT: any other word sets the clock."""
    if len(words) > 1 or words and not words[0].startswith("+"):
        raise Refused("date: only +FORMAT may follow (another word sets the clock)")


class _Grep(Simple):
    def check(self, program: str, args: list[str]) -> None:
        given, words = self.flags.read(args, program)
        if not any(name in ("-e", "--regexp") for name, _ in given) and not words:
            raise Refused(f"{program} needs a pattern")


def _tar_check(program: str, args: list[str]) -> None:
    """`tar -tzf FILE`: list an archive (t, v, z/j/J, f last), nothing else."""
    if len(args) != 2 or not re.fullmatch(r"-?t[vzjJ]*f|-?[vzjJ]*t[vzjJ]*f", args[0]) or \
            not _word(args[1]):
        raise Refused("tar: only `tar -tzf FILE` (list an archive) is in the read-only grammar")


def _test_check(program: str, args: list[str]) -> None:
    if len(args) != 2 or args[0] not in {"-e", "-f", "-d", "-s", "-r", "-x", "-L", "-h"} or \
            not _word(args[1]):
        raise Refused("test: only `test -e|-f|-d|-s|-r|-x|-L PATH` is in the read-only grammar")


_FIND_PRIMARIES: dict[str, Check] = {
    "-maxdepth": _NUMBER, "-mindepth": _NUMBER, "-name": lambda v: bool(v),
    "-iname": lambda v: bool(v), "-type": _one_of("f", "d", "l"),
}


def _find_check(program: str, args: list[str]) -> None:
    """`find PATH... [-maxdepth N] [-mindepth N] [-type f|d|l] [-name PATTERN]`: no actions
    (-delete, -exec, -fprint ... are not in it), no operators."""
    i = 0
    while i < len(args) and not args[i].startswith("-") and args[i] not in ("(", "!", ")"):
        i += 1
    if i == 0:
        raise Refused("find needs a starting directory")
    while i < len(args):
        primary = args[i]
        check = _FIND_PRIMARIES.get(primary)
        if check is None:
            raise Refused(f"find: {primary!r} is not in the read-only grammar")
        if i + 1 >= len(args) or not check(args[i + 1]):
            raise Refused(f"find {primary} needs a valid value")
        i += 2


class _Custom:
    def __init__(self, fn: Callable[[str, list[str]], None]):
        self.fn = fn

    def check(self, program: str, args: list[str]) -> None:
        self.fn(program, args)


def _bools(*names: str) -> frozenset[str]:
    return frozenset(names)


_GREP = _Grep(Flags(bools=_bools("-v", "-E", "-F", "-i", "-q", "-c", "-w", "-x", "-n", "-h",
                                 "-H", "-s", "-o", "-l"),
                    values={"-e": lambda v: bool(v), "--regexp": lambda v: bool(v),
                            "-m": _NUMBER, "--max-count": _NUMBER}, bundle=True))
_HEAD_TAIL = Flags(bools=_bools("-q", "--quiet", "-v"),
                   values={"-n": _NUMBER, "--lines": _NUMBER, "-c": _NUMBER, "--bytes": _NUMBER})


def _any_words(words: list[str], program: str) -> None:
    pass


GRAMMAR: dict[str, object] = {
    "etcdctl": _Etcdctl(),
    "etcdutl": _Etcdutl(),
    "crictl": _Crictl(),
    "systemctl": _Systemctl(),
    "journalctl": Simple(_JOURNALCTL),
    "ip": _Ip(),
    "true": Simple(Flags()),
    "echo": Simple(Flags(), _any_words),
    "cat": Simple(Flags(), _files),
    "ls": Simple(Flags(bools=_bools("-1", "-a", "-A", "-l", "-d", "-h", "-t", "-r", "-S",
                                    "-n", "-i"), bundle=True), _any_words),
    "stat": Simple(Flags(bools=_bools("-L", "-t"),
                         values={"-c": lambda v: bool(v), "--format": lambda v: bool(v)}),
                   _files),
    "test": _Custom(_test_check),
    "find": _Custom(_find_check),
    "tar": _Custom(_tar_check),
    "hostname": Simple(Flags(bools=_bools("-f", "--fqdn", "--long", "-s", "--short", "-i",
                                          "--ip-address", "-I", "--all-ip-addresses", "-d",
                                          "--domain", "-A", "--all-fqdns"))),
    "uptime": Simple(Flags(bools=_bools("-p", "--pretty", "-s", "--since"))),
    "df": Simple(Flags(bools=_bools("-h", "-k", "-P", "-T", "-i", "-l"), bundle=True),
                 _any_words),
    "du": Simple(Flags(bools=_bools("-s", "-h", "-k", "-b", "-x", "-c", "-a"), bundle=True),
                 _any_words),
    "sha256sum": Simple(Flags(), _files),
    "base64": Simple(Flags(values={"-w": _NUMBER, "--wrap": _NUMBER}), _one_file),
    "date": Simple(Flags(bools=_bools("-u", "--utc", "-R", "--rfc-email", "-I")), _date_words),
    "id": Simple(Flags(bools=_bools("-u", "-g", "-G", "-n", "-r"), bundle=True),
                 lambda w, p: _none(w[1:], p)),
    "whoami": Simple(Flags()),
    "uname": Simple(Flags(bools=_bools(*(f"-{c}" for c in "asnrvmpio")), bundle=True)),
    "grep": _GREP,
    "egrep": _GREP,
    "head": Simple(_HEAD_TAIL, _any_words),
    "tail": Simple(_HEAD_TAIL, _any_words),  # no -f/-F/--follow: it never ends
    "wc": Simple(Flags(bools=_bools("-l", "-c", "-w", "-m", "-L"), bundle=True), _any_words),
    "sort": Simple(Flags(bools=_bools("-n", "-r", "-u", "-h", "-V", "-b", "-f", "-g", "-s",
                                      "-M"),
                         values={"-k": _match(r"[0-9.,a-zA-Z]+"),
                                 "--key": _match(r"[0-9.,a-zA-Z]+"),
                                 "-t": _match(r"[^\n]"), "--field-separator": _match(r"[^\n]")},
                         bundle=True), _any_words),  # never -o, --compress-program, -T
    "readlink": Simple(Flags(bools=_bools("-f", "-e", "-m", "-n", "-q", "-s", "-v", "-z"),
                             bundle=True), _files),
}

# The only programs sent by path: the tools OpenShift's cluster-backup.sh leaves in its
# root-owned bin directory (the restore preflight reads a backup's `snapshot status` with them).
_ETCDCTL_BIN_DIR = "/etc/kubernetes/static-pod-resources/bin"
TRUSTED_PATHS = {f"{_ETCDCTL_BIN_DIR}/etcdutl": "etcdutl",
                 f"{_ETCDCTL_BIN_DIR}/etcdctl": "etcdctl"}


def _program(word: str) -> str:
    if word in TRUSTED_PATHS:
        return TRUSTED_PATHS[word]
    if "/" in word:
        raise Refused(f"{word!r} is a path: read-only commands name programs by bare name")
    if word not in GRAMMAR:
        raise Refused(f"{word!r} is not on the read-only allowlist")
    return word


def check_stage(argv: tuple[str, ...] | list[str]) -> None:
    """Raise Refused unless `argv` (one stage) is in the read-only grammar."""
    if not argv:
        raise Refused("it is empty")
    program = _program(argv[0])
    GRAMMAR[program].check(program, list(argv[1:]))  # type: ignore[attr-defined]


def refusal(command: Command | Batch) -> str | None:
    """Why `command` may not run in read-only mode, or None when it may. A batch may when
    every one of its commands may (its glue is fixed text: tui/fleet/batch.py)."""
    if isinstance(command, Batch):
        return next(filter(None, map(refusal, command.commands)), None)
    if command.env:
        return "it exports environment variables for a script"
    if command.stdin is not None:
        return "it sends data to the command's input (nothing read-only does)"
    if command.attempt:
        return "it keeps an attempt record on the host (a write)"
    if not command.stages:
        return "it is empty"
    try:
        for i, stage in enumerate(command.stages):
            if i == 0 and command.prefix is not None:
                problem = prefix_problem(command.prefix)
                if problem:
                    return f"the etcdctl prefix is not in its grammar: {problem}"
                # the prefix's own etcdctl flags and the stage, read as one etcdctl command
                GRAMMAR["etcdctl"].check(  # type: ignore[attr-defined]
                    "etcdctl", [*command.prefix.flags, *stage])
            else:
                check_stage(stage)
    except Refused as e:
        return str(e)
    return None
