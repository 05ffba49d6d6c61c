"""Readers for etcdctl 3.4/3.5/3.6 output: endpoint status/health, member list, alarms, defrag,
`snapshot status` (etcdctl or etcdutl), and OpenShift's /var/lib/etcd/revision.json.

Every reader takes what etcdctl really prints (see tests/fixtures/etcdctl/) and returns frozen
dataclasses. Output that cannot be read raises `ParseError` and nothing else, because the
console shows `str(error)` to the operator and must never leak a Python traceback.

Facts about the real output that shape these readers:
- JSON prints IDs as uint64 decimals and omits false/zero/empty fields (`leader` is absent
  when there is no leader, `isLearner` when false, `errors` when empty).
- Tables print IDs as `%x` (no zero padding), sizes humanized in SI units ("1.4 MB"), right
  aligned, and wrap cells wider than 30 characters at spaces onto continuation lines whose
  first column is empty.
- A failing endpoint is not in stdout at all: etcdctl prints the others, writes
  `Failed to get the status of endpoint URL (ERR)` to stderr and exits 1.
- etcdctl 3.4 prints `endpoint health` in simple format to stderr; 3.5 prints the healthy
  lines to stdout and the unhealthy ones to stderr.
- etcd 3.6 (OpenShift 4.21 and later) adds `storageVersion`, `dbSizeQuota` and
  `downgradeInfo` to each endpoint status, and etcdutl 3.6 prints a `version` (the
  snapshot's storage version, "" for a snapshot of etcd < 3.6) after `totalSize` in
  `snapshot status`. tests/fixtures/etcdctl/3.6/README.md says where each name comes from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from tui.errors import ParseError

_UINT64_MAX = 2**64 - 1
_EXCERPT = 120

__all__ = [
    "Alarm",
    "DefragResult",
    "EndpointHealth",
    "EndpointStatus",
    "EndpointStatusResult",
    "Member",
    "RevisionFile",
    "SnapshotStatus",
    "command_error",
    "member_id_hex",
    "parse_alarm_list",
    "parse_defrag",
    "parse_endpoint_health",
    "parse_endpoint_status",
    "parse_human_bytes",
    "parse_member_list",
    "parse_revision_json",
    "parse_snapshot_status",
]


def member_id_hex(member_id: int) -> str:
    """A member ID as 16 lower-case hex digits (the status JSON contract).

    etcdctl's own table prints `%x` without padding, so an ID below 2**60 shows there with
    fewer digits; we pad so IDs always line up and compare as text. The drill's etcdctl
    keeps the unpadded form, as the real one prints it.
    """
    if isinstance(member_id, bool) or not isinstance(member_id, int):
        raise TypeError(f"member ID must be an int, not {type(member_id).__name__}")
    if not 0 <= member_id <= _UINT64_MAX:
        raise ValueError(f"member ID {member_id} is not a uint64")
    return format(member_id, "016x")


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointStatus:
    endpoint: str
    member_id: int
    version: str
    db_size: int  # bytes; from a table it is the humanized value read back (approximate)
    db_size_in_use: int | None  # None when the output does not show it (tables, etcd < 3.4)
    leader_id: int | None  # 0: the member knows no leader; None: unknown (table, no leader row)
    is_learner: bool
    raft_term: int
    raft_index: int
    raft_applied_index: int
    errors: tuple[str, ...] = ()
    # etcd 3.6 only (None from 3.4/3.5, which do not report them)
    storage_version: str | None = None
    db_size_quota: int | None = None
    downgrade_target_version: str | None = None  # set while a downgrade is enabled

    @property
    def is_leader(self) -> bool:
        return bool(self.member_id) and self.leader_id == self.member_id

    @property
    def fragmentation(self) -> float:
        """Share of the db file a defrag would give back (0..1; 0 when unknown)."""
        if self.db_size_in_use is None or self.db_size <= 0:
            return 0.0
        free = (self.db_size - self.db_size_in_use) / self.db_size
        return min(1.0, max(0.0, free))


@dataclass(frozen=True)
class EndpointStatusResult:
    rows: tuple[EndpointStatus, ...]
    failed_endpoints: dict[str, str] = field(default_factory=dict)  # endpoint -> error
    no_leader: bool = False
    # The command-level error etcdctl printed (`Error: ...` or a fatal log line), e.g.
    # 3.5 without quorum: "failed to fetch endpoints from etcd cluster member list: ...".
    error: str | None = None

    @property
    def leader(self) -> EndpointStatus | None:
        return next((r for r in self.rows if r.is_leader), None)


@dataclass(frozen=True)
class Member:
    member_id: int
    name: str  # empty for a member that was added but never started
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    is_learner: bool
    started: bool


@dataclass(frozen=True)
class Alarm:
    member_id: int
    alarm: str  # NOSPACE | CORRUPT | NONE


@dataclass(frozen=True)
class EndpointHealth:
    endpoint: str
    health: bool
    took: str
    error: str | None = None


@dataclass(frozen=True)
class DefragResult:
    finished: tuple[str, ...]  # endpoints etcdctl reported as defragmented
    failed: dict[str, str] = field(default_factory=dict)  # endpoint -> error
    error: str | None = None  # command-level error, when etcdctl failed before any member

    @property
    def ok(self) -> bool:
        return bool(self.finished) and not self.failed and self.error is None


# --- helpers -------------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _EXCERPT:
        flat = flat[: _EXCERPT - 1] + "…"
    return repr(flat)


def _fail(what: str, reason: str, text: str) -> ParseError:
    return ParseError(
        f"could not read etcdctl {what} output: {reason} (got {_excerpt(text)})",
        hint="Check the etcdctl version and output format (-w json or -w table).",
    )


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CAPNSLOG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? ([CEWNIDT]) \| (.*)$")


def command_error(stderr: str) -> str | None:
    """The error etcdctl gave up with, from its stderr (None when it printed none).

    Looks for `Error: ...` (cobra), a capnslog critical/error line (3.4 flag errors) and a
    zap fatal/error JSON line (3.5 flag errors); warnings from the gRPC retry logger are
    noise, not the verdict.
    """
    found: str | None = None
    for raw in stderr.splitlines():
        line = _ANSI.sub("", raw).strip()
        if not line:
            continue
        if line.startswith("Error:"):
            message = line[len("Error:") :].strip()
            if message:
                found = message
            continue
        m = _CAPNSLOG.match(line)
        if m and m.group(1) in "CE":
            found = m.group(2).strip()
            continue
        if line.startswith("{") and '"level"' in line:
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(entry, dict) or entry.get("level") not in ("fatal", "error", "panic"):
                continue
            msg = entry.get("msg")
            if isinstance(msg, str) and msg:
                var = entry.get("environment-variable")
                found = f"{msg}: {var}" if isinstance(var, str) and var else msg
    return found


def _load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
        raise _fail(what, f"invalid JSON ({reason})", text) from None


def _uint(value: Any, name: str, what: str, text: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(what, f"{name} is not an unsigned integer", text)
    if not 0 <= value <= _UINT64_MAX:
        raise _fail(what, f"{name} is out of the uint64 range", text)
    return value


def _opt_uint(obj: dict[str, Any], key: str, what: str, text: str, default: int = 0) -> int:
    if key not in obj or obj[key] is None:
        return default
    return _uint(obj[key], key, what, text)


def _opt_str(obj: dict[str, Any], key: str, what: str, text: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(what, f"{key} is not a string", text)
    return value


def _opt_bool(obj: dict[str, Any], key: str, what: str, text: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _fail(what, f"{key} is not true/false", text)
    return value


def _str_list(obj: dict[str, Any], key: str, what: str, text: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(what, f"{key} is not a list of strings", text)
    return tuple(value)


def _dict(value: Any, name: str, what: str, text: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(what, f"{name} is not an object", text)
    return value


_DIGITS = re.compile(r"\d{1,20}")
_HEX = re.compile(r"[0-9a-fA-F]{1,16}")


def _int_cell(cell: str, name: str, what: str, text: str) -> int:
    if not _DIGITS.fullmatch(cell):
        raise _fail(what, f"{name} {cell!r} is not a number", text)
    return _uint(int(cell), name, what, text)


def _hex_cell(cell: str, name: str, what: str, text: str) -> int:
    if not _HEX.fullmatch(cell):
        raise _fail(what, f"{name} {cell!r} is not a hex member ID", text)
    return int(cell, 16)


def _bool_cell(cell: str, name: str, what: str, text: str) -> bool:
    if cell == "true":
        return True
    if cell == "false":
        return False
    raise _fail(what, f"{name} {cell!r} is not true/false", text)


_HUMAN = re.compile(r"(\d{1,20}(?:\.\d{1,20})?) ?([kKMGTPE]?i?B)")
_SI = {"": 0, "k": 1, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse_human_bytes(text: str) -> int:
    """Bytes from a size as etcdctl's tables print it (go-humanize: "20 kB", "1.4 MB").

    The table rounds to two or three significant digits, so the result is approximate.
    """
    m = _HUMAN.fullmatch(text.strip())
    if not m:
        raise _fail("size", f"{text!r} is not a size like '1.4 MB'", text)
    number, unit = m.groups()
    prefix = unit[:-1]
    base = 1024 if prefix.endswith("i") else 1000
    power = _SI[prefix[:1]] if prefix else 0
    return int(round(float(number) * base**power))


def _split_errors(cell: str) -> tuple[str, ...]:
    # etcdctl joins errors with ", "; NOSPACE errors end in a space, so the join reads
    # "memberID:1 alarm:NOSPACE , memberID:2 alarm:NOSPACE " once the table unwraps it.
    if not cell.strip():
        return ()
    return tuple(p.strip() for p in re.split(r"\s*,\s+|\s*,\s*$", cell) if p.strip())


_BORDER = re.compile(r"\+(?:-+\+)+")


def _parse_table(text: str, what: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a tablewriter table, wrapped continuation lines joined back."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("+"):
            if not _BORDER.fullmatch(line):
                raise _fail(what, "a table border line is broken", raw)
            continue
        if not (line.startswith("|") and line.endswith("|") and len(line) >= 2):
            raise _fail(what, "a line is not part of the table", raw)
        cells = [c.strip() for c in line[1:-1].split("|")]
        if header is None:
            header = [" ".join(c.split()).upper() for c in cells]
            continue
        if len(cells) != len(header):
            raise _fail(what, f"a row has {len(cells)} cells, the header {len(header)}", raw)
        if cells[0] == "" and rows:
            # A wrapped cell: tablewriter prints its further lines with the first column
            # (endpoint or ID, never wrapped and never empty) left blank.
            prev = rows[-1]
            for i, cell in enumerate(cells):
                if cell:
                    prev[i] = f"{prev[i]} {cell}" if prev[i] else cell
            continue
        rows.append(cells)
    if header is None:
        raise _fail(what, "no table header", text)
    return header, rows


def _column(header: list[str], *names: str) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _require(header: list[str], what: str, text: str, *names: str) -> dict[str, int]:
    cols: dict[str, int] = {}
    for name in names:
        idx = _column(header, name)
        if idx is None:
            raise _fail(what, f"the table has no {name} column", text)
        cols[name] = idx
    return cols


def _first_char(text: str) -> str:
    stripped = text.lstrip()
    return stripped[:1]


# --- endpoint status -----------------------------------------------------------------------

_STATUS = "endpoint status"
_FAILED_STATUS = re.compile(r"^Failed to get the status of endpoint (\S+) \((.*)\)\s*$")
_NO_LEADER = "etcdserver: no leader"


def _status_from_json(stdout: str) -> list[EndpointStatus]:
    data = _load_json(stdout, _STATUS)
    if isinstance(data, dict):  # a single status, as some wrappers print it
        data = [data]
    if not isinstance(data, list):
        raise _fail(_STATUS, "expected a JSON list of endpoints", stdout)
    rows = []
    for entry in data:
        entry = _dict(entry, "an endpoint entry", _STATUS, stdout)
        endpoint = entry.get("Endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise _fail(_STATUS, "an entry has no Endpoint", stdout)
        status = _dict(entry.get("Status"), "Status", _STATUS, stdout)
        header = _dict(status.get("header", {}), "Status.header", _STATUS, stdout)
        in_use = status.get("dbSizeInUse")
        quota = status.get("dbSizeQuota")
        storage = status.get("storageVersion")
        if storage is not None and not isinstance(storage, str):
            raise _fail(_STATUS, "storageVersion is not a string", stdout)
        downgrade = _dict(status.get("downgradeInfo") or {}, "downgradeInfo", _STATUS, stdout)
        target = _opt_str(downgrade, "targetVersion", _STATUS, stdout)
        rows.append(
            EndpointStatus(
                endpoint=endpoint,
                member_id=_opt_uint(header, "member_id", _STATUS, stdout),
                version=_opt_str(status, "version", _STATUS, stdout),
                db_size=_opt_uint(status, "dbSize", _STATUS, stdout),
                db_size_in_use=(
                    None if in_use is None else _uint(in_use, "dbSizeInUse", _STATUS, stdout)
                ),
                leader_id=_opt_uint(status, "leader", _STATUS, stdout),
                is_learner=_opt_bool(status, "isLearner", _STATUS, stdout),
                raft_term=_opt_uint(status, "raftTerm", _STATUS, stdout),
                raft_index=_opt_uint(status, "raftIndex", _STATUS, stdout),
                raft_applied_index=_opt_uint(status, "raftAppliedIndex", _STATUS, stdout),
                errors=tuple(e.strip() for e in _str_list(status, "errors", _STATUS, stdout)),
                storage_version=storage,
                db_size_quota=None if quota is None else _uint(quota, "dbSizeQuota", _STATUS,
                                                               stdout),
                downgrade_target_version=(
                    target if _opt_bool(downgrade, "enabled", _STATUS, stdout) and target
                    else None),
            )
        )
    return rows


def _status_from_table(stdout: str) -> list[EndpointStatus]:
    header, cells = _parse_table(stdout, _STATUS)
    cols = _require(
        header,
        _STATUS,
        stdout,
        "ENDPOINT",
        "ID",
        "VERSION",
        "DB SIZE",
        "IS LEADER",
        "RAFT TERM",
        "RAFT INDEX",
    )
    learner = _column(header, "IS LEARNER")
    applied = _column(header, "RAFT APPLIED INDEX")
    errors = _column(header, "ERRORS")
    in_use = _column(header, "DB SIZE IN USE", "IN USE")
    parsed: list[tuple[EndpointStatus, bool]] = []
    for row in cells:
        member_id = _hex_cell(row[cols["ID"]], "ID", _STATUS, stdout)
        try:
            db_size = parse_human_bytes(row[cols["DB SIZE"]])
            db_in_use = None if in_use is None else parse_human_bytes(row[in_use])
        except ParseError:
            raise _fail(_STATUS, "DB SIZE is not a size", stdout) from None
        is_leader = _bool_cell(row[cols["IS LEADER"]], "IS LEADER", _STATUS, stdout)
        status = EndpointStatus(
            endpoint=row[cols["ENDPOINT"]],
            member_id=member_id,
            version=row[cols["VERSION"]],
            db_size=db_size,
            db_size_in_use=db_in_use,
            leader_id=member_id if is_leader else None,
            is_learner=(
                learner is not None
                and _bool_cell(row[learner], "IS LEARNER", _STATUS, stdout)
            ),
            raft_term=_int_cell(row[cols["RAFT TERM"]], "RAFT TERM", _STATUS, stdout),
            raft_index=_int_cell(row[cols["RAFT INDEX"]], "RAFT INDEX", _STATUS, stdout),
            raft_applied_index=(
                0
                if applied is None
                else _int_cell(row[applied], "RAFT APPLIED INDEX", _STATUS, stdout)
            ),
            errors=() if errors is None else _split_errors(row[errors]),
        )
        parsed.append((status, is_leader))
    return _fill_table_leaders(parsed)


def _fill_table_leaders(parsed: list[tuple[EndpointStatus, bool]]) -> list[EndpointStatus]:
    """Tables show only IS LEADER: give every row the leader's ID when one row is it."""
    leaders = {s.member_id for s, is_leader in parsed if is_leader}
    leader_id = next(iter(leaders)) if len(leaders) == 1 else None
    rows = []
    for status, is_leader in parsed:
        if is_leader:
            lid: int | None = status.member_id
        elif any(_NO_LEADER in e for e in status.errors):
            lid = 0
        else:
            lid = leader_id
        rows.append(_replace_leader(status, lid))
    return rows


