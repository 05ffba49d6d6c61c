"""A FitTable that leaves whole columns out when the terminal is too narrow for all of them.

The columns go in a set order (NARROW_DROPS, the first first) until the rest fit, the flex
column counted at its narrowest, and the table's title says which are left out. Subclasses
give the columns, the drop order and the title as class data, keep their rows in `_rows`
(key, one Text per column of COLUMNS) and say how the cursor comes back after a redraw.
The members table and the readiness wall are the two users.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text

from tui.widgets.fit_table import FitTable
from tui.widgets.row_cursor_cache import RowCursorLineCache


class NarrowingTable(FitTable):
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    NARROW_DROPS: ClassVar[tuple[str, ...]] = ()
    TITLE: ClassVar[str] = ""
    FLEX: ClassVar[str] = ""  # the one column that wraps, counted at FLEX_MIN
    FLEX_MIN: ClassVar[int] = 12
    SPARE: ClassVar[int] = 0  # cells the columns cannot use (a scrollbar)

    def __init__(self, *, max_lines: int, **kw):
        super().__init__(flex=(self.FLEX,), min_width=self.FLEX_MIN, max_lines=max_lines, **kw)
        self._rows: list[tuple[str | None, list[Text]]] = []
        self._columns_shown: tuple[str, ...] = ()
        # a cursor move renders the two rows it changes, not every line (a held arrow key
        # on the wall's hundred rows)
        self._line_cache = RowCursorLineCache(self)

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.border_title = self.TITLE

    def on_resize(self) -> None:  # (FitTable's own runs too: Textual calls both)
        self._draw()

    def _columns_for(self, width: int) -> tuple[str, ...]:
        """The columns that fit `width`, the flex column at its narrowest."""
        natural = {name: len(name) for name in self.COLUMNS}
        for key, cells in self._rows:
            if key is None:  # a one-line message in the first cell, not a column's width
                continue
            for name, cell in zip(self.COLUMNS, cells):
                natural[name] = max(natural[name], cell.cell_len)
        natural[self.FLEX] = min(natural[self.FLEX], self.FLEX_MIN)
        shown = list(self.COLUMNS)
        for name in self.NARROW_DROPS:
            if not width or sum(natural[c] + 2 for c in shown) + self.SPARE <= width:
                break
            shown.remove(name)
        return tuple(shown)

    def _draw(self, force: bool = False) -> None:
        """Rows (and columns, if the width asks for others) drawn again from `_rows`."""
        columns = self._columns_for(self.scrollable_content_region.width)
        if not force and columns == self._columns_shown:
            return
        cursor = self._cursor_mark()
        if columns != self._columns_shown:
            self.clear(columns=True)
            for name in columns:
                self.add_column(name, key=name)
            self._columns_shown = columns
            hidden = [c for c in self.COLUMNS if c not in columns]
            self.border_title = self.TITLE + (
                f" (too narrow for {', '.join(hidden)})" if hidden else "")
        else:
            self.clear()
        index = [self.COLUMNS.index(c) for c in columns]
        for key, cells in self._rows:
            self.add_row(*(cells[i] for i in index), key=key)
        self._cursor_back(cursor)

    def _cursor_mark(self) -> object:
        """What the cursor is on before a redraw: its row index unless a subclass says."""
        return self.cursor_row

    def _cursor_back(self, mark) -> None:
        if self.row_count:
            self.move_cursor(row=min(mark, self.row_count - 1))
