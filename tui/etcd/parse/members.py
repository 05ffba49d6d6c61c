"""The reader of `etcdctl member list` (JSON, table and simple), members that never started
included."""

from __future__ import annotations

from dataclasses import dataclass

from tui.errors import ParseError
from tui.etcd.parse.common import (bool_cell, column, first_char, hex_cell, json_object,
                                   load_json, opt_bool, opt_str, parse_error, parse_table,
                                   require_columns, str_list, uint)


@dataclass(frozen=True)
class Member:
    member_id: int
    name: str  # empty for a member that was added but never started
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    is_learner: bool
    started: bool


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
        raise parse_error(_MEMBERS, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_member_list(stdout: str) -> tuple[Member, ...]:
    if not isinstance(stdout, str):
        raise parse_error(_MEMBERS, "output is not text", repr(stdout))
    kind = first_char(stdout)
    if kind == "":
        raise parse_error(_MEMBERS, "the output is empty", stdout)
    members: list[Member] = []
    if kind == "{":
        data = json_object(load_json(stdout, _MEMBERS), "the output", _MEMBERS, stdout)
        items = data.get("members", [])
        if not isinstance(items, list):
            raise parse_error(_MEMBERS, "members is not a list", stdout)
        for item in items:
            item = json_object(item, "a member", _MEMBERS, stdout)
            if "ID" not in item:
                raise parse_error(_MEMBERS, "a member has no ID", stdout)
            name = opt_str(item, "name", _MEMBERS, stdout)
            members.append(
                Member(
                    member_id=uint(item["ID"], "ID", _MEMBERS, stdout),
                    name=name,
                    peer_urls=str_list(item, "peerURLs", _MEMBERS, stdout),
                    client_urls=str_list(item, "clientURLs", _MEMBERS, stdout),
                    is_learner=opt_bool(item, "isLearner", _MEMBERS, stdout),
                    started=bool(name),
                )
            )
        return tuple(members)
    if kind == "+":
        header, rows = parse_table(stdout, _MEMBERS)
        cols = require_columns(
            header, _MEMBERS, stdout, "ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS"
        )
        learner = column(header, "IS LEARNER")
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
            raise parse_error(_MEMBERS, "a line does not have 5 or 6 comma-separated fields", raw)
        members.append(_member_from_fields(*parts[:5], parts[5] if len(parts) == 6 else None, raw))
    return tuple(members)


def _member_from_fields(
    id_: str, status: str, name: str, peers: str, clients: str, learner: str | None, text: str
) -> Member:
    if status not in ("started", "unstarted"):
        raise parse_error(_MEMBERS, f"status {status!r} is not started/unstarted", text)
    return Member(
        member_id=hex_cell(id_, "ID", _MEMBERS, text),
        name=name,
        peer_urls=_urls(peers),
        client_urls=_urls(clients),
        is_learner=False if learner is None else bool_cell(learner, "IS LEARNER", _MEMBERS, text),
        started=status == "started",
    )
