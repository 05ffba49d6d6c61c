"""The restore wizard's run phase: the steps with their state beside the highlighted step's
plan and state, and a live pane per host.

The screen (screens/restore.py) keeps the run and hands this phase what to show; the panes
hear the fleet themselves (what it sent and heard on each host).
"""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from screens.runbook import SHORT_TARGETS
from tui.runbooks.context import RunEvent, RunEventKind
from tui.widgets.fit_table import FitTable
from tui.widgets.host_log import FLUSH_INTERVAL, HostLog
from tui.widgets.steady import SteadyStatic


def is_guard_warning(event: RunEvent) -> bool:
    """A RunEvent of kind "warning", or the runbook's closing warning as a "note" (RST-25 /
    RSTN-07 when the guard stayed off, from runbooks that predate the "warning" kind); a step
    that turns the guard off on purpose (RST-17, RSTN-05) says "is off" and is no alarm."""
    text = event.text.lower()
    return event.kind is RunEventKind.WARNING or (
        event.kind is RunEventKind.NOTE and "quorum guard" in text
        and ("still off" in text or "left off" in text))


class RunPhase(Vertical):
    """The run phase's steps table, step panel and host panes (id "run")."""

    class StepHighlighted(Message):
        """The cursor of the steps table is on another step."""

        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    # the steps table's columns (key, heading): RunbookScreen adds them and fills them in
    STEP_COLUMNS = (("step", "STEP"), ("state", "STATE"), ("what", "WHAT"),
                    ("where", "WHERE"), ("detail", "DETAIL"))

    @classmethod
    def step_cells(cls, step) -> list:
        """A step's row in the steps table, before it runs."""
        values = {"step": step.id, "state": "pending", "what": step.title,
                  "where": SHORT_TARGETS.get(step.targets.name, step.targets.value),
                  "detail": ""}
        return [values[key] for key, _ in cls.STEP_COLUMNS]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._panes: dict[str, HostLog] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-top"):
            yield FitTable(id="steps", cursor_type="row", zebra_stripes=True,
                           flex=("detail", "what", "where"))
            with VerticalScroll(id="step-detail-box"):
                yield SteadyStatic("", id="step-detail")
        yield Horizontal(id="host-panes")

    def on_mount(self) -> None:
        self.set_interval(FLUSH_INTERVAL, self.flush_panes)

    # --- the steps ------------------------------------------------------------------------

    def focus_steps(self) -> None:
        self.query_one("#steps", DataTable).focus()

    def follow(self, step_id: str) -> None:
        """Put the steps table's cursor on the step that runs."""
        table = self.query_one("#steps", DataTable)
        try:
            table.move_cursor(row=table.get_row_index(step_id))
        except Exception:  # a row that is not there (another runbook): nothing to follow
            pass

    def shown_step(self) -> str | None:
        """The step under the steps table's cursor (its panel is the one shown)."""
        table = self.query_one("#steps", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:
            return None

    def show_no_step(self) -> None:
        self.query_one("#step-detail", Static).update("")

    def show_step(self, step, *, shared, planned, time_scale: float, state: str,
                  waiting: str | None, last: str | None) -> None:
        """The step panel: the plan's own lines for the step, as `run RUNBOOK --dry-run`
        prints them (one wording, plan_text.py; `shared`: the restore plan's step, else
        `planned`: the runbook's own), under its state in this run, what it waits for,
        else what it last said."""
        if shared is not None:
            plan = shared.lines()
        elif planned is not None:  # the runbook's own plan (no shared plan yet)
            plan = planned.lines(time_scale)
        else:
            plan = [f"{step.id}  {step.title}", f"    {step.explain}"]
        lines = [f"[b]{escape(plan[0])}[/b]", f"[b]state:[/b] {state}"]
        lines += [escape(line.removeprefix("    ")) for line in plan[1:]]
        if waiting is not None:
            lines.append(f"[yellow]waiting for: {escape(waiting)}[/yellow]")
        elif last:
            lines.append(f"[b]last:[/b] {escape(last)}")
        self.query_one("#step-detail", Static).update("\n".join(lines))

    @on(DataTable.RowHighlighted, "#steps")
    def _step_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key is not None:
            self.post_message(self.StepHighlighted(event.row_key.value))

    # --- the host panes -------------------------------------------------------------------

    def ensure_panes(self, hosts: list[str]) -> None:
        row = self.query_one("#host-panes", Horizontal)
        for name in hosts:
            if name not in self._panes:
                self._panes[name] = HostLog(name)
                row.mount(self._panes[name])

    def flush_panes(self) -> None:
        for pane in self._panes.values():
            pane.flush()

    def clear_panes(self) -> None:
        for pane in self._panes.values():
            pane.clear()

    def step_began(self, step_id: str, title: str, hosts) -> None:
        """A line in each of the step's hosts' panes as the step begins."""
        for host in hosts:
            pane = self._panes.get(host)
            if pane is not None:
                pane.add(f"== {step_id} {title}")

    def show_fleet_event(self, event) -> None:
        """A fleet listener: the host panes show what the fleet sent and heard, the
        runbook's commands and the `oc` its API steps run on the recovery host while the API
        is away (status polls are quiet and stay out)."""
        pane = self._panes.get(event.host)
        if pane is not None:
            pane.show_event(event)
