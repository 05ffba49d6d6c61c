"""Shell builtins (cd, export, set, exit, ...) and the small programs bash also has built in
(echo, printf, test/[, true, false, pwd)."""

from __future__ import annotations

import dataclasses
import re

from tui.drill.commands.testcmd import test_command
from tui.drill.programs import COMMANDS, CommandContext, ExitShell, command
from tui.drill.vfs import FsError

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _interp(ctx: CommandContext):
    return ctx.interp


@command(":", path=None)
async def colon(ctx: CommandContext, argv: list[str]) -> int:
    return 0


@command("true", container=True)
async def true(ctx: CommandContext, argv: list[str]) -> int:
    return 0


@command("false", container=True)
async def false(ctx: CommandContext, argv: list[str]) -> int:
    return 1


@command("pwd", container=True)
async def pwd(ctx: CommandContext, argv: list[str]) -> int:
    ctx.out(ctx.session.cwd + "\n")
    return 0


@command("cd", path=None)
async def cd(ctx: CommandContext, argv: list[str]) -> int:
    args = [a for a in argv[1:] if a not in ("-L", "-P", "--")]
    if len(args) > 1:
        ctx.builtin_error("cd", "too many arguments")
        return 1
    s = ctx.session
    if not args:
        target = ctx.env.get("HOME") or s.env.get("HOME")
        if not target:
            ctx.builtin_error("cd", "HOME not set")
            return 1
    elif args[0] == "-":
        target = s.env.get("OLDPWD") or s.vars.get("OLDPWD")
        if not target:
            ctx.builtin_error("cd", "OLDPWD not set")
            return 1
        ctx.out(target + "\n")
    else:
        target = args[0]
    vfs = ctx.vfs
    try:
        p, kind = vfs.stat(target)
        if kind != "dir":
            raise FsError("Not a directory")
        if not vfs.can_exec(p):
            raise FsError("Permission denied")
    except FsError as e:
        ctx.builtin_error("cd", f"{target}: {e.strerror}")
        return 1
    old = s.cwd
    s.cwd = vfs.abspath(target)
    s.env["OLDPWD"] = old
    s.env["PWD"] = s.cwd
    return 0


@command("export", path=None)
async def export(ctx: CommandContext, argv: list[str]) -> int:
    s = ctx.session
    args = argv[1:]
    unexport = False
    while args and args[0].startswith("-") and args[0] != "-":
        a = args.pop(0)
        if a == "--":
            break
        if a == "-n":
            unexport = True
        elif a in ("-p", "-f"):
            continue
        else:
            ctx.builtin_error("export", f"{a}: invalid option")
            ctx.err("export: usage: export [-fn] [name[=value] ...] or export -p\n")
            return 2
    if not args:
        for k in sorted(s.env):
            v = s.env[k].replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
            ctx.out(f'declare -x {k}="{v}"\n')
        return 0
    status = 0
    for a in args:
        name, eq, value = a.partition("=")
        if not NAME_RE.match(name):
            ctx.builtin_error("export", f"`{a}': not a valid identifier")
            status = 1
            continue
        if unexport:
            if name in s.env:
                s.vars[name] = s.env.pop(name)
            continue
        if eq:
            s.env[name] = value
            s.vars.pop(name, None)
        elif name in s.vars:
            s.env[name] = s.vars.pop(name)
        # `export NAME` of an unset name marks it for later assignments in bash; nothing to
        # export until then, and the drill shell does not track the mark
    return status


@command("unset", path=None)
async def unset(ctx: CommandContext, argv: list[str]) -> int:
    s = ctx.session
    status = 0
    for a in argv[1:]:
        if a in ("-v", "-f", "-n", "--"):
            continue
        if not NAME_RE.match(a):
            ctx.builtin_error("unset", f"`{a}': not a valid identifier")
            status = 1
            continue
        s.env.pop(a, None)
        s.vars.pop(a, None)
    return status


@command("exit", path=None)
async def exit_(ctx: CommandContext, argv: list[str]) -> int:
    interp = _interp(ctx)
    code = interp.status if interp else 0
    if len(argv) > 1:
        a = argv[1]
        if not re.fullmatch(r"[+-]?\d+", a):
            ctx.builtin_error("exit", f"{a}: numeric argument required")
            raise ExitShell(2)
        if len(argv) > 2:
            ctx.builtin_error("exit", "too many arguments")
            return 1
        code = int(a) & 0xFF
    raise ExitShell(code)


SET_USAGE = "set: usage: set [-abefhkmnptuvxBCHP] [-o option-name] [--] [arg ...]\n"


