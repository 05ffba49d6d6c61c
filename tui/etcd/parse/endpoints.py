"""Readers of `etcdctl endpoint status` (JSON, table and simple; 3.6's storage version, quota
and downgrade) and `etcdctl endpoint health`, whose lines 3.4 and 3.5 split between stdout and
stderr."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from tui.errors import ParseError
from tui.etcd.parse.common import (bool_cell, column, command_error, first_char, hex_cell,
                                   int_cell, json_object, load_json, opt_bool, opt_str, opt_uint,
                                   parse_error, parse_human_bytes, parse_table, require_columns,
                                   split_errors, str_list, uint)


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
class EndpointHealth:
    endpoint: str
    health: bool
    took: str
    error: str | None = None


# --- endpoint status -----------------------------------------------------------------------

_STATUS = "endpoint status"
_FAILED_STATUS = re.compile(r"^Failed to get the status of endpoint (\S+) \((.*)\)\s*$")
_NO_LEADER = "etcdserver: no leader"


def _status_from_json(stdout: str) -> list[EndpointStatus]:
    data = load_json(stdout, _STATUS)
    if isinstance(data, dict):  # a single status, as some wrappers print it
        data = [data]
    if not isinstance(data, list):
        raise parse_error(_STATUS, "expected a JSON list of endpoints", stdout)
    rows = []
    for entry in data:
        entry = json_object(entry, "an endpoint entry", _STATUS, stdout)
        endpoint = entry.get("Endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise parse_error(_STATUS, "an entry has no Endpoint", stdout)
        status = json_object(entry.get("Status"), "Status", _STATUS, stdout)
        header = json_object(status.get("header", {}), "Status.header", _STATUS, stdout)
        in_use = status.get("dbSizeInUse")
        quota = status.get("dbSizeQuota")
        storage = status.get("storageVersion")
        if storage is not None and not isinstance(storage, str):
            raise parse_error(_STATUS, "storageVersion is not a string", stdout)
        downgrade = json_object(status.get("downgradeInfo") or {}, "downgradeInfo", _STATUS, stdout)
        target = opt_str(downgrade, "targetVersion", _STATUS, stdout)
        rows.append(
            EndpointStatus(
                endpoint=endpoint,
                member_id=opt_uint(header, "member_id", _STATUS, stdout),
                version=opt_str(status, "version", _STATUS, stdout),
                db_size=opt_uint(status, "dbSize", _STATUS, stdout),
                db_size_in_use=(
                    None if in_use is None else uint(in_use, "dbSizeInUse", _STATUS, stdout)
                ),
                leader_id=opt_uint(status, "leader", _STATUS, stdout),
                is_learner=opt_bool(status, "isLearner", _STATUS, stdout),
                raft_term=opt_uint(status, "raftTerm", _STATUS, stdout),
                raft_index=opt_uint(status, "raftIndex", _STATUS, stdout),
                raft_applied_index=opt_uint(status, "raftAppliedIndex", _STATUS, stdout),
                errors=tuple(e.strip() for e in str_list(status, "errors", _STATUS, stdout)),
                storage_version=storage,
                db_size_quota=None if quota is None else uint(quota, "dbSizeQuota", _STATUS,
                                                               stdout),
                downgrade_target_version=(
                    target if opt_bool(downgrade, "enabled", _STATUS, stdout) and target
                    else None),
            )
        )
    return rows


def _status_from_table(stdout: str) -> list[EndpointStatus]:
    header, cells = parse_table(stdout, _STATUS)
    cols = require_columns(
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
    learner = column(header, "IS LEARNER")
    applied = column(header, "RAFT APPLIED INDEX")
    errors = column(header, "ERRORS")
    in_use = column(header, "DB SIZE IN USE", "IN USE")
    parsed: list[tuple[EndpointStatus, bool]] = []
    for row in cells:
        member_id = hex_cell(row[cols["ID"]], "ID", _STATUS, stdout)
        try:
            db_size = parse_human_bytes(row[cols["DB SIZE"]])
            db_in_use = None if in_use is None else parse_human_bytes(row[in_use])
        except ParseError:
            raise parse_error(_STATUS, "DB SIZE is not a size", stdout) from None
        is_leader = bool_cell(row[cols["IS LEADER"]], "IS LEADER", _STATUS, stdout)
        status = EndpointStatus(
            endpoint=row[cols["ENDPOINT"]],
            member_id=member_id,
            version=row[cols["VERSION"]],
            db_size=db_size,
            db_size_in_use=db_in_use,
            leader_id=member_id if is_leader else None,
            is_learner=(
                learner is not None
                and bool_cell(row[learner], "IS LEARNER", _STATUS, stdout)
            ),
            raft_term=int_cell(row[cols["RAFT TERM"]], "RAFT TERM", _STATUS, stdout),
            raft_index=int_cell(row[cols["RAFT INDEX"]], "RAFT INDEX", _STATUS, stdout),
            raft_applied_index=(
                0
                if applied is None
                else int_cell(row[applied], "RAFT APPLIED INDEX", _STATUS, stdout)
            ),
            errors=() if errors is None else split_errors(row[errors]),
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
            raise parse_error(_STATUS, "a line has fewer than 9 comma-separated fields", raw)
        endpoint, id_, version, size, leader, learner, term, index, applied = (
            p.strip() for p in parts[:9]
        )
        member_id = hex_cell(id_, "ID", _STATUS, raw)
        is_leader = bool_cell(leader, "is leader", _STATUS, raw)
        try:
            db_size = parse_human_bytes(size)
        except ParseError:
            raise parse_error(_STATUS, "db size is not a size", raw) from None
        status = EndpointStatus(
            endpoint=endpoint,
            member_id=member_id,
            version=version,
            db_size=db_size,
            db_size_in_use=None,
            leader_id=member_id if is_leader else None,
            is_learner=bool_cell(learner, "is learner", _STATUS, raw),
            raft_term=int_cell(term, "raft term", _STATUS, raw),
            raft_index=int_cell(index, "raft index", _STATUS, raw),
            raft_applied_index=int_cell(applied, "raft applied index", _STATUS, raw),
            errors=split_errors(", ".join(parts[9:])),
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
        raise parse_error(_STATUS, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_endpoint_status(stdout: str, stderr: str, exit_status: int) -> EndpointStatusResult:
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        raise parse_error(_STATUS, "output is not text", repr(stdout))
    kind = first_char(stdout)
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
            raise parse_error(_STATUS, "no endpoint in the output", stdout + stderr)
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
        raise parse_error(_HEALTH, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_endpoint_health(
    stdout: str, stderr: str, exit_status: int
) -> tuple[EndpointHealth, ...]:
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        raise parse_error(_HEALTH, "output is not text", repr(stdout))
    found: dict[str, EndpointHealth] = {}
    kind = first_char(stdout)
    if kind == "[":
        data = load_json(stdout, _HEALTH)
        if not isinstance(data, list):
            raise parse_error(_HEALTH, "expected a JSON list of endpoints", stdout)
        for item in data:
            item = json_object(item, "an endpoint entry", _HEALTH, stdout)
            endpoint = item.get("endpoint")
            if not isinstance(endpoint, str) or not endpoint:
                raise parse_error(_HEALTH, "an entry has no endpoint", stdout)
            error = opt_str(item, "error", _HEALTH, stdout).strip()
            found[endpoint] = EndpointHealth(
                endpoint=endpoint,
                health=opt_bool(item, "health", _HEALTH, stdout),
                took=opt_str(item, "took", _HEALTH, stdout),
                error=error or None,
            )
    elif kind == "+":
        header, rows = parse_table(stdout, _HEALTH)
        cols = require_columns(header, _HEALTH, stdout, "ENDPOINT", "HEALTH", "TOOK")
        err_col = column(header, "ERROR")
        for row in rows:
            endpoint = row[cols["ENDPOINT"]]
            error = "" if err_col is None else row[err_col]
            found[endpoint] = EndpointHealth(
                endpoint=endpoint,
                health=bool_cell(row[cols["HEALTH"]], "HEALTH", _HEALTH, stdout),
                took=row[cols["TOOK"]],
                error=error or None,
            )
    elif kind != "":
        _health_simple(stdout, found, strict=True)
    # Simple-format lines on stderr (3.4 prints them all there; 3.5 the unhealthy ones).
    _health_simple(stderr, found, strict=False)
    if not found:
        if exit_status == 0:
            raise parse_error(_HEALTH, "no endpoint in the output", stdout + stderr)
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
            raise parse_error(_HEALTH, "a line is not '<endpoint> is healthy/unhealthy: ...'", raw)
