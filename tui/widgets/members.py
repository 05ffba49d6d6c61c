"""The etcd members table, leader marked, with the age and source of its data."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui.status.render import MEMBER_COLUMNS, member_cells
from tui.status.snapshot import MemberView
from tui.widgets.panel import NEVER, NOT_YET


class MembersTable(DataTable):
    DEFAULT_CSS = """
    MembersTable { height: auto; max-height: 9; border: round $panel; }
    MembersTable.stale { border: round $error; }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_columns(*MEMBER_COLUMNS)
        self.border_title = "etcd members"

    _shown: object = None

    def show(self, members: list[MemberView], *, source: str | None, age: str,
             stale: bool, error: str | None) -> None:
        self.set_class(stale, "stale")
        when = NOT_YET if age in NEVER else f"{age} ago"
        self.border_subtitle = (f"STALE - {source} {when} ({error})" if stale
                                else f"{source or 'ssh'} - {when}")
        content = (tuple(tuple(member_cells(m)) + (m.is_leader, bool(m.errors)) for m in members),
                   None if members else error)
        if content == self._shown:
            return  # rebuilding an unchanged table every second costs a full re-layout
        self._shown = content
        self.clear()
        for m in members:
            cells: list = member_cells(m)
            style = "bold" if m.is_leader else ""
            if m.errors:
                style = "bold red"
            self.add_row(*(Text(c, style=style) for c in cells), key=str(m.member_id))
        if not members:
            self.add_row(Text(f"no member data: {error or 'waiting for the first answer'}",
                              style="italic"), *[""] * (len(MEMBER_COLUMNS) - 1))
