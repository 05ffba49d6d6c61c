"""OpenShift release numbers, as the procedures branch on them.

Everything the console decides by release reads `RELEASES` below: which generation of
cluster-etcd-operator's host scripts a release carries, which etcd it runs, and which restore
procedure its documentation gives. One table, so a new release (or a z-stream that got a
backport) is one row.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass


@functools.lru_cache(maxsize=512)  # pure; the drill asks it before every command
def openshift_minor(version: str | None) -> tuple[int, int] | None:
    """(major, minor) of a version like "4.12.30", or None when it cannot be read."""
    try:
        major, minor = (version or "").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def openshift_release(version: str | None) -> tuple[int, int, int | None] | None:
    """(major, minor, z) of "4.13.21" (z None for "4.13" or "4.13.0-rc.2"'s unreadable z)."""
    minor = openshift_minor(version)
    if minor is None:
        return None
    parts = (version or "").split(".")
    z = parts[2].split("-")[0] if len(parts) > 2 else ""
    return minor[0], minor[1], int(z) if z.isdigit() else None


@dataclass(frozen=True)
class Release:
    """What one range of releases runs on its control-plane hosts."""

    first: tuple[int, int]  # (major, minor), inclusive
    last: tuple[int, int] | None  # inclusive; None: and every later release
    scripts: str  # the generation of bindata/etcd scripts: "4.11-4.17" | "4.18-4.20" | "4.21+"
    restore_path: str  # the documented restore procedure: "4.12-4.13" | "4.14-4.17" | "4.18+"
    etcd: str  # etcd minor the release builds: "3.5" | "3.6"
    # cluster-backup.sh pulls etcdctl from the etcd image with podman before it looks for a
    # cached one. None: only from a z-stream that is not pinned down (see LATE_PODMAN_BACKPORT).
    backup_pulls_etcdctl: bool | None


# The release table. Source: ../shared/reference/UPSTREAM.md (cluster-etcd-operator's
# bindata/etcd on each release branch): 4.11-4.17 share one set of scripts, 4.18-4.20 another
# (disable-etcd.sh, quorum-restore.sh, revision.json, etcd-backup-server), 4.21 and later differ
# again (extra-data-dir, "SNAPSHOT RESTORE COMPLETED", etcd 3.6). cluster-backup.sh gets etcdctl
# with podman first from 4.14, "and late 4.12/4.13 z-streams after 2023-10/11 merges" (the
# backports of the 4.14 backup fixes, e.g. openshift/cluster-etcd-operator#1137 "[4.12]
# Backports of backup/restore fixes"). Those late z-streams carry the 4.14 *backup* behaviour
# only: their restore stays the 4.12-4.13 procedure as the documentation writes it.
RELEASES: tuple[Release, ...] = (
    # before 4.11: not covered by UPSTREAM.md; the oldest documented procedure applies
    Release((4, 0), (4, 10), "before 4.11", "4.12-4.13", "3.4", False),
    Release((4, 11), (4, 11), "4.11-4.17", "4.12-4.13", "3.5", False),
    Release((4, 12), (4, 13), "4.11-4.17", "4.12-4.13", "3.5", None),
    Release((4, 14), (4, 17), "4.11-4.17", "4.14-4.17", "3.5", True),
    Release((4, 18), (4, 20), "4.18-4.20", "4.18+", "3.5", True),
    Release((4, 21), None, "4.21+", "4.18+", "3.6", True),
)

# The first 4.12/4.13 z-stream with the podman-first backup. UPSTREAM.md dates the backports
# (2023-10/11) but names no z-stream, so none is pinned here: for 4.12/4.13 the answer is
# "maybe" (None), and what the host's own cluster-backup.sh prints settles it. Fill a release's
# first z in here once it is known; `release_of` then answers True/False for that minor.
LATE_PODMAN_BACKPORT: dict[tuple[int, int], int | None] = {(4, 12): None, (4, 13): None}


def release_of(version: str | None) -> Release | None:
    """The row of RELEASES for an OpenShift 4 version (None when unknown or not in it)."""
    parsed = openshift_release(version)
    if parsed is None or parsed[0] != 4:
        return None
    minor = parsed[:2]
    for row in RELEASES:
        if minor >= row.first and (row.last is None or minor <= row.last):
            if row.backup_pulls_etcdctl is None:
                first_z = LATE_PODMAN_BACKPORT.get(minor)
                z = parsed[2]
                pulls = None if first_z is None or z is None else z >= first_z
                return Release(minor, minor, row.scripts, row.restore_path, row.etcd, pulls)
            return row
    return None
