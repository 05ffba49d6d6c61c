"""What a drill session records and makes of a run: the mistakes, the hints taken, the score
(start at 100; each mistake -10; each hint -5; past the RTO -1 per drill minute), each step's
timing and the debrief with what the ideal path would have done differently.

`SessionDebrief` is the read side of tui.drill.session.DrillSession: the session records,
these methods compute from what it recorded."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tui.pace import split as pace_split
from tui.pace import total as pace_total

# runbooks that end a drill whose ideal runbook is the key (the other one is the wrong
# procedure, which the debrief says, but the cluster is recovered all the same)
RUNBOOK_FAMILY = {"restore": {"restore", "quorum-restore"},
                  "quorum-restore": {"restore", "quorum-restore"}}
MISTAKE_POINTS = 10


HINT_POINTS = 5


LATE_POINTS_PER_MINUTE = 1


@dataclass(frozen=True)
class Mistake:
    # generic: refused-action | confirmation-typed-wrong | wrong-recovery-host | wrong-host |
    # skip-step | override-preflight | override-interlock; the scenario's traps: wrong-path |
    # wrong-backup | approve-csr | host-treated-lost (tui.drill.drillspec.TRAP_KINDS)
    kind: str
    detail: str
    step: str = "-"
    at: float = 0.0  # wall seconds

    @property
    def key(self) -> tuple:
        return (self.kind, self.step, self.detail)


@dataclass(frozen=True)
class HintTaken:
    n: int
    text: str
    at: float


@dataclass(frozen=True)
class Score:
    total: int
    breakdown: list[tuple[str, int]]  # (what, points): the start, then each deduction
    elapsed: float  # drill seconds from the clock's start to the end (or now)
    rto_seconds: float | None
    minutes_late: int

    def as_dict(self) -> dict:
        return {"score": self.total,
                "breakdown": [{"what": what, "points": points} for what, points in self.breakdown],
                "elapsed_drill_seconds": round(self.elapsed, 1),
                "rto_minutes": self.rto_seconds / 60 if self.rto_seconds else None,
                "minutes_late": self.minutes_late}


@dataclass
class StepTiming:
    """One step's life in the journal, in drill seconds from the clock's start."""
    step: str
    runbook: str
    hosts: list[str] = field(default_factory=list)
    asked: float | None = None  # first line of the step (its confirmation, or its start)
    started: float | None = None
    ended: float | None = None
    outcome: str = "not reached"  # finished | failed | skipped | already-done | running | ...
    detail: str = ""
    commands: int = 0
    command_seconds: float = 0.0
    failures: int = 0
    journaled: bool = False  # has lines of its own (not only its commands' lines)
    operator_seconds: float = 0.0  # from the step before it to its confirmation
    # the fair clock's readings (tui.pace) at the step's start and end; from them its
    # command time and its waiting, when the journal has them
    pace_started: dict | None = None
    pace_ended: dict | None = None

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def wait_seconds(self) -> float:
        """Time in the step not spent running commands: waiting for its check to hold."""
        parts = pace_split(self.pace_started, self.pace_ended)
        if parts is not None:
            return parts["waiting"]
        if self.duration is None:
            return 0.0
        return max(0.0, self.duration - self.command_seconds)


@dataclass
class Debrief:
    scenario: str
    objective: str
    ended: bool
    outcome: str  # what the drill's end says: recovered, stopped, in progress
    score: Score | None  # None: a free drill (no `drill:` section)
    expected_score: int | None
    steps: list[StepTiming]
    hints: list[HintTaken]
    mistakes: list[Mistake]
    differences: list[str]  # what the ideal path would have done differently
    totals: list[str]  # where the drill time went
    faults: list[dict]  # what the scenario injected (`fault` lines; `at` in wall seconds)
    notes: list[str]  # the scenario's notes on the ideal path
    speed: float
    started_at: float | None  # wall seconds of the clock's start

    def offset(self, wall: float) -> float:
        return (wall - (self.started_at or wall)) * self.speed


def drill_clock(seconds: float | None) -> str:
    """Drill seconds as a clock: 07:05, 1:02:07; a negative span gets a minus sign."""
    if seconds is None:
        return "--:--"
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes:02d}:{secs:02d}"


def iso_time(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds")


def wall_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class SessionDebrief:
    """The score and the debrief of a DrillSession, from what it recorded (its records,
    mistakes, hints, faults, clock readings and drill section)."""

    def score(self, now: float | None = None) -> Score:
        elapsed = self.elapsed(now)
        breakdown: list[tuple[str, int]] = [("start", 100)]
        if self.mistakes:
            breakdown.append((f"{len(self.mistakes)} mistake(s) x -{MISTAKE_POINTS}",
                              -MISTAKE_POINTS * len(self.mistakes)))
        if self.hints:
            breakdown.append((f"{len(self.hints)} hint(s) x -{HINT_POINTS}",
                              -HINT_POINTS * len(self.hints)))
        rto = self.rto_seconds
        late = int(math.floor((elapsed - rto) / 60)) if rto is not None and elapsed > rto else 0
        if late:
            breakdown.append((f"{late} drill minute(s) past the RTO of "
                              f"{drill_clock(rto)} x -{LATE_POINTS_PER_MINUTE}",
                              -LATE_POINTS_PER_MINUTE * late))
        total = max(0, sum(points for _, points in breakdown))
        return Score(total, breakdown, elapsed, rto, late)

    def debrief(self, now: float | None = None) -> Debrief:
        drill = self.drill
        score = (self.final or self.score(now)) if drill is not None else None
        if self.ended is not None:
            outcome = self.end_reason or "ended"
        elif any(r.get("step") == "-" and r.get("event") == "failed" for r in self.records):
            outcome = "in progress: the last run stopped (see its failed step)"
        else:
            outcome = "in progress"
        return Debrief(scenario=self.scenario, objective=self.objective,
                       ended=self.ended is not None, outcome=outcome, score=score,
                       expected_score=drill.expected_score if drill else None,
                       steps=self.timeline(), hints=sorted(self.hints, key=lambda h: h.n),
                       mistakes=sorted(self.mistakes, key=lambda m: m.at), differences=self.differences(now),
                       faults=list(self.faults), totals=self.totals(now),
                       notes=drill.notes if drill else [], speed=self.speed,
                       started_at=self.started)

    def _offset(self, wall: float | None) -> float | None:
        if wall is None:
            return None
        return (wall - (self.started if self.started is not None else wall)) * self.speed

    def _at(self, record: dict) -> float | None:
        """A journal line's drill time since the clock's start: the fair clock's, when the
        line and the start carry its readings; else wall time times the speed."""
        pace = record.get("pace")
        if isinstance(pace, dict) and self.start_pace is not None:
            return pace_total(pace) - pace_total(self.start_pace)
        return self._offset(wall_time(record.get("time")))

    def timeline(self) -> list[StepTiming]:
        """Every step of every run in the order it first appeared; steps a plan listed that
        never ran are there too, as not reached."""
        steps: dict[tuple[str, str], StepTiming] = {}
        order: list[tuple[str, str]] = []
        last_end: float | None = None
        last_end_pace: dict | None = self.start_pace
        for r in self.records:
            step, event = r.get("step", "-"), r.get("event")
            if r.get("kind") == "aftercare":
                continue  # the restore's checklist ticks: not steps of the run
            runbook = str(r.get("runbook") or "")
            at = self._at(r)
            pace = r.get("pace") if isinstance(r.get("pace"), dict) else None
            if step == "-":
                if event == "planned":
                    for planned in r.get("steps") or []:
                        key = (runbook, str(planned))
                        if key not in steps:
                            steps[key] = StepTiming(str(planned), runbook)
                            order.append(key)
                    last_end, last_end_pace = at, pace
                continue
            key = (runbook, step)
            if key not in steps:
                steps[key] = StepTiming(step, runbook)
                # a sub-step (RST-04b) goes after its step and the sub-steps before it
                parent = max((k for k in order if k[0] == runbook and step.startswith(k[1])
                              and k[1] != step), key=lambda k: len(k[1]), default=None)
                if parent is None:
                    order.append(key)
                else:
                    at_index = max(i for i, k in enumerate(order)
                                   if k[0] == runbook and k[1].startswith(parent[1]))
                    order.insert(at_index + 1, key)
            timing = steps[key]
            for host in r.get("hosts") or []:
                if host not in timing.hosts:
                    timing.hosts.append(host)
            if timing.asked is None and event in ("confirmed", "started", "skipped",
                                                  "already-done", "finished", "failed"):
                timing.asked = at
            if "command" in r:
                if event in ("finished", "failed") and isinstance(r.get("duration"),
                                                                  (int, float)):
                    timing.commands += 1
                    if pace is None:  # an older journal: the command's wall time, sped up
                        timing.command_seconds += float(r["duration"]) * self.speed
                if not timing.journaled:  # a sub-step journaled by its commands alone
                    if timing.started is None:
                        timing.started = at
                    if event in ("finished", "failed"):
                        timing.ended, timing.outcome = at, event
                        timing.detail = str(r.get("detail") or r.get("command") or "")
                    else:
                        timing.outcome = "running"
                continue
            timing.journaled = True
            if event == "confirmed" and r.get("kind") not in ("aftercare", "retry", "phase"):
                deciding = pace_split(last_end_pace, pace)
                if deciding is not None and timing.started is None:
                    timing.operator_seconds += deciding["deciding"]
                elif last_end is not None and at is not None and timing.started is None:
                    timing.operator_seconds += max(0.0, at - last_end)
            elif event == "started":
                if timing.started is None:
                    timing.started = at
                    timing.pace_started = pace
                timing.outcome = "running"
            elif event in ("finished", "already-done", "skipped", "failed"):
                if event == "failed":
                    timing.failures += 1
                timing.ended, timing.pace_ended = at, pace
                if timing.started is None:
                    timing.started, timing.pace_started = at, pace
                timing.outcome = event
                timing.detail = str(r.get("detail") or r.get("reason") or r.get("error") or "")
                last_end, last_end_pace = at, pace
        for timing in steps.values():
            parts = pace_split(timing.pace_started, timing.pace_ended)
            if parts is not None:
                timing.command_seconds = parts["commands"]
                # a question asked inside the step (a machine to replace, an unknown outcome)
                timing.operator_seconds += parts["deciding"]
        return [steps[k] for k in order]

    def totals(self, now: float | None = None) -> list[str]:
        """Where the drill time went: the run's steps, their waits, the operator's decisions."""
        steps = self.timeline()
        elapsed = self.elapsed(now)
        out = [f"drill time {drill_clock(elapsed)}" + (
            f" against an RTO of {drill_clock(self.rto_seconds)}" if self.rto_seconds else "")]
        parts = self.split(now)
        if parts is not None:
            # the fair clock's own split: the same numbers the report shows (tui.pace)
            out.append(f"running commands {drill_clock(parts['commands'])}, waiting for "
                       f"checks {drill_clock(parts['waiting'])}, deciding "
                       f"{drill_clock(parts['deciding'])}")
        elif steps:
            out.append(f"running commands {drill_clock(sum(t.command_seconds for t in steps))}"
                       f", waiting for checks {drill_clock(sum(t.wait_seconds for t in steps))}"
                       f", deciding at confirmations "
                       f"{drill_clock(sum(t.operator_seconds for t in steps))}")
        return out

    def differences(self, now: float | None = None) -> list[str]:
        """What the ideal path would have done differently."""
        drill = self.drill
        if drill is None:
            return []
        out: list[str] = []
        plans = [r for r in self.records if r.get("step") == "-" and r.get("event") == "planned"]
        if drill.runbook and not plans:
            out.append(f"The ideal path runs the {drill.runbook} runbook; it was never started.")
        for plan in plans:
            runbook = str(plan.get("runbook") or "")
            params = plan.get("params") or {}
            if drill.runbook and runbook not in RUNBOOK_FAMILY.get(drill.runbook,
                                                                   {drill.runbook}):
                out.append(f"You ran {runbook}: the ideal path does not need it "
                           f"(it runs {drill.runbook}).")
                continue
            if drill.runbook and runbook != drill.runbook:
                out.append(f"You ran {runbook}; the ideal path runs {drill.runbook}.")
            chosen = params.get("recovery_host") or params.get("host")
            if drill.ideal_host and chosen and chosen != drill.ideal_host:
                what = "recovery host" if "recovery_host" in params else "host"
                out.append(f"{what}: you chose {chosen}; the ideal path uses "
                           f"{drill.ideal_host}.")
            path = params.get("path")
            if drill.ideal_path and path and path != drill.ideal_path:
                out.append(f"procedure: you chose {path}; the ideal path is "
                           f"{drill.ideal_path}.")
        for r in self.records:
            if r.get("event") != "override" or "command" in r:
                continue
            if r.get("step") == "-" and not drill.ideal.override:
                out.append(f"You started past failed checks (override: {r.get('reason')}); "
                           f"the ideal path needs no override.")
            elif r.get("step") != "-" and r.get("step") not in drill.ideal.skipped:
                out.append(f"You skipped {r.get('step')} after it failed (override: "
                           f"{r.get('reason')}); the ideal path does not skip it.")
        expected = set(drill.ideal.retry)
        # a step the ideal path retries may fail once per host it runs on (DEF-MAN-2 times
        # out once on each 8 GB follower)
        retried = [t for t in self.timeline()
                   if t.failures > (max(1, len(t.hosts)) if t.step in expected else 0)]
        for t in retried:
            out.append(f"{t.step} failed {t.failures} time(s) before it "
                       f"{'ended' if t.outcome != 'failed' else 'stopped the run'}.")
        score = self.final or self.score(now)
        rto = self.rto_seconds
        if rto is not None and score.elapsed > rto:
            out.append(f"Time: {drill_clock(score.elapsed)} of drill time against an RTO of "
                       f"{drill_clock(rto)}: {drill_clock(score.elapsed - rto)} late.")
        return out

    # --- replay ---------------------------------------------------------------------------------
