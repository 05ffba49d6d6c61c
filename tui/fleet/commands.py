"""Commands as values: what runs on a host, built with proper quoting, never by string pasting.

A Command is a pipeline of argv stages. Every argument is quoted with shlex when the
command is rendered, so nothing from an inventory, a file name or an operator's answer can
reach a shell unquoted. The inventory's `etcdctl` prefix is no exception: it is parsed into
words when the inventory loads (tui/fleet/prefix.py), and rendered with the same quoting.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from enum import Enum

from tui.errors import ConfigError
from tui.fleet.attempts import wrap
from tui.secrets import redact_text
from tui.fleet.prefix import ContainerLookup, EtcdctlPrefix, PrefixError, parse_prefix, tokenize


class Safety(str, Enum):
    READ = "read-only"
    MUTATING = "mutating"
    DESTRUCTIVE = "destructive"


@dataclass(frozen=True)
class Command:
    stages: tuple[tuple[str, ...], ...]  # a pipeline: stage | stage | ...
    privileged: bool = False  # needs root: sent as `sudo -n sh -c '...'` when ssh.sudo is on
    # the inventory's etcdctl prefix, parsed (text is parsed on construction); stages[0]
    # holds etcdctl's arguments
    prefix: EtcdctlPrefix | None = None
    prefix_program: str = ""  # the program the prefix runs (set from the prefix itself)
    env: tuple[tuple[str, str], ...] = ()  # exported before the command (e.g. proxy vars)
    timeout: float = 30.0
    safety: Safety = Safety.READ
    secrets: tuple[str, ...] = field(default=(), compare=False)  # values never to log
    stdin: str | None = field(default=None, compare=False)  # sent to the command's input
    # an attempt record's id (tui/runbooks/attempts.py): sent wrapped so that the host keeps
    # the command's start, output and exit status, and the command runs to its end even when
    # the console dies; the journal and panes show the command itself
    attempt: str | None = None
    # how much of each output stream the RunResult keeps in memory (bytes; None: the fleet's
    # OUTPUT_CAP, 16 MiB): output over it makes the result an error, never cut silently
    max_output: int | None = field(default=None, compare=False)
    # a local file for the command's whole stdout (created 0600, streamed, not kept in
    # memory; the RunResult's stdout is then empty): for the steps that need all of a large
    # output. Panes still see its lines.
    output_to: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        prefix = self.prefix
        if isinstance(prefix, str):
            try:
                prefix = parse_prefix(prefix) if prefix else None
            except PrefixError as e:
                raise ConfigError(f"etcdctl prefix {self.prefix!r}: {e}") from None
            object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "prefix_program",
                           prefix.etcdctl_name if isinstance(prefix, EtcdctlPrefix) else "")

    @classmethod
    def of(cls, *argv: str, **kw) -> "Command":
        return cls(stages=(tuple(argv),), **kw)

    def pipe(self, *argv: str) -> "Command":
        return replace(self, stages=self.stages + (tuple(argv),))

    def script(self) -> str:
        """The shell text sent (inside sudo's `sh -c`): the command, in its attempt record's
        wrapper when it has one."""
        text = self.plain_script()
        if self.attempt:
            text = wrap(self.attempt, text)
        return text

    def plain_script(self) -> str:
        """The shell text of the command itself, without sudo or attempt record."""
        parts = [shlex.join(stage) for stage in self.stages]
        if self.prefix is not None:
            prefix = self.prefix.render()
            parts[0] = f"{prefix} {parts[0]}" if parts[0] else prefix
        return self._exports() + " | ".join(parts)

    def _exports(self) -> str:
        """`export K=V ...; ` for the exported values (empty without any)."""
        if not self.env:
            return ""
        return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env) + "; "

    def render(self, use_sudo: bool, recorded: bool = True) -> str:
        """The exact text sent over SSH (recorded=False: without the attempt record's
        wrapper, as journals and plans show the command)."""
        script = self.script() if recorded else self.plain_script()
        if self.privileged and use_sudo:
            # -n: never prompt (there is no terminal); a missing NOPASSWD rule fails at once.
            # -E keeps exported proxy variables, as the procedure's `sudo -E` does.
            flags = "-n -E" if self.env else "-n"
            return f"sudo {flags} sh -c {shlex.quote(script)}"
        if len(self.stages) == 1 and not self.prefix and not self.env and \
                not (recorded and self.attempt):
            return script
        return f"sh -c {shlex.quote(script)}"

    def redacted(self, use_sudo: bool) -> str:
        """The command as journals and panes show it: secrets replaced; an attempt record's
        wrapper is not shown (the journal line carries the attempt's id)."""
        shown = self._redacted_words()
        plain = shown.plain_script()
        script = redact_text(plain, self.secrets)
        full = shown.render(use_sudo, recorded=False)
        quoted = shlex.quote(plain)
        if full != plain and full.endswith(quoted):
            # sudo/sh -c quote the script once more: redact it before that quoting, where a
            # value's own quotes are still one level deep
            full = full[:-len(quoted)] + shlex.quote(script)
        elif full == plain:
            return script
        return redact_text(full, self.secrets)

    def display(self, use_sudo: bool = True) -> str:
        """Short form for panes: the script, with `sudo` where it runs under sudo; secrets
        replaced (this command's, the registered ones, and every shape tui/secrets.py knows).
        Pasted into a shell it does what was sent: exports go before `sudo -E`, as in the
        procedure, and a script sudo would not run whole (a pipeline, the etcdctl prefix's
        `$(crictl ps ...)`) is shown as `sudo sh -c '...'`, as it is sent."""
        words = self._redacted_words()
        if not (self.privileged and use_sudo):
            return redact_text(words.plain_script(), self.secrets)
        if len(self.stages) == 1 and not self.prefix:
            sudo = "sudo -E " if self.env else "sudo "
            text = words._exports() + sudo + replace(words, env=()).plain_script()
            return redact_text(text, self.secrets)
        # redacted before sh -c's quoting too, where a value's own quotes are one level deep
        script = redact_text(words.plain_script(), self.secrets)
        return redact_text(f"sudo sh -c {shlex.quote(script)}", self.secrets)

    def _redacted_words(self) -> "Command":
        """This command with each argument and exported value redacted on its own (before
        quoting: a value that is itself shell text keeps its own quoting readable); the
        callers redact the joined text too (`--password`, `X` are two words)."""
        return replace(self, stages=tuple(tuple(redact_text(word, self.secrets)
                                                for word in stage) for stage in self.stages),
                       env=tuple((k, redact_text(v, self.secrets)) for k, v in self.env))


def expand_prefix(template: str, **values: str) -> str:
    """Expand {name}/{address} in a one-command template: split into words first, values
    substituted inside the words, every word quoted (shell syntax in the template is an
    error, PrefixError). Commands use EtcdctlPrefix.expand; this is its text form."""
    out = []
    for word in tokenize(template):
        if isinstance(word, ContainerLookup):
            out.append(word.render())
            continue
        for key, value in values.items():
            word = word.replace("{" + key + "}", value)
        out.append(shlex.quote(word))
    return " ".join(out)
