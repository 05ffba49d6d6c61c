"""A drill session: the objective, the RTO clock, hints, mistakes, the score and the debrief.

Headless: the session reads journal lines (every line any runbook of the drill writes, as
tui.journal's listeners see them, or a journal file replayed) and the few things only the
console sees (a refused start, a typed confirmation typed wrong, a hint asked for). The
screens render what it says; `DrillSession.from_journal` scores a journal without any UI.

Scoring (README "Drills"): start at 100; each mistake -10; each hint -5; past the RTO -1 per
full drill minute late; never below 0. Drill time is the fair drill clock's (tui.pace): the
simulated seconds of the runbooks' waits and the host programs, plus the trainee's own
seconds at real speed while the console waits for them; the console's processing does not
count. It runs from the moment the trainee closes the briefing (the clock's start) to the
moment the scenario's runbook journals its runbook-level `finished` (or the trainee ends the
drill). A journal without the clock's readings (`pace`, written before it existed) is timed
as before: wall time times the drill's speed.

The session's own lines go into the journal of the drill's runbook (runbook-level, step "-"):
`session`, `hint`, `mistake`, `score`. Lines that happen before any runbook has a journal wait
and are written, with `at` saying when they happened, as soon as one is planned; a drill that
never plans a runbook writes them to a journal of its own (runbook "drill").
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from tui.drill.scenario import load_scenario_doc
from tui.errors import EtcdDrError
from tui.journal import Journal, read_journal
from tui.pace import split as pace_split
from tui.pace import total as pace_total

_APPROVE = re.compile(r"certificate\s+approve\s+([^|;&]+)")
MISTAKE_POINTS = 10
HINT_POINTS = 5
LATE_POINTS_PER_MINUTE = 1
SESSION_EVENTS = ("session", "hint", "mistake", "score", "fault")
# runbooks that end a drill whose ideal runbook is the key (the other one is the wrong
# procedure, which the debrief says, but the cluster is recovered all the same)
RUNBOOK_FAMILY = {"restore": {"restore", "quorum-restore"},
                  "quorum-restore": {"restore", "quorum-restore"}}


# --- the scenario's `drill:` section ---------------------------------------------------------


@dataclass(frozen=True)
class DrillSpec:
    """A scenario's `drill:` section, read defensively (a key of the wrong shape is ignored:
    tui.drill.scenario validates the files and names file and key)."""
    objective: str = ""
    runbook: str | None = None
    rto_minutes: float | None = None
    ideal: dict = field(default_factory=dict)
    expected_score: int | None = None
    hints: tuple[str, ...] = ()
    traps: tuple[dict, ...] = ()
    faults: tuple[dict, ...] = ()

    @property
    def ideal_host(self) -> str | None:
        value = self.ideal.get("recovery_host") or self.ideal.get("host")
        return str(value) if value else None

    @property
    def ideal_path(self) -> str | None:
        value = self.ideal.get("path")
        return str(value) if value else None

    @property
    def notes(self) -> list[str]:
        notes = self.ideal.get("notes") or []
        return [str(n) for n in notes] if isinstance(notes, list) else [str(notes)]

    @property
    def override_expected(self) -> bool:
        """The ideal path itself starts past a failed check with a typed override."""
        return bool(self.ideal.get("override"))

    @property
    def skips_expected(self) -> set[str]:
        """Steps the ideal path itself skips by override after they fail."""
        value = self.ideal.get("skipped") or self.ideal.get("skips") or []
        return {str(v) for v in value} if isinstance(value, list) else {str(value)}


def drill_spec(doc: Any) -> DrillSpec | None:
    """A scenario document's `drill:` section (the whole document or the section itself);
    None when there is none: a free drill, without objective or score."""
    if not isinstance(doc, dict):
        return None
    section = doc.get("drill") if "drill" in doc or "name" in doc else doc
    if not isinstance(section, dict):
        return None

    def text(key) -> str:
        value = section.get(key)
        return str(value).strip() if isinstance(value, (str, int, float)) else ""

    rto = section.get("rto_minutes")
    rto = float(rto) if isinstance(rto, (int, float)) and not isinstance(rto, bool) \
        and rto > 0 else None
    expected = section.get("expected_score")
    expected = int(expected) if isinstance(expected, (int, float)) and \
        not isinstance(expected, bool) else None
    hints = section.get("hints") or []
    hints = tuple(str(h) for h in hints) if isinstance(hints, list) else (str(hints),)
    traps = tuple(t for t in (section.get("traps") or []) if isinstance(t, dict)) \
        if isinstance(section.get("traps"), list) else ()
    faults = tuple(f for f in (section.get("faults") or []) if isinstance(f, dict)) \
        if isinstance(section.get("faults"), list) else ()
    ideal = section.get("ideal") if isinstance(section.get("ideal"), dict) else {}
    runbook = section.get("runbook")
    return DrillSpec(objective=text("objective"),
                     runbook=str(runbook) if isinstance(runbook, str) and runbook else None,
                     rto_minutes=rto, ideal=dict(ideal), expected_score=expected, hints=hints,
                     traps=traps, faults=faults)


def load_drill(scenario: str) -> DrillSpec | None:
    """The `drill:` section of a scenario by name or file; None when it has none."""
    doc, _ = load_scenario_doc(scenario)
    return drill_spec(doc)


# --- what the session records -----------------------------------------------------------------


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


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds")


def _wall(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --- the session ------------------------------------------------------------------------------


class DrillSession:
    """One trainee's drill of one scenario."""

    def __init__(self, scenario: str, drill: DrillSpec | None, *, speed: float = 1.0,
                 clock: Callable[[], float] = time.time,
                 fallback_journal: Callable[[], Path] | None = None, pace: Any = None):
        self.scenario = scenario
        self.pace = pace  # the drill's fair clock (tui.pace), live; None in a replay
        self.start_pace: dict | None = None  # its reading when the clock started
        self.end_pace: dict | None = None  # and when the drill ended
        self._last_pace: dict | None = None  # the latest reading a journal line carried
        self.drill = drill
        self.speed = speed if speed and speed > 0 else 1.0
        self.clock = clock
        self.fallback_journal = fallback_journal
        self.started: float | None = None  # wall seconds: the RTO clock's start
        self.ended: float | None = None
        self.end_reason = ""
        self.hints: list[HintTaken] = []
        self.mistakes: list[Mistake] = []
        self.records: list[dict] = []  # the runbooks' own lines, in order
        self.faults: list[dict] = []  # `fault` lines: what the scenario injected, and when
        self.journal_path: Path | None = None  # where the session's lines go
        self.journal_runbook: str | None = None
        self.journals: list[Path] = []  # every runbook journal seen
        self.final: Score | None = None
        self._keys: set[tuple] = set()
        self._unwritten: list[tuple[str, dict]] = []
        self._writing = False
        self._last_end: float | None = None  # when the step before the current one ended
        self.listeners: list[Callable[[str, dict], None]] = []  # (event, fields) as they happen

    @classmethod
    def for_scenario(cls, scenario: str, **kw) -> "DrillSession":
        return cls(scenario, load_drill(scenario), **kw)

    # --- what the trainee sees --------------------------------------------------------------

    @property
    def scored(self) -> bool:
        return self.drill is not None

    @property
    def objective(self) -> str:
        if self.drill is not None and self.drill.objective:
            return self.drill.objective
        return (f"Free drill of the {self.scenario} scenario: no objective, no score. Explore "
                f"the cluster and run any runbook.")

    @property
    def rto_seconds(self) -> float | None:
        return self.drill.rto_minutes * 60 if self.drill and self.drill.rto_minutes else None

    def _pace_now(self) -> dict | None:
        if self.pace is not None:
            try:
                return self.pace.reading()
            except Exception:  # noqa: BLE001 - a clock that cannot say: the journal's last
                pass
        return self._last_pace

    def split(self, now: float | None = None) -> dict[str, float] | None:
        """Drill seconds since the clock's start by part (commands, waiting, deciding), from
        the fair clock's readings; None for a journal without them."""
        if self.started is None or self.start_pace is None:
            return None
        end = self.end_pace if self.ended is not None else self._pace_now()
        return pace_split(self.start_pace, end)

    def elapsed(self, now: float | None = None) -> float:
        """Drill seconds on the clock (0 before it starts; frozen once the drill ended)."""
        if self.started is None:
            return 0.0
        parts = self.split(now)
        if parts is not None:
            return sum(parts.values())
        end = self.ended if self.ended is not None else (now if now is not None
                                                         else self.clock())
        return max(0.0, (end - self.started) * self.speed)

    def rto_left(self, now: float | None = None) -> float | None:
        rto = self.rto_seconds
        return None if rto is None else rto - self.elapsed(now)

    @property
    def hints_left(self) -> int:
        return max(0, len(self.drill.hints) - len(self.hints)) if self.drill else 0

    # --- the trainee's actions ----------------------------------------------------------------

    def start(self, now: float | None = None, pace: dict | None = None) -> None:
        """The briefing was closed: the RTO clock starts (`pace`: the fair clock's reading
        then, when it is not now's: a journal line's)."""
        if self.started is not None:
            return
        self.started = now if now is not None else self.clock()
        self.start_pace = pace if isinstance(pace, dict) else self._pace_now()
        drill = self.drill
        self._emit("session", self.started, scenario=self.scenario, objective=self.objective,
                   speed=self.speed, rto_minutes=drill.rto_minutes if drill else None,
                   ideal_runbook=drill.runbook if drill else None,
                   expected_score=drill.expected_score if drill else None,
                   clock_started=_iso(self.started))

    def take_hint(self, now: float | None = None) -> HintTaken | None:
        """The next hint (counted: -5), or None when there are no more."""
        if not self.drill or self.hints_left == 0:
            return None
        at = now if now is not None else self.clock()
        hint = HintTaken(len(self.hints) + 1, self.drill.hints[len(self.hints)], at)
        if self.ended is not None:
            return hint  # read after the drill ended: shown, not counted
        self.hints.append(hint)
        self._emit("hint", at, n=hint.n, text=hint.text)
        return hint

    def refused(self, runbook: str, message: str, now: float | None = None) -> Mistake | None:
        """An interlock, the preflight or read-only refused a runbook's start."""
        return self._mistake("refused-action", f"{runbook}: {message}"
                                               f"{self._why('refused-action')}", "-", now)

    def typed_wrong(self, step: str, expected: str, typed: str,
                    now: float | None = None) -> Mistake | None:
        """A typed confirmation (host or cluster name) typed wrong."""
        return self._mistake("confirmation-typed-wrong",
                             f"typed {typed!r} where {step} asked for {expected!r}", step, now,
                             unique=False)

    def finish(self, reason: str = "ended by the trainee", now: float | None = None,
               pace: dict | None = None) -> Score:
        """End the drill: the clock stops, the score is journaled."""
        if self.ended is None:
            at = now if now is not None else self.clock()
            if self.started is None:
                self.start(at, pace)
            self.end_pace = pace if isinstance(pace, dict) else self._pace_now()
            self.ended = at
            self.end_reason = reason
            self.final = self.score()
            self._emit("score", at, reason=reason, **self.final.as_dict())
        self.flush_pending()
        return self.final or self.score()

    def flush_pending(self) -> None:
        """Lines no runbook journal took yet (no runbook was planned): to the session's own
        journal, so the drill leaves a record (the console quits, or the drill ends)."""
        if self.journal_path is None and self._unwritten and self.fallback_journal is not None:
            try:
                self._attach(Path(self.fallback_journal()), "drill")
            except Exception:  # no place to write: the lines stay in memory, never a crash
                pass

    # --- journal lines ------------------------------------------------------------------------

    def observe(self, record: dict, path: str | Path | None = None) -> list[Mistake]:
        """One journal line of the drill (live, from a listener, or replayed from a file);
        returns the mistakes it revealed."""
        if self._writing:
            return []
        event, step = record.get("event"), record.get("step", "-")
        at = _wall(record.get("time")) or self.clock()
        if event in SESSION_EVENTS:
            self._absorb(record, at)
            return []
        pace = record.get("pace") if isinstance(record.get("pace"), dict) else None
        if pace is not None:
            self._last_pace = pace
        if path is not None and step == "-" and event in ("planned", "resumed"):
            self._attach(Path(path), str(record.get("runbook") or "drill"))
        if self.ended is not None:
            return []  # after the drill ended: neither timed nor scored in its debrief
        self.records.append(dict(record, _journal=str(path) if path else None))
        if self.started is None:
            self.start(at, pace)  # a run before the briefing closed: the clock runs from here
        found: list[Mistake] = []
        runbook = str(record.get("runbook") or "")

        def add(kind, detail, where="-"):
            mistake = self._mistake(kind, detail, where, at)
            if mistake is not None:
                found.append(mistake)

        drill = self.drill
        if step == "-" and event == "planned" and drill is not None:
            self._check_plan(runbook, record.get("params") or {}, add)
        if event == "override" and "command" not in record:
            reason = str(record.get("reason") or "")
            if step == "-":
                kind = "override-preflight" if runbook in RUNBOOK_FAMILY["restore"] \
                    else "override-interlock"
                if not (drill and drill.override_expected):
                    add(kind, f"{runbook} started past its failed checks (override: "
                              f"{reason}){self._why(kind)}")
            elif not (drill and step in drill.skips_expected):
                add("skip-step", f"{step} failed and was skipped by override ({reason})"
                                 f"{self._why('skip-step', step=step)}", step)
        if drill is not None:
            self._check_traps(record, add)
        if step == "-" and event == "finished" and drill is not None and drill.runbook and \
                runbook in RUNBOOK_FAMILY.get(drill.runbook, {drill.runbook}):
            self.finish(f"the {runbook} runbook finished", now=at, pace=pace)
        return found

    def _trap(self, kind: str, **match) -> dict | None:
        """The scenario's trap of this kind (matching host/step/name when the trap says)."""
        for trap in self.drill.traps if self.drill else ():
            if trap.get("kind") != kind:
                continue
            if all(trap.get(k) in (None, "", v) for k, v in match.items()):
                return trap
        return None

    def _why(self, kind: str, **match) -> str:
        trap = self._trap(kind, **match)
        return f": {trap['detail']}" if trap and trap.get("detail") else ""

    def _check_plan(self, runbook: str, params: dict, add) -> None:
        drill = self.drill
        if drill.runbook and runbook not in RUNBOOK_FAMILY.get(drill.runbook, {drill.runbook}):
            return  # another runbook than the drill's: its host is not the drill's question
        ideal = drill.ideal_host
        chosen = params.get("recovery_host") or params.get("host")
        if ideal and chosen and chosen != ideal:
            kind = "wrong-recovery-host" if "recovery_host" in params else "wrong-host"
            add(kind, f"chose {chosen}; the ideal path uses {ideal}"
                      f"{self._why(kind, host=chosen)}")
        path = params.get("path")
        if self._trap("wrong-path") and drill.ideal_path and path and path != drill.ideal_path:
            add("wrong-path", f"chose the {path} procedure; the ideal path is "
                              f"{drill.ideal_path}{self._why('wrong-path')}")
        ideal_dir = str(drill.ideal.get("backup_dir") or "").rstrip("/")
        used = str(params.get("backup_dir") or "").rstrip("/")
        if self._trap("wrong-backup") and ideal_dir and used and used != ideal_dir:
            add("wrong-backup", f"restored from {used}; the ideal path uses {ideal_dir}"
                                f"{self._why('wrong-backup')}")
        for trap in drill.traps:
            if trap.get("kind") == "host-treated-lost" and \
                    trap.get("host") in (params.get("lost_hosts") or []):
                add("host-treated-lost", f"{trap['host']} was treated as lost"
                                         f"{self._why('host-treated-lost', host=trap['host'])}")

    def _check_traps(self, record: dict, add) -> None:
        """The scenario's own mistakes that no generic check sees."""
        step = record.get("step", "-")
        facts = record.get("facts") or {}
        approved = set((facts.get("csr_approved") or []) if isinstance(facts, dict) else [])
        if record.get("event") in ("started", "finished"):
            # what was sent: `oc adm certificate approve NAME...` (a detail that lists the
            # CSRs it refused says "approve" too, and is no approval)
            for sent in (record.get("command"), record.get("api")):
                match = _APPROVE.search(str(sent or ""))
                if match:
                    approved.update(match.group(1).split())
        for trap in self.drill.traps:
            name = str(trap.get("name") or "")
            if trap.get("kind") == "approve-csr" and name and name in approved:
                add("approve-csr", f"approved CSR {name}{self._why('approve-csr', name=name)}",
                    step)

    def _absorb(self, record: dict, at: float) -> None:
        """A session line already in a journal (a replay): take it as it was recorded."""
        event = record.get("event")
        when = _wall(record.get("at")) or at
        if event == "session":
            if self.started is None:
                self.started = _wall(record.get("clock_started")) or when
                if isinstance(record.get("pace"), dict):
                    self.start_pace = record["pace"]
            speed = record.get("speed")
            if isinstance(speed, (int, float)) and speed > 0:
                self.speed = float(speed)
        elif event == "hint":
            n = record.get("n")
            if isinstance(n, int) and all(h.n != n for h in self.hints):
                self.hints.append(HintTaken(n, str(record.get("text") or ""), when))
        elif event == "mistake":
            mistake = Mistake(str(record.get("kind") or "mistake"),
                              str(record.get("detail") or ""), str(record.get("at_step") or
                                                                   record.get("where") or "-"),
                              when)
            if mistake.key not in self._keys or mistake.kind == "confirmation-typed-wrong":
                self._keys.add(mistake.key)
                self.mistakes.append(mistake)
        elif event == "fault":
            self.faults.append(dict(record, at=when))
        elif event == "score" and self.ended is None:
            self.ended = when
            if isinstance(record.get("pace"), dict):
                self.end_pace = record["pace"]
            self.end_reason = str(record.get("reason") or "")

    def _mistake(self, kind: str, detail: str, step: str, now: float | None,
                 unique: bool = True) -> Mistake | None:
        at = now if now is not None else self.clock()
        mistake = Mistake(kind, detail, step, at)
        if self.drill is None:
            return None  # a free drill keeps no score, so no mistakes either
        if self.ended is not None or (unique and mistake.key in self._keys):
            return None
        self._keys.add(mistake.key)
        self.mistakes.append(mistake)
        self._emit("mistake", at, kind=kind, detail=detail, at_step=step)
        return mistake

    def _emit(self, event: str, at: float, **fields) -> None:
        # the fair clock's reading when it happened (the line may be written later)
        reading = {"session": self.start_pace, "score": self.end_pace}.get(event) \
            or self._pace_now()
        fields = dict(fields, at=_iso(at), **({"pace": reading} if reading else {}))
        self._unwritten.append((event, fields))
        self._flush()
        for listener in list(self.listeners):
            try:
                listener(event, fields)
            except Exception:  # a display's bug must not lose the session's record
                pass

    def _attach(self, path: Path, runbook: str) -> None:
        if path not in self.journals:
            self.journals.append(path)
        if self.journal_path != path:
            self.journal_path, self.journal_runbook = path, runbook
        self._flush()

    def _flush(self) -> None:
        if self.journal_path is None or not self._unwritten:
            return

        self._writing = True
        try:
            with Journal(self.journal_path, self.journal_runbook or "drill") as journal:
                while self._unwritten:
                    event, fields = self._unwritten[0]
                    journal.write("-", event, **fields)
                    self._unwritten.pop(0)
        except (EtcdDrError, OSError, ValueError):
            pass  # kept for the next attempt; the debrief still has them in memory
        finally:
            self._writing = False

    # --- the score and the debrief --------------------------------------------------------------

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
        return self._offset(_wall(record.get("time")))

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
            if r.get("step") == "-" and not drill.override_expected:
                out.append(f"You started past failed checks (override: {r.get('reason')}); "
                           f"the ideal path needs no override.")
            elif r.get("step") != "-" and r.get("step") not in drill.skips_expected:
                out.append(f"You skipped {r.get('step')} after it failed (override: "
                           f"{r.get('reason')}); the ideal path does not skip it.")
        retry = drill.ideal.get("retry") or []
        expected = {str(x) for x in retry} if isinstance(retry, list) else {str(retry)}
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

    @classmethod
    def from_journal(cls, records_or_path: Iterable[dict] | str | Path,
                     drill: DrillSpec | None = None) -> "DrillSession":
        """Score a journal without the UI: its `session` line names the scenario (whose
        `drill:` section is read unless given), speed and clock; the rest is replayed."""
        records = read_journal(records_or_path) if isinstance(records_or_path, (str, Path)) \
            else list(records_or_path)
        head = next((r for r in records if r.get("event") == "session"), {})
        scenario = str(head.get("scenario") or next(
            (r.get("scenario") for r in records if r.get("scenario")), "") or "?")
        if drill is None and scenario != "?":
            try:
                drill = load_drill(scenario)
            except Exception:  # an unknown or damaged scenario: a free drill's debrief
                drill = None
        speed = head.get("speed") or next((r.get("speed") for r in records
                                           if isinstance(r.get("speed"), (int, float))), 1.0)
        session = cls(scenario, drill, speed=float(speed))
        if head:
            session._absorb(head, _wall(head.get("time")) or 0.0)
        session._writing = False
        replaying = session._emit
        session._emit = lambda event, at, **fields: None  # a replay writes nothing
        try:
            for record in records:
                session.observe(record)
        finally:
            session._emit = replaying
        if session.ended is None and records:
            last = _wall(records[-1].get("time"))
            session.clock = lambda: last if last is not None else time.time()
        return session
