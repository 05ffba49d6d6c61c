"""The drill's briefing: the objective and the rules, shown first; closing it starts the clock."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from screens.dialogs import HELP_KEY, QUIT_KEY
from tui.drill.scoring import HINT_POINTS, LATE_POINTS_PER_MINUTE, MISTAKE_POINTS, drill_clock
from tui.drill.session import DrillSession
from tui.widgets.footer import QuietFooter


class BriefingScreen(ModalScreen[str | None]):
    """Dismissed with None (Enter, Escape, the button) or with the drill key that closed it,
    "hint" (h) or "debrief" (D): the clock starts, then that key acts as in the console."""

    BINDINGS = [Binding("enter", "begin", "Start the clock"),
                Binding("escape", "begin", "Start the clock"),
                Binding("h", "begin('hint')", "Start + hint"),
                Binding("D", "begin('debrief')", "Start + debrief"), HELP_KEY, QUIT_KEY]

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
        yield QuietFooter()

    def _rules(self) -> str:
        s = self.session
        speed = ("Drill time counts the cluster's waits and the hosts' commands in "
                 "simulated time (a long wait skips ahead), and your reading and deciding at "
                 "real speed; the console's own work does not count"
                 + (f" (the cluster moves at x{s.speed:g})" if s.speed != 1 else "") + ". ")
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

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "begin" and parameters == ("hint",):
            return self.session.hints_left > 0  # a free drill has none: no h here
        return True

    def action_begin(self, then: str | None = None) -> None:
        self.dismiss(then)
