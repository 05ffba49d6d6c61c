"""The etcd members table, leader marked, with the age and source of its data."""

from __future__ import annotations

from rich.text import Text

from tui.status.render import MEMBER_COLUMNS, member_cells
from tui.status.snapshot import MemberView
from tui.widgets.narrowing_table import NarrowingTable
from tui.widgets.panel import age_words

# a terminal too narrow for every column leaves these out, the first first, and says so in
# the table's title (`etcd-dr status` prints them all); a member's errors wrap, never cut
NARROW_DROPS = ("ID", "TERM", "APPLIED", "IN USE", "ENDPOINT")
ERRORS_MIN = 16


class MembersTable(NarrowingTable):
    DEFAULT_CSS = """
    MembersTable { height: auto; max-height: 9; border: round $panel; }
    MembersTable.stale { border: round $error; }
    """
    COLUMNS = MEMBER_COLUMNS
    NARROW_DROPS = NARROW_DROPS
    TITLE = "etcd members"
    FLEX = "ERRORS"
    FLEX_MIN = ERRORS_MIN

    def __init__(self, **kw):
        super().__init__(max_lines=3, **kw)

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
