"""Errors the operator reads.

Every error that can reach the operator is an EtcdDrError: it says what failed, where
(file, key, line, host) and what to do next. The CLI and the app print `str(error)`;
nothing else is ever shown, so no Python traceback reaches the operator.
"""

from __future__ import annotations


class EtcdDrError(Exception):
    """An error with an operator-facing message.

    what:  what failed, one sentence.
    where: file/key/line or host, when known.
    hint:  what to do next.
    exit_code: the CLI's exit code for it (2 = bad input/configuration/refused).
    """

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None):
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = []
        if self.where:
            parts.append(f"{self.where}: {self.what}")
        else:
            parts.append(self.what)
        if self.hint:
            parts.append(self.hint)
        return " ".join(p if p.endswith((".", "?", "!")) else p + "." for p in parts)


class ConfigError(EtcdDrError):
    """Bad inventory, kubeconfig, scenario or command-line input."""


class ReadOnlyRefused(EtcdDrError):
    """A mutating command or API call was refused because the console is read-only."""


class CommandFailed(EtcdDrError):
    """A command on a host did not do what it should (exit code 1 at the CLI)."""

    exit_code = 1


class ParseError(EtcdDrError):
    """A program printed something we cannot read (e.g. etcdctl output)."""

    exit_code = 1
