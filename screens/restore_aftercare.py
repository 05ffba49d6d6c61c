"""The restore wizard's aftercare phase: the PV-1..4 checklist with the cluster's PVs and the
RST-25 reminders, ticked off by the operator.

The screen (screens/restore.py) loads the list, keeps the ticks and journals them; this phase
shows them and sends up which row the operator ticked.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from tui.widgets.fit_table import FitTable
from tui.widgets.steady import SteadyStatic


def item_id(item, n: int) -> str:
    """An aftercare item's ID (its key, id or step; else its place in the list)."""
    for name in ("key", "id", "step"):
        value = getattr(item, name, None)
        if value:
            return str(value)
    return f"item-{n + 1}"


class AftercarePhase(VerticalScroll):
    """The aftercare phase's head and checklist (id "aftercare")."""

    class ItemToggled(Message):
        """Enter on a row of the checklist: tick it, or take its tick back."""

        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

    def compose(self) -> ComposeResult:
        yield SteadyStatic("", id="aftercare-head")
        # WHAT, then DETAIL (the PVs to check), wrap to what the terminal leaves
        yield FitTable(id="aftercare-items", cursor_type="row", zebra_stripes=True,
                       flex=(-2, -1), min_width=24, max_lines=40)

    def on_mount(self) -> None:
        self.query_one("#aftercare-items", DataTable).add_columns("DONE", "ID", "WHAT",
                                                                 "DETAIL")

    @property
    def _table(self) -> DataTable:
        return self.query_one("#aftercare-items", DataTable)

    def focus_items(self) -> None:
        self._table.focus()

    @property
    def cursor_row(self) -> int | None:
        """The row under the cursor (None: the list is empty)."""
        table = self._table
        return table.cursor_row if table.row_count else None

    def move_cursor(self, row: int) -> None:
        self._table.move_cursor(row=row)

    def show(self, items: list, ticked: dict[str, bool], guard_warning: str | None) -> None:
        guard = (f"\n[bold red]!! {escape(guard_warning)}[/bold red]"
                 if guard_warning else "")
        self.query_one("#aftercare-head", Static).update(
            "[b]Aftercare[/b]: persistent volumes are not in the etcd snapshot. Tick each "
            "item once you have checked it (space or Enter); ticks go into the journal." + guard)
        table = self._table
        table.clear()
        for n, item in enumerate(items):
            key = item_id(item, n)
            title = str(getattr(item, "title", "") or key)
            detail = getattr(item, "detail", "") or ""
            extra = getattr(item, "pvs", None) or getattr(item, "objects", None)
            if extra:
                detail = (detail + "\n" if detail else "") + "\n".join(
                    f"  - {x}" for x in extra)
            if getattr(item, "reminder", False):
                title = f"(reminder) {title}"
            mark = Text("[x]" if ticked.get(key) else "[ ]",
                        style="bold green" if ticked.get(key) else "")
            # (a detail is text, "[...]" in it is not a style; FitTable wraps it)
            table.add_row(mark, key, title, Text(detail), key=key)

    @on(DataTable.RowSelected, "#aftercare-items")
    def _item_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.ItemToggled(event.cursor_row))
