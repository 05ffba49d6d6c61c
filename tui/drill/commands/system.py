"""Programs about the system and how things run: sh/bash, sudo, env, sleep, date, id,
hostname, uptime, systemctl, journalctl, ip."""

from __future__ import annotations

import dataclasses
import re

from tui.drill.commands.hostinfo import USERS
from tui.drill.commands.scripts import SCRIPTS
from tui.drill.programs import CommandContext, command, gnu_getopt, quote
from tui.drill.vfs import FsError

# --- sh / bash -------------------------------------------------------------------------------


@command("bash", container=True, extra_paths=("/bin",))
async def bash(ctx: CommandContext, argv: list[str]) -> int:
    return await run_shell(ctx, argv)


@command("sh", container=True, extra_paths=("/bin",))
async def sh(ctx: CommandContext, argv: list[str]) -> int:
    return await run_shell(ctx, argv)


async def run_shell(ctx: CommandContext, argv: list[str], *, name: str | None = None,
                    session=None, env: dict[str, str] | None = None) -> int:
    """bash/sh [-euxl] [-o opt] (-c SCRIPT [ARG0 ARGS...] | FILE [ARGS...] | <stdin)."""
    name = name or argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    cflag = False
    sets: dict[str, bool] = {}
    while args and args[0][:1] in "-+" and len(args[0]) > 1:
        a = args.pop(0)
        if a in ("--", "-"):
            break
        if a in ("--login", "--norc", "--noprofile", "--posix", "--noediting"):
            continue
        if a.startswith("--"):
            ctx.err(f"{name}: {a}: invalid option\nUsage:\t{name} [GNU long option] [option] "
                    "...\n")
            return 2
        on = a[0] == "-"
        for c in a[1:]:
            if c == "c":
                cflag = True
            elif c in "eux":
                sets[{"e": "errexit", "u": "nounset", "x": "xtrace"}[c]] = on
            elif c == "o":
                if not args:
                    ctx.err(f"{name}: -o: option requires an argument\n")
                    return 2
                opt = args.pop(0)
                if opt not in ("errexit", "nounset", "pipefail", "xtrace"):
                    ctx.err(f"{name}: {opt}: invalid option name\n")
                    return 2
                sets[opt] = on
            elif c in "lisB":
                continue
            else:
                ctx.err(f"{name}: -{c}: invalid option\nUsage:\t{name} [GNU long option] "
                        "[option] ...\n")
                return 2
    base = session or ctx.session
    child = dataclasses.replace(base, env=dict(env if env is not None else ctx.env), vars={},
                                stdout=ctx.stdout, stderr=ctx.stderr)
    if cflag:
        if not args:
            ctx.err(f"{name}: -c: option requires an argument\n")
            return 2
        script = args[0]
        arg0 = args[1] if len(args) > 1 else name
        interp = child.shell(name=arg0, origin="-c", args=args[2:], stdin=ctx.stdin)
    elif args:
        path = args[0]
        vfs = ctx.vfs
        real = vfs.abspath(path)
        if real in SCRIPTS and child.container is None and real in child.host.files:
            return await SCRIPTS[real](ctx, args)
        try:
            script = vfs.read_text(path)
        except FsError as e:
            ctx.err(f"{name}: {path}: {e.strerror}\n")
            return 127 if e.strerror.startswith("No such") else 126
        if script.startswith("\x7fELF"):
            ctx.err(f"{path}: {path}: cannot execute binary file\n")
            return 126
        interp = child.shell(name=path, origin=path, args=args[1:], stdin=ctx.stdin)
    else:
        script = ctx.stdin.read()
        interp = child.shell(name=name, origin="-c", stdin=ctx.stdin)
    for opt, on in sets.items():
        setattr(interp, opt, on)
    return await interp.run(script)


# --- sudo ------------------------------------------------------------------------------------

SUDO_USAGE = (
    "usage: sudo -h | -K | -k | -V\n"
    "usage: sudo -v [-ABkNnS] [-g group] [-h host] [-p prompt] [-u user]\n"
    "usage: sudo -l [-ABkNnS] [-g group] [-h host] [-p prompt] [-U user] [-u user] [command]\n"
    "usage: sudo [-ABbEHkNnPS] [-r role] [-t type] [-C num] [-D directory] [-g group] "
    "[-h host] [-p prompt] [-R directory] [-T timeout] [-u user] [VAR=value] [-i|-s] "
    "[<command>]\n"
    "usage: sudo -e [-ABkNnS] [-r role] [-t type] [-C num] [-D directory] [-g group] "
    "[-h host] [-p prompt] [-R directory] [-T timeout] [-u user] file ...\n")
# RHEL's /etc/sudoers: env_reset with this env_keep list, and this secure_path
SUDO_ENV_KEEP = {"COLORS", "DISPLAY", "HOSTNAME", "HISTSIZE", "KDEDIR", "LS_COLORS", "MAIL",
                 "QTDIR", "USERNAME", "LANG", "LC_ADDRESS", "LC_CTYPE", "LC_COLLATE",
                 "LC_IDENTIFICATION", "LC_MEASUREMENT", "LC_MESSAGES", "LC_MONETARY",
                 "LC_NAME", "LC_NUMERIC", "LC_PAPER", "LC_TELEPHONE", "LC_TIME", "LC_ALL",
                 "LANGUAGE", "LINGUAS", "_XKB_CHARSET", "XAUTHORITY", "TERM"}
SUDO_SECURE_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"


def _sudo_escape(arg: str) -> str:
    # sudo -i/-s hands the command to the shell with non-alphanumerics backslash-escaped
    return re.sub(r"([^A-Za-z0-9_\-$])", r"\\\1", arg)


