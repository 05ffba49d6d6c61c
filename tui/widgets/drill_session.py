"""The drill strip: the objective, the RTO clock in drill time, hints and mistakes so far.

Docked at the top of every screen of a drill session; it reads the session each half second
and renders, nothing else.
"""

from __future__ import annotations

from rich.text import Text

from tui.drill.scoring import drill_clock
from tui.drill.session import DrillSession
from tui.widgets.steady import SteadyStatic


class DrillStrip(SteadyStatic):
    DEFAULT_CSS = """
    DrillStrip { dock: top; height: auto; width: 100%; padding: 0 1;
                 background: $primary-background; color: $text; }
    DrillStrip.late { background: $error 40%; }
    DrillStrip.ended { background: $success 30%; }
    """

    def __init__(self, session: DrillSession, **kw) -> None:
        super().__init__("", **kw)
        self.session = session

    def on_mount(self) -> None:
        self.refresh_strip()
        self.set_interval(0.5, self.refresh_strip)

    def on_resize(self) -> None:
        self.refresh_strip()

    def clock_text(self) -> str:
        """"RTO 12:34 / 60:00 (drill time, x60)" — or the plain clock of a free drill."""
        s = self.session
        speed = f", x{s.speed:g}" if s.speed != 1 else ""
        if s.started is None:
            return "clock starts when you close the briefing"
        elapsed = drill_clock(s.elapsed())
        if s.rto_seconds is None:
            return f"drill time {elapsed}" + (f" (x{s.speed:g})" if s.speed != 1 else "")
        return f"RTO {elapsed} / {drill_clock(s.rto_seconds)} (drill time{speed})"

    def refresh_strip(self) -> None:
        s = self.session
        late = s.rto_seconds is not None and s.elapsed() > s.rto_seconds
        self.set_class(late and s.ended is None, "late")
        self.set_class(s.ended is not None, "ended")
        line = Text()
        line.append("DRILL ", style="bold")
        line.append(self.clock_text(), style="bold red" if late else "bold")
        if s.scored:
            line.append(f" | hints {len(s.hints)} (h, {s.hints_left} left)")
            line.append(f" | mistakes {len(s.mistakes)}",
                        style="bold yellow" if s.mistakes else "")
            line.append(f" | score {s.score().total}")
        if s.ended is not None:
            line.append(" | ENDED: D for the debrief", style="bold")
        else:
            line.append(" | D debrief")
        # the clock, the score and the keys wrap onto a second line rather than be cut; the
        # objective (the briefing's, and the debrief's) takes what is left of the line
        room = self.content_region.width - line.cell_len - 3
        if not self.content_region.width or room >= len(s.objective):
            line.append(f" | {s.objective}", style="italic")
        elif room >= 16:
            line.append(f" | {s.objective[:room - 1].rstrip()}…", style="italic")
        self.update(line)
