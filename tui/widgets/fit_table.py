"""A DataTable that fits its width: the columns that may wrap do, rather than run off the edge.

A stock DataTable sizes every column to its longest cell and scrolls sideways when they do
not fit: the last columns (a step's DETAIL, a member's ERRORS) are then off the screen. Here
the columns named `flex` give way, in that order, down to `min_width`, and their text wraps
onto as many lines as it needs (the row grows); the others keep their width. Cell values are
kept as given (get_cell returns them whole): only their drawing wraps. The table fits again
when its width changes and after rows are added or cells updated.

Row heights and column widths are set on the table's own Row and Column records, and its
offsets and virtual size recomputed, as DataTable does for auto-height rows (Textual 8).
"""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets._data_table import default_cell_formatter


class FitTable(DataTable):
    def __init__(self, *args, flex: Iterable[str | int] = (), min_width: int = 12,
                 max_lines: int = 6, max_word: int = 20, **kw):
        """`flex`: the columns that may wrap (keys, or indexes; -1 is the last), the first
        to give way first; `max_lines`: a row grows to at most this many lines; a column
        gives way down to its longest word, if that is at most `max_word` wide."""
        super().__init__(*args, **kw)
        self.max_word = max_word
        self.flex = tuple(flex)
        self.min_width = min_width
        self.max_lines = max_lines
        self._fit_pending = False
        # a fit measures every cell, and a run's events fit the steps table hundreds of
        # times over the same texts: what a text measures is kept (keyed by the text itself)
        self._measures: dict[tuple[str, str, int | None], int] = {}

    # --- the hooks that change what the columns hold ------------------------------------------

    def add_row(self, *cells, height: int | None = 1, key=None, label=None):
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        self._fit_later()
        return row_key

    def clear(self, columns: bool = False):
        super().clear(columns)
        # the stock table keeps each column as wide as the widest cell it ever held: a
        # column as wide as what it holds now
        for column in self.columns.values():
            column.content_width = column.label.cell_len
        return self

    def update_cell(self, row_key, column_key, value, *, update_width: bool = False):
        super().update_cell(row_key, column_key, value, update_width=update_width)
        self._fit_later()

    def on_resize(self) -> None:
        self._fit_later()

    def _fit_later(self) -> None:
        if not self._fit_pending and self.is_mounted:
            self._fit_pending = True
            self.call_after_refresh(self.fit)

    # --- fitting ---------------------------------------------------------------------------------

    def _flex_keys(self) -> list:
        ordered = self.ordered_columns
        keys = []
        for f in self.flex:
            if isinstance(f, int):
                if -len(ordered) <= f < len(ordered):
                    keys.append(ordered[f].key)
            elif f in self.columns:
                keys.append(f)
        return keys

    def fit(self) -> None:
        """Give the flexible columns what the others leave, and the rows the lines their
        wrapped cells need."""
        self._fit_pending = False
        # the width as if the vertical scrollbar were shown: whether rows overflow must not
        # change the fit (else a fit with it and one without are both stable, and which one
        # a screen shows depends on the order things arrived in)
        width = self.scrollable_content_region.width
        if not self.show_vertical_scrollbar:
            width -= self.styles.scrollbar_size_vertical
        if not width or not self.columns:
            return
        pad = 2 * self.cell_padding
        flex = self._flex_keys()
        natural = {key: self._natural_width(key) for key in self.columns}
        excess = sum(natural.values()) + pad * len(natural) + self._row_label_column_width \
            - width
        widths: dict = {}
        # first down to each column's longest word (up to max_word), so that another
        # column gives way before a word ("control-plane") is cut in two; then, if that is
        # not enough, down to min_width
        word_floors = {key: min(self.max_word, self._longest_word(key)) for key in flex}
        for floors in (word_floors, {}):
            for key in flex:
                if excess <= 0:
                    break
                floor = min(natural[key], max(self.min_width, self._label_width(key),
                                              floors.get(key, 0)))
                cut = min(excess, widths.get(key, natural[key]) - floor)
                if cut > 0:
                    widths[key] = widths.get(key, natural[key]) - cut
                    excess -= cut
        changed = False
        for key, column in self.columns.items():
            if key in widths:
                if column.auto_width or column.width != widths[key]:
                    column.auto_width, column.width = False, widths[key]
                    changed = True
            elif not column.auto_width:
                column.auto_width = True
                changed = True
        console = self.app.console
        for row_key, row in self.rows.items():
            cells = self._data[row_key]
            # a wrapped cell's lines; any other cell's own line breaks
            lines = min(self.max_lines, max(
                self._lines(cells.get(key), widths.get(key), console) for key in self.columns))
            if row.height != lines:
                row.height = lines
                changed = True
        if changed:
            # the offsets and the virtual size are recomputed from the heights and widths
            self._update_count += 1
            self._clear_caches()
            self._update_dimensions(())  # the virtual size now: a height: auto table's height
            self.refresh(layout=True)
            # taller rows may bring a scrollbar, which takes columns: fit again then
            self.call_after_refresh(self._refit_if_narrower, width)

    def _refit_if_narrower(self, width: int) -> None:
        if self.scrollable_content_region.width < width:
            self._fit_later()

    def _label_width(self, key) -> int:
        return self.columns[key].label.cell_len

    def _natural_width(self, key) -> int:
        """The column's width for its widest cell, from the cells themselves (the table's
        own measure is updated later, when it next idles)."""
        widest = self._label_width(key)
        for row_key in self.rows:
            widest = max(widest, self._cell_width(self._data[row_key].get(key)))
        return widest

    def _longest_word(self, key) -> int:
        def measure(value) -> int:
            text = self._as_text(value)
            return max((len(word) for word in text.plain.split()), default=0) if text else 0

        return max((self._measured("word", self._data[row_key].get(key), None, measure)
                    for row_key in self.rows), default=0)

    @staticmethod
    def _as_text(value) -> Text | None:
        if value is None:
            return None
        renderable = default_cell_formatter(value, wrap=True)
        return renderable if isinstance(renderable, Text) else None

    def _measured(self, what: str, value, width: int | None, measure) -> int:
        """measure(value), kept for a str value (a Text may change in place: measured
        anew). `what` names the measure ("width", "lines"), `width` the width it wraps at."""
        if not isinstance(value, str):
            return measure(value)
        key = (what, value, width)
        found = self._measures.get(key)
        if found is None:
            if len(self._measures) > 4096:
                self._measures.clear()
            found = self._measures[key] = measure(value)
        return found

    def _cell_width(self, value) -> int:
        def measure(value) -> int:
            text = self._as_text(value)
            return max((len(line) for line in text.plain.split("\n")), default=0) \
                if text else 0

        return self._measured("width", value, None, measure)

    def _lines(self, value, width: int | None, console) -> int:
        if value is None:
            return 1

        def measure(value) -> int:
            text = self._as_text(value)
            if text is None:
                return 1
            if width is None:
                return text.plain.count("\n") + 1
            return max(1, len(text.wrap(console, width)))

        return self._measured("lines", value, width, measure)
