"""The inventory's `etcdctl` prefix: parsed when the inventory loads, rendered at one place.

The prefix says how to run etcdctl against a host's own member. It is one command, of the
shape

    [crictl exec [FLAGS] CONTAINER] [env [-u NAME]... [NAME=VALUE]...] etcdctl [GLOBAL FLAGS]

(without crictl exec, NAME=VALUE assignments may also be written before etcdctl as a shell
does), where CONTAINER is a container id or name, or exactly OpenShift's lookup of the running
etcdctl container:

    "$(crictl ps --name '^etcdctl$' --state running -q | head -n 1)"

recognised by its structure (only the name pattern may differ). Nothing else is accepted:
no `&&`, `;`, pipes, redirections, backticks, variables or other `$(...)`. The text is split
into words once; `{name}` and `{address}` are then replaced inside the words, and the words
are quoted for the shell when the command is rendered. A template's own quoting therefore
no longer decides how a value reaches the shell: an address with `$(...)` in it stays text.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Union

PLACEHOLDERS = ("name", "address")
SHAPE = ("[crictl exec [FLAGS] CONTAINER] [env [-u NAME]... [NAME=VALUE]...] etcdctl "
         "[--endpoints=... --cacert=... --cert=... --key=... ...]")


class PrefixError(ValueError):
    """Why a prefix is not of the accepted shape (one sentence, for the inventory error)."""


@dataclass(frozen=True)
class ContainerLookup:
    """`"$(crictl ps --name PATTERN --state running -q | head -n 1)"`: the first running
    container whose name matches PATTERN (OpenShift's etcdctl container by default)."""

    name_pattern: str = "^etcdctl$"

    def render(self) -> str:
        return (f'"$(crictl ps --name {shlex.quote(self.name_pattern)} --state running -q '
                f'| head -n 1)"')


Word = Union[str, ContainerLookup]

# the lookup, as a shell would read it: the pattern single-quoted, double-quoted or bare
_LOOKUP = re.compile(
    r'''(?P<q>"?)\$\(\s*crictl\s+ps\s+--name(?:\s+|=)'''
    r'''(?:'(?P<sq>[^']*)'|"(?P<dq>[^"$`\\]*)"|(?P<bare>[A-Za-z0-9._^-]+\$?))'''
    r'''\s+--state(?:\s+|=)running\s+-q\s*\|\s*head\s+-n\s*1\s*\)(?P=q)''')
_NAME_PATTERN = re.compile(r"\^?[A-Za-z0-9][A-Za-z0-9._-]*\$?")
_CONTAINER = re.compile(r"[A-Za-z0-9{][A-Za-z0-9._{}-]*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_ETCDCTL_PATH = re.compile(r"(/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)*/etcdctl")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+")

# crictl exec's flags that may come before the container (none of them changes what runs)
_EXEC_BOOL = {"-i", "-t", "-it", "-ti", "--interactive", "--tty", "-s", "--sync"}
_EXEC_VALUE = {"--timeout"}  # seconds

# etcdctl's global flags a prefix may set (etcdctl 3.4-3.6 `etcdctl --help`, OPTIONS):
# name -> how its value is checked; None means a boolean (`--flag` or `--flag=true|false`)


def _duration(v: str) -> bool:
    return bool(_DURATION.fullmatch(v))


def _value(v: str) -> bool:
    return bool(v) and not v.startswith("-") and "\n" not in v


PREFIX_FLAGS: dict[str, object] = {
    "--endpoints": _value, "--cacert": _value, "--cert": _value, "--key": _value,
    "--user": _value, "--password": _value,
    "--command-timeout": _duration, "--dial-timeout": _duration,
    "--keepalive-time": _duration, "--keepalive-timeout": _duration,
    "--insecure-skip-tls-verify": None, "--insecure-transport": None,
}
_BOOLS = {"true", "false", "True", "False", "TRUE", "FALSE", "1", "0", "t", "f", "T", "F"}


@dataclass(frozen=True)
class EtcdctlPrefix:
    """A parsed prefix. Its words are plain text (no shell syntax) except the lookup."""

    program: str = "etcdctl"  # `etcdctl`, or an absolute path ending in /etcdctl
    flags: tuple[str, ...] = ()  # etcdctl's global flags, as words
    container: str | ContainerLookup | None = None  # crictl exec's container; None: on the host
    exec_flags: tuple[str, ...] = ()
    use_env: bool = False  # written with `env` (else assignments are the shell's own)
    env_unset: tuple[str, ...] = ()
    env_set: tuple[tuple[str, str], ...] = ()

    def words(self) -> tuple[Word, ...]:
        out: list[Word] = []
        if self.container is not None:
            out += ["crictl", "exec", *self.exec_flags, self.container]
        if self.use_env:
            out.append("env")
            for name in self.env_unset:
                out += ["-u", name]
        out += [f"{k}={v}" for k, v in self.env_set]
        out += [self.program, *self.flags]
        return tuple(out)

    def render(self) -> str:
        """The shell text: every word quoted, the lookup in its one fixed form. The only
        place a prefix becomes shell text."""
        out: list[str] = []
        if self.container is not None:
            out += ["crictl", "exec", *map(shlex.quote, self.exec_flags),
                    self.container.render() if isinstance(self.container, ContainerLookup)
                    else shlex.quote(self.container)]
        if self.use_env:
            out.append("env")
            for name in self.env_unset:
                out += ["-u", shlex.quote(name)]
        # NAME='v a l' (quoting the whole word would make it a command name, not an assignment)
        out += [f"{k}={shlex.quote(v)}" for k, v in self.env_set]
        out += [shlex.quote(self.program), *map(shlex.quote, self.flags)]
        return " ".join(out)

    def expand(self, **values: str) -> "EtcdctlPrefix":
        """The prefix for one host: {name}/{address} replaced inside the words (values are
        text; rendering quotes them)."""
        def sub(word: str) -> str:
            return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), word)

        container = self.container
        if isinstance(container, str):
            container = sub(container)
        return replace(self, flags=tuple(sub(f) for f in self.flags), container=container,
                       env_set=tuple((k, sub(v)) for k, v in self.env_set))

    @property
    def etcdctl_name(self) -> str:
        return self.program.rsplit("/", 1)[-1]