def _replace_leader(status: EndpointStatus, leader_id: int | None) -> EndpointStatus:
    return replace(status, leader_id=leader_id)


def _status_from_simple(stdout: str) -> list[EndpointStatus]:
    # endpoint, id, version, db size, is leader, is learner, raft term, raft index,
    # raft applied index, errors (the errors themselves joined with ", ")
    parsed: list[tuple[EndpointStatus, bool]] = []
    for raw in stdout.splitlines():
        if not raw.strip():
            continue
        parts = raw.split(", ")
        if len(parts) < 9:
            raise _fail(_STATUS, "a line has fewer than 9 comma-separated fields", raw)
        endpoint, id_, version, size, leader, learner, term, index, applied = (
            p.strip() for p in parts[:9]
        )
        member_id = _hex_cell(id_, "ID", _STATUS, raw)
        is_leader = _bool_cell(leader, "is leader", _STATUS, raw)
        try:
            db_size = parse_human_bytes(size)
        except ParseError:
            raise _fail(_STATUS, "db size is not a size", raw) from None
        status = EndpointStatus(
            endpoint=endpoint,
            member_id=member_id,
            version=version,
            db_size=db_size,
            db_size_in_use=None,
            leader_id=member_id if is_leader else None,
            is_learner=_bool_cell(learner, "is learner", _STATUS, raw),
            raft_term=_int_cell(term, "raft term", _STATUS, raw),
            raft_index=_int_cell(index, "raft index", _STATUS, raw),
            raft_applied_index=_int_cell(applied, "raft applied index", _STATUS, raw),
            errors=_split_errors(", ".join(parts[9:])),
        )
        parsed.append((status, is_leader))
    return _fill_table_leaders(parsed)


