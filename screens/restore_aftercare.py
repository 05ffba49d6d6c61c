"""The restore wizard's aftercare phase: the PV-1..4 checklist with the cluster's PVs and the
RST-25 reminders, ticked off by the operator.

The screen (screens/restore.py) hands this phase the finished run's context and journal; the
phase loads the list, keeps the ticks, journals them and shows them, and sends up when the
list is there and which row the operator chose (the screen's space key ticks one too).
"""

from __future__ import annotations

import inspect

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from tui.errors import EtcdDrError
from tui.journal import Journal
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

    class Loaded(Message):
        """The checklist is there (empty when it could not be loaded). `guard`: what its
        quorum guard item says (None: it has none)."""

        def __init__(self, guard: str | None) -> None:
            super().__init__()
            self.guard = guard

    class ItemToggled(Message):
        """Enter on a row of the checklist: tick it, or take its tick back."""

        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list = []
        self.ticked: dict[str, bool] = {}  # item ID -> ticked
        self._journal = None  # the finished run's journal (the ticks go into it)
        self._runbook = ""

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

    def load(self, module, ctx, journal, runbook: str) -> None:
        """Load the checklist for a finished run (its context, its journal's path and
        runbook; `module`: tui.runbooks.restore), in a worker."""
        self._journal, self._runbook = journal, runbook
        self.run_worker(self._load(module, ctx), name="aftercare", group="aftercare",
                        exclusive=True, exit_on_error=False)

    async def _load(self, module, ctx) -> None:
        items: list = []
        try:
            result = module.aftercare(ctx)
            items = list(await result if inspect.isawaitable(result) else result)
        except EtcdDrError as e:
            self.notify(f"aftercare: {e.message}", severity="warning")
        except Exception as e:  # the list must still appear: say what went wrong
            self.notify(f"aftercare: {e.__class__.__name__}: {e}", severity="warning")
        self.items = items
        self.ticked = {item_id(i, n): False for n, i in enumerate(items)}
        guard = next((i for i in items if "QUORUM GUARD" in str(getattr(i, "title", ""))
                      .upper()), None)
        self.post_message(self.Loaded(f"{guard.title}: {guard.detail}"
                                      if guard is not None else None))

    def toggle(self, row: int, guard_warning: str | None) -> bool:
        """Tick the row's item, or take its tick back, in the journal too. False: there is
        no such row."""
        if not 0 <= row < len(self.items):
            return False
        item = self.items[row]
        key = item_id(item, row)
        self.ticked[key] = not self.ticked.get(key)
        if self._journal is not None:
            try:
                with Journal(self._journal, self._runbook) as journal:
                    journal.write(key, "confirmed", kind="aftercare", ticked=self.ticked[key],
                                  title=str(getattr(item, "title", "")))
            except EtcdDrError as e:
                self.notify(e.message, severity="error")
        self.show(guard_warning)
        self.move_cursor(row)
        return True

    def summary(self) -> str:
        """The status line while the checklist is up."""
        return (f"aftercare: {sum(self.ticked.values())}/{len(self.ticked)} ticked — "
                + (f"journal {self._journal}" if self._journal else "no journal"))

    def show(self, guard_warning: str | None) -> None:
        guard = (f"\n[bold red]!! {escape(guard_warning)}[/bold red]"
                 if guard_warning else "")
        self.query_one("#aftercare-head", Static).update(
            "[b]Aftercare[/b]: persistent volumes are not in the etcd snapshot. Tick each "
            "item once you have checked it (space or Enter); ticks go into the journal." + guard)
        table = self._table
        table.clear()
        ticked = self.ticked
        for n, item in enumerate(self.items):
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