# --- parsing ---------------------------------------------------------------------------------

_SHELL_ONLY = {
    ";": "`;` (a second command)", "&": "`&` (`&&` or a background command)",
    "|": "`|` (a pipe)", "<": "`<` (a redirection)", ">": "`>` (a redirection)",
    "(": "`(` (a subshell)", ")": "`)`", "`": "a backtick (command substitution)",
    "$": "`$` (a variable or command substitution)", "*": "`*` (a file name pattern)",
    "?": "`?` (a file name pattern)",
}


def tokenize(text: str) -> list[Word]:
    """Split `text` into words the way sh would, refusing every piece of shell syntax but
    quotes and backslashes (and the one recognised container lookup)."""
    words: list[Word] = []
    cur: list[str] | None = None
    i, n = 0, len(text)

    def end_word():
        nonlocal cur
        if cur is not None:
            words.append("".join(cur))
        cur = None

    while i < n:
        c = text[i]
        if c in " \t":
            end_word()
            i += 1
            continue
        if c in "\r\n":
            raise PrefixError("it has a line break: the prefix is one command on one line")
        if cur is None:
            m = _LOOKUP.match(text, i)
            if m:
                pattern = next(g for g in (m.group("sq"), m.group("dq"), m.group("bare"))
                               if g is not None)
                if not _NAME_PATTERN.fullmatch(pattern):
                    raise PrefixError(f"the container lookup's name pattern {pattern!r} is not "
                                      f"a container name (letters, digits, . _ -, optionally "
                                      f"^...$)")
                if m.end() < n and text[m.end()] not in " \t":
                    raise PrefixError("the container lookup must be a word of its own")
                words.append(ContainerLookup(pattern))
                i = m.end()
                continue
            if c == "#":
                raise PrefixError("`#` starts a shell comment: quote it if it is part of a value")
            if c == "~":
                raise PrefixError("`~` is expanded by the shell: write the full path")
        if c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise PrefixError("a single quote is not closed")
            cur = (cur or []) + [text[i + 1:j]]
            i = j + 1
        elif c == '"':
            cur = cur or []
            i += 1
            while True:
                if i >= n:
                    raise PrefixError("a double quote is not closed")
                d = text[i]
                if d == '"':
                    i += 1
                    break
                if d in "$`":
                    what = "`$`" if d == "$" else "a backtick"
                    raise PrefixError(f"{what} inside double quotes is expanded by the shell "
                                      f"(only the etcdctl container lookup is recognised): "
                                      f"use single quotes for a literal value")
                if d == "\\" and i + 1 < n and text[i + 1] in '"\\$`':
                    cur.append(text[i + 1])
                    i += 2
                    continue
                cur.append(d)
                i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise PrefixError("it ends with a backslash")
            cur = (cur or []) + [text[i + 1]]
            i += 2
        elif c in _SHELL_ONLY:
            raise PrefixError(f"{_SHELL_ONLY[c]} is shell syntax: the prefix is one command")
        else:
            cur = (cur or []) + [c]
            i += 1
    end_word()
    return words


