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

import re
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from tui.drill.drillspec import DrillSpec, Trap
from tui.drill.scenario import load_drill
from tui.errors import EtcdDrError
from tui.journal import Journal, read_journal
from tui.pace import split as pace_split
from tui.drill.scoring import (RUNBOOK_FAMILY, SessionDebrief, HintTaken, Mistake, Score, iso_time, wall_time)

_APPROVE = re.compile(r"certificate\s+approve\s+([^|;&]+)")
SESSION_EVENTS = ("session", "hint", "mistake", "score", "fault")


# --- the session ------------------------------------------------------------------------------


class DrillSession(SessionDebrief):
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
                   clock_started=iso_time(self.started))

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
        at = wall_time(record.get("time")) or self.clock()
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
                if not (drill and drill.ideal.override):
                    add(kind, f"{runbook} started past its failed checks (override: "
                              f"{reason}){self._why(kind)}")
            elif not (drill and step in drill.ideal.skipped):
                add("skip-step", f"{step} failed and was skipped by override ({reason})"
                                 f"{self._why('skip-step', step=step)}", step)
        if drill is not None:
            self._check_traps(record, add)
        if step == "-" and event == "finished" and drill is not None and drill.runbook and \
                runbook in RUNBOOK_FAMILY.get(drill.runbook, {drill.runbook}):
            self.finish(f"the {runbook} runbook finished", now=at, pace=pace)
        return found

    def _trap(self, kind: str, **match) -> Trap | None:
        """The scenario's trap of this kind (matching host/step/name when the trap says)."""
        for trap in self.drill.traps_of(kind) if self.drill else ():
            if all(getattr(trap, k) in (None, "", v) for k, v in match.items()):
                return trap
        return None

    def _why(self, kind: str, **match) -> str:
        trap = self._trap(kind, **match)
        return f": {trap.detail}" if trap and trap.detail else ""

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
        ideal_dir = (drill.ideal.backup_dir or "").rstrip("/")
        used = str(params.get("backup_dir") or "").rstrip("/")
        if self._trap("wrong-backup") and ideal_dir and used and used != ideal_dir:
            add("wrong-backup", f"restored from {used}; the ideal path uses {ideal_dir}"
                                f"{self._why('wrong-backup')}")
        for trap in drill.traps_of("host-treated-lost"):
            if trap.host in (params.get("lost_hosts") or []):
                add("host-treated-lost", f"{trap.host} was treated as lost"
                                         f"{self._why('host-treated-lost', host=trap.host)}")

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
        for trap in self.drill.traps_of("approve-csr"):
            name = trap.name or ""
            if name and name in approved:
                add("approve-csr", f"approved CSR {name}{self._why('approve-csr', name=name)}",
                    step)

    def _absorb(self, record: dict, at: float) -> None:
        """A session line already in a journal (a replay): take it as it was recorded."""
        event = record.get("event")
        when = wall_time(record.get("at")) or at
        if event == "session":
            if self.started is None:
                self.started = wall_time(record.get("clock_started")) or when
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
        fields = dict(fields, at=iso_time(at), **({"pace": reading} if reading else {}))
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
            session._absorb(head, wall_time(head.get("time")) or 0.0)
        session._writing = False
        replaying = session._emit
        session._emit = lambda event, at, **fields: None  # a replay writes nothing
        try:
            for record in records:
                session.observe(record)
        finally:
            session._emit = replaying
        if session.ended is None and records:
            last = wall_time(records[-1].get("time"))
            session.clock = lambda: last if last is not None else time.time()
        return session