@command("set", path=None)
async def set_(ctx: CommandContext, argv: list[str]) -> int:
    interp = _interp(ctx)
    args = argv[1:]
    if not args:
        s = ctx.session
        allv = {**s.vars, **s.env}
        for k in sorted(allv):
            ctx.out(f"{k}={_declare_quote(allv[k])}\n")
        return 0
    flags = {"e": "errexit", "u": "nounset", "x": "xtrace"}
    noops = set("hBH")
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            interp.positional = args[i + 1:]
            return 0
        if a in ("-o", "+o"):
            on = a == "-o"
            if i + 1 >= len(args):
                for opt in ("errexit", "nounset", "pipefail", "xtrace"):
                    ctx.out(f"{opt:<15}\t{'on' if getattr(interp, opt) else 'off'}\n")
                return 0
            opt = args[i + 1]
            if opt not in ("errexit", "nounset", "pipefail", "xtrace"):
                if opt in ("braceexpand", "hashall", "histexpand"):
                    i += 2
                    continue
                ctx.builtin_error("set", f"{opt}: invalid option name")
                ctx.err(SET_USAGE)
                return 2
            setattr(interp, opt, on)
            i += 2
            continue
        if a[:1] in "-+" and len(a) > 1:
            on = a[0] == "-"
            for c in a[1:]:
                if c in flags:
                    setattr(interp, flags[c], on)
                elif c in noops:
                    pass
                elif c == "o":
                    if i + 1 >= len(args):
                        ctx.builtin_error("set", "-o: option requires an argument")
                        return 2
                    opt = args[i + 1]
                    if opt not in ("errexit", "nounset", "pipefail", "xtrace"):
                        ctx.builtin_error("set", f"{opt}: invalid option name")
                        ctx.err(SET_USAGE)
                        return 2
                    setattr(interp, opt, on)
                    i += 1
                elif c in "abfhkmnptvCP":
                    ctx.builtin_error("set", f"-{c}: not supported by the drill shell")
                    return 2
                else:
                    ctx.builtin_error("set", f"-{c}: invalid option")
                    ctx.err(SET_USAGE)
                    return 2
            i += 1
            continue
        interp.positional = args[i:]
        return 0
    return 0


def _declare_quote(v: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]*", v):
        return v
    return "'" + v.replace("'", "'\\''") + "'"


@command("shift", path=None)
async def shift(ctx: CommandContext, argv: list[str]) -> int:
    interp = _interp(ctx)
    n = 1
    if len(argv) > 1:
        if not argv[1].isdigit():
            ctx.builtin_error("shift", f"{argv[1]}: numeric argument required")
            return 1
        n = int(argv[1])
    if n > len(interp.positional):
        return 1
    interp.positional = interp.positional[n:]
    return 0


@command("eval", path=None)
async def eval_(ctx: CommandContext, argv: list[str]) -> int:
    interp = _interp(ctx)
    text = " ".join(argv[1:])
    if not text.strip():
        return 0
    return await _run_inline(ctx, interp, text)


async def _run_inline(ctx: CommandContext, interp, text: str) -> int:
    # same shell, same variables; the caller's redirections apply to what it runs

    saved = interp.s

    interp.s = dataclasses.replace(saved, stdout=ctx.stdout, stderr=ctx.stderr)
    try:
        sub = interp.s.shell(name=interp.name, origin=interp.origin, args=interp.positional,
                     stdin=ctx.stdin)
        sub.errexit, sub.nounset, sub.pipefail, sub.xtrace = (
            interp.errexit, interp.nounset, interp.pipefail, interp.xtrace)
        sub.status = interp.status
        status = await sub.run(text)
        interp.errexit, interp.nounset, interp.pipefail, interp.xtrace = (
            sub.errexit, sub.nounset, sub.pipefail, sub.xtrace)
        if sub.exited:

            raise ExitShell(status)
        return status
    finally:
        saved.cwd = interp.s.cwd
        interp.s = saved


@command("source", path=None)
async def source(ctx: CommandContext, argv: list[str]) -> int:
    interp = _interp(ctx)
    if len(argv) < 2:
        ctx.builtin_error(argv[0], "filename argument required")
        ctx.err(f"{argv[0]}: usage: {argv[0]} filename [arguments]\n")
        return 2
    try:
        text = ctx.vfs.read_text(argv[1])
    except FsError as e:
        ctx.builtin_error(argv[0], f"{argv[1]}: {e.strerror}")
        return 1
    return await _run_inline(ctx, interp, text)


COMMANDS["."] = COMMANDS["source"]


