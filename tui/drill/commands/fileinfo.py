"""Looking at files on a drill host: stat, sha256sum, du, df and find, printed as coreutils
and findutils print them on RHCOS."""

from __future__ import annotations

import hashlib
import math
import posixpath
from datetime import datetime, timezone

from tui.drill.commands.builtins import expand_escapes
from tui.drill.commands.fileutil import (
    blocks_k,
    coreutils_getopt,
    human,
    inode_of,
    join_display,
    missing_operand,
    mode_string,
    nlink_of,
    prog,
    uid_of,
)
from tui.drill.programs import (
    CommandContext,
    UsageError,
    command,
    quote,
)
from tui.drill.vfs import (
    FsError,
    Vfs,
    fnmatch_name,
)


def _fmt_time(t: float) -> str:
    dt = datetime.fromtimestamp(t, timezone.utc)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{int((t % 1) * 1e9):09d} +0000"


def _file_type(vfs: Vfs, p: str, kind: str) -> str:
    if kind == "dir":
        return "directory"
    if kind == "link":
        return "symbolic link"
    if kind == "dev":
        return "character special file"
    return "regular file" if vfs.size(p) else "regular empty file"


def _selinux(p: str) -> str:
    if p.startswith("/tmp"):
        return "system_u:object_r:tmp_t:s0"
    if p.startswith("/home/core"):
        return "unconfined_u:object_r:user_home_t:s0"
    if p.startswith("/var/lib/etcd"):
        return "system_u:object_r:container_var_lib_t:s0"
    if p.startswith("/etc/kubernetes"):
        return "system_u:object_r:kubernetes_file_t:s0"
    return "system_u:object_r:etc_t:s0" if p.startswith("/etc") else \
        "system_u:object_r:var_lib_t:s0"


