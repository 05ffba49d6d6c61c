"""Programs about the system and how things run: sh/bash, sudo, env, sleep, date, id,
hostname, uptime, systemctl, journalctl, ip."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import re
from datetime import datetime, timezone

from tui.drill import kubelet, processes
from tui.drill.commands.scripts import SCRIPTS
from tui.drill.programs import CommandContext, UsageError, command, gnu_getopt, quote
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
USERS = {"root": (0, "/root"), "core": (1000, "/home/core")}


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


def _duration(p_name: str, s: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", s)
    if s == "infinity":
        return float("inf")
    if not m:
        raise UsageError(f"{p_name}: invalid time interval {quote(s)}\nTry '{p_name} --help' "
                         "for more information.\n")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@command("sleep", container=True)
async def sleep(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    if len(argv) < 2:
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
    total = sum(_duration(p_name, a) for a in argv[1:])
    clock = ctx.cluster.clock
    if total == float("inf"):
        while True:
            await asyncio.sleep(3600)
    # the sleeper's own time passes (frozen time too); a long one skips ahead (SimClock.sleep)
    await clock.sleep(total)
    return 0


def _strftime(fmt: str, t: float) -> str:
    dt = datetime.fromtimestamp(t, timezone.utc)
    out = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%" or i + 1 >= len(fmt):
            out.append(c)
            i += 1
            continue
        pad = None
        j = i + 1
        if fmt[j] in "-_0^":
            pad = fmt[j]
            j += 1
        width = re.match(r"\d*", fmt[j:]).group()
        j += len(width)
        if j >= len(fmt):
            out.append(fmt[i:])
            break
        d = fmt[j]
        if d == "N":
            v = f"{int(round((t % 1) * 1e9)) % 1000000000:09d}"
            if width:
                v = v[:int(width)]
        elif d == "s":
            v = str(int(t))
        elif d == "z":
            v = "+0000"
        elif d == "Z":
            v = "UTC"
        elif d == ":" and fmt[j:j + 2] == ":z":
            v = "+00:00"
            j += 1
        elif d == "%":
            v = "%"
        else:
            v = dt.strftime("%" + d)
        if pad == "-":
            v = v.lstrip("0 ") or "0"
        elif pad == "_":
            v = re.sub(r"^0", " ", v)
        out.append(v)
        i = j + 1
    return "".join(out)


@command("date", container=True)
async def date(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    args = []
    for a in argv[1:]:
        # -I and --iso-8601 take an optional value, which getopt here does not model
        if a.startswith("-I") and not a.startswith("--"):
            args.append("--iso-8601=" + (a[2:] or "date"))
        elif a == "--iso-8601":
            args.append("--iso-8601=date")
        else:
            args.append(a)
    opts, operands = gnu_getopt(p_name, args, "ud:R",
                                {"utc": False, "date": True, "rfc-3339": True,
                                 "iso-8601": True, "rfc-email": False, "universal": False})
    t = ctx.cluster.clock.now()
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    for o, v in opts:
        if o in ("-d", "--date"):
            m = re.fullmatch(r"@(\d+(?:\.\d+)?)", v.strip())
            if m:
                t = float(m.group(1))
            elif v.strip() in ("now", ""):
                pass
            else:
                try:
                    t = datetime.fromisoformat(v.strip().replace("Z", "+00:00")).replace(
                        tzinfo=timezone.utc).timestamp()
                except ValueError:
                    ctx.err(f"{p_name}: invalid date {quote(v)}\n")
                    return 1
        elif o == "--rfc-3339":
            fmts = {"date": "%Y-%m-%d", "seconds": "%Y-%m-%d %H:%M:%S%:z",
                    "ns": "%Y-%m-%d %H:%M:%S.%N%:z"}
            if v not in fmts:
                ctx.err(f"{p_name}: invalid argument {quote(v)} for '--rfc-3339'\nValid "
                        "arguments are:\n  - 'date'\n  - 'seconds'\n  - 'ns'\nTry "
                        f"'{p_name} --help' for more information.\n")
                return 1
            fmt = fmts[v]
        elif o == "--iso-8601":
            fmts = {"date": "%Y-%m-%d", "seconds": "%Y-%m-%dT%H:%M:%S%:z",
                    "minutes": "%Y-%m-%dT%H:%M%:z", "hours": "%Y-%m-%dT%H%:z",
                    "ns": "%Y-%m-%dT%H:%M:%S,%N%:z"}
            if v not in fmts:
                ctx.err(f"{p_name}: invalid argument {quote(v)} for '--iso-8601'\n")
                return 1
            fmt = fmts[v]
        elif o in ("-R", "--rfc-email"):
            fmt = "%a, %d %b %Y %H:%M:%S %z"
    for op in operands:
        if op.startswith("+"):
            fmt = op[1:]
        else:
            ctx.err(f"{p_name}: invalid date {quote(op)}\n")
            return 1
    ctx.out(_strftime(fmt, t) + "\n")
    return 0


# --- pgrep ---------------------------------------------------------------------------------

PGREP_HINT = "Try `pgrep --help' for more information.\n"


@command("pgrep")
async def pgrep(ctx: CommandContext, argv: list[str]) -> int:
    """procps-ng pgrep over the host's running processes (tui.drill.processes): the pids
    whose name (or, with -f, whole command line) matches the extended regex; exit 0 when
    one matches, 1 when none, 2 on bad usage. pgrep never lists itself, but does list the
    shell that runs it: a probe brackets a character of its pattern for that reason."""
    try:
        opts, operands = gnu_getopt("pgrep", argv[1:], "flacxnovu:d:",
                                    {"full": False, "list-name": False, "list-full": False,
                                     "count": False, "exact": False, "newest": False,
                                     "oldest": False, "inverse": False, "euid": True,
                                     "delimiter": True}, help_hint=False)
    except UsageError as e:
        ctx.err(e.message + f"\nUsage:\n pgrep [options] <pattern>\n\n{PGREP_HINT}"
                if "invalid option" in e.message or "unrecognized" in e.message
                else e.message + PGREP_HINT)
        return 2
    flags = {o for o, _ in opts}
    full = bool(flags & {"-f", "--full"})
    users = [v for o, v in opts if o in ("-u", "--euid")]
    delim = next((v for o, v in opts if o in ("-d", "--delimiter")), "\n")
    if len(operands) > 1:
        ctx.err("pgrep: only one pattern can be provided\n" + PGREP_HINT)
        return 2
    if not operands and not users:
        ctx.err("pgrep: no matching criteria specified\n" + PGREP_HINT)
        return 2
    try:
        pattern = re.compile(operands[0] if operands else "")
    except re.error as e:
        ctx.err(f"pgrep: regex error: {e}\n")
        return 2
    table = processes.table(ctx.host)
    me = max((p.pid for p in table.running.values() if list(p.argv) == list(argv)),
             default=None)
    found = table.matching(pattern, full=full, exact=bool(flags & {"-x", "--exact"}),
                           exclude=me)
    if flags & {"-v", "--inverse"}:
        hits = {p.pid for p in found}
        found = [p for p in sorted(table.running.values(), key=lambda p: p.pid)
                 if p.pid not in hits and p.pid != me]
    if users:
        found = [p for p in found if p.user in users or str(0 if p.user == "root" else 1000)
                 in users]
    if flags & {"-n", "--newest"}:
        found = found[-1:]
    elif flags & {"-o", "--oldest"}:
        found = found[:1]
    if flags & {"-c", "--count"}:
        ctx.out(f"{len(found)}\n")
    elif found:
        if flags & {"-a", "--list-full"}:
            items = [f"{p.pid} {p.cmdline}" for p in found]
        elif flags & {"-l", "--list-name"}:
            items = [f"{p.pid} {processes.comm(p.argv)}" for p in found]
        else:
            items = [str(p.pid) for p in found]
        ctx.out(delim.join(items) + "\n")
    return 0 if found else 1


@command("hostname", container=True)
async def hostname(ctx: CommandContext, argv: list[str]) -> int:
    h = ctx.host
    flags = argv[1:]
    if any(f in ("-I", "--all-ip-addresses") for f in flags):
        addrs = [cidr.split("/")[0] for dev, cidr in h.ip_addresses
                 if dev != "lo" and not cidr.startswith("fe80")]
        ctx.out(" ".join(addrs) + " \n")
        return 0
    if any(f in ("-i", "--ip-address") for f in flags):
        ctx.out(h.address + "\n")
        return 0
    if any(f in ("-s", "--short") for f in flags):
        ctx.out(h.name.split(".")[0] + "\n")
        return 0
    if flags and not flags[0].startswith("-"):
        ctx.err(f"{argv[0]}: you must be root to change the host name\n" if ctx.session.user
                != "root" else "hostname: setting the host name is not available in this "
                               "drill build\n")
        return 1
    ctx.out(h.name + "\n")
    return 0


def _id_line(user: str) -> str:
    if user == "root":
        return ("uid=0(root) gid=0(root) groups=0(root) "
                "context=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023")
    return ("uid=1000(core) gid=1000(core) groups=1000(core),4(adm),10(wheel),16(sudo),"
            "190(systemd-journal) context=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023")


@command("id", container=True)
async def id_(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    opts, operands = gnu_getopt(p_name, argv[1:], "ugGnrZ", {"user": False, "group": False,
                                                            "groups": False, "name": False})
    user = operands[0] if operands else ctx.session.user
    if user not in USERS:
        ctx.err(f"{p_name}: {quote(user)}: no such user\n")
        return 1
    names = {o for o, _ in opts}
    uid = USERS[user][0]
    by_name = bool(names & {"-n", "--name"})
    if names & {"-u", "--user", "-g", "--group"}:
        ctx.out((user if by_name else str(uid)) + "\n")
    elif names & {"-G", "--groups"}:
        if user == "root":
            ctx.out(("root" if by_name else "0") + "\n")
        else:
            ctx.out(("core adm wheel sudo systemd-journal" if by_name
                     else "1000 4 10 16 190") + "\n")
    else:
        line = _id_line(user)
        if operands:
            line = line.split(" context=")[0]
        ctx.out(line + "\n")
    return 0


@command("whoami", container=True)
async def whoami(ctx: CommandContext, argv: list[str]) -> int:
    ctx.out(ctx.session.user + "\n")
    return 0


def _boot_time(ctx: CommandContext) -> float:
    created = [c.created for c in ctx.host.containers if c.created]
    now = ctx.cluster.clock.now()
    return min(created) - 120 if created else now - 3 * 86400 - 7421


@command("uptime")
async def uptime(ctx: CommandContext, argv: list[str]) -> int:
    now = ctx.cluster.clock.now()
    up = max(0, int(now - _boot_time(ctx)))
    days, rem = divmod(up, 86400)
    hours, mins = divmod(rem // 60, 60)
    if "-p" in argv[1:] or "--pretty" in argv[1:]:
        parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
        parts += [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
        parts += [f"{mins} minute{'s' if mins != 1 else ''}"]
        ctx.out("up " + ", ".join(parts) + "\n")
        return 0
    if "-s" in argv[1:] or "--since" in argv[1:]:
        ctx.out(datetime.fromtimestamp(now - up, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") +
                "\n")
        return 0
    clock = datetime.fromtimestamp(now, timezone.utc).strftime("%H:%M:%S")
    d = f"{days} day{'s' if days != 1 else ''}, " if days else ""
    hm = f"{hours:2d}:{mins:02d}" if hours else f"{mins} min"
    ctx.out(f" {clock} up {d}{hm},  1 user,  load average: 0.52, 0.61, 0.70\n")
    return 0


# --- systemctl / journalctl ------------------------------------------------------------------

UNITS = {
    "kubelet": ("Kubernetes Kubelet", "/etc/systemd/system/kubelet.service",
                "/usr/bin/kubelet --config=/etc/kubernetes/kubelet.conf "
                "--bootstrap-kubeconfig=/etc/kubernetes/kubeconfig "
                "--kubeconfig=/var/lib/kubelet/kubeconfig "
                "--container-runtime-endpoint=/var/run/crio/crio.sock"),
    "crio": ("Container Runtime Interface for OCI (CRI-O)", "/usr/lib/systemd/system/crio.service",
             "/usr/bin/crio"),
    "ovs-vswitchd": ("Open vSwitch Forwarding Unit", "/usr/lib/systemd/system/ovs-vswitchd.service",
                     "ovs-vswitchd unix:/var/run/openvswitch/db.sock"),
    "ovsdb-server": ("Open vSwitch Database Unit", "/usr/lib/systemd/system/ovsdb-server.service",
                     "ovsdb-server /etc/openvswitch/conf.db"),
    "sshd": ("OpenSSH server daemon", "/usr/lib/systemd/system/sshd.service", "sshd: /usr/sbin/sshd"),
    "chronyd": ("NTP client/server", "/usr/lib/systemd/system/chronyd.service", "/usr/sbin/chronyd"),
}


# units whose (re)start the drill records in the pid file the daemon writes (its mtime is the
# start time `systemctl status` shows)
PID_FILES = {"ovs-vswitchd": "/run/openvswitch/ovs-vswitchd.pid",
             "ovsdb-server": "/run/openvswitch/ovsdb-server.pid"}


# journal identifiers of a unit's own processes (kubelet runs as kubenswrapper on RHCOS)
UNIT_PROCESSES = {"kubelet": ("kubenswrapper[",), "crio": ("crio[",)}


def _of_unit(line: str, unit: str) -> bool:
    """Whether a journal line belongs to the unit (`journalctl -u`): it names the unit, or
    it is systemd's line about it ("Started Kubernetes Kubelet.")."""
    if unit in line or any(line.startswith(p) for p in UNIT_PROCESSES.get(unit, ())):
        return True
    desc = UNITS.get(unit, ("",))[0]
    return bool(desc) and line.startswith("systemd[1]: ") and desc in line