@command("exec", path=None)
async def exec_(ctx: CommandContext, argv: list[str]) -> int:
    if len(argv) < 2:
        ctx.builtin_error("exec", "redirecting the shell itself is not supported by the "
                                  "drill shell")
        return 2
    status = await ctx.session.run_program(argv[1:], ctx.env, ctx.stdin, ctx.stdout,
                               ctx.stderr, shell_builtins=False, interp=ctx.interp)
    raise ExitShell(127 if status is None else status)


UNSUPPORTED_BUILTINS = ("read", "alias", "unalias", "trap", "wait", "jobs", "fg", "bg", "local",
                        "declare", "typeset", "readonly", "let", "getopts", "history", "ulimit",
                        "umask", "pushd", "popd", "dirs", "disown", "suspend", "caller",
                        "complete", "shopt", "enable", "hash", "help", "logout", "mapfile",
                        "readarray", "times", "return", "break", "continue", "builtin")


def _unsupported(name: str):
    async def run(ctx: CommandContext, argv: list[str]) -> int:
        ctx.builtin_error(name, "not supported by the drill shell")
        return 2

    return run


for _name in UNSUPPORTED_BUILTINS:
    command(_name, path=None)(_unsupported(_name))


# --- echo / printf ---------------------------------------------------------------------------

_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t", "v": "\v", "\\": "\\"}


def expand_escapes(s: str, *, echo: bool = False) -> tuple[str, bool]:
    """Backslash escapes as echo -e / printf %b read them. Returns (text, stop) where stop
    means \\c was met (no further output)."""
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\" or i + 1 >= len(s):
            out.append(c)
            i += 1
            continue
        d = s[i + 1]
        if d in _ESCAPES:
            out.append(_ESCAPES[d])
            i += 2
        elif d == "c":
            return "".join(out), True
        elif d == "0" or (not echo and d in "01234567"):
            j = i + 2 if d == "0" else i + 1
            m = re.match(r"[0-7]{1,3}", s[j:])
            digits = m.group() if m else ""
            out.append(chr(int(digits or "0", 8) & 0xFF))
            i = j + len(digits)
        elif d == "x":
            m = re.match(r"[0-9A-Fa-f]{1,2}", s[i + 2:])
            if m:
                out.append(chr(int(m.group(), 16)))
                i += 2 + len(m.group())
            else:
                out.append("\\x")
                i += 2
        else:
            out.append("\\" + d)
            i += 2
    return "".join(out), False


