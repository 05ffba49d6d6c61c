"""Directories, links, names and modes on a drill host: mkdir, rmdir, touch, ln, readlink,
basename, dirname and chmod, with coreutils' messages and exit statuses."""

from __future__ import annotations

import posixpath
import re

from tui.drill.commands.fileutil import coreutils_getopt, join_display, missing_operand, prog
from tui.drill.programs import (
    CommandContext,
    UsageError,
    command,
    quote,
)
from tui.drill.vfs import (
    EEXIST,
    ENOENT,
    ENOTDIR,
    ENOTEMPTY,
    EPERM,
    FsError,
)


@command("mkdir", container=True)
async def mkdir(ctx: CommandContext, argv: list[str]) -> int:
    opts, operands = coreutils_getopt(ctx, argv, "pvm:", {"parents": False, "verbose": False,
                                                 "mode": True})
    names = {o for o, _ in opts}
    parents = bool(names & {"-p", "--parents"})
    verbose = bool(names & {"-v", "--verbose"})
    p_name = prog(argv)
    if not operands:
        raise missing_operand(p_name)
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
    opts, operands = coreutils_getopt(ctx, argv, "pv", {"parents": False, "verbose": False,
                                               "ignore-fail-on-non-empty": False})
    names = {o for o, _ in opts}
    verbose = bool(names & {"-v", "--verbose"})
    ignore = "--ignore-fail-on-non-empty" in names
    p_name = prog(argv)
    if not operands:
        raise missing_operand(p_name)
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
    opts, operands = coreutils_getopt(ctx, argv, "acmd:t:r:", {"no-create": False, "date": True})
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
    opts, operands = coreutils_getopt(ctx, argv, "sfnvT", {"symbolic": False, "force": False,
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
    opts, operands = coreutils_getopt(ctx, argv, "femnqsvz", {"canonicalize": False,
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
        raise missing_operand(p_name)
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
    opts, operands = coreutils_getopt(ctx, argv, "as:z", {"multiple": False, "suffix": True})
    multiple = any(o in ("-a", "--multiple", "-s", "--suffix") for o, _ in opts)
    suffix = next((v for o, v in opts if o in ("-s", "--suffix")), None)
    p_name = prog(argv)
    if not operands:
        raise missing_operand(p_name)
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
    _, operands = coreutils_getopt(ctx, argv, "z", {"zero": False})
    p_name = prog(argv)
    if not operands:
        raise missing_operand(p_name)
    for op in operands:
        s = op.rstrip("/")
        if not s:
            ctx.out(("/" if op else ".") + "\n")
            continue
        d = posixpath.dirname(s).rstrip("/")
        ctx.out((d if d else ("/" if s.startswith("/") else ".")) + "\n")
    return 0


@command("chmod")
async def chmod(ctx: CommandContext, argv: list[str]) -> int:
    """GNU chmod with an octal MODE (`chmod 600 -- FILE`); symbolic modes are not simulated."""
    p_name = prog(argv)
    opts, operands = coreutils_getopt(ctx, argv, "fv", {"silent": False, "quiet": False,
                                               "verbose": False})
    if len(operands) < 2:
        raise missing_operand(p_name, operands[0] if operands else None)
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
