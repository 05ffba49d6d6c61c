"""How the drill shell expands a word, as bash does: `$VAR`, `${VAR...}` with its operators,
`$?`/`$#`/`$@`, `$(...)` command substitution, `~`, field splitting and `*` globs; the errors
bash prints for an unbound variable under `set -u` or `${VAR:?message}`.

`Expansion` is the part of the shell's interpreter (tui.drill.shell.Interp) that does it."""

from __future__ import annotations

import dataclasses
import re

from tui.drill.programs import BufferWriter
from tui.drill.shsyntax import CmdSub, Lit, Param, Word
from tui.drill.vfs import Vfs, has_glob


class ExpansionError(Exception):
    """A failed expansion (${x:?}, set -u): the message is printed, the command not run."""

    def __init__(self, message: str, fatal: bool = False):
        super().__init__(message)
        self.message = message
        self.fatal = fatal


def escape_glob(s: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", s)


class Expansion:
    """Variables and word expansion of a running shell (mixed into Interp: `self.s` is its
    session)."""

    def get_var(self, name: str) -> str | None:
        if name in self.s.env:
            return self.s.env[name]
        return self.s.vars.get(name)

    def set_var(self, name: str, value: str) -> None:
        if name in self.s.env:
            self.s.env[name] = value
        else:
            self.s.vars[name] = value

    async def _param_value(self, p: Param) -> str | None:
        name = p.name
        if name == "?":
            value: str | None = str(self.status)
        elif name == "$":
            value = "4242"
        elif name == "#":
            value = str(len(self.positional))
        elif name in ("@", "*"):
            value = " ".join(self.positional)
        elif name == "0":
            value = self.name
        elif name.isdigit():
            n = int(name)
            value = self.positional[n - 1] if 0 < n <= len(self.positional) else None
        elif name == "!":
            value = ""
        elif name == "-":
            value = "h" + ("e" if self.errexit else "") + ("u" if self.nounset else "") + \
                ("x" if self.xtrace else "") + "B"
        else:
            value = self.get_var(name)
        if p.length:
            return str(len(value or ""))
        op = p.op
        if op is None:
            if value is None and self.nounset and name not in ("@", "*"):
                raise ExpansionError(f"{self.prefix()}{name}: unbound variable\n", fatal=True)
            return value
        empty = value is None or (op.startswith(":") and value == "")
        base = op.lstrip(":")
        if base == "-":
            return await self.expand_string(p.arg) if empty else value
        if base == "=":
            if empty:
                value = await self.expand_string(p.arg)
                self.set_var(name, value)
            return value
        if base == "+":
            return "" if empty else await self.expand_string(p.arg)
        if base == "?":
            if empty:
                msg = await self.expand_string(p.arg) if p.arg else (
                    "parameter null or not set" if op == ":?" else "parameter not set")
                raise ExpansionError(f"{self.prefix()}{name}: {msg}\n", fatal=True)
            return value
        return value

    async def _cmdsub(self, c: CmdSub) -> str:
        buf = BufferWriter()
        sub_session = dataclasses.replace(self.s, stdout=buf, env=dict(self.s.env),
                                          vars=dict(self.s.vars))
        sub = type(self)(sub_session, name=self.name, origin=self.origin, args=self.positional,
                     stdin=self.stdin)
        sub.status = self.status
        sub.errexit, sub.nounset, sub.pipefail = False, self.nounset, self.pipefail
        status = await sub.run(c.src)
        self._cmdsub_status = status
        return buf.getvalue().rstrip("\n")

    async def _part_value(self, part) -> str | None:
        if isinstance(part, Param):
            return await self._param_value(part)
        return await self._cmdsub(part)

    def _tilde(self, text: str) -> tuple[str, str] | None:
        """(home, rest) for a leading ~, ~root or ~core; None if the word has no tilde."""
        head, sep, tail = text.partition("/")
        if head == "~":
            home = self.get_var("HOME") or ""
        elif head == "~root":
            home = "/root"
        elif head == "~core":
            home = "/home/core"
        else:
            return None
        return home, sep + tail

    async def expand_fields(self, word: Word, glob: bool = True) -> list[str]:
        """Word expansion, field splitting and pathname expansion, as for command words."""
        fields: list[list[tuple[str, bool]]] = []
        cur: list[tuple[str, bool]] = []
        has = False
        for idx, part in enumerate(word):
            if isinstance(part, Lit):
                text = part.text
                tilde = self._tilde(text) if idx == 0 and not part.quoted else None
                if tilde:
                    cur.append((tilde[0], True))  # the home directory is not a pattern
                    cur.append((tilde[1], False))
                else:
                    cur.append((text, part.quoted))
                has = has or part.quoted or bool(text)
                continue
            if isinstance(part, Param) and part.name == "@" and part.quoted and not part.op:
                # "$@": one field per positional parameter
                for i, arg in enumerate(self.positional):
                    if i > 0:
                        fields.append(cur)
                        cur = []
                    cur.append((arg, True))
                    has = True
                continue
            value = await self._part_value(part)
            if part.quoted:
                cur.append((value or "", True))
                has = True
                continue
            if not value:
                continue
            pieces = value.split()
            if value[0] in " \t\n" and has:
                fields.append(cur)
                cur, has = [], False
            for i, piece in enumerate(pieces):
                if i > 0:
                    fields.append(cur)
                    cur = []
                cur.append((piece, False))
                has = True
            if value[-1] in " \t\n" and has:
                fields.append(cur)
                cur, has = [], False
        if has:
            fields.append(cur)

        out: list[str] = []
        for f in fields:
            text = "".join(t for t, q in f)
            if glob and any(not q and has_glob(t) for t, q in f):
                pattern = "".join(t if not q else escape_glob(t) for t, q in f)
                matches = Vfs.for_session(self.s).glob(pattern)
                if matches:
                    out.extend(matches)
                    continue
            out.append(text)
        return out

    async def expand_string(self, word: Word | None) -> str:
        """Expansion without field splitting or globbing (assignments, ${x:-word})."""
        if not word:
            return ""
        out = []
        for idx, part in enumerate(word):
            if isinstance(part, Lit):
                text = part.text
                tilde = self._tilde(text) if idx == 0 and not part.quoted else None
                out.append("".join(tilde) if tilde else text)
            else:
                out.append(await self._part_value(part) or "")
        return "".join(out)