def _unit_restarted(ctx: CommandContext, unit: str, verb: str, now: float) -> None:
    """A unit other than kubelet (re)started or stopped: systemd's journal lines; OVS's pid
    file is rewritten (RST-15 for 4.14+: `systemctl restart ovs-vswitchd ovsdb-server`)."""
    h = ctx.host
    desc = UNITS[unit][0]
    if verb == "stop":
        h.log.append(f"systemd[1]: Stopping {desc}...")
        h.log.append(f"systemd[1]: {unit}.service: Deactivated successfully.")
        h.log.append(f"systemd[1]: Stopped {desc}.")
        return
    if verb == "reload":
        h.log.append(f"systemd[1]: Reloading {desc}...")
        h.log.append(f"systemd[1]: Reloaded {desc}.")
        return
    if verb != "start":
        h.log.append(f"systemd[1]: Stopping {desc}...")
        h.log.append(f"systemd[1]: {unit}.service: Deactivated successfully.")
        h.log.append(f"systemd[1]: Stopped {desc}.")
    h.log.append(f"systemd[1]: Starting {desc}...")
    if unit in PID_FILES:
        pid_file = PID_FILES[unit]
        d = pid_file.rsplit("/", 1)[0]
        for p in ("/run", d):
            h.dirs.add(p)
        pid = 1000 + (int(now) + sum(map(ord, unit))) % 50000
        h.files[pid_file] = f"{pid}\n".encode()
        h.mtimes[pid_file] = now
        h.modes.setdefault(pid_file, 0o644)
        h.owners.setdefault(pid_file, "root")
        if unit == "ovsdb-server":
            h.log.append("ovs-ctl[%d]: Starting ovsdb-server." % pid)
        else:
            h.log.append("ovs-ctl[%d]: Starting ovs-vswitchd." % pid)
    h.log.append(f"systemd[1]: Started {desc}.")


