"""coreutils/findutils file commands over the drill host's filesystem, with coreutils'
messages (`mv: cannot stat 'x': No such file or directory`, `renamed 'a' -> 'b'`, ...)."""

from __future__ import annotations

import hashlib
import math
import posixpath
import re
import zlib
from datetime import datetime, timezone

from tui.drill.commands.builtins import expand_escapes
from tui.drill.programs import (
    SIGPIPE_STATUS,
    CommandContext,
    SigPipe,
    UsageError,
    command,
    gnu_getopt,
    quote,
)
from tui.drill.tarballs import tar_damage, tar_members
from tui.drill.vfs import (
    EEXIST,
    EINVAL,
    EISDIR,
    ENOENT,
    ENOTDIR,
    ENOTEMPTY,
    EPERM,
    FsError,
    Vfs,
    fnmatch_name,
)


def prog(argv: list[str]) -> str:
    return argv[0]


def _getopt(ctx: CommandContext, argv: list[str], short: str, long: dict | None = None,
            status: int = 1, permute: bool = True):
    try:
        return gnu_getopt(prog(argv), argv[1:], short, long, permute=permute)
    except UsageError as e:
        e.status = status
        raise


def join_display(directory: str, name: str) -> str:
    """coreutils' file_name_concat: no doubled slash."""
    return directory.rstrip("/") + "/" + name if directory.rstrip("/") else "/" + name


def human(n: float, *, du: bool = False) -> str:
    """ls -h / du -h / df -h sizes (powers of 1024, rounded up, one decimal below 10)."""
    if n < 1024:
        return str(int(n)) if not du or n else "0"
    for unit in "KMGTPE":
        n /= 1024
        if n < 1024 or unit == "E":
            if n < 10:
                v = math.ceil(n * 10) / 10
                if v >= 10:
                    return f"{math.ceil(v)}{unit}"
                return f"{v:.1f}{unit}"
            return f"{math.ceil(n)}{unit}"
    return str(n)


def blocks_k(vfs: Vfs, p: str) -> int:
    """Disk usage in KiB as du/ls -s count it (4 KiB allocation units)."""
    kind = vfs.kind(p)
    if kind != "file":
        return 0
    size = vfs.size(p)
    return math.ceil(size / 4096) * 4


def mode_string(kind: str, mode: int) -> str:
    t = {"dir": "d", "link": "l", "dev": "c"}.get(kind, "-")
    bits = ""
    for shift in (6, 3, 0):
        v = (mode >> shift) & 7
        bits += ("r" if v & 4 else "-") + ("w" if v & 2 else "-") + ("x" if v & 1 else "-")
    if mode & 0o1000:
        bits = bits[:8] + ("t" if bits[8] == "x" else "T")
    return t + bits


def _uid(user: str) -> int:
    return 0 if user == "root" else 1000


def _inode(p: str) -> int:
    return 100000 + zlib.crc32(p.encode()) % 90000000


def _nlink(vfs: Vfs, p: str, kind: str) -> int:
    if kind != "dir":
        return 1
    return 2 + sum(1 for n in vfs.listdir_raw(p) if vfs.kind(posixpath.join(p, n)) == "dir")


# --- cat / tee -------------------------------------------------------------------------------


@command("cat", container=True)
async def cat(ctx: CommandContext, argv: list[str]) -> int:
    opts, files = _getopt(ctx, argv, "nAbeEsTuv", {"number": False, "show-all": False})
    number = any(o in ("-n", "--number") for o, _ in opts)
    vfs = ctx.vfs
    status = 0
    n = 0
    for f in files or ["-"]:
        if f == "-":
            data = ctx.stdin.read()
        else:
            try:
                data = vfs.read_text(f)
            except FsError as e:
                ctx.err(f"{prog(argv)}: {f}: {e.strerror}\n")
                status = 1
                continue
        if number:
            lines = data.splitlines(keepends=True)
            out = []
            for line in lines:
                n += 1
                out.append(f"{n:6d}\t{line}")
            data = "".join(out)
        ctx.out(data)
    return status


OUTPUT_ERROR_MODES = ("warn", "warn-nopipe", "exit", "exit-nopipe")


