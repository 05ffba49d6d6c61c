"""Offered at start when a runbook's journal says it did not finish."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from screens.dialogs import ALWAYS
from tui.journal import JournalState
from tui.widgets.footer import QuietFooter


class ResumeScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "later", "Not now"), *ALWAYS]

    def __init__(self, path: str, state: JournalState):
        super().__init__()
        self.path, self.state = path, state

    def compose(self) -> ComposeResult:
        s = self.state
        where = f"; {s.in_flight} was under way" if s.in_flight else ""
        why = "it stopped at a failed step" if s.aborted else "the console stopped"
        with Vertical(id="dialog"):
            yield Label(f"[b]An unfinished {s.runbook} run[/b]")
            yield Static(f"{self.path}\n{len(s.done)} step(s) done{where}; {why}.\n"
                         f"Resuming checks the step under way before acting again.")
            with Horizontal(classes="buttons"):
                yield Button("Resume", id="resume", variant="primary")
                yield Button("Not now", id="later")
        yield QuietFooter()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "resume")

    def action_later(self) -> None:
        self.dismiss(False)