@command("sudo")
async def sudo(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    non_interactive = preserve = login = shell = False
    target = "root"
    while args and args[0].startswith("-") and args[0] != "-":
        a = args.pop(0)
        if a == "--":
            break
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if name == "non-interactive":
                non_interactive = True
            elif name == "preserve-env":
                preserve = True
            elif name == "login":
                login = True
            elif name == "shell":
                shell = True
            elif name == "user":
                if not eq:
                    if not args:
                        ctx.err("sudo: option '--user' requires an argument\n" + SUDO_USAGE)
                        return 1
                    value = args.pop(0)
                target = value
            elif name == "set-home":
                continue
            else:
                ctx.err(f"sudo: unrecognized option '{a}'\n" + SUDO_USAGE)
                return 1
            continue
        j = 1
        while j < len(a):
            c = a[j]
            if c == "n":
                non_interactive = True
            elif c == "E":
                preserve = True
            elif c == "i":
                login = True
            elif c == "s":
                shell = True
            elif c in "HkSAP":
                pass
            elif c == "u":
                value = a[j + 1:]
                if not value:
                    if not args:
                        ctx.err("sudo: option requires an argument -- 'u'\n" + SUDO_USAGE)
                        return 1
                    value = args.pop(0)
                target = value
                break
            elif c in "lVhvKe":
                ctx.err(f"sudo: -{c} is not available in this drill build\n")
                return 1
            else:
                ctx.err(f"sudo: invalid option -- '{c}'\n" + SUDO_USAGE)
                return 1
            j += 1
    if target.startswith("#"):
        target = {"#0": "root", "#1000": "core"}.get(target, target)
    if target not in USERS:
        ctx.err(f"sudo: unknown user {target}\n")
        return 1
    assigns = {}
    while args and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", args[0]):
        k, _, v = args.pop(0).partition("=")
        assigns[k] = v
    if not args and not (login or shell):
        ctx.err(SUDO_USAGE)
        return 1
    s = ctx.session
    if s.user != "root" and not s.host.sudo_nopasswd:
        if non_interactive:
            ctx.err("sudo: a password is required\n")
        else:
            # an SSH exec request has no terminal to ask on
            ctx.err("sudo: a terminal is required to read the password; either use the -S "
                    "option to read from standard input or configure an askpass helper\n"
                    "sudo: a password is required\n")
        return 1
    home = USERS[target][1]
    if preserve:
        env = dict(ctx.env)
    else:
        env = {k: v for k, v in ctx.env.items() if k in SUDO_ENV_KEEP}
    caller_uid = USERS.get(s.user, (1000, ""))[0]
    env.update({"HOME": home, "USER": target, "LOGNAME": target, "USERNAME": target,
                "SHELL": "/bin/bash", "PATH": SUDO_SECURE_PATH,
                "MAIL": f"/var/spool/mail/{target}", "SUDO_USER": s.user,
                "SUDO_UID": str(caller_uid), "SUDO_GID": str(caller_uid)})
    env.update(assigns)
    session = dataclasses.replace(s, user=target, env=env, vars={}, stdout=ctx.stdout,
                                  stderr=ctx.stderr, cwd=home if login else s.cwd)
    if login or shell:
        script = " ".join(_sudo_escape(a) for a in args) if args else ctx.stdin.read()
        env["SUDO_COMMAND"] = "/bin/bash" + (" -c " + script if args else "")
        interp = session.shell(name="-bash" if login else "bash", origin="-c",
                        stdin=ctx.stdin)
        return await interp.run(script)

    found = session.find_program(args[0], env, shell_builtins=False)
    env["SUDO_COMMAND"] = " ".join([(found.path if found and found.path else args[0]),
                                    *args[1:]])
    status = await session.run_program(args, env, ctx.stdin, ctx.stdout, ctx.stderr,
                               shell_builtins=False, not_found="none")
    if status is None:
        ctx.err(f"sudo: {args[0]}: command not found\n")
        return 1
    return status


# --- env -------------------------------------------------------------------------------------


@command("env", container=True)
async def env_(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    opts, rest = gnu_getopt(p_name, argv[1:], "iu:0C:",
                            {"ignore-environment": False, "unset": True, "null": False,
                             "chdir": True}, permute=False)
    env = dict(ctx.env)
    chdir = None
    for o, v in opts:
        if o in ("-i", "--ignore-environment"):
            env = {}
        elif o in ("-u", "--unset"):
            env.pop(v, None)
        elif o in ("-C", "--chdir"):
            chdir = v
    if rest[:1] == ["-"]:
        env = {}
        rest = rest[1:]
    while rest and "=" in rest[0] and not rest[0].startswith("="):
        k, _, v = rest.pop(0).partition("=")
        env[k] = v
    if not rest:
        ctx.out("".join(f"{k}={v}\n" for k, v in env.items()))
        return 0
    session = ctx.session
    if chdir is not None:
        vfs = ctx.vfs
        if not vfs.is_dir(chdir):
            ctx.err(f"{p_name}: cannot change directory to {quote(chdir)}: No such file or "
                    "directory\n")
            return 125
        session = dataclasses.replace(session, cwd=vfs.abspath(chdir))
    status = await session.run_program(rest, env, ctx.stdin, ctx.stdout, ctx.stderr,
                               shell_builtins=False, not_found="none")
    if status is None:
        ctx.err(f"{p_name}: {quote(rest[0])}: No such file or directory\n")
        return 127
    return status


# --- sleep / date / id / hostname / uptime ---------------------------------------------------


# --- pgrep ---------------------------------------------------------------------------------


# --- systemctl / journalctl ------------------------------------------------------------------


# --- ip --------------------------------------------------------------------------------------


