"""How a run's time is counted: the wall's on a real cluster, a fair drill clock in a drill.

A runbook waits through its context's pace (`ctx.pace.sleep`, `ctx.pace.now`); the runner
marks when it is working and when it is asking the operator. On a real cluster all of that is
the wall clock. A drill's pace (tui.drill.model.DrillPace) counts three things, in drill
seconds, and nothing else:

- waiting: the simulated seconds the runbooks' waits lasted (a wait skips ahead instead of
  sleeping out a long simulated stretch, so a drill minute of waiting costs a trainee at
  most a fraction of a real second);
- commands: the simulated seconds the drill's host programs took (a script's `sleep`, a
  defrag, `oc adm wait-for-stable-cluster`), skipped ahead the same way;
- deciding: a person's real seconds, at real speed, whenever the console waits for them
  (between runs, at a confirmation, at a failed step's question).

The console's own processing (sending commands, parsing, drawing) counts in none of them, so
a busy machine does not make a careful trainee late. Each journal line of a drill carries
the reading (`pace`: the three sums so far), and the debrief and the report both take their
split from those same numbers (`split`).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from typing import Iterable, Iterator

PARTS = ("commands", "waiting", "deciding")


class WallPace:
    """A real cluster's: the wall clock, nothing counted apart. `scale`: a run whose waits
    are given in another time than the wall's (the lab's stand-ins at RunContext.time_scale)
    really waits seconds / scale."""

    def __init__(self, scale: float = 1.0):
        self.scale = max(scale, 1e-6)

    def now(self) -> float:
        """Seconds in the operator's time (monotonic: only differences mean anything)."""
        return time.monotonic() * self.scale

    def epoch(self) -> float:
        """The operator's time as seconds since the epoch (a drill's simulated time), for a
        stretch measured across a resume."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    @contextmanager
    def working(self) -> Iterator[None]:
        """A runner executes steps inside this."""
        yield

    @contextmanager
    def asking(self) -> Iterator[None]:
        """The runner waits for the operator inside this (a confirmation, a question)."""
        yield

    def reading(self) -> dict | None:
        """The counted seconds so far by part, or None when nothing is counted apart."""
        return None


WALL = WallPace()


def total(reading: dict | None) -> float:
    return sum(float(reading.get(p) or 0.0) for p in PARTS) if reading else 0.0


def split(start: dict | None, end: dict | None) -> dict[str, float] | None:
    """Drill seconds by part between two readings (journal lines' `pace`), or None when
    either is missing (a real cluster's journal, or one written before the fair clock)."""
    if not isinstance(start, dict) or not isinstance(end, dict):
        return None
    try:
        return {p: max(0.0, float(end.get(p) or 0.0) - float(start.get(p) or 0.0))
                for p in PARTS}
    except (TypeError, ValueError):
        return None


def first_reading(records: Iterable[dict]) -> dict | None:
    return next((r["pace"] for r in records if isinstance(r.get("pace"), dict)), None)


def last_reading(records: Iterable[dict]) -> dict | None:
    found = None
    for r in records:
        if isinstance(r.get("pace"), dict):
            found = r["pace"]
    return found