def _unit(name: str) -> str:
    return name[:-len(".service")] if name.endswith(".service") else name


def _active(ctx: CommandContext, unit: str) -> bool:
    if unit == "kubelet":
        return ctx.host.kubelet_running
    return True


@command("systemctl")
async def systemctl(ctx: CommandContext, argv: list[str]) -> int:
    args = [a for a in argv[1:] if a not in ("--no-pager", "-l", "--full", "--quiet", "-q",
                                             "--no-block", "--now")]
    quiet = any(a in ("--quiet", "-q") for a in argv[1:])
    if not args:
        ctx.err("systemctl: listing units is not available in this drill build\n")
        return 1
    verb, units = args[0], [a for a in args[1:] if not a.startswith("-")]
    if verb in ("restart", "stop", "start", "reload", "try-restart", "enable", "disable",
                "daemon-reload", "status", "is-active", "is-enabled", "show", "cat",
                "is-failed"):
        pass
    else:
        ctx.err(f"Unknown command verb {verb}.\n")
        return 1
    if verb == "daemon-reload":
        if ctx.session.user != "root":
            ctx.err("Failed to reload daemon: Interactive authentication required.\n")
            return 1
        return 0
    if not units:
        ctx.err(f"Too few arguments.\n")
        return 1
    now = ctx.cluster.clock.now()
    status = 0
    shown_status = 0
    for raw in units:
        unit = _unit(raw)
        full = unit + ".service"
        if unit not in UNITS:
            if verb in ("status",):
                ctx.err(f"Unit {full} could not be found.\n")
                status = 4
            elif verb == "is-active":
                if not quiet:
                    ctx.out("inactive\n")
                status = 3
            else:
                ctx.err(f"Failed to {verb} {full}: Unit {full} not found.\n")
                status = 5
            continue
        if verb in ("restart", "stop", "start", "reload", "try-restart", "enable", "disable"):
            if ctx.session.user != "root":
                # no polkit agent on an SSH exec channel: systemd cannot ask for the password
                ctx.err(f"Failed to {verb} {full}: Interactive authentication required.\n"
                        f"See system logs and 'systemctl status {full}' for details.\n")
                status = 1
                continue
            if unit == "kubelet":
                h = ctx.host
                if verb in ("stop",):
                    h.kubelet_running = False
                    h.log.append(f"systemd[1]: Stopped Kubernetes Kubelet.")
                elif verb in ("start", "restart", "try-restart", "reload"):
                    if verb == "try-restart" and not h.kubelet_running:
                        continue
                    if verb in ("restart", "try-restart") and h.kubelet_running:
                        h.log.append("systemd[1]: Stopping Kubernetes Kubelet...")
                        h.log.append("systemd[1]: kubelet.service: Deactivated successfully.")
                        h.log.append("systemd[1]: Stopped Kubernetes Kubelet.")
                    h.log.append("systemd[1]: Starting Kubernetes Kubelet...")
                    h.kubelet_running = True
                    h.kubelet_since = now
                    h.log.append(f"systemd[1]: Started Kubernetes Kubelet.")
                    kubelet.kubelet_restarted(ctx.cluster, h)
            elif verb in ("restart", "try-restart", "start", "stop", "reload"):
                _unit_restarted(ctx, unit, verb, now)
            continue
        active = _active(ctx, unit)
        if verb == "is-active":
            if not quiet:
                ctx.out(("active" if active else "inactive") + "\n")
            status = status or (0 if active else 3)
        elif verb == "is-enabled":
            ctx.out("enabled\n")
        elif verb == "is-failed":
            ctx.out("active\n" if active else "inactive\n")
            status = status or (1 if active else 0)
        elif verb == "show":
            ctx.out(f"ActiveState={'active' if active else 'inactive'}\n"
                    f"SubState={'running' if active else 'dead'}\nId={full}\n")
        elif verb == "cat":
            desc, path, cmd = UNITS[unit]
            ctx.out(f"# {path}\n[Unit]\nDescription={desc}\n\n[Service]\nExecStart={cmd}\n")
        else:
            if shown_status:
                ctx.out("\n")  # systemctl status A B: a blank line between the units
            shown_status += 1
            ctx.out(_status_text(ctx, unit, active, now))
            status = status or (0 if active else 3)
    return status


