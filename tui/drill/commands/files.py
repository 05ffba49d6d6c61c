"""coreutils/findutils file commands over the drill host's filesystem, with coreutils'
messages (`mv: cannot stat 'x': No such file or directory`, `renamed 'a' -> 'b'`, ...)."""

from __future__ import annotations

import posixpath
from datetime import datetime, timezone

from tui.drill.commands.fileutil import (
    blocks_k,
    coreutils_getopt,
    human,
    join_display,
    missing_operand,
    mode_string,
    nlink_of,
    prog,
    uid_of,
)
from tui.drill.programs import (
    SIGPIPE_STATUS,
    CommandContext,
    SigPipe,
    UsageError,
    command,
    quote,
)
from tui.drill.vfs import (
    EINVAL,
    EISDIR,
    ENOENT,
    ENOTDIR,
    FsError,
    Vfs,
)

# --- cat / tee -------------------------------------------------------------------------------


@command("cat", container=True)
async def cat(ctx: CommandContext, argv: list[str]) -> int:
    opts, files = coreutils_getopt(ctx, argv, "nAbeEsTuv", {"number": False, "show-all": False})
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
        opts, files = coreutils_getopt(ctx, argv, "aip", {"append": False, "ignore-interrupts": False,
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
    opts, operands = coreutils_getopt(ctx, [argv[0], *args], "laAdh1trSFin",
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
            user = str(uid_of(owner)) if "-n" in flags else owner
            size_s = human(size) if "-h" in flags else str(size)
            shown = name + (f" -> {vfs.host.links[p]}" if k == "link" else "")
            rows.append((mode_string(k, vfs.mode(p)) + ".", str(nlink_of(vfs, p, k)), user, user,
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
    opts, operands = coreutils_getopt(ctx, argv, "vfinuTt:b",
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
    opts, operands = coreutils_getopt(ctx, argv, "rRapvfinTt:dL",
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
    opts, operands = coreutils_getopt(ctx, argv, "frRviId",
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
        raise missing_operand(p_name)
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


# --- stat / sha256sum / du / df / find -------------------------------------------------------


# --- tar -------------------------------------------------------------------------------------
# (the drill's tarballs: tui.drill.tarballs)


# --- chmod (octal modes only: what the console sends) ----------------------------------------