def _check_placeholders(word: str) -> None:
    for m in _PLACEHOLDER.finditer(word):
        if m.group(1) not in PLACEHOLDERS:
            raise PrefixError(f"{{{m.group(1)}}} in {word!r} is not a placeholder: only "
                              f"{{name}} and {{address}} are")
    rest = _PLACEHOLDER.sub("", word)
    if "{" in rest or "}" in rest:
        raise PrefixError(f"{word!r} has a brace that is not part of {{name}} or {{address}}")


def check_etcdctl_flags(words: list[str] | tuple[str, ...], template: bool = False) -> None:
    """The prefix's etcdctl flags: each a known global flag with its value."""
    i = 0
    while i < len(words):
        word = words[i]
        if not isinstance(word, str):
            raise PrefixError("the container lookup can only be crictl exec's container")
        name, eq, value = word.partition("=")
        check = PREFIX_FLAGS.get(name, False)
        if not word.startswith("--") or check is False:
            known = ", ".join(PREFIX_FLAGS)
            what = f"flag {word!r}" if word.startswith("-") else f"word {word!r}"
            raise PrefixError(f"etcdctl {what} is not accepted in the prefix (its global flags "
                              f"may be: {known}); the console adds the subcommand itself")
        if check is None:
            if eq and value not in _BOOLS:
                raise PrefixError(f"{name} is true or false, not {value!r}")
            i += 1
            continue
        if not eq:
            if i + 1 >= len(words) or not isinstance(words[i + 1], str):
                raise PrefixError(f"{name} needs a value")
            value = words[i + 1]
            i += 1
        probe = _PLACEHOLDER.sub("x", value) if template else value
        if not check(probe):  # type: ignore[operator]
            raise PrefixError(f"{name}: {value!r} is not a valid value")
        i += 1


