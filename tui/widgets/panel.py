"""A small titled panel that says where its data came from and how old it is."""

from __future__ import annotations

from textual.widgets import Static

# the age of data never read ("never", or "never ago" as a caller may word it): no age at
# all, and the truth is that nothing has answered yet
NEVER = ("never", "never ago")
NOT_YET = "no answer yet"


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
        self.set_class(stale, "stale")
        self.set_class(alert, "alert")
        age = NOT_YET if age in NEVER else age
        self.border_subtitle = f"{'STALE - ' if stale else ''}{source} - {age}"
        text = "\n".join(lines) if lines else "-"
        if text != self._text:  # unchanged text: no re-layout
            self._text = text
            self.update(text)
