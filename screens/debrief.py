"""The drill's debrief: the score and its breakdown, what the ideal path would have done
differently, the mistakes and hints, and the timeline of every step in drill time.

It renders tui.drill.session's Debrief; nothing here decides anything.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from screens.dialogs import ALWAYS
from tui.drill.scoring import Debrief, drill_clock
from tui.drill.session import DrillSession
from tui.widgets.fit_table import FitTable
from tui.widgets.footer import QuietFooter

TIMELINE_COLUMNS = ("STEP", "RUNBOOK", "HOSTS", "ASKED", "START", "END", "TOOK", "WAITED",
                    "DECIDING", "CMDS", "OUTCOME", "DETAIL")
# what a narrow terminal does without, the first dropped first, so that the timeline fits its
# width rather than scroll sideways: START and TOOK say when and for how long a step ran, the
# head names the scenario's runbook, and DETAIL says what the commands did
OPTIONAL_COLUMNS = ("RUNBOOK", "ASKED", "END", "CMDS")
_WRAPPING = ("HOSTS", "OUTCOME", "DETAIL")  # FitTable's flex columns: they wrap, not widen
_MIN_WIDTH = 6
_OUTCOME_STYLE = {"finished": "green", "already-done": "green", "skipped": "dim",
                  "failed": "bold red", "running": "yellow", "not reached": "dim"}


class DebriefScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Back to the console"),
                Binding("E", "end", "End the drill now"),
                Binding("D", "close", "Close", show=False), *ALWAYS]

    def __init__(self, session: DrillSession):
        super().__init__()
        self.session = session
        self.debrief: Debrief = session.debrief()
        self._shown: tuple | None = None
        self._columns: tuple[str, ...] = ()  # the timeline's columns for this width

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="debrief"):
            yield Static("", id="debrief-head")
            yield Static("", id="debrief-score")
            yield Static("", id="debrief-differences")
            yield Static("", id="debrief-mistakes")
            yield Static("", id="debrief-hints")
            yield Static("[b]Timeline[/b] (drill time from the clock's start; WAITED: in the "
                         "step, not running commands; DECIDING: before its confirmation)",
                         id="debrief-timeline-head")
            # DETAIL, OUTCOME and HOSTS wrap on a narrow terminal
            yield FitTable(id="debrief-timeline", cursor_type="row", zebra_stripes=True,
                           flex=("DETAIL", "OUTCOME", "HOSTS"), min_width=_MIN_WIDTH)
        yield QuietFooter()

    def on_mount(self) -> None:
        self.render_debrief()
        self.set_interval(1.0, self._refresh_if_running)

    def _refresh_if_running(self) -> None:
        if not self.debrief.ended:
            self.debrief = self.session.debrief()
            self.render_debrief(timeline=self._signature() != self._shown)

    def _signature(self) -> tuple:
        s = self.session
        return (len(s.records), len(s.mistakes), len(s.hints), len(s.faults), s.ended)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "end":
            return self.session.ended is None
        return True

    def action_end(self) -> None:
        if self.session.ended is None:
            self.session.finish("ended by the trainee from the debrief")
            self.debrief = self.session.debrief()
            self.render_debrief()
            self.refresh_bindings()

    def action_close(self) -> None:
        self.dismiss(None)

    # --- rendering ----------------------------------------------------------------------------

    def render_debrief(self, timeline: bool = True) -> None:
        d = self.debrief
        state = "ENDED" if d.ended else "IN PROGRESS"
        keys = "Esc: back to the console" + ("" if d.ended else "; E: end the drill now")
        self.query_one("#debrief-head", Static).update(
            f"[b]Debrief: {escape(d.scenario)}[/b] — {state}"
            f"{': ' + escape(d.outcome) if d.outcome != 'in progress' else ''}   "
            f"[dim]({keys})[/dim]\n[i]{escape(d.objective)}[/i]")
        self.query_one("#debrief-score", Static).update(
            self._score_text(d) + "".join(f"\n  {escape(t)}" for t in d.totals))
        differences = d.differences or ["Nothing: this run followed the ideal path."]
        lines = ["[b]What the ideal path would have done differently[/b]"]
        lines += [f"  - {escape(x)}" for x in differences]
        if d.notes:
            lines.append("[b]The ideal path[/b]")
            lines += [f"  - {escape(n)}" for n in d.notes]
        self.query_one("#debrief-differences", Static).update("\n".join(lines))
        mistakes = [f"[b]Mistakes ({len(d.mistakes)})[/b]"] + [
            f"  {drill_clock(d.offset(m.at))}  {escape(m.kind)}"
            f"{' at ' + escape(m.step) if m.step != '-' else ''}: {escape(m.detail)}"
            for m in d.mistakes] + (["  none"] if not d.mistakes else [])
        if d.faults:
            mistakes.append(f"[b]Faults the scenario injected ({len(d.faults)})[/b]")
            mistakes += [f"  {drill_clock(d.offset(f['at']))}  {escape(str(f.get('action')))}"
                         f" {escape(str(f.get('host') or ''))}: {escape(str(f.get('detail')))}"
                         for f in d.faults]
        self.query_one("#debrief-mistakes", Static).update("\n".join(mistakes))
        hints = [f"[b]Hints taken ({len(d.hints)})[/b]"] + [
            f"  {drill_clock(d.offset(h.at))}  #{h.n}: {escape(h.text)}" for h in d.hints] + \
            (["  none"] if not d.hints else [])
        self.query_one("#debrief-hints", Static).update("\n".join(hints))
        if not timeline:
            return  # the table is rebuilt only when a line came in (keeps its cursor)
        self._shown = self._signature()
        rows = [self._row(t) for t in d.steps]
        table = self.query_one("#debrief-timeline", DataTable)
        columns = self._fitting_columns(rows, table.scrollable_content_region.width
                                        or self.app.size.width - 4)
        if columns != self._columns:
            table.clear(columns=True)
            for name in columns:
                table.add_column(name, key=name)
            self._columns = columns
        else:
            table.clear()
        keep = [TIMELINE_COLUMNS.index(c) for c in columns]
        for row in rows:
            table.add_row(*(row[i] for i in keep))

    @staticmethod
    def _row(t) -> tuple:
        return (t.step, t.runbook, ", ".join(t.hosts), drill_clock(t.asked),
                drill_clock(t.started), drill_clock(t.ended),
                drill_clock(t.duration) if t.duration is not None else "",
                drill_clock(t.wait_seconds) if t.wait_seconds else "",
                drill_clock(t.operator_seconds) if t.operator_seconds else "",
                str(t.commands or ""),
                Text(t.outcome + (f" ({t.failures} failed)" if t.failures else ""),
                     style=_OUTCOME_STYLE.get(t.outcome, "")),
                t.detail[:80])

    @staticmethod
    def _fitting_columns(rows: list[tuple], width: int) -> tuple[str, ...]:
        """Every column while they fit `width` (the wrapping ones at their narrowest), else
        without OPTIONAL_COLUMNS, the first dropped first."""
        def natural(i: int) -> int:
            cells = [r[i].plain if isinstance(r[i], Text) else str(r[i]) for r in rows]
            return max([len(TIMELINE_COLUMNS[i])] + [len(c) for c in cells])

        def needs(columns: list[str]) -> int:
            total = 0
            for name in columns:
                i = TIMELINE_COLUMNS.index(name)
                total += 2 + (min(natural(i), max(_MIN_WIDTH, len(name)))
                              if name in _WRAPPING else natural(i))
            return total + 2  # a vertical scrollbar once the rows grow

        columns = list(TIMELINE_COLUMNS)
        for name in OPTIONAL_COLUMNS:
            if needs(columns) <= width:
                break
            columns.remove(name)
        return tuple(columns)

    def on_resize(self) -> None:
        if self.is_mounted and self._columns:
            self.call_after_refresh(self._refit_columns)

    def _refit_columns(self) -> None:
        table = self.query_one("#debrief-timeline", DataTable)
        rows = [self._row(t) for t in self.debrief.steps]
        if self._fitting_columns(rows, table.scrollable_content_region.width) != self._columns:
            self.render_debrief()

    def _score_text(self, d: Debrief) -> str:
        if d.score is None:
            return ("[b]No score[/b]: a free drill (the scenario has no drill section). "
                    f"Drill time {drill_clock(self.session.elapsed())}.")
        s = d.score
        expected = (f" (the ideal path scores {d.expected_score})"
                    if d.expected_score is not None else "")
        lines = [f"[b]Score: {s.total}[/b]{expected}"]
        lines += [f"  {points:+5d}  {escape(what)}" for what, points in s.breakdown]
        return "\n".join(lines)