@command("echo", container=True)
async def echo(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        for c in args.pop(0)[1:]:
            if c == "n":
                newline = False
            elif c == "e":
                escapes = True
            else:
                escapes = False
    text = " ".join(args)
    if escapes:
        text, stop = expand_escapes(text, echo=True)
        if stop:
            ctx.out(text)
            return 0
    ctx.out(text + ("\n" if newline else ""))
    return 0


_CONV = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?([diouxXeEfFgGcsbq%])")


def _num(ctx: CommandContext, prog: str, s: str, errors: list[int]) -> int:
    t = s.strip()
    if t[:1] in ("'", '"'):
        return ord(t[1]) if len(t) > 1 else 0
    try:
        if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", t):
            return int(t, 16)
        if re.fullmatch(r"[+-]?0[0-7]+", t):
            return int(t, 8)
        return int(t)
    except ValueError:
        m = re.match(r"[+-]?\d+", t)
        _printf_error(ctx, prog, f"{s}: invalid number")
        errors.append(1)
        return int(m.group()) if m else 0


def _printf_error(ctx: CommandContext, prog: str, msg: str) -> None:
    if ctx.interp is not None:
        ctx.builtin_error("printf", msg)
    else:
        ctx.err(f"{prog}: {msg}\n")


def format_printf(ctx: CommandContext, fmt: str, args: list[str], prog: str = "printf",
                  ) -> tuple[str, int]:
    out: list[str] = []
    errors: list[int] = []
    args = list(args)
    while True:
        consumed = False
        pos = 0
        stop = False
        for m in _CONV.finditer(fmt):
            text, st = expand_escapes(fmt[pos:m.start()])
            out.append(text)
            if st:
                return "".join(out), 0
            pos = m.end()
            flags, width, prec, conv = m.groups()
            if conv == "%":
                out.append("%")
                continue

            def take() -> str | None:
                nonlocal consumed
                if args:
                    consumed = True
                    return args.pop(0)
                return None

            if width == "*":
                w = take()
                width = str(_num(ctx, prog, w, errors)) if w is not None else ""
            if prec == "*":
                p = take()
                prec = str(_num(ctx, prog, p, errors)) if p is not None else ""
            arg = take()
            spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
            if conv in "sbqc":
                if conv == "b":
                    val, stop = expand_escapes(arg or "")
                elif conv == "q":
                    # bash's %q escapes with backslashes, not quotes
                    val = re.sub(r"([^A-Za-z0-9_@%+=:,./-])", r"\\\1", arg) if arg else "''"
                elif conv == "c":
                    val = (arg or "")[:1]
                else:
                    val = arg or ""
                out.append((spec + "s") % val)
                if stop:
                    return "".join(out), 1 if errors else 0
            elif conv in "diouxX":
                n = _num(ctx, prog, arg, errors) if arg is not None else 0
                if conv == "u":
                    conv = "d"
                    n &= 0xFFFFFFFFFFFFFFFF
                out.append((spec + ("d" if conv == "i" else conv)) % n)
            else:
                try:
                    f = float(arg) if arg is not None else 0.0
                except ValueError:
                    _printf_error(ctx, prog, f"{arg}: invalid number")
                    errors.append(1)
                    f = 0.0
                out.append((spec + conv) % f)
        text, st = expand_escapes(fmt[pos:])
        out.append(text)
        if st or not args or not consumed:
            break
    return "".join(out), 1 if errors else 0


@command("printf", container=True)
async def printf(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    if args and args[0] == "-v":
        _printf_error(ctx, argv[0], "-v: not supported by the drill shell")
        return 2
    if not args:
        if ctx.interp is not None:
            ctx.builtin_error("printf", "usage: printf [-v var] format [arguments]")
        else:
            ctx.err(f"{argv[0]}: missing operand\nTry '{argv[0]} --help' for more information.\n")
        return 2 if ctx.interp is not None else 1
    text, status = format_printf(ctx, args[0], args[1:], argv[0])
    ctx.out(text)
    return status


# --- test / [ --------------------------------------------------------------------------------


command("test", container=True)(test_command)
command("[", container=True)(test_command)


# --- which / command / type ------------------------------------------------------------------


def _locate(ctx: CommandContext, name: str) -> tuple[str, str] | None:
    """("builtin"|"file", path or name) for what `name` runs in this shell."""
    cmd = COMMANDS.get(name)
    if cmd is not None and cmd.path is None:
        return ("builtin", name)
    found = ctx.session.find_program(name, ctx.env, shell_builtins=False)
    if found is None or found.kind == "error":
        return None
    if found.kind == "command" and "/" not in name and name in (
            "echo", "printf", "test", "[", "true", "false", "pwd"):
        return ("builtin", name)
    return ("file", found.path or name)


@command("which")
async def which(ctx: CommandContext, argv: list[str]) -> int:
    status = 0
    for name in argv[1:]:
        if name.startswith("-"):
            continue

        found = ctx.session.find_program(name, ctx.env, shell_builtins=False)
        if found is None or found.kind == "error":
            path = ctx.env.get("PATH", "")
            ctx.err(f"which: no {name} in ({path})\n")
            status = 1
        else:
            ctx.out((found.path or name) + "\n")
    return status


@command("command", path=None)
async def command_(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    mode = None
    while args and args[0].startswith("-") and args[0] != "-":
        a = args.pop(0)
        if a == "--":
            break
        if a in ("-v", "-V"):
            mode = a
        elif a != "-p":
            ctx.builtin_error("command", f"{a}: invalid option")
            return 2
    if not args:
        return 0
    if mode:
        status = 0
        for name in args:
            loc = _locate(ctx, name)
            if loc is None:
                if mode == "-V":
                    ctx.builtin_error("command", f"{name}: not found")
                status = 1
            elif mode == "-v":
                ctx.out(loc[1] + "\n")
            else:
                ctx.out(f"{name} is a shell builtin\n" if loc[0] == "builtin"
                        else f"{name} is {loc[1]}\n")
        return status
    status = await ctx.session.run_program(args, ctx.env, ctx.stdin, ctx.stdout, ctx.stderr,
                               shell_builtins=True, interp=ctx.interp)
    return 127 if status is None else status


@command("type", path=None)
async def type_(ctx: CommandContext, argv: list[str]) -> int:
    status = 0
    for name in argv[1:]:
        if name.startswith("-"):
            continue
        loc = _locate(ctx, name)
        if loc is None:
            ctx.builtin_error("type", f"{name}: not found")
            status = 1
        elif loc[0] == "builtin":
            ctx.out(f"{name} is a shell builtin\n")
        else:
            ctx.out(f"{name} is {loc[1]}\n")
    return status
