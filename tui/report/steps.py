"""The steps pass: every step's span, outcome and waiting, host by host, and the waits.

A step runs from its first line to its last one; per host, from the first to the last of
that host's own lines in it (its commands, a defrag member), else the whole step when the
step never acted host by host. Waiting: the polling of a wait step (from its last command or
API call, or its start, until its check held) and explicit waits (lines with `wait_s`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tui.report.catalog import SUB_TITLES
from tui.report.lines import (ENDS, Interval, is_api, is_command, is_note, is_sub, line_hosts,
                              lines_by_step, merged_seconds, pair_intervals, seconds_between,
                              timestamp)


@dataclass(frozen=True)
class HostInStep:
    """One host's part of one step. `skip_noted`: a runbook-level `skipped` line named the
    host in this step (its reason, even none, goes with it); `busy`: the span counts towards
    the host's busy time and steps (not a skip, not a host the step never acted on)."""

    host: str
    start: str | None
    end: str | None
    duration_s: float | None
    outcome: str
    commands: int
    commands_failed: int
    reason: Any = None
    skip_noted: bool = False
    busy: bool = False

    def to_json(self) -> dict:
        return {"host": self.host, "start": self.start, "end": self.end,
                "duration_s": self.duration_s, "outcome": self.outcome,
                **({"reason": self.reason} if self.skip_noted else {}),
                "commands": self.commands, "commands_failed": self.commands_failed}


@dataclass(frozen=True)
class Wait:
    step: str
    hosts: list[str]
    member: Any
    start: str
    end: str
    duration_s: float
    why: str

    def to_json(self) -> dict:
        return {"step": self.step, "hosts": self.hosts, "member": self.member,
                "start": self.start, "end": self.end, "duration_s": self.duration_s,
                "why": self.why}


@dataclass(frozen=True)
class Step:
    step: str
    title: str | None
    parent: str | None  # DEF-MAN-2 of DEF-MAN-2a
    hosts: list[str]
    start: str
    end: str | None
    duration_s: float | None
    outcome: str  # a line's end event, "under way", or "noted"
    detail: Any
    failures: int
    attempts: int
    commands: int
    waiting_s: float
    per_host: tuple[HostInStep, ...]

    def to_json(self) -> dict:
        return {"step": self.step, "title": self.title, "parent": self.parent,
                "hosts": self.hosts, "start": self.start, "end": self.end,
                "duration_s": self.duration_s, "outcome": self.outcome, "detail": self.detail,
                "failures": self.failures, "attempts": self.attempts,
                "commands": self.commands, "waiting_s": self.waiting_s,
                "per_host": [p.to_json() for p in self.per_host]}


@dataclass(frozen=True)
class Timeline:
    steps: tuple[Step, ...]  # by start time
    waits: tuple[Wait, ...]
    steps_by_host: dict[str, tuple[str, ...]]  # the steps a host was busy in, first first
    busy_s: dict[str, float]  # per host: the union of its busy spans

    @property
    def in_flight(self) -> str | None:
        """The latest step still under way."""
        return next((s.step for s in reversed(self.steps) if s.outcome == "under way"), None)


def _step_end(own: list[dict], intervals: list[Interval], lines: list[dict]
              ) -> tuple[str, str | None, Any]:
    """(outcome, end, detail) of a step: its own last end line, else its parts'."""
    starts_own = [i for i, r in enumerate(own) if r["event"] == "started"]
    ends_own = [i for i, r in enumerate(own) if r["event"] in ENDS]
    if own and ends_own and (not starts_own or ends_own[-1] > starts_own[-1]):
        last = own[ends_own[-1]]
        return last["event"], last["time"], \
            last.get("detail") or last.get("reason") or last.get("error")
    if own and starts_own:
        return "under way", None, None
    if intervals:
        unended = [timestamp(i.start) for i in intervals if i.event == "started"]
        ended = [i for i in intervals if i.event != "started"]
        last_end = max((timestamp(i.end) for i in ended), default=None)
        if unended and (last_end is None or max(unended) > last_end):
            return "under way", None, None  # its latest part has no end yet
        return ("failed" if ended[-1].event == "failed" else "finished",
                max((i.end for i in ended), key=timestamp), None)
    return (own[-1]["event"] if own else "noted"), lines[-1]["time"], None


def _waits(sid: str, step_def: Any, intervals: list[Interval], step_hosts: list[str],
           start: str, end: str | None, outcome: str) -> list[Wait]:
    """Explicit waits (wait_s), then a wait step's polling after its last action."""
    waits = []
    for i in intervals:
        src = i.start_line or i.line
        if "wait_s" in src and i.end:
            waits.append(Wait(step=sid, hosts=i.hosts, member=i.member, start=i.start,
                              end=i.end, duration_s=seconds_between(i.start, i.end) or 0.0,
                              why=f"wait of {src['wait_s']:g}s"
                                  + (f" after {i.member}" if i.member else "")))
    if getattr(step_def, "wait", None) is not None and end and outcome in ("finished",
                                                                           "failed"):
        actions = [i.end for i in intervals if i.end and (is_command(i.line) or is_api(i.line))
                   and timestamp(i.end) <= timestamp(end)]
        since = max(actions + [start], key=timestamp)
        d = seconds_between(since, end) or 0.0
        if d > 0:
            waits.append(Wait(step=sid, hosts=step_hosts, member=None, start=since, end=end,
                              duration_s=d,
                              why="polling its check until it held" if outcome == "finished"
                              else "polling its check until it gave up"))
    return waits


