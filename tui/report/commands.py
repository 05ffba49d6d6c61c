"""The commands pass (every command and API call sent, with its result) and the hosts pass
(per host: its steps, busy time, commands and the steps it was skipped in).

A command's duration is the `duration` its end line carries, else its end minus its start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.report.lines import is_api, is_command, is_note, lines_by_step, pair_intervals, timestamp
from tui.report.steps import Timeline


@dataclass(frozen=True)
class Command:
    time: str
    end: str | None
    step: str
    host: str | None  # the one host it ran on, else None
    hosts: list[str]
    command: Any  # as sent (secrets redacted), or the API call
    kind: str  # host | cluster (no host named) | api
    transport: Any
    exit_status: Any
    duration_s: float | None
    outcome: str  # its end line's event, or "no result in the journal"
    error: Any

    def to_json(self) -> dict:
        return {"time": self.time, "end": self.end, "step": self.step, "host": self.host,
                "hosts": self.hosts, "command": self.command, "kind": self.kind,
                "transport": self.transport, "exit_status": self.exit_status,
                "duration_s": self.duration_s, "outcome": self.outcome, "error": self.error}


def commands_sent(records: list[dict]) -> tuple[Command, ...]:
    """Commands and API calls, by the time they were sent (the runner's notes are not)."""
    commands = []
    for sid, lines in lines_by_step(records).items():
        for i in pair_intervals([r for r in lines if r["step"] == sid and not is_note(r)
                                 and (is_command(r) or is_api(r))]):
            line = i.line
            commands.append(Command(
                time=i.start, end=i.end, step=sid,
                host=i.hosts[0] if len(i.hosts) == 1 else None, hosts=i.hosts,
                command=line.get("command") if is_command(line) else line.get("api"),
                kind="api" if is_api(line) else ("cluster" if not i.hosts else "host"),
                transport=line.get("transport"),
                exit_status=line.get("exit_status") if i.end else None,
                duration_s=i.duration_s,
                outcome={"started": "no result in the journal"}.get(i.event, i.event),
                error=line.get("error") if i.end else None))
    commands.sort(key=lambda c: timestamp(c.time))
    return tuple(commands)


@dataclass(frozen=True)
class HostReport:
    host: str
    steps: tuple[str, ...]
    busy_s: float
    commands: int
    commands_failed: int
    command_time_s: float
    skipped_in: tuple[str, ...]

    def to_json(self) -> dict:
        return {"host": self.host, "steps": list(self.steps), "busy_s": self.busy_s,
                "commands": self.commands, "commands_failed": self.commands_failed,
                "command_time_s": self.command_time_s, "skipped_in": list(self.skipped_in)}


def host_reports(timeline: Timeline, commands: tuple[Command, ...]) -> tuple[HostReport, ...]:
    """Every host a step names, in the order the steps first name them."""
    out = []
    hosts = dict.fromkeys(p.host for s in timeline.steps for p in s.per_host)
    for h in hosts:
        mine = [c for c in commands if c.host == h]
        out.append(HostReport(
            host=h, steps=timeline.steps_by_host.get(h, ()),
            busy_s=timeline.busy_s.get(h, 0.0), commands=len(mine),
            commands_failed=sum(1 for c in mine if c.outcome == "failed"),
            command_time_s=round(sum(c.duration_s or 0.0 for c in mine), 3),
            skipped_in=tuple(s.step for s in timeline.steps for p in s.per_host
                             if p.host == h and p.outcome == "skipped")))
    return tuple(out)
