"""bash's `test` and `[` builtins on a drill host: file tests, string and integer comparisons,
`!`, `-a`/`-o` and parentheses, with bash's messages for a malformed expression."""

from __future__ import annotations

import re

from tui.drill.programs import CommandContext
from tui.drill.vfs import FsError

UNARY_FILE = set("efdsrwxLhbcpSgukOGNt")


BINARY = {"=", "==", "!=", "<", ">", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-nt", "-ot",
          "-ef"}


class _TestError(Exception):
    pass


class _Test:
    def __init__(self, ctx: CommandContext, name: str):
        self.ctx = ctx
        self.name = name

    def error(self, msg: str) -> _TestError:
        return _TestError(msg)

    def unary(self, op: str, arg: str) -> bool:
        if op == "-z":
            return arg == ""
        if op == "-n":
            return arg != ""
        c = op[1]
        vfs = self.ctx.vfs
        if c in "Lh":
            try:
                return vfs.lstat(arg)[1] == "link"
            except FsError:
                return False
        if c == "t":
            return False
        try:
            p, kind = vfs.stat(arg)
        except FsError:
            return False
        if c == "e":
            return True
        if c == "f":
            return kind == "file"
        if c == "d":
            return kind == "dir"
        if c == "s":
            return vfs.size(p) > 0
        if c == "r":
            return vfs.can_read(p)
        if c == "w":
            return vfs.can_write(p)
        if c == "x":
            return vfs.can_exec(p)
        if c == "c":
            return kind == "dev"
        if c == "O":
            return vfs.owner(p) == self.ctx.session.user
        if c == "G":
            return vfs.owner(p) == self.ctx.session.user
        if c == "k":
            return bool(vfs.mode(p) & 0o1000)
        return False

    def integer(self, s: str) -> int:
        if not re.fullmatch(r"\s*[+-]?\d+\s*", s):
            raise self.error(f"{s}: integer expression expected")
        return int(s)

    def binary(self, a: str, op: str, b: str) -> bool:
        if op in ("=", "=="):
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == ">":
            return a > b
        if op in ("-nt", "-ot", "-ef"):
            vfs = self.ctx.vfs
            try:
                pa, _ = vfs.stat(a)
                pb, _ = vfs.stat(b)
            except FsError:
                return False
            if op == "-ef":
                return pa == pb
            ta, tb = vfs.mtime(pa), vfs.mtime(pb)
            return ta > tb if op == "-nt" else ta < tb
        x, y = self.integer(a), self.integer(b)
        return {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-le": x <= y, "-gt": x > y,
                "-ge": x >= y}[op]

    def is_unary(self, op: str) -> bool:
        return op in ("-z", "-n") or (len(op) == 2 and op[0] == "-" and op[1] in UNARY_FILE)

    def evaluate(self, args: list[str]) -> bool:
        n = len(args)
        if n == 0:
            return False
        if n == 1:
            return args[0] != ""
        if n == 2:
            if args[0] == "!":
                return not self.evaluate(args[1:])
            if self.is_unary(args[0]):
                return self.unary(args[0], args[1])
            raise self.error(f"{args[0]}: unary operator expected")
        if n == 3:
            if args[1] in BINARY:
                return self.binary(args[0], args[1], args[2])
            if args[1] in ("-a", "-o"):
                return self._expr(args)
            if args[0] == "!":
                return not self.evaluate(args[1:])
            if args[0] == "(" and args[2] == ")":
                return self.evaluate([args[1]])
            raise self.error(f"{args[1]}: binary operator expected")
        if n == 4:
            if args[0] == "!":
                return not self.evaluate(args[1:])
            if args[0] == "(" and args[3] == ")":
                return self.evaluate(args[1:3])
        return self._expr(args)

    def _expr(self, args: list[str]) -> bool:
        self.toks = args
        self.i = 0
        v = self._or()
        if self.i < len(self.toks):
            raise self.error("too many arguments")
        return v

    def _peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _or(self) -> bool:
        v = self._and()
        while self._peek() == "-o":
            self.i += 1
            w = self._and()
            v = v or w
        return v

    def _and(self) -> bool:
        v = self._not()
        while self._peek() == "-a":
            self.i += 1
            w = self._not()
            v = v and w
        return v

    def _not(self) -> bool:
        if self._peek() == "!":
            self.i += 1
            return not self._not()
        return self._primary()

    def _primary(self) -> bool:
        t = self._peek()
        if t is None:
            raise self.error("argument expected")
        if t == "(":
            self.i += 1
            v = self._or()
            if self._peek() != ")":
                raise self.error("`)' expected")
            self.i += 1
            return v
        rest = len(self.toks) - self.i
        if rest >= 3 and self.toks[self.i + 1] in BINARY:
            a, op, b = self.toks[self.i:self.i + 3]
            self.i += 3
            return self.binary(a, op, b)
        if self.is_unary(t) and rest >= 2:
            self.i += 2
            return self.unary(t, self.toks[self.i - 1])
        self.i += 1
        return t != ""


async def test_command(ctx: CommandContext, argv: list[str]) -> int:
    name = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    if name == "[":
        if not args or args[-1] != "]":
            msg = "missing `]'" if ctx.interp is not None else "missing ']'"
            if ctx.interp is not None:
                ctx.builtin_error("[", msg)
            else:
                ctx.err(f"[: {msg}\n")
            return 2
        args = args[:-1]
    t = _Test(ctx, name)
    try:
        return 0 if t.evaluate(args) else 1
    except _TestError as e:
        if ctx.interp is not None:
            ctx.builtin_error(name, str(e))
        else:
            ctx.err(f"{name}: {e}\n")
        return 2
