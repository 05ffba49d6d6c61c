"""What every etcdctl reader shares: the ParseError it raises (with an excerpt of the output),
etcdctl's own command error from stderr, and readers of JSON fields, tablewriter tables and
their cells (hex IDs, humanized sizes, true/false)."""

from __future__ import annotations

import json
import re
from typing import Any

from tui.errors import ParseError

_UINT64_MAX = 2**64 - 1
_EXCERPT = 120


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


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _EXCERPT:
        flat = flat[: _EXCERPT - 1] + "…"
    return repr(flat)


def parse_error(what: str, reason: str, text: str) -> ParseError:
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


def load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
        raise parse_error(what, f"invalid JSON ({reason})", text) from None


def uint(value: Any, name: str, what: str, text: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise parse_error(what, f"{name} is not an unsigned integer", text)
    if not 0 <= value <= _UINT64_MAX:
        raise parse_error(what, f"{name} is out of the uint64 range", text)
    return value


def opt_uint(obj: dict[str, Any], key: str, what: str, text: str, default: int = 0) -> int:
    if key not in obj or obj[key] is None:
        return default
    return uint(obj[key], key, what, text)


def opt_str(obj: dict[str, Any], key: str, what: str, text: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise parse_error(what, f"{key} is not a string", text)
    return value


def opt_bool(obj: dict[str, Any], key: str, what: str, text: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise parse_error(what, f"{key} is not true/false", text)
    return value


def str_list(obj: dict[str, Any], key: str, what: str, text: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise parse_error(what, f"{key} is not a list of strings", text)
    return tuple(value)


def json_object(value: Any, name: str, what: str, text: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise parse_error(what, f"{name} is not an object", text)
    return value


DIGITS = re.compile(r"\d{1,20}")
_HEX = re.compile(r"[0-9a-fA-F]{1,16}")


def int_cell(cell: str, name: str, what: str, text: str) -> int:
    if not DIGITS.fullmatch(cell):
        raise parse_error(what, f"{name} {cell!r} is not a number", text)
    return uint(int(cell), name, what, text)


def hex_cell(cell: str, name: str, what: str, text: str) -> int:
    if not _HEX.fullmatch(cell):
        raise parse_error(what, f"{name} {cell!r} is not a hex member ID", text)
    return int(cell, 16)


def bool_cell(cell: str, name: str, what: str, text: str) -> bool:
    if cell == "true":
        return True
    if cell == "false":
        return False
    raise parse_error(what, f"{name} {cell!r} is not true/false", text)


_HUMAN = re.compile(r"(\d{1,20}(?:\.\d{1,20})?) ?([kKMGTPE]?i?B)")
_SI = {"": 0, "k": 1, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse_human_bytes(text: str) -> int:
    """Bytes from a size as etcdctl's tables print it (go-humanize: "20 kB", "1.4 MB").

    The table rounds to two or three significant digits, so the result is approximate.
    """
    m = _HUMAN.fullmatch(text.strip())
    if not m:
        raise parse_error("size", f"{text!r} is not a size like '1.4 MB'", text)
    number, unit = m.groups()
    prefix = unit[:-1]
    base = 1024 if prefix.endswith("i") else 1000
    power = _SI[prefix[:1]] if prefix else 0
    return int(round(float(number) * base**power))


def split_errors(cell: str) -> tuple[str, ...]:
    # etcdctl joins errors with ", "; NOSPACE errors end in a space, so the join reads
    # "memberID:1 alarm:NOSPACE , memberID:2 alarm:NOSPACE " once the table unwraps it.
    if not cell.strip():
        return ()
    return tuple(p.strip() for p in re.split(r"\s*,\s+|\s*,\s*$", cell) if p.strip())


_BORDER = re.compile(r"\+(?:-+\+)+")


def parse_table(text: str, what: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a tablewriter table, wrapped continuation lines joined back."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("+"):
            if not _BORDER.fullmatch(line):
                raise parse_error(what, "a table border line is broken", raw)
            continue
        if not (line.startswith("|") and line.endswith("|") and len(line) >= 2):
            raise parse_error(what, "a line is not part of the table", raw)
        cells = [c.strip() for c in line[1:-1].split("|")]
        if header is None:
            header = [" ".join(c.split()).upper() for c in cells]
            continue
        if len(cells) != len(header):
            raise parse_error(what, f"a row has {len(cells)} cells, the header {len(header)}", raw)
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
        raise parse_error(what, "no table header", text)
    return header, rows


def column(header: list[str], *names: str) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def require_columns(header: list[str], what: str, text: str, *names: str) -> dict[str, int]:
    cols: dict[str, int] = {}
    for name in names:
        idx = column(header, name)
        if idx is None:
            raise parse_error(what, f"the table has no {name} column", text)
        cols[name] = idx
    return cols


def first_char(text: str) -> str:
    stripped = text.lstrip()
    return stripped[:1]
