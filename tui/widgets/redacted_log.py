"""A Log whose every line passes through the one redactor (tui/secrets.py): what the console
shows of commands and their output never holds a secret, whoever writes to the pane."""

from __future__ import annotations

from typing import Iterable

from textual.widgets import Log

from tui.secrets import StreamRedactor, redact_text


class RedactedLog(Log):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        # one per pane: a private key block spans lines, and its lines arrive one by one
        self._redactor = StreamRedactor()

    def redact_lines(self, lines: Iterable[str]) -> list[str]:
        """The lines as this pane shows them (split as Log splits them)."""
        return self._redactor.lines(part for line in lines for part in line.splitlines())

    def write_lines(self, lines: Iterable[str], scroll_end: bool | None = None):
        return super().write_lines(self.redact_lines(lines), scroll_end)

    def write(self, data: str, scroll_end: bool | None = None):
        return super().write(redact_text(data), scroll_end)