class TeeStream:
    """GNU tee as a writer: each piece written goes to the files (opened, and truncated
    without -a, when tee starts) and to tee's standard output as it comes, so a pipeline
    ending in `| tee FILE` streams (tui.drill.shell runs the stage before it into this).

    Output errors as coreutils handles them: without -p or --output-error, a reader that is
    gone (SIGPIPE) kills tee, and the writer before it dies at its next write; with -p
    (--output-error=warn-nopipe) tee stops writing to that pipe, keeps writing its files and
    exits 0, which is why `cmd | tee -p -a LOG` runs cmd to its end after an SSH client
    disconnects. A file tee cannot open is reported and tee exits 1 at the end.
    """

    def __init__(self, ctx: CommandContext, argv: list[str]):
        opts, files = _getopt(ctx, argv, "aip", {"append": False, "ignore-interrupts": False,
                                                 "output-error": None})
        self.ctx = ctx
        self.name = prog(argv)
        self.append = any(o in ("-a", "--append") for o, _ in opts)
        self.mode: str | None = None  # None: SIGPIPE kills tee
        for o, v in opts:
            if o == "-p":
                self.mode = "warn-nopipe"
            elif o == "--output-error":
                if v is None:
                    self.mode = "warn-nopipe"
                    continue
                matches = [m for m in OUTPUT_ERROR_MODES if m == v] or \
                    [m for m in OUTPUT_ERROR_MODES if m.startswith(v)]
                if len(matches) != 1:
                    valid = "".join(f"  - '{m}'\n" for m in OUTPUT_ERROR_MODES)
                    word = "ambiguous" if matches else "invalid"
                    raise UsageError(f"{self.name}: {word} argument '{v}' for "
                                     f"'--output-error'\nValid arguments are:\n{valid}"
                                     f"Usage: {self.name} [OPTION]... [FILE]...\n"
                                     f"Try '{self.name} --help' for more information.\n")
                self.mode = matches[0]
        self.status = 0
        self.stdout_open = True
        self.dead = False  # killed by SIGPIPE
        self.files: list[str] = []
        vfs = ctx.vfs
        for f in files:
            try:
                vfs.write(f, b"", append=True)
                if not self.append:
                    path = vfs.resolve(f)
                    vfs.host.files[path] = b""
                    vfs.host.sizes.pop(path, None)
                self.files.append(f)
            except FsError as e:
                ctx.err(f"{self.name}: {f}: {e.strerror}\n")
                self.status = 1

    def write(self, text: str) -> None:
        if self.dead:
            raise SigPipe()
        if not text:
            return
        vfs = self.ctx.vfs
        for f in self.files:
            try:
                vfs.write(f, text.encode(), append=True)
            except FsError as e:
                self.ctx.err(f"{self.name}: {f}: {e.strerror}\n")
                self.status = 1
        if not self.stdout_open:
            return
        try:
            self.ctx.stdout.write(text)
        except SigPipe:
            if self.mode is None:
                self.dead = True  # SIGPIPE's default action
                raise
            self.stdout_open = False
            if self.mode in ("warn", "exit"):  # EPIPE is reported there, and fails tee
                self.status = 1
                self.ctx.err(f"{self.name}: 'standard output': Broken pipe\n")
                if self.mode == "exit":
                    self.dead = True
                    raise

    def finish(self) -> int:
        return SIGPIPE_STATUS if self.dead else self.status


@command("tee", container=True)
async def tee(ctx: CommandContext, argv: list[str]) -> int:
    stream = TeeStream(ctx, argv)
    try:
        stream.write(ctx.stdin.read())
    except SigPipe:
        pass
    return stream.finish()


# --- ls --------------------------------------------------------------------------------------


def _ls_time(vfs: Vfs, t: float) -> str:
    dt = datetime.fromtimestamp(t, timezone.utc)
    if abs(vfs.now - t) < 15778476:  # six months, as ls decides between time and year
        return dt.strftime("%b %e %H:%M")
    return dt.strftime("%b %e  %Y")


