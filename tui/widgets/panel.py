"""A small titled panel that says where its data came from and how old it is."""

from __future__ import annotations

from textual.widgets import Static

# the age of data never read: no age at all, and the truth is that nothing has answered yet
NEVER = ("never",)
NOT_YET = "no answer yet"


def age_words(age: str) -> str:
    """A bare age ("4s", "2m", "never") as a panel says it: "4s ago", or "no answer yet".
    Callers pass the bare age; the wording is added here, once."""
    return NOT_YET if age in NEVER else f"{age} ago"


class InfoPanel(Static):
    DEFAULT_CSS = """
    InfoPanel { border: round $panel; height: auto; min-height: 4; width: 1fr; padding: 0 1; }
    InfoPanel.stale { border: round $error; }
    InfoPanel.alert { border: round $error; }
    """

    def __init__(self, title: str, **kw):
        super().__init__(**kw)
        self.border_title = title
        self._text: str | None = None

    def show(self, lines: list[str], *, source: str, age: str, stale: bool = False,
             alert: bool = False) -> None:
        """`age`: the data's bare age ("4s", or "never"); the panel words it."""
        self.set_class(stale, "stale")
        self.set_class(alert, "alert")
        self.border_subtitle = f"{'STALE - ' if stale else ''}{source} - {age_words(age)}"
        text = "\n".join(lines) if lines else "-"
        if text != self._text:  # unchanged text: no re-layout
            self._text = text
            self.update(text)
