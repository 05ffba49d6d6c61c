"""The clock pass (a drill's speed and its fair clock, tui.pace) and the totals: time to
recovery (the first `planned` line to the runbook-level `finished` line), time waiting,
commands, failures, steps by outcome."""

from __future__ import annotations

from dataclasses import dataclass

from tui import pace
from tui.report.commands import Command
from tui.report.lines import seconds_between
from tui.report.notes import Notes
from tui.report.run import RunOutcome
from tui.report.steps import Timeline


@dataclass(frozen=True)
class DrillClock:
    """A drill's clock. `split`: fair-clock seconds by part (commands, waiting, deciding,
    total) from the drill's start to its end, None when the journal's lines carry no
    readings; `to_recovery_s`: fair-clock seconds from the first plan to recovery."""

    speed: float | None
    split: dict[str, float] | None
    to_recovery_s: float | None


def drill_speed(records: list[dict]) -> float | None:
    for r in records:
        for source in (r, r.get("params") if isinstance(r.get("params"), dict) else {}):
            v = source.get("speed")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
                return float(v)
    return None


def drill_clock(records: list[dict], run: RunOutcome) -> DrillClock:
    """The drill's start is its `session` line, else the first reading; its end its `score`
    line, else the last reading."""
    speed = drill_speed(records)
    session = next((r for r in records if r.get("event") == "session"
                    and isinstance(r.get("pace"), dict)), None)
    score_line = next((r for r in reversed(records) if r["event"] == "score"), None)
    start = session["pace"] if session else pace.first_reading(records)
    end = score_line["pace"] if score_line and isinstance(score_line.get("pace"), dict) \
        else pace.last_reading(records)
    parts = pace.split(start, end)
    if parts is None:
        return DrillClock(speed=speed, split=None, to_recovery_s=None)
    plan, recovery = run.plan_line, run.recovery_line
    to_recovery = pace.split(plan.get("pace") if plan else None,
                             recovery.get("pace") if recovery else None)
    return DrillClock(
        speed=speed,
        split={**{k: round(v, 3) for k, v in parts.items()},
               "total": round(sum(parts.values()), 3)},
        to_recovery_s=round(sum(to_recovery.values()), 3) if to_recovery else None)


@dataclass(frozen=True)
class Totals:
    time_to_recovery_s: float | None
    elapsed_s: float | None
    time_waiting_s: float
    commands_sent: int
    commands_failed: int
    failures: int  # failed step lines
    steps: dict[str, int]  # top-level steps by outcome
    overrides: int
    confirmations: int
    hints: int
    mistakes: int
    faults: int
    clock: DrillClock

    def to_json(self) -> dict:
        speed = self.clock.speed
        out = {
            "time_to_recovery_s": self.time_to_recovery_s, "elapsed_s": self.elapsed_s,
            "time_waiting_s": self.time_waiting_s, "commands_sent": self.commands_sent,
            "commands_failed": self.commands_failed, "failures": self.failures,
            "steps": self.steps, "overrides": self.overrides,
            "confirmations": self.confirmations, "hints": self.hints,
            "mistakes": self.mistakes, "faults": self.faults, "speed": speed,
        }
        if self.clock.split is not None:
            # a drill's fair clock (tui.pace): the same readings the debrief takes its split from
            out["drill_time"] = self.clock.split
            out["drill_time_to_recovery_s"] = self.clock.to_recovery_s
            out["drill_time_waiting_s"] = self.clock.split["waiting"]
        elif speed and speed != 1:  # an older drill journal: wall time x speed
            ttr = self.time_to_recovery_s
            out["drill_time_to_recovery_s"] = round(ttr * speed, 3) if ttr is not None else None
            out["drill_time_waiting_s"] = round(self.time_waiting_s * speed, 3)
        return out


def totals_of(records: list[dict], run: RunOutcome, timeline: Timeline,
           commands: tuple[Command, ...], notes: Notes, clock: DrillClock) -> Totals:
    counts: dict[str, int] = {}
    for s in timeline.steps:
        if s.parent is None:
            counts[s.outcome] = counts.get(s.outcome, 0) + 1
    plan, recovery = run.plan_line, run.recovery_line
    return Totals(
        time_to_recovery_s=seconds_between(plan["time"], recovery["time"])
        if plan and recovery else None,
        elapsed_s=seconds_between(records[0]["time"], records[-1]["time"]) if records else None,
        time_waiting_s=round(sum(w.duration_s for w in timeline.waits), 3),
        commands_sent=len(commands),
        commands_failed=sum(1 for c in commands if c.outcome == "failed"),
        failures=sum(s.failures for s in timeline.steps), steps=counts,
        overrides=len(notes.overrides), confirmations=len(notes.confirmations),
        hints=len(notes.hints), mistakes=len(notes.mistakes), faults=len(notes.faults),
        clock=clock)
