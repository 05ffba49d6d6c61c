"""What a report reads off journal lines: their times, what kind of line each is, a step's
lines grouped, and a step's sub-lines paired start -> end into intervals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# a drill session's own lines: listed with the session, whatever step they name
SESSION_EVENTS = ("session", "hint", "mistake", "fault", "score")
ENDS = ("finished", "failed", "skipped", "already-done")
CORE_KEYS = ("time", "runbook", "step", "event", "hosts")


def parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


def timestamp(text: Any, missing: float = float("-inf")) -> float:
    """A time as a number to order by (a naive or unreadable one cannot break the order)."""
    t = parse_time(text)
    try:
        return t.timestamp() if t is not None else missing
    except (OverflowError, OSError, ValueError):
        return missing


def seconds_between(a: Any, b: Any) -> float | None:
    ta, tb = parse_time(a), parse_time(b)
    if ta is None or tb is None:
        return None
    try:
        return round(max(0.0, (tb - ta).total_seconds()), 3)
    except TypeError:  # one with a timezone, one without
        return None


def line_hosts(r: dict) -> list[str]:
    h = r.get("hosts")
    return [str(x) for x in h] if isinstance(h, list) else []


def is_command(r: dict) -> bool:
    return "command" in r


def is_note(r: dict) -> bool:
    """The runner's "# etcd-dr notes, before acting: ..." lines: facts kept, nothing sent."""
    return is_command(r) and str(r.get("command", "")).startswith("#")


def is_api(r: dict) -> bool:
    return "api" in r and not is_command(r)


def is_sub(r: dict) -> bool:
    """A line about part of a step (a command, an API call, one defrag member)."""
    return is_command(r) or is_api(r) or "member" in r


def extra_keys(r: dict) -> dict:
    """A line without the keys every line has."""
    return {k: v for k, v in r.items() if k not in CORE_KEYS}


def lines_by_step(records: list[dict]) -> dict[str, list[dict]]:
    """Each step's lines, steps in order of first appearance; a runbook-level line about one
    step (`for_step`, a host skipped in it) goes with that step, a drill session's own lines
    with none."""
    by_step: dict[str, list[dict]] = {}
    for r in records:
        if r["event"] in SESSION_EVENTS:
            continue
        if r["step"] == "-":
            if r.get("for_step"):
                by_step.setdefault(str(r["for_step"]), []).append(r)
            continue
        by_step.setdefault(r["step"], []).append(r)
    return by_step


@dataclass
class Interval:
    """One command, API call or defrag member of a step, from its start line to its end line.
    `end` is None while it has no end line; the step pass closes such a part when its step
    ended (`closed`)."""

    start: str
    end: str | None
    hosts: list[str]
    member: Any
    event: str
    duration_s: float | None
    start_line: dict | None
    line: dict
    closed: bool = False


def pair_intervals(lines: list[dict]) -> list[Interval]:
    """Sub-lines of one step paired start -> end by (hosts, member, command); an end line
    without a start is an interval of its `duration` (or a point)."""
    open_: dict[tuple, dict] = {}
    out = []
    unended: list[dict] = []  # started again before an end: the first never had a result
    for r in lines:
        key = (tuple(line_hosts(r)), r.get("member"), r.get("command"), "api" in r)
        if r["event"] == "started":
            if key in open_:
                unended.append(open_[key])
            open_[key] = r
            continue
        if r["event"] not in ENDS:
            continue
        start = open_.pop(key, None)
        end = r["time"]
        duration = r.get("duration") if isinstance(r.get("duration"), (int, float)) else None
        if start is not None:
            begin = start["time"]
            if duration is None:
                duration = seconds_between(begin, end)
        else:
            t = parse_time(end)
            begin = end
            if t is not None and duration is not None:
                begin = (t - timedelta(seconds=duration)).isoformat(timespec="milliseconds")
        out.append(Interval(start=begin, end=end, hosts=line_hosts(r), member=r.get("member"),
                            event=r["event"], duration_s=duration, start_line=start, line=r))
    for start in unended + list(open_.values()):  # no end line (yet)
        out.append(Interval(start=start["time"], end=None, hosts=line_hosts(start),
                            member=start.get("member"), event="started", duration_s=None,
                            start_line=start, line=start))
    return out


def merged_seconds(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of (start, end) timestamps."""
    total, cur = 0.0, None
    for a, b in sorted(intervals):
        if cur is None or a > cur[1]:
            if cur is not None:
                total += cur[1] - cur[0]
            cur = [a, b]
        else:
            cur[1] = max(cur[1], b)
    if cur is not None:
        total += cur[1] - cur[0]
    return round(total, 3)
