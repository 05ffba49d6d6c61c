"""What the drill's file commands share: coreutils' option parsing and program name, sizes
and modes as ls and stat print them, and the inode facts a listing shows."""

from __future__ import annotations

import math
import posixpath
import zlib

from tui.drill.programs import (
    CommandContext,
    UsageError,
    gnu_getopt,
    quote,
)
from tui.drill.vfs import (
    Vfs,
)


def prog(argv: list[str]) -> str:
    return argv[0]


def coreutils_getopt(ctx: CommandContext, argv: list[str], short: str, long: dict | None = None,
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


def uid_of(user: str) -> int:
    return 0 if user == "root" else 1000


def inode_of(p: str) -> int:
    return 100000 + zlib.crc32(p.encode()) % 90000000


def nlink_of(vfs: Vfs, p: str, kind: str) -> int:
    if kind != "dir":
        return 1
    return 2 + sum(1 for n in vfs.listdir_raw(p) if vfs.kind(posixpath.join(p, n)) == "dir")


def missing_operand(p_name: str, after: str | None = None) -> UsageError:
    """coreutils' complaint when a command is given nothing to act on (exit status 1);
    `after`: the last operand it was given, when it needed more (`chmod 600`)."""
    shown = f" after {quote(after)}" if after is not None else ""
    return UsageError(f"{p_name}: missing operand{shown}\nTry '{p_name} --help' for more "
                      "information.\n")