def parse_words(words: list[Word] | tuple[Word, ...], template: bool = True) -> EtcdctlPrefix:
    """The grammar, on words (a template's, or an expanded prefix's own when re-checked)."""
    words = list(words)
    if not words:
        raise PrefixError("it is empty")
    if template:  # an expanded prefix's words are plain text, braces and all
        for w in words:
            if isinstance(w, str):
                _check_placeholders(w)
    i = 0
    container: str | ContainerLookup | None = None
    exec_flags: list[str] = []
    if words[0] == "crictl":
        if len(words) < 2 or words[1] != "exec":
            raise PrefixError("crictl in the prefix can only be `crictl exec ... CONTAINER`")
        i = 2
        while i < len(words) and isinstance(words[i], str) and words[i].startswith("-"):
            flag = words[i]
            name, eq, value = flag.partition("=")
            if flag in _EXEC_BOOL:
                exec_flags.append(flag)
            elif name in _EXEC_VALUE:
                if eq:
                    exec_flags.append(flag)
                else:
                    if i + 1 >= len(words) or not isinstance(words[i + 1], str):
                        raise PrefixError(f"crictl exec {name} needs a value")
                    value = words[i + 1]
                    exec_flags += [flag, value]
                    i += 1
                if not value.isdigit():
                    raise PrefixError(f"crictl exec {name} takes seconds, not {value!r}")
            else:
                raise PrefixError(f"crictl exec flag {flag!r} is not accepted in the prefix "
                                  f"(only -i, -t, -s, --timeout)")
            i += 1
        if i >= len(words):
            raise PrefixError("crictl exec needs a container and then etcdctl")
        target = words[i]
        if isinstance(target, str) and not _CONTAINER.fullmatch(target):
            raise PrefixError(f"crictl exec's container {target!r} is not a container id or "
                              f"name (or the etcdctl container lookup)")
        container = target
        i += 1
    use_env, unset, assigned = False, [], []
    if i < len(words) and words[i] == "env":
        use_env = True
        i += 1
        while i < len(words) and words[i] == "-u":
            if i + 1 >= len(words) or not isinstance(words[i + 1], str) or \
                    not _IDENT.fullmatch(words[i + 1]):
                raise PrefixError("env -u needs a variable name")
            unset.append(words[i + 1])
            i += 2
    if use_env or container is None:
        while i < len(words) and isinstance(words[i], str) and _ASSIGNMENT.fullmatch(words[i]):
            key, value = _ASSIGNMENT.fullmatch(words[i]).groups()  # type: ignore[union-attr]
            if not key.startswith("ETCDCTL_"):
                raise PrefixError(f"{key}= is not accepted: the prefix may set etcdctl's own "
                                  f"ETCDCTL_* variables only")
            assigned.append((key, value))
            i += 1
    if i >= len(words):
        raise PrefixError("it does not run etcdctl")
    program = words[i]
    if not isinstance(program, str) or not (program == "etcdctl"
                                            or _ETCDCTL_PATH.fullmatch(program)):
        shown = program.render() if isinstance(program, ContainerLookup) else program
        raise PrefixError(f"{shown!r} is not etcdctl: the prefix runs etcdctl (by name, or "
                          f"by an absolute path ending in /etcdctl)")
    flags = words[i + 1:]
    check_etcdctl_flags(flags, template)
    return EtcdctlPrefix(program=program, flags=tuple(flags),  # type: ignore[arg-type]
                         container=container, exec_flags=tuple(exec_flags), use_env=use_env,
                         env_unset=tuple(unset), env_set=tuple(assigned))


@lru_cache(maxsize=64)
def parse_prefix(text: str) -> EtcdctlPrefix:
    """Parse an inventory's `etcdctl` text; PrefixError says what is wrong with it."""
    if not isinstance(text, str):
        raise PrefixError("expected a string")
    return parse_words(tokenize(text), template=True)


def prefix_problem(prefix: EtcdctlPrefix) -> str | None:
    """Why an (expanded) prefix is not of the accepted shape, or None. The read-only check
    re-reads every prefix through the same grammar, whoever built it."""
    if not isinstance(prefix, EtcdctlPrefix):
        return "its prefix was not parsed"
    try:
        again = parse_words(prefix.words(), template=False)
    except PrefixError as e:
        return str(e)
    if again != prefix:
        return "its prefix does not read back as written"
    return None
