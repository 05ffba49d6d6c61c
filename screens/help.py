"""Help: what the console does and its keys (text in assets/help.md)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from assets import asset_path
from screens.dialogs import QUIT_KEY
from tui.widgets.footer import QuietFooter


class HelpScreen(ModalScreen[None]):
    """Over any screen or dialog; Escape (or ? again) goes back to it, q quits as everywhere."""

    BINDINGS = [Binding("escape", "dismiss", "Close"),
                Binding("question_mark", "dismiss", "Close", key_display="?"), QUIT_KEY]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(asset_path("help.md").read_text(encoding="utf-8"))
        yield QuietFooter()

    def action_dismiss(self) -> None:
        self.dismiss(None)
