"""A Log whose every line passes through the one redactor (tui/secrets.py): what the console
shows of commands and their output never holds a secret, whoever writes to the pane.

Lines are bounded too (LINE_LENGTH): a command that prints one 150 MB line must not freeze
the console, whose Log measures and renders whole lines. A longer line is cut before it is
redacted, the way the fleet cuts lines (tui/fleet/output.py): at a blank, so a secret that
straddles the cut is dropped whole, and saying so when the cut part opens a private key block,
so that the lines after it are still redacted.

A pane shows each line on one row and scrolls sideways, or, with the app's `w` (its
`wrap_logs`), wraps long lines (a long command whole, its continuation rows indented). The
lines are wrapped after they are redacted, and again at a new width."""

from __future__ import annotations

from typing import Iterable

from rich.cells import cell_len, chop_cells
from textual.widgets import Log

from tui.fleet.output import cut_line
from tui.secrets import StreamRedactor

LINE_LENGTH = 4096  # characters of one line a pane shows (with its "line cut" marker)


def bounded(lines: Iterable[str]) -> list[str]:
    """The lines, each cut to at most LINE_LENGTH characters."""
    return [line if len(line) <= LINE_LENGTH else cut_line(line, LINE_LENGTH)
            for line in lines]


CONTINUED = "  "  # what a wrapped line's continuation rows start with


def fold(lines: Iterable[str], width: int) -> list[str]:
    """The lines as rows of at most `width` cells: a longer line's first row, then its
    continuation rows, each starting with CONTINUED."""
    rows: list[str] = []
    for line in lines:
        line = line.expandtabs()
        if cell_len(line) <= width:
            rows.append(line)
            continue
        head = chop_cells(line, width)[0]
        rows.append(head)
        rows += [CONTINUED + part
                 for part in chop_cells(line[len(head):], width - len(CONTINUED))]
    return rows


class RedactedLog(Log):
    MIN_WRAP_WIDTH = 12  # narrower than this, rows would be mostly indent: lines stay whole

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        # one per pane: a private key block spans lines, and its lines arrive one by one
        self._redactor = StreamRedactor()
        self._shown: list[str] = []  # the lines as written (redacted): wrapped again from here
        self.wrapping = False
        self._wrapped_at = 0  # the width the rows were wrapped at

    def on_mount(self) -> None:
        if hasattr(self.app, "wrap_logs"):  # the console's `w`, for every pane at once
            self.watch(self.app, "wrap_logs", self.set_wrap, init=True)

    def redact_lines(self, lines: Iterable[str]) -> list[str]:
        """The lines as this pane shows them (split as Log splits them), bounded."""
        return self._redactor.lines(
            bounded(part for line in lines for part in line.splitlines()))

    def write_lines(self, lines: Iterable[str], scroll_end: bool | None = None):
        shown = self.redact_lines(lines)
        self._shown += shown
        if self.max_lines is not None and len(self._shown) > self.max_lines:
            del self._shown[: len(self._shown) - self.max_lines]
        return super().write_lines(self._rows(shown), scroll_end)

    def write(self, data: str, scroll_end: bool | None = None):
        """A pane is written in whole lines (a partial line would escape the wrapping)."""
        return self.write_lines(data.splitlines(), scroll_end)

    def clear(self):
        self._shown.clear()
        return super().clear()

    def set_wrap(self, wrap: bool) -> None:
        if wrap != self.wrapping:
            self.wrapping = wrap
            self._show_again()

    def on_resize(self) -> None:
        if self.wrapping and self._wrap_width() != self._wrapped_at:
            self._show_again()

    def _wrap_width(self) -> int:
        return self.scrollable_content_region.width

    def _rows(self, lines: list[str]) -> list[str]:
        width = self._wrap_width()
        if not self.wrapping or width < self.MIN_WRAP_WIDTH:
            return lines
        self._wrapped_at = width
        return fold(lines, width)

    def _show_again(self) -> None:
        """Every line written so far, rows made afresh (the end stays in sight if it was)."""
        at_end = self.is_vertical_scroll_end
        super().clear()
        super().write_lines(self._rows(list(self._shown)), scroll_end=at_end)
        if not self.wrapping:
            self.scroll_to(x=0, animate=False)
