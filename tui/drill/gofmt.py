"""How Go programs print what the drill's etcd and scripts print: byte sizes (go-humanize),
durations (time.Duration), JSON (encoding/json, zap's log lines) and etcdctl's tables."""

from __future__ import annotations

import json
import math


def human_bytes(n: int) -> str:
    """go-humanize's Bytes (SI units), as etcdctl's DB SIZE column prints sizes."""
    if n < 10:
        return f"{n} B"
    sizes = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    e = int(math.floor(math.log(n) / math.log(1000)))
    e = min(e, len(sizes) - 1)
    val = math.floor(n / math.pow(1000, e) * 10 + 0.5) / 10
    return f"{val:.0f} {sizes[e]}" if val >= 10 else f"{val:.1f} {sizes[e]}"


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String()."""
    ns = int(round(seconds * 1e9))
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)

    def frac(value: int, unit: int, digits: int) -> str:
        whole, rest = divmod(value, unit)
        tail = str(rest).rjust(digits, "0").rstrip("0")
        return f"{whole}.{tail}" if tail else str(whole)

    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{frac(ns, 1_000, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{frac(ns, 1_000_000, 6)}ms"
    hours, ns = divmod(ns, 3_600_000_000_000)
    minutes, ns = divmod(ns, 60_000_000_000)
    secs = frac(ns, 1_000_000_000, 9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return f"{sign}{secs}"


def go_json(obj: object) -> str:
    """encoding/json's compact output (it escapes <, > and & but not other non-ASCII)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class GoFloat(float):
    """A float zap prints the Go way (shortest form, no trailing ".0")."""


def zap_json(entry: dict[str, object]) -> str:
    """A zap JSON log line: like encoding/json, but epoch timestamps are bare floats."""
    parts = []
    for key, value in entry.items():
        if isinstance(value, GoFloat):
            text = repr(float(value))
            text = text[:-2] if text.endswith(".0") else text
        else:
            text = go_json(value)
        parts.append(f"{go_json(key)}:{text}")
    return "{" + ",".join(parts) + "}"


def _wrap_words(words: list[str], limit: int) -> list[list[str]]:
    """tablewriter's minimum-raggedness line breaking (spaces of 1, penalty 1e5)."""
    n = len(words)
    lengths = [[0] * n for _ in range(n)]
    for i in range(n):
        lengths[i][i] = len(words[i])
        for j in range(i + 1, n):
            lengths[i][j] = lengths[i][j - 1] + 1 + len(words[j])
    breaks = [0] * n
    cost = [2**31 - 1] * n
    for i in range(n - 1, -1, -1):
        if lengths[i][n - 1] <= limit:
            cost[i] = 0
            breaks[i] = n
            continue
        for j in range(i + 1, n):
            d = limit - lengths[i][j - 1]
            c = d * d + cost[j]
            if lengths[i][j - 1] > limit:
                c += 100_000
            if c < cost[i]:
                cost[i] = c
                breaks[i] = j
    lines = []
    i = 0
    while i < n:
        lines.append(words[i : breaks[i]])
        i = breaks[i]
    return lines


def _cell_lines(text: str, max_width: int = 30) -> tuple[list[str], int]:
    """A cell's lines and the width it claims (tablewriter's parseDimension).

    A wrapped cell claims the full wrap width even when its lines come out narrower.
    """
    raw = text.split("\n")
    width = min(max(len(line) for line in raw), max_width)
    claimed = width
    out: list[str] = []
    for i, para in enumerate(raw):
        words = para.split(" ")
        limit = max([width] + [len(w) for w in words])
        if i > 0:
            out.append(" ")
        for line in _wrap_words(words, limit):
            joined = " ".join(line)
            claimed = max(claimed, len(joined))
            out.append(joined)
    return out, claimed


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """olekukonko/tablewriter as etcdctl sets it up: right aligned, cells wrapped at 30."""
    head_cells = [_cell_lines(h) for h in header]
    body_cells = [[_cell_lines(c) for c in row] for row in rows]
    widths = [w for _, w in head_cells]
    for row_cells in body_cells:
        for i, (_, w) in enumerate(row_cells):
            widths[i] = max(widths[i], w)
    head = [lines for lines, _ in head_cells]
    body = [[lines for lines, _ in row_cells] for row_cells in body_cells]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"

    def center(s: str, w: int) -> str:
        gap = w - len(s)
        left = gap // 2
        return " " * left + s + " " * (gap - left)

    out = [border]
    for k in range(max(len(lines) for lines in head)):
        cells = [center(lines[k] if k < len(lines) else "", w) for lines, w in zip(head, widths)]
        out.append("|" + "|".join(f" {c} " for c in cells) + "|\n")
    out.append(border)
    for row in body:
        for k in range(max(len(lines) for lines in row)):
            cells = [(lines[k] if k < len(lines) else "").rjust(w) for lines, w in zip(row, widths)]
            out.append("|" + "|".join(f" {c} " for c in cells) + "|\n")
    out.append(border)
    return "".join(out)