def parse_endpoint_status(
    stdout: str, stderr: str = "", exit_status: int = 0
) -> EndpointStatusResult:
    """Read `etcdctl endpoint status [--cluster] -w json|table` (simple works too)."""
    try:
        return _parse_endpoint_status(stdout, stderr, exit_status)
    except ParseError:
        raise
    except Exception as exc:  # a reader bug must still reach the operator as a ParseError
        raise _fail(_STATUS, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_endpoint_status(stdout: str, stderr: str, exit_status: int) -> EndpointStatusResult:
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        raise _fail(_STATUS, "output is not text", repr(stdout))
    kind = _first_char(stdout)
    if kind in ("[", "{"):
        rows = _status_from_json(stdout)
    elif kind == "+":
        rows = _status_from_table(stdout)
    elif kind == "":
        rows = []
    else:
        rows = _status_from_simple(stdout)

    failed: dict[str, str] = {}
    for raw in stderr.splitlines():
        m = _FAILED_STATUS.match(raw.strip())
        if m:
            failed[m.group(1)] = m.group(2)
    error = command_error(stderr)
    if not rows and not failed:
        if exit_status == 0:
            raise _fail(_STATUS, "no endpoint in the output", stdout + stderr)
        if error is None:
            error = f"etcdctl exited with status {exit_status}"
            tail = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
            if tail:
                error += f": {tail[-1][:200]}"
    no_leader = (_NO_LEADER in stderr) or any(_NO_LEADER in e for r in rows for e in r.errors)
    if rows and all(r.leader_id == 0 for r in rows):
        no_leader = True
    return EndpointStatusResult(
        rows=tuple(rows), failed_endpoints=failed, no_leader=no_leader, error=error
    )


# --- member list ---------------------------------------------------------------------------

_MEMBERS = "member list"


def _urls(cell: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in cell.split(",") if u.strip())


def parse_member_list(stdout: str) -> tuple[Member, ...]:
    """Read `etcdctl member list -w json|table` (simple works too)."""
    try:
        return _parse_member_list(stdout)
    except ParseError:
        raise
    except Exception as exc:
        raise _fail(_MEMBERS, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_member_list(stdout: str) -> tuple[Member, ...]:
    if not isinstance(stdout, str):
        raise _fail(_MEMBERS, "output is not text", repr(stdout))
    kind = _first_char(stdout)
    if kind == "":
        raise _fail(_MEMBERS, "the output is empty", stdout)
    members: list[Member] = []
    if kind == "{":
        data = _dict(_load_json(stdout, _MEMBERS), "the output", _MEMBERS, stdout)
        items = data.get("members", [])
        if not isinstance(items, list):
            raise _fail(_MEMBERS, "members is not a list", stdout)
        for item in items:
            item = _dict(item, "a member", _MEMBERS, stdout)
            if "ID" not in item:
                raise _fail(_MEMBERS, "a member has no ID", stdout)
            name = _opt_str(item, "name", _MEMBERS, stdout)
            members.append(
                Member(
                    member_id=_uint(item["ID"], "ID", _MEMBERS, stdout),
                    name=name,
                    peer_urls=_str_list(item, "peerURLs", _MEMBERS, stdout),
                    client_urls=_str_list(item, "clientURLs", _MEMBERS, stdout),
                    is_learner=_opt_bool(item, "isLearner", _MEMBERS, stdout),
                    started=bool(name),
                )
            )
        return tuple(members)
    if kind == "+":
        header, rows = _parse_table(stdout, _MEMBERS)
        cols = _require(
            header, _MEMBERS, stdout, "ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS"
        )
        learner = _column(header, "IS LEARNER")
        for row in rows:
            members.append(
                _member_from_fields(
                    row[cols["ID"]],
                    row[cols["STATUS"]],
                    row[cols["NAME"]],
                    row[cols["PEER ADDRS"]],
                    row[cols["CLIENT ADDRS"]],
                    None if learner is None else row[learner],
                    stdout,
                )
            )
        return tuple(members)
    # simple: ID, status, name, peer addrs, client addrs, is learner (URLs joined by ",")
    for raw in stdout.splitlines():
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split(", ")]
        if len(parts) not in (5, 6):
            raise _fail(_MEMBERS, "a line does not have 5 or 6 comma-separated fields", raw)
        members.append(_member_from_fields(*parts[:5], parts[5] if len(parts) == 6 else None, raw))
    return tuple(members)


def _member_from_fields(
    id_: str, status: str, name: str, peers: str, clients: str, learner: str | None, text: str
) -> Member:
    if status not in ("started", "unstarted"):
        raise _fail(_MEMBERS, f"status {status!r} is not started/unstarted", text)
    return Member(
        member_id=_hex_cell(id_, "ID", _MEMBERS, text),
        name=name,
        peer_urls=_urls(peers),
        client_urls=_urls(clients),
        is_learner=False if learner is None else _bool_cell(learner, "IS LEARNER", _MEMBERS, text),
        started=status == "started",
    )


# --- alarms --------------------------------------------------------------------------------

_ALARMS = "alarm list"
_ALARM_LINE = re.compile(r"^memberID:(\d{1,20}) alarm:([A-Z]+)\s*$")
_ALARM_TYPES = {0: "NONE", 1: "NOSPACE", 2: "CORRUPT"}


def parse_alarm_list(stdout: str) -> tuple[Alarm, ...]:
    """Read `etcdctl alarm list` (and `alarm disarm`, which prints the same lines).

    No alarm prints nothing. `-w json` gives the alarm as its enum number.
    """
    try:
        return _parse_alarm_list(stdout)
    except ParseError:
        raise
    except Exception as exc:
        raise _fail(_ALARMS, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_alarm_list(stdout: str) -> tuple[Alarm, ...]:
    if not isinstance(stdout, str):
        raise _fail(_ALARMS, "output is not text", repr(stdout))
    if _first_char(stdout) == "{":
        data = _dict(_load_json(stdout, _ALARMS), "the output", _ALARMS, stdout)
        items = data.get("alarms", [])
        if not isinstance(items, list):
            raise _fail(_ALARMS, "alarms is not a list", stdout)
        alarms = []
        for item in items:
            item = _dict(item, "an alarm", _ALARMS, stdout)
            raw_type = item.get("alarm", 0)
            if isinstance(raw_type, str) and raw_type.isupper():
                kind = raw_type
            elif isinstance(raw_type, int) and not isinstance(raw_type, bool):
                kind = _ALARM_TYPES.get(raw_type, str(raw_type))
            else:
                raise _fail(_ALARMS, "an alarm type is not a name or number", stdout)
            alarms.append(Alarm(_opt_uint(item, "memberID", _ALARMS, stdout), kind))
        return tuple(alarms)
    alarms = []
    for raw in stdout.splitlines():
        if not raw.strip():
            continue
        m = _ALARM_LINE.match(raw.strip())
        if not m:
            raise _fail(_ALARMS, "a line is not 'memberID:N alarm:TYPE'", raw)
        alarms.append(Alarm(_uint(int(m.group(1)), "memberID", _ALARMS, raw), m.group(2)))
    return tuple(alarms)


# --- endpoint health -----------------------------------------------------------------------

_HEALTH = "endpoint health"
_HEALTHY = re.compile(r"^(\S+) is healthy: successfully committed proposal: took = (\S+)\s*$")
_UNHEALTHY = re.compile(r"^(\S+) is unhealthy: (.*?)\s*$")


def parse_endpoint_health(
    stdout: str, stderr: str = "", exit_status: int = 0
) -> tuple[EndpointHealth, ...]:
    """Read `etcdctl endpoint health [--cluster] -w json|table` (simple works too).

    Endpoints are in etcdctl's order (it checks them concurrently, so the order changes
    from run to run); an endpoint reported only on stderr is included, unhealthy.
    """
    try:
        return _parse_endpoint_health(stdout, stderr, exit_status)
    except ParseError:
        raise
    except Exception as exc:
        raise _fail(_HEALTH, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_endpoint_health(
    stdout: str, stderr: str, exit_status: int
) -> tuple[EndpointHealth, ...]:
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        raise _fail(_HEALTH, "output is not text", repr(stdout))
    found: dict[str, EndpointHealth] = {}
    kind = _first_char(stdout)
    if kind == "[":
        data = _load_json(stdout, _HEALTH)
        if not isinstance(data, list):
            raise _fail(_HEALTH, "expected a JSON list of endpoints", stdout)
        for item in data:
            item = _dict(item, "an endpoint entry", _HEALTH, stdout)
            endpoint = item.get("endpoint")
            if not isinstance(endpoint, str) or not endpoint:
                raise _fail(_HEALTH, "an entry has no endpoint", stdout)
            error = _opt_str(item, "error", _HEALTH, stdout).strip()
            found[endpoint] = EndpointHealth(
                endpoint=endpoint,
                health=_opt_bool(item, "health", _HEALTH, stdout),
                took=_opt_str(item, "took", _HEALTH, stdout),
                error=error or None,
            )
    elif kind == "+":
        header, rows = _parse_table(stdout, _HEALTH)
        cols = _require(header, _HEALTH, stdout, "ENDPOINT", "HEALTH", "TOOK")
        err_col = _column(header, "ERROR")
        for row in rows:
            endpoint = row[cols["ENDPOINT"]]
            error = "" if err_col is None else row[err_col]
            found[endpoint] = EndpointHealth(
                endpoint=endpoint,
                health=_bool_cell(row[cols["HEALTH"]], "HEALTH", _HEALTH, stdout),
                took=row[cols["TOOK"]],
                error=error or None,
            )
    elif kind != "":
        _health_simple(stdout, found, strict=True)
    # Simple-format lines on stderr (3.4 prints them all there; 3.5 the unhealthy ones).
    _health_simple(stderr, found, strict=False)
    if not found:
        if exit_status == 0:
            raise _fail(_HEALTH, "no endpoint in the output", stdout + stderr)
        reason = command_error(stderr) or f"etcdctl exited with status {exit_status}"
        raise ParseError(
            f"etcdctl endpoint health reported no endpoint: {reason}",
            hint="Check that the endpoints are reachable and the cluster has quorum.",
        )
    return tuple(found.values())


def _health_simple(text: str, found: dict[str, EndpointHealth], *, strict: bool) -> None:
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _HEALTHY.match(line)
        if m:
            found.setdefault(m.group(1), EndpointHealth(m.group(1), True, m.group(2), None))
            continue
        m = _UNHEALTHY.match(line)
        if m:
            found.setdefault(m.group(1), EndpointHealth(m.group(1), False, "", m.group(2) or None))
            continue
        if strict:
            raise _fail(_HEALTH, "a line is not '<endpoint> is healthy/unhealthy: ...'", raw)


# --- defrag --------------------------------------------------------------------------------

_DEFRAG = "defrag"
_FINISHED = re.compile(r"^Finished defragmenting etcd member\[(.+?)\]")
_DEFRAG_FAILED = re.compile(r"^Failed to defragment etcd member\[(.+?)\] \((.*)\)\s*$")


def parse_defrag(stdout: str, stderr: str = "", exit_status: int = 0) -> DefragResult:
    """Read `etcdctl defrag`: which members finished and which failed, with the error."""
    try:
        return _parse_defrag(stdout, stderr, exit_status)
    except ParseError:
        raise
    except Exception as exc:
        raise _fail(_DEFRAG, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_defrag(stdout: str, stderr: str, exit_status: int) -> DefragResult:
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        raise _fail(_DEFRAG, "output is not text", repr(stdout))
    finished: list[str] = []
    for raw in stdout.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _FINISHED.match(line)
        if not m:
            raise _fail(_DEFRAG, "a line is not 'Finished defragmenting etcd member[...]'", raw)
        finished.append(m.group(1))
    failed: dict[str, str] = {}
    for raw in stderr.splitlines():
        m = _DEFRAG_FAILED.match(raw.strip())
        if m:
            failed[m.group(1)] = m.group(2)
    error = command_error(stderr)
    if not finished and not failed:
        if exit_status == 0:
            raise _fail(_DEFRAG, "no member in the output", stdout + stderr)
        if error is None:
            error = f"etcdctl exited with status {exit_status}"
    return DefragResult(finished=tuple(finished), failed=failed, error=error)


# --- snapshot status -------------------------------------------------------------------------

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
        raise _fail(_SNAPSHOT, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_snapshot_status(stdout: str) -> SnapshotStatus:
    if not isinstance(stdout, str):
        raise _fail(_SNAPSHOT, "output is not text", repr(stdout))
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        raise _fail(_SNAPSHOT, "the output is empty", stdout)
    objects = [ln for ln in lines if ln.startswith("{")]
    if objects:
        data = _dict(_load_json(objects[-1], _SNAPSHOT), "the output", _SNAPSHOT, stdout)
        for key in ("hash", "revision", "totalKey", "totalSize"):
            if key not in data:
                raise _fail(_SNAPSHOT, f"no {key}", stdout)
        version = data.get("version")
        if version is not None and not isinstance(version, str):
            raise _fail(_SNAPSHOT, "version is not a string", stdout)
        return SnapshotStatus(
            hash=_uint(data["hash"], "hash", _SNAPSHOT, stdout),
            revision=_uint(data["revision"], "revision", _SNAPSHOT, stdout),
            total_key=_uint(data["totalKey"], "totalKey", _SNAPSHOT, stdout),
            total_size=_uint(data["totalSize"], "totalSize", _SNAPSHOT, stdout),
            version=version,
        )
    if lines[0].startswith("+"):
        header, rows = _parse_table(stdout, _SNAPSHOT)
        cols = _require(header, _SNAPSHOT, stdout, "HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE")
        if len(rows) != 1:
            raise _fail(_SNAPSHOT, f"expected one row, got {len(rows)}", stdout)
        version_col = _column(header, "VERSION")
        cells = [rows[0][cols[n]] for n in ("HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE")]
        version = None if version_col is None else rows[0][version_col]
    else:
        # simple: "hash, revision, total keys, total size[, version]" (the table's row)
        parts = [p.strip() for p in lines[-1].split(",")]
        if len(parts) not in (4, 5):
            raise _fail(_SNAPSHOT, "expected 'hash, revision, total keys, total size[, "
                                   "version]'", stdout)
        cells, version = parts[:4], (parts[4] if len(parts) == 5 else None)
    hash_hex, revision, keys, size = cells
    try:
        total_size = parse_human_bytes(size)
    except ParseError:
        raise _fail(_SNAPSHOT, "total size is not a size", stdout) from None
    return SnapshotStatus(
        hash=_hex_cell(hash_hex, "hash", _SNAPSHOT, stdout),
        revision=_int_cell(revision, "revision", _SNAPSHOT, stdout),
        total_key=_int_cell(keys, "total keys", _SNAPSHOT, stdout),
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
            raise _fail(what, "output is not text", repr(text))
        if not text.strip():
            raise _fail(what, "the file is empty", text)
        data = _dict(_load_json(text, what), "the file", what, text)
        if "maxRaftIndex" not in data:
            raise _fail(what, "no maxRaftIndex", text)
        cluster_id = data.get("clusterId")
        if isinstance(cluster_id, str) and _DIGITS.fullmatch(cluster_id):
            # tolerated: a tool that quotes uint64s to keep them away from JS doubles
            cluster_id = int(cluster_id)
        indexes = _dict(data.get("raftIndex") or {}, "raftIndex", what, text)
        created = data.get("created")
        return RevisionFile(
            max_raft_index=_uint(data["maxRaftIndex"], "maxRaftIndex", what, text),
            cluster_id=None if cluster_id is None else _uint(cluster_id, "clusterId", what,
                                                             text),
            raft_index={str(k): _uint(v, f"raftIndex[{k}]", what, text)
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
