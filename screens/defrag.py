"""The defrag screen (DEF-MAN-1..6): per member what a defrag would free and why (or why
not), a sparkline of its DB size over the session, the automatic defrag's state, and the
leader-last runbook."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, Input, Label, Sparkline, Static

from screens.runbook import RunbookScreen
from tui.durations import parse_duration
from tui.runbooks.defrag import DOCUMENTED_MIN_WAIT, MB, recommendation, timeout_plan
from tui.status.render import human_bytes, percent
from tui.status.snapshot import OPENSHIFT_QUOTA_BYTES
from tui.widgets.fit_table import FitTable


class DefragScreen(RunbookScreen):
    RUNBOOK = "defrag"

    def compose_params(self) -> ComposeResult:
        # the member an operator reads first, and the recommendation wrapped, never cut
        yield FitTable(id="defrag-members", cursor_type="row", zebra_stripes=True,
                       flex=(-1,), max_lines=12)
        yield Horizontal(id="sparklines")
        yield Static("", id="auto-defrag")
        with Horizontal(classes="params"):
            yield Label("wait between members")
            yield Input(f"{DOCUMENTED_MIN_WAIT:g}s", id="defrag-wait")
            yield Checkbox("compact the history first", id="defrag-compact")
            yield Static("", id="wait-warning")
        with Horizontal(classes="params"):
            yield Label("defrag timeout")
            yield Input("", id="defrag-timeout", placeholder="scaled to each member")
            yield Static("", id="timeout-warning")
        yield Static("", id="defrag-timeouts")

    def on_mount(self) -> None:
        # Textual also calls RunbookScreen.on_mount: no super() call
        table = self.query_one("#defrag-members", DataTable)
        table.add_columns("MEMBER", "DB SIZE", "IN USE", "WOULD FREE", "FRAG", "QUOTA",
                          "ALARMS", "DEFRAG?")  # "no: 16% fragmented: little to gain"
        # what an operator acts on first: which member a defrag would help (g runs from here;
        # the fields come after it in the Tab order)
        table.focus()
        self.set_interval(1.0, self._show_members)
        self._show_members()
        self._auto_events: dict | None = None
        self.run_worker(self._read_auto_events(), exit_on_error=False, group="auto-defrag")
        self.set_interval(30.0, lambda: self.run_worker(
            self._read_auto_events(), exit_on_error=False, group="auto-defrag", exclusive=True))

    async def _read_auto_events(self) -> None:
        api = self.app.backend.api
        if api is None or not api.configured:
            return
        try:
            self._auto_events = await api.auto_defrag_events()
        except Exception as e:  # the API is often down in a disaster: say so, keep going
            from tui.cluster.api import describe_api_error

            self._auto_events = {"error": describe_api_error(e, api.server)}
        self._show_auto_defrag()  # now, not at the members' next tick (up to 1 s later)

    def params(self) -> dict:
        try:
            wait = parse_duration(self.query_one("#defrag-wait", Input).value.strip() or "60s")
        except ValueError:
            wait = DOCUMENTED_MIN_WAIT
        params = {"wait": wait, "compact": self.query_one("#defrag-compact", Checkbox).value}
        timeout = self._timeout_override()
        if timeout is not None:
            params["timeout"] = timeout
        return params

    def _timeout_override(self) -> float | None:
        """The operator's timeout, or None (empty, or not one it can use: the rule then)."""
        from tui.timeouts import check_override

        text = self.query_one("#defrag-timeout", Input).value.strip()
        if not text:
            return None
        try:
            return check_override(parse_duration(text))
        except ValueError:
            return None

    def _show_timeouts(self) -> None:
        """Each member's defrag timeout and why, as the run will choose it."""
        ctx = self._run_context(journal=None)
        lines = timeout_plan(ctx)
        self.query_one("#defrag-timeouts", Static).update(
            Text("\n".join(lines) if lines else "defrag timeouts: after the first status read"))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "defrag-timeout":
            from tui.timeouts import check_override

            warning = self.query_one("#timeout-warning", Static)
            text = event.value.strip()
            try:
                if text:
                    check_override(parse_duration(text))
                warning.update("")
            except ValueError as e:
                warning.update(Text(f" {e}", style="red"))
                return
            self._show_timeouts()
            self.refresh_plan()
            return
        warning = self.query_one("#wait-warning", Static)
        try:
            wait = parse_duration(event.value.strip())
        except ValueError as e:  # says why: not a duration, zero, too long, ...
            warning.update(Text(f" {e}", style="red"))
            return
        warning.update(f" [yellow]under the documented minimum of {DOCUMENTED_MIN_WAIT:g}s: "
                       f"journaled as an override[/yellow]" if wait < DOCUMENTED_MIN_WAIT
                       else "")
        self.refresh_plan()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.refresh_plan()

    def _show_members(self) -> None:
        snap = self.app.snapshot
        table = self.query_one("#defrag-members", DataTable)
        if snap is None:
            return
        alarms = {}
        for a in snap.alarms:
            alarms.setdefault(a.member, []).append(a.alarm)
        rows = []
        nospace = any(a.alarm == "NOSPACE" for a in snap.alarms)
        for m in snap.members:
            yes, why = recommendation(m, OPENSHIFT_QUOTA_BYTES, nospace)
            free = (m.db_size - m.db_size_in_use) if m.db_size is not None and \
                m.db_size_in_use is not None else None
            rows.append(((("* " if m.is_leader else "  ") + m.name),
                         human_bytes(m.db_size), human_bytes(m.db_size_in_use),
                         "-" if free is None else f"{free / MB:.0f} MB",
                         percent(m.fragmentation), percent(m.quota_use()),
                         ", ".join(alarms.get(m.name, [])) or "-",
                         ("yes: " if yes else "no: ") + why))
        if rows != getattr(self, "_rows", None):
            self._rows = rows
            table.clear()
            for row in rows:
                table.add_row(*row)
        self._show_sparklines()
        if not self.running:
            self._show_timeouts()
        self._show_auto_defrag()

    def _show_auto_defrag(self) -> None:
        self.query_one("#auto-defrag", Static).update(
            "automatic defrag: " + self._auto_defrag_text())

    def _show_sparklines(self) -> None:
        box = self.query_one("#sparklines", Horizontal)
        for name, history in sorted(self.app.db_history.items()):
            wid = f"spark-{name}"
            found = box.query(f"#{wid}")
            if found:
                found.first(Sparkline).data = list(history)
            else:
                col = Vertical(Label(f"{name} DB size"), Sparkline(list(history), id=wid),
                               classes="spark")
                box.mount(col)

    def _auto_defrag_text(self) -> str:
        snap = self.app.snapshot
        if snap is None or not snap.api.reachable:
            return "unknown while the API does not answer (it is the etcd operator's own)"
        text = snap.api.auto_defrag or "unknown"
        events = getattr(self, "_auto_events", None) or {}
        if events.get("error"):
            text += f"; operator log: {events['error']}"
        for key, label in (("success", "last success"), ("failure", "last failure")):
            if events.get(key):
                text += f"\n  {label}: {events[key].split('] ', 1)[-1]}"
        return text