def _per_host(hosts: list[str], intervals: list[Interval], host_skips: list[dict],
              start: str, end: str | None, outcome: str) -> list[HostInStep]:
    """Per host: the lines naming that host alone, else the whole step."""
    per_host = []
    skipped_hosts = {h: r.get("reason") for r in host_skips for h in line_hosts(r)}
    for h in hosts:
        mine = [i for i in intervals if i.hosts == [h]]
        if h in skipped_hosts and not mine:
            per_host.append(HostInStep(host=h, start=None, end=None, duration_s=None,
                                       outcome="skipped", reason=skipped_hosts[h],
                                       skip_noted=True, commands=0, commands_failed=0))
            continue
        if mine:
            h_start = min((i.start for i in mine), key=lambda x: timestamp(x, float("inf")))
            done = [i.end for i in mine if i.end]
            h_end = max(done, key=timestamp) if done and all(i.end for i in mine) else None
            h_out = "failed" if any(i.event == "failed" for i in mine) else \
                "under way" if h_end is None else \
                outcome if any(i.closed for i in mine) else \
                ("already-done" if all(i.event == "already-done" for i in mine)
                 else "finished")
        elif any(len(i.hosts) == 1 for i in intervals):
            # the step acted host by host, and never on this one (the leader in
            # DEF-MAN-2, the one etcdctl source in DEF-MAN-6 for the others)
            per_host.append(HostInStep(host=h, start=None, end=None, duration_s=None,
                                       outcome="nothing of its own", commands=0,
                                       commands_failed=0))
            continue
        else:
            h_start, h_end, h_out = start, end, outcome
        cmds = [i for i in mine if is_command(i.line)]
        per_host.append(HostInStep(
            host=h, start=h_start, end=h_end,
            duration_s=seconds_between(h_start, h_end) if h_end else None, outcome=h_out,
            commands=len(cmds), commands_failed=sum(1 for i in cmds if i.event == "failed"),
            busy=True))
    return per_host


def _step(sid: str, lines: list[dict], own: list[dict], by_step: dict[str, list[dict]],
          step_def: Any) -> tuple[Step, list[Wait]]:
    subs = [r for r in lines if r["step"] == sid and is_sub(r) and not is_note(r)]
    host_skips = [r for r in lines if r["step"] == "-"]
    timed = [r for r in lines if r["step"] == sid and r["event"] != "confirmed"]
    intervals = pair_intervals(subs)
    start = next((r["time"] for r in timed if r["event"] == "started"),
                 timed[0]["time"] if timed else lines[0]["time"])
    outcome, end, detail = _step_end(own, intervals, lines)
    if end is not None:  # a part still open when its step ended ended with it
        for i in intervals:
            if i.end is None:
                if is_command(i.line):
                    # its result stays unknown (a console killed mid-command): a point
                    i.end, i.duration_s, i.closed = i.start, None, True
                else:  # a member's part: it lasted until its step ended
                    i.end, i.duration_s, i.closed = end, seconds_between(i.start, end), True
                    i.event = outcome
    hosts: list[str] = []
    for r in lines:
        for h in line_hosts(r):
            if h not in hosts:
                hosts.append(h)
    step_hosts = next((line_hosts(r) for r in own if line_hosts(r)), []) or hosts
    waits = _waits(sid, step_def, intervals, step_hosts, start, end, outcome)
    waiting = 0.0  # a float even without waits (sum() would start from the int 0)
    for w in waits:
        waiting += w.duration_s
    return Step(
        step=sid, title=getattr(step_def, "title", None) or SUB_TITLES.get(sid),
        parent=(sid[:-1] if re.fullmatch(r".*\d[a-z]", sid) and sid[:-1] in by_step
                else None),
        hosts=step_hosts, start=start, end=end,
        duration_s=seconds_between(start, end) if end else None, outcome=outcome,
        detail=detail, failures=sum(1 for r in own if r["event"] == "failed"),
        attempts=max(1, sum(1 for r in own if r["event"] == "started")) if own else 1,
        commands=sum(1 for i in intervals if is_command(i.line) or is_api(i.line)),
        waiting_s=round(waiting, 3),
        per_host=tuple(_per_host(hosts, intervals, host_skips, start, end, outcome)),
    ), waits


def step_timeline(records: list[dict], catalog: dict[str, Any]) -> Timeline:
    """The steps of RECORDS (`catalog`: step ID -> Step, for titles and wait steps)."""
    by_step = lines_by_step(records)
    steps: list[Step] = []
    waits: list[Wait] = []
    spans: dict[str, list[tuple[float, float]]] = {}
    steps_by_host: dict[str, list[str]] = {}
    for sid, lines in by_step.items():
        own = [r for r in lines if r["step"] == sid and not is_sub(r)
               and r["event"] not in ("override", "confirmed")]
        if not own and not any(r["step"] == "-" or is_sub(r) for r in lines):
            continue  # only an override or a confirmation names it: listed with those
        step, step_waits = _step(sid, lines, own, by_step, catalog.get(sid))
        for p in step.per_host:
            if not p.busy:
                continue
            a, b = timestamp(p.start), timestamp(p.end)
            if a != float("-inf") and b != float("-inf") and b >= a:
                spans.setdefault(p.host, []).append((a, b))
            if sid not in steps_by_host.setdefault(p.host, []):
                steps_by_host[p.host].append(sid)
        steps.append(step)
        waits += step_waits
    steps.sort(key=lambda st: timestamp(st.start))  # stable: ties keep their order
    return Timeline(steps=tuple(steps), waits=tuple(waits),
                    steps_by_host={h: tuple(s) for h, s in steps_by_host.items()},
                    busy_s={h: merged_seconds(s) for h, s in spans.items()})
