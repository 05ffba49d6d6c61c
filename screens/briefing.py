"""The drill's briefing: the objective and the rules, shown first; closing it starts the clock."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tui.drill.session import (HINT_POINTS, LATE_POINTS_PER_MINUTE, MISTAKE_POINTS, DrillSession,
                               drill_clock)


class BriefingScreen(ModalScreen[None]):
    BINDINGS = [("escape", "begin", "Start the clock"), ("enter", "begin", "Start the clock")]

    def __init__(self, session: DrillSession):
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        s = self.session
        with Vertical(id="briefing"):
            yield Label(f"[b]Drill: {escape(s.scenario)}[/b]")
            yield Static(escape(s.objective), id="objective")
            yield Static(self._rules(), id="rules")
            with Horizontal(classes="buttons"):
                yield Button("Start the clock", id="begin", variant="primary")

    def _rules(self) -> str:
        s = self.session
        speed = (f"The drill runs at x{s.speed:g}: one real second is {s.speed:g} drill "
                 f"seconds, waits included. " if s.speed != 1 else "")
        if not s.scored:
            return (f"{speed}A free drill: no score. The clock at the top counts drill time; "
                    f"press D for the debrief (every step's timeline) at any time.")
        rto = (f"Recovery-time objective: [b]{drill_clock(s.rto_seconds)}[/b] of drill time. "
               if s.rto_seconds else "")
        return (f"{rto}{speed}Score: 100, -{MISTAKE_POINTS} per mistake (a refused action, a "
                f"wrong host, a failed step skipped, an override the situation does not need, "
                f"a typed confirmation typed wrong, or this scenario's own traps), "
                f"-{HINT_POINTS} per hint, -{LATE_POINTS_PER_MINUTE} per drill minute past the "
                f"RTO.\nKeys: [b]h[/b] a hint ({len(s.drill.hints)} available), [b]D[/b] the "
                f"debrief, [b]?[/b] help. The clock starts when you close this.")

    def on_mount(self) -> None:
        self.query_one("#begin", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_begin()

    def action_begin(self) -> None:
        self.dismiss(None)
