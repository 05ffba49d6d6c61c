"""Timeouts that scale with the data: defrag, snapshot save, snapshot status and copies.

A real OpenShift etcd database is 100 MB to 8 GB (the quota), so a fixed timeout tuned on a
small lab database either gives up on a big member half-way or waits far too long on a small
one. Each operation here has a named, conservative rate (a busy disk, not a benchmark) and a
floor; its timeout is the floor plus the time the data takes at that rate. A rate the console
measured in the same run (a defrag of another member) replaces the default, with a margin.
The operator can always set the timeout instead. Every timeout comes with the sentence that
says why it is what it is, for the plan, the step's pane and the journal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MB = 1024 * 1024
GB = 1024 * MB


@dataclass(frozen=True)
class Operation:
    name: str
    bytes_per_second: float  # the default rate: a busy disk or link, the worst case expected
    floor: float  # seconds: never less, however small the data (startup, dialing, fsync)
    rate_why: str  # what the default rate stands for, in the operator's words


# etcd's defrag rewrites the whole file (bbolt copies every page it keeps) while the member
# serves nothing: 50 MB/s is a control-plane disk that is also busy with the other members'
# writes. The floor covers the dial and the final fsync of a small file.
DEFRAG = Operation("defrag", 50 * MB, 30.0, "the default for a busy disk")
# etcdctl snapshot save streams the member's whole database over gRPC and fsyncs it: slower
# than a local rewrite, and the member keeps serving the cluster meanwhile.
SNAPSHOT_SAVE = Operation("snapshot save", 30 * MB, 60.0, "the default for a busy member")
# snapshot status reads the whole file once to hash it.
SNAPSHOT_STATUS = Operation("snapshot status", 50 * MB, 30.0, "the default for a busy disk")
# a file moved between hosts over SSH (host to host through the console, or SFTP): a slow
# WAN link or a bastion in between, not a data-centre LAN.
COPY = Operation("copy", 10 * MB, 60.0, "the default for a slow link")

# `mv /var/lib/etcd/ /tmp` (RST-04e) is a rename where both are on one file system, but a
# copy of the whole directory where /var/lib/etcd is a disk of its own (as the platforms'
# guidance for etcd suggests): read from one busy disk, written to another.
MOVE = Operation("move", 30 * MB, 30.0, "the default for a copy between two busy disks")
# what the data directory holds beside the database file: etcd keeps 5 WAL files of 64 MB
# (--max-wals) and a few raft snapshots
WAL_BYTES = 5 * 64 * MB

OPERATIONS = {op.name: op for op in (DEFRAG, SNAPSHOT_SAVE, SNAPSHOT_STATUS, COPY, MOVE)}

# a measured rate is one member's, on one disk, at one moment: the next may be twice as slow
MEASURED_MARGIN = 2.0
# cluster-backup.sh does more than the snapshot: it may pull the etcdctl image (every time on
# 4.14-4.16), waits on the operators' checks and tars the static pod resources
BACKUP_SCRIPT_OVERHEAD = 900.0
# longer than this is not a timeout any more: an operator's value is refused above it
MAX_TIMEOUT = 24 * 3600.0


@dataclass(frozen=True)
class Timeout:
    seconds: int  # whole seconds: etcdctl's --command-timeout=Ns takes them as they are
    why: str  # "defrag timeout 3m15s: 8.0 GB at 50 MB/s (the default for a busy disk) + ..."

    def flag(self) -> str:
        return f"{self.seconds}s"


@dataclass(frozen=True)
class Measured:
    """A rate the console saw: `size` bytes in `seconds` (the operator's time) on `where`."""

    bytes_per_second: float
    where: str

    @classmethod
    def of(cls, size: int | None, seconds: float, where: str) -> "Measured | None":
        """A measurement, or None when it says nothing (no size, no time)."""
        if not size or size <= 0 or not seconds or not math.isfinite(seconds) or seconds <= 0:
            return None
        return cls(size / seconds, where)


def size_text(size: int) -> str:
    """8.0 GB, 410 MB, 12 kB (binary units, as the defrag table counts them)."""
    if size >= GB:
        return f"{size / GB:.1f} GB"
    if size >= MB:
        return f"{size / MB:.0f} MB"
    return f"{max(size, 0) / 1024:.0f} kB"


def rate_text(bytes_per_second: float) -> str:
    per_mb = bytes_per_second / MB
    return f"{per_mb:.0f} MB/s" if per_mb >= 10 else f"{per_mb:.1f} MB/s"


def duration_text(seconds: float) -> str:
    """2m40s, 45s, 1h05m: the shape the operator types back with --timeout."""
    total = int(math.ceil(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m" + (f"{secs:02d}s" if secs else "")
    if minutes:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    return f"{secs}s"


def scaled(op: Operation | str, size: int | None, *, measured: Measured | None = None,
           override: float | None = None, extra: float = 0.0, extra_why: str = "",
           at_least: float = 0.0, label: str = "") -> Timeout:
    """The timeout for `op` on `size` bytes, and why.

    override: the operator's value, used as it is. measured: a rate seen in this run, used
    with MEASURED_MARGIN instead of the default. extra: fixed seconds of other work the same
    command does (`extra_why` names it). at_least: a retry's minimum (twice what timed out).
    An unknown size (no status read) takes the operation's worst case, the 8 GB quota.
    """
    op = OPERATIONS[op] if isinstance(op, str) else op
    label = label or op.name
    if override is not None:
        seconds = int(math.ceil(max(override, at_least)))
        why = f"{label} timeout {duration_text(seconds)}: set by the operator"
        if at_least > override:
            why += ", raised to twice the one that ran out"
        return Timeout(seconds, why)
    known = size is not None and size >= 0
    data = size if known else 8 * GB
    if measured is not None and measured.bytes_per_second > 0:
        rate = measured.bytes_per_second / MEASURED_MARGIN
        rate_why = (f"half the {rate_text(measured.bytes_per_second)} measured on "
                    f"{measured.where}")
    else:
        rate = op.bytes_per_second
        rate_why = op.rate_why
    seconds = op.floor + data / rate + extra
    parts = [f"{size_text(data)}{'' if known else ' (size unknown: the quota)'} at "
             f"{rate_text(rate)} ({rate_why})", f"{op.floor:g} s floor"]
    if extra:
        parts.append(f"{duration_text(extra)} {extra_why}".rstrip())
    seconds = int(math.ceil(min(seconds, MAX_TIMEOUT)))
    why = f"{label} timeout {duration_text(seconds)}: " + " + ".join(parts)
    if at_least > seconds:
        seconds = int(math.ceil(at_least))
        why = (f"{label} timeout {duration_text(seconds)}: twice the one that ran out "
               f"(the rule gives {why.split(': ', 1)[1]})")
    return Timeout(seconds, why)


def defrag_timeout(size: int | None, *, measured: Measured | None = None,
                   override: float | None = None, at_least: float = 0.0) -> Timeout:
    """etcdctl defrag of one member whose file is `size` bytes."""
    return scaled(DEFRAG, size, measured=measured, override=override, at_least=at_least)


def snapshot_save_timeout(size: int | None, *, override: float | None = None) -> Timeout:
    """etcdctl snapshot save of a member whose file is `size` bytes, on its own."""
    return scaled(SNAPSHOT_SAVE, size, override=override)


def backup_timeout(size: int | None, *, override: float | None = None) -> Timeout:
    """cluster-backup.sh (BAK-4): the snapshot save plus the script's other work."""
    return scaled(SNAPSHOT_SAVE, size, override=override, extra=BACKUP_SCRIPT_OVERHEAD,
                  extra_why="for the script's other work (etcdctl image, checks, tarball)",
                  label="backup (cluster-backup.sh)")


def snapshot_status_timeout(size: int | None, *, override: float | None = None) -> Timeout:
    """etcdutl/etcdctl snapshot status of a `size`-byte snapshot file (it reads it all); the
    operator's --timeout of the run replaces it (override)."""
    return scaled(SNAPSHOT_STATUS, size, override=override)


def copy_timeout(size_bytes: int | None, *, measured: Measured | None = None) -> Timeout:
    """Moving a `size_bytes` file between hosts (or to/from the console) over SSH.

    Public for the copy code (tui/fleet/transfer.py, RST-03): pass the bytes still to move;
    a Measured rate from an earlier chunk or file of the same copy may replace the default.
    """
    return scaled(COPY, size_bytes, measured=measured)


def move_timeout(db_size: int | None) -> Timeout:
    """Moving a member's data directory aside (RST-04e) whose database file is `db_size`
    bytes: its WAL comes along. An unknown size (the member did not answer) takes the quota."""
    size = None if db_size is None else db_size + WAL_BYTES
    return scaled(MOVE, size, label="move of the data directory")


def check_override(seconds: float) -> float:
    """An operator's timeout, checked (the duration parser already refused 0 and worse)."""
    if seconds > MAX_TIMEOUT:
        raise ValueError(f"a timeout of {duration_text(seconds)} is longer than "
                         f"{duration_text(MAX_TIMEOUT)}: that is not a timeout any more")
    return seconds
