"""The read-only allowlist.

In read-only mode the fleet refuses every command with a stage not on this list, whatever
the screen that built it believed about it. The check reads the argv itself (program and
subcommand), so a mislabelled command cannot slip through. Unknown means refused.
"""

from __future__ import annotations

from typing import Callable, Iterable

from tui.fleet.commands import Command

_ETCDCTL_READ = {
    ("endpoint", "status"), ("endpoint", "health"), ("endpoint", "hashkv"),
    ("member", "list"), ("alarm", "list"), ("version",), ("snapshot", "status"),
}
# etcdctl global flags that take a separate value (`-w json`)
_ETCDCTL_VALUE_FLAGS = {"-w", "--write-out", "--endpoints", "--command-timeout", "--dial-timeout",
                        "--cacert", "--cert", "--key", "--user", "--password"}


def _positional(args: Iterable[str], value_flags: set[str] = frozenset()) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            if arg in value_flags:
                skip = True
            continue
        out.append(arg)
    return out


def _etcdctl(args: list[str]) -> bool:
    words = _positional(args, _ETCDCTL_VALUE_FLAGS)
    return any(tuple(words[: len(sub)]) == sub for sub in _ETCDCTL_READ)


def _crictl(args: list[str]) -> bool:
    words = _positional(args, {"--name", "--state", "--label", "--id", "--pod", "-o", "--output",
                               "--tail", "--since"})
    return bool(words) and words[0] in {"ps", "pods", "images", "inspect", "inspectp", "logs",
                                        "info", "version", "stats"}


def _systemctl(args: list[str]) -> bool:
    words = _positional(args)
    return bool(words) and words[0] in {"status", "is-active", "is-enabled", "show", "list-units"}


def _ip(args: list[str]) -> bool:
    words = _positional(args)
    return bool(words) and words[0] in {"address", "addr", "a", "route", "link"} and \
        (len(words) == 1 or words[1] in {"show", "list"})


def _any(_: list[str]) -> bool:
    return True


_ALLOW: dict[str, Callable[[list[str]], bool]] = {
    "etcdctl": _etcdctl,
    "crictl": _crictl,
    "systemctl": _systemctl,
    "ip": _ip,
    **{p: _any for p in ("true", "echo", "cat", "ls", "stat", "test", "hostname", "uptime",
                         "df", "du", "sha256sum", "date", "id", "whoami", "grep", "egrep",
                         "head", "tail", "wc", "sort", "journalctl", "readlink", "uname")},
}


def refusal(command: Command) -> str | None:
    """Why `command` may not run in read-only mode, or None when it may."""
    if command.env:
        return "it exports environment variables for a script"
    for i, stage in enumerate(command.stages):
        if i == 0 and command.prefix:
            program, args = command.prefix_program, list(stage)
        elif not stage:
            return "it is empty"
        else:
            program, args = stage[0].rsplit("/", 1)[-1], list(stage[1:])
        check = _ALLOW.get(program)
        if check is None:
            return f"{program!r} is not on the read-only allowlist"
        if not check(args):
            shown = " ".join((program, *args[:2]))
            return f"'{shown}' changes the host or cluster"
    return None