def _ago(seconds: float) -> str:
    s = int(max(seconds, 0))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d} day{'s' if d != 1 else ''} {h}h ago"
    if h:
        return f"{h}h {m}min ago"
    if m:
        return f"{m}min {sec}s ago"
    return f"{sec}s ago"


def _status_text(ctx: CommandContext, unit: str, active: bool, now: float) -> str:
    desc, path, cmd = UNITS[unit]
    h = ctx.host
    since = h.kubelet_since if unit == "kubelet" and h.kubelet_since else _boot_time(ctx) + 40
    if unit in PID_FILES and PID_FILES[unit] in h.mtimes:
        since = h.mtimes[PID_FILES[unit]]
    when = datetime.fromtimestamp(since, timezone.utc).strftime("%a %Y-%m-%d %H:%M:%S UTC")
    dot = "●" if active else "○"
    lines = [f"{dot} {unit}.service - {desc}",
             f"     Loaded: loaded ({path}; enabled; preset: disabled)"]
    if unit == "kubelet":
        lines += ["    Drop-In: /etc/systemd/system/kubelet.service.d",
                  "             └─01-kubens.conf, 10-mco-default-env.conf, "
                  "10-mco-default-madv.conf, 20-logging.conf, 20-nodenet.conf"]
    if active:
        pid = 2000 + sum(map(ord, unit)) % 900
        pid_text = h.files.get(PID_FILES.get(unit, ""), b"").decode(errors="replace").strip()
        if pid_text.isdigit():
            pid = int(pid_text)
        comm = cmd.split()[0].rsplit("/", 1)[-1].rstrip(":")
        lines += [f"     Active: active (running) since {when}; {_ago(now - since)}",
                  f"   Main PID: {pid} ({comm[:15]})",
                  "      Tasks: 42 (limit: 100000)",
                  "     Memory: 186.4M",
                  f"     CGroup: /system.slice/{unit}.service",
                  f"             └─{pid} {cmd}"]
    else:
        lines += [f"     Active: inactive (dead) since {when}; {_ago(now - since)}"]
    tail = [line for line in h.log if _of_unit(line, unit)][-5:]
    if tail:
        lines.append("")
        stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%b %d %H:%M:%S")
        lines += [f"{stamp} {h.name} {line}" for line in tail]
    return "\n".join(lines) + "\n"


