"""The etcd members table, leader marked, with the age and source of its data."""

from __future__ import annotations

from rich.text import Text

from tui.status.render import MEMBER_COLUMNS, member_cells
from tui.status.snapshot import MemberView
from tui.widgets.fit_table import FitTable
from tui.widgets.panel import age_words

# a terminal too narrow for every column leaves these out, the first first, and says so in
# the table's title (`etcd-dr status` prints them all); a member's errors wrap, never cut
NARROW_DROPS = ("ID", "TERM", "APPLIED", "IN USE", "ENDPOINT")
ERRORS_MIN = 16


class MembersTable(FitTable):
    DEFAULT_CSS = """
    MembersTable { height: auto; max-height: 9; border: round $panel; }
    MembersTable.stale { border: round $error; }
    """

    def __init__(self, **kw):
        super().__init__(flex=("ERRORS",), min_width=ERRORS_MIN, max_lines=3, **kw)
        self._rows: list[tuple[str, list[Text]]] = []
        self._columns_shown: tuple[str, ...] = ()

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.border_title = "etcd members"

    _shown: object = None

    def show(self, members: list[MemberView], *, source: str | None, age: str,
             stale: bool, error: str | None) -> None:
        self.set_class(stale, "stale")
        when = age_words(age)
        self.border_subtitle = (f"STALE - {source} {when} ({error})" if stale
                                else f"{source or 'ssh'} - {when}")
        content = (tuple(tuple(member_cells(m)) + (m.is_leader, bool(m.errors)) for m in members),
                   None if members else error)
        if content == self._shown:
            return  # rebuilding an unchanged table every second costs a full re-layout
        self._shown = content
        rows = []
        for m in members:
            style = "bold red" if m.errors else ("bold" if m.is_leader else "")
            rows.append((str(m.member_id), [Text(c, style=style) for c in member_cells(m)]))
        if not members:
            rows.append((None, [Text(f"no member data: {error or 'waiting for the first answer'}",
                                     style="italic")] + [Text("")] * (len(MEMBER_COLUMNS) - 1)))
        self._rows = rows
        self._draw(force=True)

    def on_resize(self) -> None:  # (FitTable's own runs too: Textual calls both)
        self._draw()

    def _columns_for(self, width: int) -> tuple[str, ...]:
        """The columns that fit `width`, the ERRORS column at its narrowest."""
        natural = {name: len(name) for name in MEMBER_COLUMNS}
        for key, cells in self._rows:
            if key is None:  # "no member data": one long cell, not a column's width
                continue
            for name, cell in zip(MEMBER_COLUMNS, cells):
                natural[name] = max(natural[name], cell.cell_len)
        natural["ERRORS"] = min(natural["ERRORS"], ERRORS_MIN)
        shown = list(MEMBER_COLUMNS)
        for name in NARROW_DROPS:
            if not width or sum(natural[c] + 2 for c in shown) <= width:
                break
            shown.remove(name)
        return tuple(shown)

    def _draw(self, force: bool = False) -> None:
        columns = self._columns_for(self.scrollable_content_region.width)
        if not force and columns == self._columns_shown:
            return
        cursor = self.cursor_row
        if columns != self._columns_shown:
            self.clear(columns=True)
            for name in columns:
                self.add_column(name, key=name)
            self._columns_shown = columns
            hidden = [c for c in MEMBER_COLUMNS if c not in columns]
            self.border_title = "etcd members" + (
                f" (too narrow for {', '.join(hidden)})" if hidden else "")
        else:
            self.clear()
        index = [MEMBER_COLUMNS.index(c) for c in columns]
        for key, cells in self._rows:
            self.add_row(*(cells[i] for i in index), key=key)
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1))
