"""A Log whose every line passes through the one redactor (tui/secrets.py): what the console
shows of commands and their output never holds a secret, whoever writes to the pane.

Lines are bounded too (LINE_LENGTH): a command that prints one 150 MB line must not freeze
the console, whose Log measures and renders whole lines. A longer line is cut before it is
redacted, the way the fleet cuts lines (tui/fleet/output.py): at a blank, so a secret that
straddles the cut is dropped whole, and saying so when the cut part opens a private key block,
so that the lines after it are still redacted."""

from __future__ import annotations

from typing import Iterable

from textual.widgets import Log

from tui.fleet.output import cut_line
from tui.secrets import StreamRedactor, redact_text

LINE_LENGTH = 4096  # characters of one line a pane shows (with its "line cut" marker)


def bounded(lines: Iterable[str]) -> list[str]:
    """The lines, each cut to at most LINE_LENGTH characters."""
    return [line if len(line) <= LINE_LENGTH else cut_line(line, LINE_LENGTH)
            for line in lines]


class RedactedLog(Log):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        # one per pane: a private key block spans lines, and its lines arrive one by one
        self._redactor = StreamRedactor()

    def redact_lines(self, lines: Iterable[str]) -> list[str]:
        """The lines as this pane shows them (split as Log splits them), bounded."""
        return self._redactor.lines(
            bounded(part for line in lines for part in line.splitlines()))

    def write_lines(self, lines: Iterable[str], scroll_end: bool | None = None):
        return super().write_lines(self.redact_lines(lines), scroll_end)

    def write(self, data: str, scroll_end: bool | None = None):
        return super().write(redact_text(data), scroll_end)