@command("ls", container=True)
async def ls(ctx: CommandContext, argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--color")]
    opts, operands = _getopt(ctx, [argv[0], *args], "laAdh1trSFin",
                             {"all": False, "almost-all": False, "directory": False,
                              "human-readable": False, "reverse": False, "full-time": False},
                             status=2)
    flags = set()
    for o, _ in opts:
        flags.add({"--all": "-a", "--almost-all": "-A", "--directory": "-d",
                   "--human-readable": "-h", "--reverse": "-r", "--full-time": "-l"}.get(o, o))
    long_fmt = "-l" in flags or "-n" in flags
    vfs = ctx.vfs
    p_name = prog(argv)
    status = 0
    files: list[tuple[str, str]] = []
    dirs: list[tuple[str, str]] = []
    given = operands or ["."]
    for op in given:
        try:
            if long_fmt or "-d" in flags:
                p, kind = vfs.lstat(op)
                if kind == "link" and not long_fmt and "-d" not in flags:
                    p, kind = vfs.stat(op)
            else:
                p, kind = vfs.stat(op)
        except FsError as e:
            ctx.err(f"{p_name}: cannot access {quote(op)}: {e.strerror}\n")
            status = 2
            continue
        if kind == "dir" and "-d" not in flags:
            dirs.append((op, p))
        else:
            files.append((op, p))

    def order(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
        entries = sorted(entries, key=lambda e: e[0].encode())
        if "-t" in flags:
            entries.sort(key=lambda e: -vfs.mtime(e[1]))
        elif "-S" in flags:
            entries.sort(key=lambda e: -vfs.size(e[1]))
        if "-r" in flags:
            entries.reverse()
        return entries

    def render(entries: list[tuple[str, str]], with_total: bool) -> str:
        if not long_fmt:
            out = []
            for name, p in entries:
                suffix = ""
                if "-F" in flags:
                    k = vfs.kind(p)
                    suffix = "/" if k == "dir" else "@" if k == "link" else \
                        "*" if k == "file" and vfs.mode(p) & 0o111 else ""
                out.append(name + suffix + "\n")
            return "".join(out)
        rows = []
        total = 0
        for name, p in entries:
            k = vfs.kind(p) or "file"
            size = vfs.size(p)
            total += blocks_k(vfs, p)
            owner = vfs.owner(p)
            user = str(_uid(owner)) if "-n" in flags else owner
            size_s = human(size) if "-h" in flags else str(size)
            shown = name + (f" -> {vfs.host.links[p]}" if k == "link" else "")
            rows.append((mode_string(k, vfs.mode(p)) + ".", str(_nlink(vfs, p, k)), user, user,
                         size_s, _ls_time(vfs, vfs.mtime(p)), shown))
        w = [max((len(r[i]) for r in rows), default=0) for i in range(6)]
        out = []
        if with_total:
            out.append(f"total {human(total * 1024) if '-h' in flags else total}\n")
        for r in rows:
            out.append(f"{r[0]} {r[1]:>{w[1]}} {r[2]:<{w[2]}} {r[3]:<{w[3]}} {r[4]:>{w[4]}} "
                       f"{r[5]} {r[6]}\n")
        return "".join(out)

    chunks = []
    if files:
        chunks.append(render(order(files), with_total=False))
    headers = len(given) > 1 or bool(files) or status != 0
    for op, p in order(dirs):
        try:
            names = vfs.listdir(p)
        except FsError as e:
            ctx.out("".join(chunks))
            chunks = []
            ctx.err(f"{p_name}: cannot open directory {quote(op)}: {e.strerror}\n")
            status = 2
            continue
        if "-a" not in flags:
            names = [n for n in names if not n.startswith(".") or "-A" in flags]
        entries = [(n, posixpath.join(p, n)) for n in names]
        if "-a" in flags:
            entries += [(".", p), ("..", posixpath.dirname(p))]
        body = render(order(entries), with_total=True) if entries or long_fmt else ""
        text = (f"{op}:\n" if headers else "") + body
        chunks.append(text)
    ctx.out("\n".join(chunks))
    return status


# --- mv / cp / rm ----------------------------------------------------------------------------


def _target(ctx: CommandContext, argv: list[str], opts, operands) -> tuple[list[str], str, bool]:
    p_name = prog(argv)
    target_dir = next((v for o, v in opts if o in ("-t", "--target-directory")), None)
    no_target_dir = any(o in ("-T", "--no-target-directory") for o, _ in opts)
    hint = f"Try '{p_name} --help' for more information.\n"
    if target_dir is not None:
        if not operands:
            raise UsageError(f"{p_name}: missing file operand\n{hint}")
        if not ctx.vfs.is_dir(target_dir):
            raise UsageError(f"{p_name}: target directory {quote(target_dir)}: "
                             f"{ENOENT if not ctx.vfs.exists(target_dir) else ENOTDIR}\n")
        return operands, target_dir, True
    if not operands:
        raise UsageError(f"{p_name}: missing file operand\n{hint}")
    if len(operands) == 1:
        raise UsageError(f"{p_name}: missing destination file operand after "
                         f"{quote(operands[0])}\n{hint}")
    sources, target = operands[:-1], operands[-1]
    is_dir = ctx.vfs.is_dir(target) and not no_target_dir
    if len(sources) > 1 and not is_dir:
        raise UsageError(f"{p_name}: target {quote(target)} is not a directory\n")
    return sources, target, is_dir


@command("mv")
async def mv(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "vfinuTt:b",
                             {"verbose": False, "force": False, "interactive": False,
                              "no-clobber": False, "target-directory": True,
                              "no-target-directory": False, "update": False})
    names = {o for o, _ in opts}
    verbose = bool(names & {"-v", "--verbose"})
    no_clobber = bool(names & {"-n", "--no-clobber"})
    sources, target, is_dir = _target(ctx, argv, opts, operands)
    vfs = ctx.vfs
    p_name = prog(argv)
    status = 0
    for src in sources:
        try:
            sp, sk = vfs.lstat(src)
        except FsError as e:
            ctx.err(f"{p_name}: cannot stat {quote(src)}: {e.strerror}\n")
            status = 1
            continue
        dst = join_display(target, posixpath.basename(src.rstrip("/")) or src) if is_dir \
            else target
        try:
            dp = vfs.resolve(dst, follow=False)
        except FsError as e:
            ctx.err(f"{p_name}: cannot move {quote(src)} to {quote(dst)}: {e.strerror}\n")
            status = 1
            continue
        if dp == sp:
            ctx.err(f"{p_name}: {quote(src)} and {quote(dst)} are the same file\n")
            status = 1
            continue
        dk = vfs.kind(dp)
        if no_clobber and dk is not None:
            continue
        if dk == "dir" and sk != "dir":
            ctx.err(f"{p_name}: cannot overwrite directory {quote(dst)} with non-directory\n")
            status = 1
            continue
        if dk is not None and dk != "dir" and sk == "dir":
            ctx.err(f"{p_name}: cannot overwrite non-directory {quote(dst)} with directory "
                    f"{quote(src)}\n")
            status = 1
            continue
        try:
            vfs.rename(src, dst)
        except FsError as e:
            if e.strerror == EINVAL:
                ctx.err(f"{p_name}: cannot move {quote(src)} to a subdirectory of itself, "
                        f"{quote(dst)}\n")
            else:
                ctx.err(f"{p_name}: cannot move {quote(src)} to {quote(dst)}: {e.strerror}\n")
            status = 1
            continue
        if verbose:
            ctx.out(f"renamed {quote(src)} -> {quote(dst)}\n")
    return status


@command("cp")
async def cp(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "rRapvfinTt:dL",
                             {"recursive": False, "archive": False, "verbose": False,
                              "force": False, "no-clobber": False, "target-directory": True,
                              "no-target-directory": False, "preserve": False})
    names = {o for o, _ in opts}
    recursive = bool(names & {"-r", "-R", "-a", "--recursive", "--archive"})
    preserve = bool(names & {"-a", "-p", "--archive", "--preserve"})
    verbose = bool(names & {"-v", "--verbose"})
    no_clobber = bool(names & {"-n", "--no-clobber"})
    sources, target, is_dir = _target(ctx, argv, opts, operands)
    vfs = ctx.vfs
    p_name = prog(argv)
    status = 0

    def copy(src: str, dst: str) -> bool:
        try:
            sp, sk = vfs.stat(src)
        except FsError as e:
            ctx.err(f"{p_name}: cannot stat {quote(src)}: {e.strerror}\n")
            return False
        if sk == "dir":
            if not recursive:
                ctx.err(f"{p_name}: -r not specified; omitting directory {quote(src)}\n")
                return False
            try:
                dp = vfs.resolve(dst, follow=True)
            except FsError as e:
                ctx.err(f"{p_name}: cannot create directory {quote(dst)}: {e.strerror}\n")
                return False
            if dp == sp or dp.startswith(sp.rstrip("/") + "/"):
                ctx.err(f"{p_name}: cannot copy a directory, {quote(src)}, into itself, "
                        f"{quote(dst)}\n")
                return False
            if vfs.kind(dp) is None:
                try:
                    vfs.mkdir(dst)
                except FsError as e:
                    ctx.err(f"{p_name}: cannot create directory {quote(dst)}: {e.strerror}\n")
                    return False
                if verbose:
                    ctx.out(f"{quote(src)} -> {quote(dst)}\n")
            try:
                children = vfs.listdir(sp)
            except FsError as e:
                ctx.err(f"{p_name}: cannot access {quote(src)}: {e.strerror}\n")
                return False
            ok = True
            for n in children:
                ok = copy(join_display(src, n), join_display(dst, n)) and ok
            return ok
        try:
            dp = vfs.resolve(dst, follow=True)
        except FsError as e:
            ctx.err(f"{p_name}: cannot create regular file {quote(dst)}: {e.strerror}\n")
            return False
        if dp == sp:
            ctx.err(f"{p_name}: {quote(src)} and {quote(dst)} are the same file\n")
            return False
        if no_clobber and vfs.kind(dp) is not None:
            return True
        if vfs.kind(dp) == "dir":
            ctx.err(f"{p_name}: cannot overwrite directory {quote(dst)} with non-directory\n")
            return False
        try:
            vfs.read(src)
        except FsError as e:
            ctx.err(f"{p_name}: cannot open {quote(src)} for reading: {e.strerror}\n")
            return False
        try:
            vfs.copy_file(src, dst, preserve=preserve)
        except FsError as e:
            ctx.err(f"{p_name}: cannot create regular file {quote(dst)}: {e.strerror}\n")
            return False
        if verbose:
            ctx.out(f"{quote(src)} -> {quote(dst)}\n")
        return True

    for src in sources:
        dst = join_display(target, posixpath.basename(src.rstrip("/")) or src) if is_dir \
            else target
        if not copy(src, dst):
            status = 1
    return status


@command("rm")
async def rm(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "frRviId",
                             {"force": False, "recursive": False, "verbose": False,
                              "dir": False, "no-preserve-root": False, "preserve-root": False,
                              "interactive": False})
    names = {o for o, _ in opts}
    force = bool(names & {"-f", "--force"})
    recursive = bool(names & {"-r", "-R", "--recursive"})
    verbose = bool(names & {"-v", "--verbose"})
    dir_ok = bool(names & {"-d", "--dir"})
    p_name = prog(argv)
    if not operands:
        if force:
            return 0
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
    vfs = ctx.vfs
    status = 0

    def fail(shown: str, err: str) -> None:
        nonlocal status
        ctx.err(f"{p_name}: cannot remove {quote(shown)}: {err}\n")
        status = 1

    def remove_tree(shown: str, p: str) -> bool:
        try:
            children = vfs.listdir(p)
        except FsError as e:
            fail(shown, e.strerror)
            return False
        ok = True
        for n in children:
            cp_ = posixpath.join(p, n)
            cshown = join_display(shown, n)
            if vfs.kind(cp_) == "dir":
                ok = remove_tree(cshown, cp_) and ok
            else:
                try:
                    vfs.unlink(cp_)
                    if verbose:
                        ctx.out(f"removed {quote(cshown)}\n")
                except FsError as e:
                    fail(cshown, e.strerror)
                    ok = False
        if not ok:
            return False
        try:
            vfs.rmdir(p)
        except FsError as e:
            fail(shown, e.strerror)
            return False
        if verbose:
            ctx.out(f"removed directory {quote(shown)}\n")
        return True

    for op in operands:
        base = posixpath.basename(op.rstrip("/"))
        if base in (".", ".."):
            ctx.err(f"{p_name}: refusing to remove '.' or '..' directory: skipping "
                    f"{quote(op)}\n")
            status = 1
            continue
        try:
            p, kind = vfs.lstat(op)
        except FsError as e:
            if force and e.strerror == ENOENT:
                continue
            fail(op, e.strerror)
            continue
        if kind == "dir":
            if p == "/" and recursive and "--no-preserve-root" not in names:
                ctx.err(f"{p_name}: it is dangerous to operate recursively on '/'\n"
                        f"{p_name}: use --no-preserve-root to override this failsafe\n")
                status = 1
                continue
            if recursive:
                remove_tree(op, p)
            elif dir_ok:
                try:
                    vfs.rmdir(op)
                    if verbose:
                        ctx.out(f"removed directory {quote(op)}\n")
                except FsError as e:
                    fail(op, e.strerror)
            else:
                fail(op, EISDIR)
            continue
        try:
            vfs.unlink(op)
        except FsError as e:
            fail(op, e.strerror)
            continue
        if verbose:
            ctx.out(f"removed {quote(op)}\n")
    return status


# --- mkdir / rmdir / touch / ln --------------------------------------------------------------


@command("mkdir", container=True)
async def mkdir(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "pvm:", {"parents": False, "verbose": False,
                                                 "mode": True})
    names = {o for o, _ in opts}
    parents = bool(names & {"-p", "--parents"})
    verbose = bool(names & {"-v", "--verbose"})
    p_name = prog(argv)
    if not operands:
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
    vfs = ctx.vfs
    status = 0
    for op in operands:
        if parents:
            absolute = vfs.abspath(op)
            parts = [x for x in absolute.split("/") if x]
            cur = ""
            shown_base = "" if op.startswith("/") else None
            for i, part in enumerate(parts):
                cur += "/" + part
                try:
                    k = vfs.kind(vfs.resolve(cur))
                except FsError as e:
                    ctx.err(f"{p_name}: cannot create directory {quote(op)}: {e.strerror}\n")
                    status = 1
                    break
                if k == "dir":
                    continue
                if k is not None:
                    ctx.err(f"{p_name}: cannot create directory {quote(op)}: {EEXIST if i == len(parts) - 1 else ENOTDIR}\n")
                    status = 1
                    break
                try:
                    vfs.mkdir(cur)
                except FsError as e:
                    ctx.err(f"{p_name}: cannot create directory {quote(op)}: {e.strerror}\n")
                    status = 1
                    break
                if verbose:
                    shown = cur if shown_base is not None else posixpath.relpath(cur, vfs.cwd)
                    ctx.out(f"{p_name}: created directory {quote(shown)}\n")
            continue
        try:
            vfs.mkdir(op)
        except FsError as e:
            ctx.err(f"{p_name}: cannot create directory {quote(op)}: {e.strerror}\n")
            status = 1
            continue
        if verbose:
            ctx.out(f"{p_name}: created directory {quote(op)}\n")
    return status


@command("rmdir", container=True)
async def rmdir(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "pv", {"parents": False, "verbose": False,
                                               "ignore-fail-on-non-empty": False})
    names = {o for o, _ in opts}
    verbose = bool(names & {"-v", "--verbose"})
    ignore = "--ignore-fail-on-non-empty" in names
    p_name = prog(argv)
    if not operands:
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
    status = 0
    for op in operands:
        try:
            ctx.vfs.rmdir(op)
        except FsError as e:
            if ignore and e.strerror == ENOTEMPTY:
                continue
            ctx.err(f"{p_name}: failed to remove {quote(op)}: {e.strerror}\n")
            status = 1
            continue
        if verbose:
            ctx.out(f"{p_name}: removing directory, {quote(op)}\n")
    return status


@command("touch", container=True)
async def touch(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "acmd:t:r:", {"no-create": False, "date": True})
    no_create = any(o in ("-c", "--no-create") for o, _ in opts)
    p_name = prog(argv)
    if not operands:
        raise UsageError(f"{p_name}: missing file operand\nTry '{p_name} --help' for more "
                         "information.\n")
    vfs = ctx.vfs
    status = 0
    for op in operands:
        try:
            if no_create and not vfs.exists(op):
                continue
            vfs.touch(op)
        except FsError as e:
            ctx.err(f"{p_name}: cannot touch {quote(op)}: {e.strerror}\n")
            status = 1
    return status


@command("ln")
async def ln(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "sfnvT", {"symbolic": False, "force": False,
                                                  "verbose": False, "no-dereference": False})
    names = {o for o, _ in opts}
    symbolic = bool(names & {"-s", "--symbolic"})
    force = bool(names & {"-f", "--force"})
    verbose = bool(names & {"-v", "--verbose"})
    no_deref = bool(names & {"-n", "--no-dereference", "-T"})
    p_name = prog(argv)
    vfs = ctx.vfs
    if not operands:
        raise UsageError(f"{p_name}: missing file operand\nTry '{p_name} --help' for more "
                         "information.\n")
    if len(operands) == 1:
        target, link = operands[0], posixpath.basename(operands[0].rstrip("/"))
    else:
        target, link = operands[0], operands[-1]
        if len(operands) > 2:
            raise UsageError(f"{p_name}: target {quote(link)} is not a directory\n")
        try:
            is_dir = (vfs.lstat(link)[1] != "link" or not no_deref) and vfs.is_dir(link)
        except FsError:
            is_dir = False
        if is_dir:
            link = join_display(link, posixpath.basename(target.rstrip("/")))
    kind_word = "symbolic link" if symbolic else "hard link"
    try:
        if force and vfs.exists(link, follow=False):
            if vfs.lstat(link)[1] == "dir":
                ctx.err(f"{p_name}: {quote(link)}: cannot overwrite directory\n")
                return 1
            vfs.unlink(link)
        if symbolic:
            vfs.symlink(target, link)
        else:
            _, tk = vfs.stat(target)
            if tk == "dir":
                ctx.err(f"{p_name}: {quote(target)}: hard link not allowed for directory\n")
                return 1
            if vfs.exists(link, follow=False):
                raise FsError(EEXIST)
            vfs.copy_file(target, link, preserve=True)
    except FsError as e:
        if symbolic:
            ctx.err(f"{p_name}: failed to create {kind_word} {quote(link)}: {e.strerror}\n")
        else:
            ctx.err(f"{p_name}: failed to create {kind_word} {quote(link)} => {quote(target)}: "
                    f"{e.strerror}\n")
        return 1
    if verbose:
        arrow = "->" if symbolic else "=>"
        ctx.out(f"{quote(link)} {arrow} {quote(target)}\n")
    return 0


@command("readlink", container=True)
async def readlink(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "femnqsvz", {"canonicalize": False,
                                                     "canonicalize-existing": False,
                                                     "canonicalize-missing": False,
                                                     "no-newline": False, "verbose": False})
    names = {o for o, _ in opts}
    canon = next((o for o in ("-f", "-e", "-m", "--canonicalize", "--canonicalize-existing",
                              "--canonicalize-missing") if o in names), None)
    verbose = bool(names & {"-v", "--verbose"})
    nl = "" if names & {"-n", "--no-newline"} else "\n"
    p_name = prog(argv)
    if not operands:
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
    vfs = ctx.vfs
    status = 0
    for op in operands:
        try:
            if canon:
                p = vfs.resolve(op, follow=True)
                if canon in ("-e", "--canonicalize-existing") and vfs.kind(p) is None:
                    raise FsError(ENOENT)
                if canon in ("-f", "--canonicalize") and vfs.kind(posixpath.dirname(p)) is None:
                    raise FsError(ENOENT)
                ctx.out(p + nl)
            else:
                ctx.out(vfs.readlink(op) + nl)
        except FsError as e:
            if verbose:
                ctx.err(f"{p_name}: {op}: {e.strerror}\n")
            status = 1
    return status


@command("basename", container=True)
async def basename(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "as:z", {"multiple": False, "suffix": True})
    multiple = any(o in ("-a", "--multiple", "-s", "--suffix") for o, _ in opts)
    suffix = next((v for o, v in opts if o in ("-s", "--suffix")), None)
    p_name = prog(argv)
    if not operands:
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
    if not multiple:
        if len(operands) > 2:
            raise UsageError(f"{p_name}: extra operand {quote(operands[2])}\nTry '{p_name} "
                             "--help' for more information.\n")
        if len(operands) == 2:
            suffix = operands[1]
        operands = operands[:1]
    for op in operands:
        s = op.rstrip("/")
        b = posixpath.basename(s) if s else ("/" if op else "")
        if suffix and b.endswith(suffix) and b != suffix:
            b = b[:-len(suffix)]
        ctx.out(b + "\n")
    return 0


@command("dirname", container=True)
async def dirname(ctx: CommandContext, argv: list[str]) -> int:
    _, operands = _getopt(ctx, argv, "z", {"zero": False})
    p_name = prog(argv)
    if not operands:
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
    for op in operands:
        s = op.rstrip("/")
        if not s:
            ctx.out(("/" if op else ".") + "\n")
            continue
        d = posixpath.dirname(s).rstrip("/")
        ctx.out((d if d else ("/" if s.startswith("/") else ".")) + "\n")
    return 0


# --- stat / sha256sum / du / df / find -------------------------------------------------------


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
    opts, operands = _getopt(ctx, argv, "Lc:t", {"dereference": False, "format": True,
                                                 "printf": True, "terse": False})
    follow = any(o in ("-L", "--dereference") for o, _ in opts)
    fmt = next((v for o, v in opts if o in ("-c", "--format")), None)
    printf = next((v for o, v in opts if o == "--printf"), None)
    p_name = prog(argv)
    if not operands:
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
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
            "U": owner, "G": owner, "u": str(_uid(owner)), "g": str(_uid(owner)),
            "F": _file_type(vfs, p, kind), "Y": str(int(mt)), "y": _fmt_time(mt),
            "X": str(int(mt)), "x": _fmt_time(mt), "Z": str(int(mt)), "z": _fmt_time(mt),
            "i": str(_inode(p)), "h": str(_nlink(vfs, p, kind)), "b": str(blocks_k(vfs, p) * 2),
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
            f"Device: fd00h/64768d\tInode: {_inode(p):<11} Links: {_nlink(vfs, p, kind)}\n"
            f"Access: ({mode & 0o7777:04o}/{mode_string(kind, mode)})  "
            f"Uid: ({_uid(owner):5d}/{owner:>8})   Gid: ({_uid(owner):5d}/{owner:>8})\n"
            f"Context: {_selinux(p)}\n"
            f"Access: {_fmt_time(mt)}\nModify: {_fmt_time(mt)}\nChange: {_fmt_time(mt)}\n"
            f" Birth: {_fmt_time(mt)}\n")
    return status


@command("sha256sum", container=True)
async def sha256sum(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = _getopt(ctx, argv, "bctwz", {"binary": False, "check": False,
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
    opts, operands = _getopt(ctx, argv, "shacbxkmd:", {"summarize": False,
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
    opts, operands = _getopt(ctx, argv, "hTkPa", {"human-readable": False, "print-type": False})
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



# --- tar -------------------------------------------------------------------------------------
# (the drill's tarballs: tui.drill.tarballs)


def _with_dirs(members: list[str]) -> list[str]:
    """Members as tar lists them: each directory (with a trailing /) before what is in it."""
    out: list[str] = []
    seen: set[str] = set()
    for m in members:
        parts = m.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i]) + "/"
            if d not in seen and i > 1:  # static-pod-resources/ itself is not archived
                seen.add(d)
                out.append(d)
        out.append(m)
    return out


def _member_source(vfs: Vfs, member: str) -> str | None:
    """Where the drill keeps a member's contents: the host's own file of the same path (the
    backup holds what was there), if it is still there."""
    p = "/etc/kubernetes/" + member
    return p if vfs.host.files.get(p) is not None else None


def _selected(names: list[str], patterns: list[str], wildcards: bool) -> list[str]:
    if not patterns:
        return names
    out = []
    for n in names:
        for pat in patterns:
            pat = pat.rstrip("/")
            if wildcards and any(c in pat for c in "*?["):
                if fnmatch_name(n.rstrip("/"), pat):
                    out.append(n)
                    break
            elif n.rstrip("/") == pat or n.startswith(pat + "/"):
                out.append(n)
                break
    return out


@command("tar")
async def tar(ctx: CommandContext, argv: list[str]) -> int:
    """GNU tar over the drill's tarballs: -t (list, -v long), -x (extract, -C, -v,
    --strip-components, --wildcards, member names); -c is not simulated (cluster-backup.sh
    makes the drill's tarballs)."""
    args = argv[1:]
    if args and not args[0].startswith("-") and args[0] and \
            all(c in "txcvzfpC" for c in args[0]):
        args = ["-" + args[0], *args[1:]]  # old-style `tar tzf FILE`
    opts, operands = _getopt(ctx, [argv[0], *args], "txcvzpf:C:",
                             {"list": False, "extract": False, "get": False, "create": False,
                              "verbose": False, "gzip": False, "gunzip": False, "file": True,
                              "directory": True, "strip-components": True, "wildcards": False,
                              "no-wildcards": False, "preserve-permissions": False,
                              "same-permissions": False}, status=2)
    name = prog(argv)
    modes = {o for o, _ in opts if o in ("-t", "--list", "-x", "--extract", "--get", "-c",
                                         "--create")}
    modes = {{"--list": "-t", "--extract": "-x", "--get": "-x", "--create": "-c"}.get(m, m)
             for m in modes}
    if len(modes) != 1:
        ctx.err(f"{name}: You must specify one of the '-Acdtrux', '--delete' or '--test-label' "
                f"options\nTry '{name} --help' or '{name} --usage' for more information.\n"
                if not modes else
                f"{name}: You may not specify more than one '-Acdtrux', '--delete' or  "
                f"'--test-label' option\nTry '{name} --help' or '{name} --usage' for more "
                "information.\n")
        return 2
    mode = modes.pop()
    if mode == "-c":
        ctx.err(f"{name}: creating archives is not available in this drill build (the drill "
                "simulates only the commands the etcd procedures use)\n")
        return 2
    verbose = sum(1 for o, _ in opts if o in ("-v", "--verbose"))
    archive = next((v for o, v in opts if o in ("-f", "--file")), None)
    directory = next((v for o, v in reversed(opts) if o in ("-C", "--directory")), None)
    wildcards = any(o == "--wildcards" for o, _ in opts)
    strip = 0
    for o, v in opts:
        if o == "--strip-components":
            if not (v or "").isdigit():
                ctx.err(f"{name}: Invalid number of elements: '{v}'\n"
                        f"Try '{name} --help' or '{name} --usage' for more information.\n")
                return 2
            strip = int(v)
    if archive is None or archive == "-":
        ctx.err(f"{name}: Refusing to read archive contents from terminal (missing -f "
                f"option?)\n{name}: Error is not recoverable: exiting now\n")
        return 2
    vfs = ctx.vfs
    try:
        kind = vfs.kind(archive) if vfs.exists(archive) else None
        if kind is None:
            raise FsError(ENOENT, archive)
        if kind == "dir":
            raise FsError(EISDIR, archive)
        vfs.read(archive)
    except FsError as e:
        what = "Cannot read" if e.strerror == EISDIR else "Cannot open"
        ctx.err(f"{name}: {archive}: {what}: {e.strerror}\n"
                f"{name}: Error is not recoverable: exiting now\n")
        return 2
    damage = tar_damage(ctx.cluster, vfs, archive)
    if damage is not None:
        ctx.err(damage[0])
        return damage[1]
    names = _with_dirs(tar_members(vfs, archive, ctx.cluster))
    chosen = _selected(names, operands, wildcards)
    status = 0
    for pat in operands:
        if not _selected(names, [pat], wildcards):
            ctx.err(f"{name}: {pat}: Not found in archive\n")
            status = 2
    if mode == "-t":
        when = datetime.fromtimestamp(vfs.mtime(archive), timezone.utc).strftime(
            "%Y-%m-%d %H:%M")
        for n in chosen:
            if not verbose:
                ctx.out(n + "\n")
                continue
            src = _member_source(vfs, n) if not n.endswith("/") else None
            is_dir = n.endswith("/")
            mode_bits = 0o755 if is_dir else (vfs.mode(src) if src else 0o600)
            size = 0 if is_dir else (vfs.size(src) if src else 2048)
            ug = "root/root"
            pad = " " * max(1, 19 - len(ug) - len(str(size)))
            ctx.out(f"{mode_string('dir' if is_dir else 'file', mode_bits)} {ug}{pad}{size} "
                    f"{when} {n}\n")
        if status:
            ctx.err(f"{name}: Exiting with failure status due to previous errors\n")
        return status
    # -x
    base = directory or "."
    if directory is not None and not vfs.is_dir(directory):
        ctx.err(f"{name}: {directory}: Cannot open: No such file or directory\n"
                f"{name}: Error is not recoverable: exiting now\n")
        return 2
    for n in chosen:
        parts = [p for p in n.split("/") if p]
        if len(parts) <= strip:
            continue
        rel = "/".join(parts[strip:])
        if verbose:
            ctx.out(n + "\n")
        target = join_display(base, rel)
        try:
            if n.endswith("/"):
                if not vfs.is_dir(target):
                    vfs.mkdir(target)
                continue
            parent = posixpath.dirname(target)
            if parent and not vfs.is_dir(parent):
                for i in range(1, len(parent.strip("/").split("/")) + 1):
                    d = ("/" if parent.startswith("/") else "") + \
                        "/".join(parent.strip("/").split("/")[:i])
                    if not vfs.is_dir(d):
                        vfs.mkdir(d)
            src = _member_source(vfs, n)
            data = vfs.read(src) if src else (
                f"drill stand-in for {n}, extracted from {archive}\n").encode()
            vfs.write(target, data)
        except FsError as e:
            ctx.err(f"{name}: {rel}: Cannot open: {e.strerror}\n")
            status = 2
    if status:
        ctx.err(f"{name}: Exiting with failure status due to previous errors\n")
    return status


# --- chmod (octal modes only: what the console sends) ----------------------------------------


@command("chmod")
async def chmod(ctx: CommandContext, argv: list[str]) -> int:
    """GNU chmod with an octal MODE (`chmod 600 -- FILE`); symbolic modes are not simulated."""
    p_name = prog(argv)
    opts, operands = _getopt(ctx, argv, "fv", {"silent": False, "quiet": False,
                                               "verbose": False})
    if len(operands) < 2:
        raise UsageError(f"{p_name}: missing operand\nTry '{p_name} --help' for more "
                         "information.\n")
    mode, files = operands[0], operands[1:]
    if not re.fullmatch(r"[0-7]{1,4}", mode):
        ctx.err(f"{p_name}: invalid mode: {quote(mode)} (the drill knows octal modes only)\n")
        return 1
    vfs, status = ctx.vfs, 0
    for f in files:
        try:
            p = vfs.resolve(f, follow=True)
            if vfs.kind(p) is None:
                raise FsError(ENOENT, f)
            if not vfs.root and vfs.owner(p) != vfs.user:
                raise FsError(EPERM, f)
        except FsError as e:
            ctx.err(f"{p_name}: cannot access {quote(f)}: {e.strerror}\n" if e.strerror == ENOENT
                    else f"{p_name}: changing permissions of {quote(f)}: {e.strerror}\n")
            status = 1
            continue
        vfs.host.modes[p] = int(mode, 8)
    return status
