"""What a drill host says about itself: sleep, date, pgrep, hostname, id, whoami, uptime and
ip, with the output and messages of RHCOS's procps-ng, coreutils and iproute2."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from datetime import datetime, timezone

from tui.drill import processes
from tui.drill.commands.fileutil import missing_operand
from tui.drill.programs import CommandContext, UsageError, command, gnu_getopt, quote

USERS = {"root": (0, "/root"), "core": (1000, "/home/core")}


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
        raise missing_operand(p_name)
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


def boot_time(ctx: CommandContext) -> float:
    created = [c.created for c in ctx.host.containers if c.created]
    now = ctx.cluster.clock.now()
    return min(created) - 120 if created else now - 3 * 86400 - 7421


@command("uptime")
async def uptime(ctx: CommandContext, argv: list[str]) -> int:
    now = ctx.cluster.clock.now()
    up = max(0, int(now - boot_time(ctx)))
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
