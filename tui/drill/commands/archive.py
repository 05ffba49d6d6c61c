"""GNU tar on a drill host, over the drill's stand-in tarballs (tui.drill.tarballs): listing,
extracting and creating what cluster-backup.sh and the restore read and write."""

from __future__ import annotations

import posixpath
from datetime import datetime, timezone

from tui.drill.commands.fileutil import coreutils_getopt, join_display, mode_string, prog
from tui.drill.programs import (
    CommandContext,
    command,
)
from tui.drill.tarballs import tar_damage, tar_members
from tui.drill.vfs import (
    EISDIR,
    ENOENT,
    FsError,
    Vfs,
    fnmatch_name,
)


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
    opts, operands = coreutils_getopt(ctx, [argv[0], *args], "txcvzpf:C:",
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