@command("stat", container=True)
async def stat(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = coreutils_getopt(ctx, argv, "Lc:t", {"dereference": False, "format": True,
                                                 "printf": True, "terse": False})
    follow = any(o in ("-L", "--dereference") for o, _ in opts)
    fmt = next((v for o, v in opts if o in ("-c", "--format")), None)
    printf = next((v for o, v in opts if o == "--printf"), None)
    p_name = prog(argv)
    if not operands:
        raise missing_operand(p_name)
    vfs = ctx.vfs
    status = 0
    for op in operands:
        try:
            p, kind = (vfs.stat if follow else vfs.lstat)(op)
        except FsError as e:
            ctx.err(f"{p_name}: cannot statx {quote(op)}: {e.strerror}\n")
            status = 1
            continue
        owner = vfs.owner(p)
        mode = vfs.mode(p)
        size = vfs.size(p)
        mt = vfs.mtime(p)
        fields = {
            "n": op, "N": quote(op) + (f" -> {quote(vfs.host.links[p])}" if kind == "link" else ""),
            "s": str(size), "a": f"{mode & 0o7777:o}", "A": mode_string(kind, mode),
            "U": owner, "G": owner, "u": str(uid_of(owner)), "g": str(uid_of(owner)),
            "F": _file_type(vfs, p, kind), "Y": str(int(mt)), "y": _fmt_time(mt),
            "X": str(int(mt)), "x": _fmt_time(mt), "Z": str(int(mt)), "z": _fmt_time(mt),
            "i": str(inode_of(p)), "h": str(nlink_of(vfs, p, kind)), "b": str(blocks_k(vfs, p) * 2),
            "B": "512", "o": "4096", "C": _selinux(p), "%": "%",
        }
        if fmt is not None or printf is not None:

            f = fmt if fmt is not None else expand_escapes(printf)[0]
            out = []
            i = 0
            while i < len(f):
                if f[i] == "%" and i + 1 < len(f):
                    out.append(fields.get(f[i + 1], "?"))
                    i += 2
                else:
                    out.append(f[i])
                    i += 1
            ctx.out("".join(out) + ("\n" if fmt is not None else ""))
            continue
        name = op + (f" -> {vfs.host.links[p]}" if kind == "link" else "")
        ctx.out(
            f"  File: {name}\n"
            f"  Size: {size:<10}\tBlocks: {blocks_k(vfs, p) * 2:<10} IO Block: 4096   "
            f"{_file_type(vfs, p, kind)}\n"
            f"Device: fd00h/64768d\tInode: {inode_of(p):<11} Links: {nlink_of(vfs, p, kind)}\n"
            f"Access: ({mode & 0o7777:04o}/{mode_string(kind, mode)})  "
            f"Uid: ({uid_of(owner):5d}/{owner:>8})   Gid: ({uid_of(owner):5d}/{owner:>8})\n"
            f"Context: {_selinux(p)}\n"
            f"Access: {_fmt_time(mt)}\nModify: {_fmt_time(mt)}\nChange: {_fmt_time(mt)}\n"
            f" Birth: {_fmt_time(mt)}\n")
    return status


@command("sha256sum", container=True)
async def sha256sum(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = coreutils_getopt(ctx, argv, "bctwz", {"binary": False, "check": False,
                                                  "text": False, "quiet": False,
                                                  "status": False, "tag": False})
    p_name = prog(argv)
    if any(o in ("-c", "--check") for o, _ in opts):
        ctx.err(f"{p_name}: --check is not available in this drill build\n")
        return 1
    vfs = ctx.vfs
    status = 0
    for op in operands or ["-"]:
        if op == "-":
            data = ctx.stdin.read().encode()
        else:
            try:
                data = vfs.read(op)
            except FsError as e:
                ctx.err(f"{p_name}: {op}: {e.strerror}\n")
                status = 1
                continue
        ctx.out(f"{hashlib.sha256(data).hexdigest()}  {op}\n")
    return status


@command("du")
async def du(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = coreutils_getopt(ctx, argv, "shacbxkmd:", {"summarize": False,
                                                       "human-readable": False, "all": False,
                                                       "total": False, "bytes": False,
                                                       "max-depth": True,
                                                       "apparent-size": False})
    names = {o for o, _ in opts}
    summarize = bool(names & {"-s", "--summarize"})
    hum = bool(names & {"-h", "--human-readable"})
    all_files = bool(names & {"-a", "--all"})
    total_line = bool(names & {"-c", "--total"})
    in_bytes = bool(names & {"-b", "--bytes", "--apparent-size"})
    depth_v = next((v for o, v in opts if o in ("-d", "--max-depth")), None)
    p_name = prog(argv)
    if depth_v is not None and not depth_v.isdigit():
        raise UsageError(f"{p_name}: invalid maximum depth {quote(depth_v)}\nTry '{p_name} "
                         "--help' for more information.\n")
    max_depth = 0 if summarize else (int(depth_v) if depth_v is not None else None)
    vfs = ctx.vfs
    status = 0
    grand = 0

    def show(n: int) -> str:
        if hum:
            return human(n if in_bytes else n * 1024, du=True)
        return str(n)

    def usage(p: str) -> int:
        return vfs.size(p) if in_bytes else blocks_k(vfs, p)

    def walk(shown: str, p: str, depth: int) -> int:
        nonlocal status
        kind = vfs.kind(p)
        if kind != "dir":
            n = usage(p)
            if all_files and (max_depth is None or depth <= max_depth) and depth > 0:
                ctx.out(f"{show(n)}\t{shown}\n")
            return n
        total = 0 if in_bytes else 0
        try:
            children = vfs.listdir(p)
        except FsError as e:
            ctx.err(f"{p_name}: cannot read directory {quote(shown)}: {e.strerror}\n")
            status = 1
            children = []
        for n in children:
            total += walk(join_display(shown, n), posixpath.join(p, n), depth + 1)
        if max_depth is None or depth <= max_depth:
            ctx.out(f"{show(total)}\t{shown}\n")
        return total

    for op in operands or ["."]:
        try:
            p, kind = vfs.lstat(op)
        except FsError as e:
            ctx.err(f"{p_name}: cannot access {quote(op)}: {e.strerror}\n")
            status = 1
            continue
        if kind != "dir":
            n = usage(p)
            ctx.out(f"{show(n)}\t{op}\n")
            grand += n
        else:
            grand += walk(op, p, 0)
    if total_line:
        ctx.out(f"{show(grand)}\ttotal\n")
    return status


# (device, size KiB, used KiB, mount point)
_MOUNTS = [("devtmpfs", 4096, 0, "/dev"), ("tmpfs", 8145536, 168, "/dev/shm"),
           ("tmpfs", 3258216, 59036, "/run"), ("/dev/sda4", 125277164, 18730328, "/sysroot"),
           ("tmpfs", 8145536, 16, "/tmp"), ("/dev/sda3", 358271, 262035, "/boot")]


def _mount_for(p: str) -> tuple[str, int, int, str]:
    for dev, size, used, mnt in sorted(_MOUNTS, key=lambda m: -len(m[3])):
        if p == mnt or p.startswith(mnt.rstrip("/") + "/"):
            return dev, size, used, mnt
    # /var and /etc are bind mounts of the deployment on the root partition
    mnt = "/var" if p.startswith("/var") else "/etc" if p.startswith("/etc") else "/sysroot"
    return "/dev/sda4", 125277164, 18730328, mnt


@command("df")
async def df(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = coreutils_getopt(ctx, argv, "hTkPa", {"human-readable": False, "print-type": False})
    names = {o for o, _ in opts}
    hum = bool(names & {"-h", "--human-readable"})
    p_name = prog(argv)
    vfs = ctx.vfs
    rows = []
    status = 0
    if operands:
        for op in operands:
            try:
                p, _ = vfs.stat(op)
            except FsError as e:
                ctx.err(f"{p_name}: {quote(op)}: {e.strerror}\n")
                status = 1
                continue
            rows.append(_mount_for(p))
    else:
        rows = list(_MOUNTS)
    extra = sum(vfs.size(p) for p in vfs.host.files) // 1024
    out = []
    for dev, size, used, mnt in rows:
        if dev == "/dev/sda4":
            used += extra
        avail = size - used
        pct = f"{math.ceil(used * 100 / size) if size else 0}%"
        if hum:
            out.append((dev, human(size * 1024), human(used * 1024) if used else "0",
                        human(avail * 1024), pct, mnt))
        else:
            out.append((dev, str(size), str(used), str(avail), pct, mnt))
    head = ("Filesystem", "Size" if hum else "1K-blocks", "Used", "Avail" if hum else "Available",
            "Use%", "Mounted on")
    table = [head] + out
    w = [max(len(r[i]) for r in table) for i in range(5)]
    text = []
    for r in table:
        text.append(f"{r[0]:<{w[0]}} {r[1]:>{w[1]}} {r[2]:>{w[2]}} {r[3]:>{w[3]}} "
                    f"{r[4]:>{w[4]}} {r[5]}\n")
    ctx.out("".join(text))
    return status


@command("find")
async def find(ctx: CommandContext, argv: list[str]) -> int:
    p_name = prog(argv)
    args = argv[1:]
    starts = []
    while args and not args[0].startswith("-") and args[0] not in ("(", "!", ")"):
        starts.append(args.pop(0))
    tests: list[tuple[bool, str, str | None]] = []  # (negated, primary, value)
    max_depth: int | None = None
    min_depth = 0
    negate = False
    with_value = {"-name", "-iname", "-type", "-maxdepth", "-mindepth", "-path", "-ipath"}
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("!", "-not"):
            negate = not negate
            i += 1
            continue
        if a in ("-print", "-a", "-and"):
            i += 1
            continue
        if a in ("-o", "-or", "(", ")"):
            ctx.err(f"{p_name}: {a} is not available in this drill build (only -name, "
                    "-iname, -path, -type, -maxdepth, -mindepth)\n")
            return 1
        if a not in with_value:
            if a.startswith("-"):
                ctx.err(f"{p_name}: unknown predicate `{a}'\n")
            else:
                ctx.err(f"{p_name}: paths must precede expression: `{a}'\n")
            return 1
        if i + 1 >= len(args):
            ctx.err(f"{p_name}: missing argument to `{a}'\n")
            return 1
        v = args[i + 1]
        if a == "-maxdepth" or a == "-mindepth":
            if not v.isdigit():
                ctx.err(f"{p_name}: Expected a positive decimal integer argument to {a}, but "
                        f"got `{v}'\n")
                return 1
            if a == "-maxdepth":
                max_depth = int(v)
            else:
                min_depth = int(v)
        elif a == "-type" and v not in ("f", "d", "l", "b", "c", "p", "s"):
            ctx.err(f"{p_name}: Unknown argument to -type: {v}\n")
            return 1
        else:
            tests.append((negate, a, v))
        negate = False
        i += 2
    vfs = ctx.vfs
    status = 0

    def matches(shown: str, p: str, kind: str) -> bool:
        for neg, prim, v in tests:
            name = posixpath.basename(shown.rstrip("/")) or shown
            if prim == "-name":
                ok = fnmatch_name(name, v)
            elif prim == "-iname":
                ok = fnmatch_name(name.lower(), v.lower())
            elif prim == "-path":
                ok = fnmatch_name(shown, v)
            elif prim == "-ipath":
                ok = fnmatch_name(shown.lower(), v.lower())
            else:
                ok = {"f": "file", "d": "dir", "l": "link", "c": "dev"}.get(v) == kind
            if ok == neg:
                return False
        return True

    def walk(shown: str, p: str, depth: int) -> None:
        nonlocal status
        kind = vfs.kind(p) or "file"
        if depth >= min_depth and matches(shown, p, kind):
            ctx.out(shown + "\n")
        if kind != "dir" or (max_depth is not None and depth >= max_depth):
            return
        try:
            children = vfs.listdir(p)
        except FsError as e:
            ctx.err(f"{p_name}: {quote(shown)}: {e.strerror}\n")
            status = 1
            return
        for n in children:
            walk(join_display(shown, n) if shown != "/" else "/" + n, posixpath.join(p, n),
                 depth + 1)

    for s in starts or ["."]:
        try:
            p, _ = vfs.lstat(s)
        except FsError as e:
            ctx.err(f"{p_name}: {quote(s)}: {e.strerror}\n")
            status = 1
            continue
        walk(s, p, 0)
    return status