@command("journalctl")
async def journalctl(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    unit = None
    n = None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-u", "--unit") and i + 1 < len(args):
            unit = _unit(args[i + 1])
            i += 2
            continue
        if a.startswith("--unit="):
            unit = _unit(a.split("=", 1)[1])
        elif a in ("-n", "--lines") and i + 1 < len(args):
            n = int(args[i + 1]) if args[i + 1].isdigit() else None
            i += 2
            continue
        elif re.fullmatch(r"-n\d+", a):
            n = int(a[2:])
        elif a in ("-f", "--follow"):
            ctx.err("journalctl: following the journal (-f) is not available in this drill "
                    "build\n")
            return 1
        i += 1
    lines = [line for line in ctx.host.log if unit is None or _of_unit(line, unit)]
    if n is not None:
        lines = lines[-n:] if n else []
    if not lines:
        ctx.out("-- No entries --\n")
        return 0
    stamp = datetime.fromtimestamp(ctx.cluster.clock.now(), timezone.utc).strftime(
        "%b %d %H:%M:%S")
    ctx.out("".join(f"{stamp} {ctx.host.name} {line}\n" for line in lines))
    return 0


# --- ip --------------------------------------------------------------------------------------


def _devices(addrs: list[tuple[str, str]]) -> list[str]:
    devs = ["lo"]
    for dev, _ in addrs:
        if dev not in devs:
            devs.append(dev)
    return devs


def _addr_fields(dev: str, cidr: str) -> tuple[str, str]:
    iface = ipaddress.ip_interface(cidr)
    if iface.version == 4:
        # drill hosts live on 127.0.3.x but stand for real nodes: only lo is host-scoped
        scope = "host" if dev == "lo" else "global"
        brd = ""
        if iface.network.prefixlen < 31 and dev != "lo":
            brd = f" brd {iface.network.broadcast_address}"
        extra = " noprefixroute" if dev == "br-ex" and iface.network.prefixlen < 32 else ""
        return "inet", f"{cidr}{brd} scope {scope}{extra} {dev}"
    scope = "host" if dev == "lo" else "link" if iface.ip.is_link_local else "global"
    return "inet6", f"{cidr} scope {scope}"


@command("ip", path="/usr/sbin")
async def ip(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    oneline = False
    family = None
    while args and args[0].startswith("-"):
        a = args.pop(0)
        if a in ("-o", "-oneline"):
            oneline = True
        elif a == "-4":
            family = 4
        elif a == "-6":
            family = 6
        elif a in ("-br", "-brief", "-c", "-color"):
            continue
        else:
            ctx.err(f'Option "{a}" is unknown, try "ip -help".\n')
            return 255
    if not args:
        ctx.err("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n")
        return 255
    obj = args.pop(0)
    if not any(w.startswith(obj) for w in ("address", "addr")) and obj not in ("a", "ad"):
        ctx.err(f'ip: "{obj}" is not available in this drill build (only "ip address")\n')
        return 255
    sub = args.pop(0) if args else "show"
    addrs = ctx.host.ip_addresses
    if sub in ("show", "list", "lst", "sh", "ls", "s", "l"):
        dev_filter = None
        if args[:1] == ["dev"] and len(args) > 1:
            dev_filter = args[1]
        elif args:
            dev_filter = args[0]
        devs = _devices(addrs)
        if dev_filter and dev_filter not in devs:
            ctx.err(f'Device "{dev_filter}" does not exist.\n')
            return 1
        out = []
        for idx, dev in enumerate(devs, 1):
            if dev_filter and dev != dev_filter:
                continue
            mine = [c for d, c in addrs if d == dev]
            if dev == "lo" and not any(d == "lo" for d, _ in addrs):
                mine = ["127.0.0.1/8", "::1/128"]
            if family:
                mine = [c for c in mine if ipaddress.ip_interface(c).version == family]
            if oneline:
                for cidr in mine:
                    fam, rest = _addr_fields(dev, cidr)
                    out.append(f"{idx}: {dev}    {fam} {rest}\\       valid_lft forever "
                               "preferred_lft forever\n")
            else:
                flags = "LOOPBACK,UP,LOWER_UP" if dev == "lo" else "BROADCAST,MULTICAST,UP,LOWER_UP"
                mtu = 65536 if dev == "lo" else 1500
                out.append(f"{idx}: {dev}: <{flags}> mtu {mtu} qdisc noqueue state "
                           f"{'UNKNOWN' if dev == 'lo' else 'UP'} group default qlen 1000\n")
                kind = "loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00" if dev == "lo" else \
                    f"ether 52:54:00:{idx:02x}:{sum(map(ord, dev)) % 256:02x}:{len(dev):02x} " \
                    "brd ff:ff:ff:ff:ff:ff"
                out.append(f"    link/{kind}\n")
                for cidr in mine:
                    fam, rest = _addr_fields(dev, cidr)
                    out.append(f"    {fam} {rest}\n       valid_lft forever preferred_lft "
                               "forever\n")
        ctx.out("".join(out))
        return 0
    if sub in ("del", "delete", "add"):
        if not args:
            ctx.err("RTNETLINK answers: Invalid argument\n" if sub != "add" else
                    "Not enough information: \"dev\" argument is required.\n")
            return 2 if sub != "add" else 1
        addr = args.pop(0)
        dev = None
        if args[:1] == ["dev"] and len(args) > 1:
            dev = args[1]
        if dev is None:
            ctx.err('Not enough information: "dev" argument is required.\n')
            return 1
        if dev not in _devices(addrs):
            ctx.err(f'Cannot find device "{dev}"\n')
            return 1
        try:
            wanted = ipaddress.ip_interface(addr)
        except ValueError:
            ctx.err(f'Error: any valid prefix is expected rather than "{addr}".\n')
            return 1
        if ctx.session.user != "root":
            ctx.err("RTNETLINK answers: Operation not permitted\n")
            return 2
        if sub == "add":
            cidr = addr if "/" in addr else f"{addr}/{wanted.max_prefixlen}"
            if (dev, cidr) in addrs:
                ctx.err("RTNETLINK answers: File exists\n")
                return 2
            addrs.append((dev, cidr))
            return 0
        match = None
        for d, c in addrs:
            if d != dev:
                continue
            iface = ipaddress.ip_interface(c)
            if iface.ip == wanted.ip and ("/" not in addr or iface.network.prefixlen
                                          == wanted.network.prefixlen):
                match = (d, c)
                break
        if match is None:
            ctx.err("RTNETLINK answers: Cannot assign requested address\n")
            return 2
        if "/" not in addr:
            ctx.err(f"Warning: Executing wildcard deletion to stay compatible with old "
                    f"scripts.\n         Explicitly specify the prefix length ({match[1]}) to "
                    "avoid this warning.\n         This special behaviour is likely to "
                    "disappear in further releases,\n         fix your scripts!\n")
        addrs.remove(match)
        ctx.cluster.changed()
        return 0
    ctx.err(f'Command "{sub}" is unknown, try "ip address help".\n')
    return 255
