"""Readers of what a restore starts from: `etcdutl|etcdctl snapshot status` (3.6 adds the
snapshot's storage version) and OpenShift's /var/lib/etcd/revision.json."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.errors import ParseError
from tui.etcd.parse.common import (DIGITS, column, hex_cell, int_cell, json_object, load_json,
                                   parse_error, parse_human_bytes, parse_table, require_columns,
                                   uint)


_SNAPSHOT = "snapshot status"


@dataclass(frozen=True)
class SnapshotStatus:
    hash: int
    revision: int
    total_key: int
    total_size: int  # bytes; from a table or simple line it is the humanized value read back
    # The snapshot's storage version as etcdutl 3.6 prints it: None when the tool does not
    # print one (etcdctl/etcdutl 3.4 and 3.5), "" for a snapshot taken from etcd < 3.6.
    version: str | None = None


def parse_snapshot_status(stdout: str) -> SnapshotStatus:
    """Read `etcdutl|etcdctl snapshot status FILE [-w json|table|simple]`.

    JSON: the last line that is an object (3.5 etcdctl puts a deprecation warning on stderr,
    wrappers may print more lines before it); 3.6 adds `"version"` after `"totalSize"`.
    """
    try:
        return _parse_snapshot_status(stdout)
    except ParseError:
        raise
    except Exception as exc:
        raise parse_error(_SNAPSHOT, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_snapshot_status(stdout: str) -> SnapshotStatus:
    if not isinstance(stdout, str):
        raise parse_error(_SNAPSHOT, "output is not text", repr(stdout))
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        raise parse_error(_SNAPSHOT, "the output is empty", stdout)
    objects = [ln for ln in lines if ln.startswith("{")]
    if objects:
        data = json_object(load_json(objects[-1], _SNAPSHOT), "the output", _SNAPSHOT, stdout)
        for key in ("hash", "revision", "totalKey", "totalSize"):
            if key not in data:
                raise parse_error(_SNAPSHOT, f"no {key}", stdout)
        version = data.get("version")
        if version is not None and not isinstance(version, str):
            raise parse_error(_SNAPSHOT, "version is not a string", stdout)
        return SnapshotStatus(
            hash=uint(data["hash"], "hash", _SNAPSHOT, stdout),
            revision=uint(data["revision"], "revision", _SNAPSHOT, stdout),
            total_key=uint(data["totalKey"], "totalKey", _SNAPSHOT, stdout),
            total_size=uint(data["totalSize"], "totalSize", _SNAPSHOT, stdout),
            version=version,
        )
    if lines[0].startswith("+"):
        header, rows = parse_table(stdout, _SNAPSHOT)
        cols = require_columns(header, _SNAPSHOT, stdout,
                               "HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE")
        if len(rows) != 1:
            raise parse_error(_SNAPSHOT, f"expected one row, got {len(rows)}", stdout)
        version_col = column(header, "VERSION")
        cells = [rows[0][cols[n]] for n in ("HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE")]
        version = None if version_col is None else rows[0][version_col]
    else:
        # simple: "hash, revision, total keys, total size[, version]" (the table's row)
        parts = [p.strip() for p in lines[-1].split(",")]
        if len(parts) not in (4, 5):
            raise parse_error(_SNAPSHOT, "expected 'hash, revision, total keys, total size[, "
                                   "version]'", stdout)
        cells, version = parts[:4], (parts[4] if len(parts) == 5 else None)
    hash_hex, revision, keys, size = cells
    try:
        total_size = parse_human_bytes(size)
    except ParseError:
        raise parse_error(_SNAPSHOT, "total size is not a size", stdout) from None
    return SnapshotStatus(
        hash=hex_cell(hash_hex, "hash", _SNAPSHOT, stdout),
        revision=int_cell(revision, "revision", _SNAPSHOT, stdout),
        total_key=int_cell(keys, "total keys", _SNAPSHOT, stdout),
        total_size=total_size,
        version=version,
    )


# --- /var/lib/etcd/revision.json (OpenShift 4.18 and later) ---------------------------------

_REVISION = "revision.json"
_REVISION_PATH = "/var/lib/etcd/revision.json"


@dataclass(frozen=True)
class RevisionFile:
    """What OpenShift's etcd pod records about the raft indexes it last saw (4.18+).

    `max_raft_index` tells how far a member's data went without etcd running: the quorum
    restore ranks recovery hosts by it and the restore pods bump revisions from it.
    """

    max_raft_index: int
    cluster_id: int | None = None  # a JSON number, uint64: read exactly, never via a float
    raft_index: dict[str, int] = field(default_factory=dict)  # client URL -> raft index
    created: str | None = None


def parse_revision_json(text: str) -> RevisionFile:
    """Read /var/lib/etcd/revision.json; ParseError on anything else.

    Python's json reads integers exactly (no float detour), so a uint64 clusterId such as
    18446744073709551615 survives; a number written as a float (1.8e19) is refused.
    """
    what = _REVISION
    try:
        if not isinstance(text, str):
            raise parse_error(what, "output is not text", repr(text))
        if not text.strip():
            raise parse_error(what, "the file is empty", text)
        data = json_object(load_json(text, what), "the file", what, text)
        if "maxRaftIndex" not in data:
            raise parse_error(what, "no maxRaftIndex", text)
        cluster_id = data.get("clusterId")
        if isinstance(cluster_id, str) and DIGITS.fullmatch(cluster_id):
            # tolerated: a tool that quotes uint64s to keep them away from JS doubles
            cluster_id = int(cluster_id)
        indexes = json_object(data.get("raftIndex") or {}, "raftIndex", what, text)
        created = data.get("created")
        return RevisionFile(
            max_raft_index=uint(data["maxRaftIndex"], "maxRaftIndex", what, text),
            cluster_id=None if cluster_id is None else uint(cluster_id, "clusterId", what,
                                                             text),
            raft_index={str(k): uint(v, f"raftIndex[{k}]", what, text)
                        for k, v in indexes.items()},
            created=created if isinstance(created, str) else None,
        )
    except ParseError as exc:
        # the shared helpers say "etcdctl ... output"; this is a file on the host
        raise ParseError(exc.what.replace(f"etcdctl {what} output", _REVISION_PATH),
                         hint="Read it on the host with `sudo cat /var/lib/etcd/revision.json` "
                              "(it exists from OpenShift 4.18 on).") from None
    except Exception as exc:
        raise ParseError(f"could not read {_REVISION_PATH}: unexpected "
                         f"{type(exc).__name__}") from None
