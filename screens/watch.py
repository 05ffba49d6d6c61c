"""`etcd-dr watch JOURNAL --tui`: the follow mode as a small read-only Textual view.

The same reader and line format as the text stream (tui.watch), plus a header with the run's
state and the report's totals so far (tui.report), refreshed as lines arrive. It never writes
the journal and sends nothing anywhere; q (or Ctrl-C) closes it, and it stays open after the
run ends so the last lines can be read.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, RichLog, Static

from tui.durations import format_duration
from tui.report import summarize
from tui.secrets import redact_text
from tui.watch import JournalFollower, format_record, is_end

_STYLE = {"failed": "bold red", "override": "bold yellow", "mistake": "bold yellow",
          "fault": "bold magenta", "hint": "cyan", "score": "bold green",
          "skipped": "dim", "confirmed": "cyan"}


class WrappingLog(RichLog):
    """Long lines wrap, never cut at the edge; a new width wraps them again."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self._written: list[str] = []
        self._width = 0

    def add(self, line: str) -> None:
        self._written.append(line)
        self.write(line)

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if self._width and width != self._width:
            self.clear()
            for line in self._written:
                self.write(line)
        self._width = width


class WatchApp(App):
    TITLE = "etcd-dr watch"
    BINDINGS = [Binding("q", "quit", "Quit (the run goes on)"),
                Binding("ctrl+c", "quit", "Quit", show=False)]
    CSS = """
    #watch-head { height: auto; padding: 0 1; background: $boost; }
    #watch-log { height: 1fr; }
    """

    def __init__(self, path: str | Path, *, interval: float = 0.3):
        super().__init__()
        self.path = Path(path)
        self.interval = interval
        self.follower = JournalFollower(self.path)
        self.records: list[dict] = []
        self.ended: dict | None = None
        self.in_session = False

    def compose(self) -> ComposeResult:
        yield Static("", id="watch-head")
        yield WrappingLog(id="watch-log", wrap=True, min_width=20, markup=True,
                          highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.path} (read-only)"
        self.poll()
        self.set_interval(self.interval, self.poll)

    def _over(self) -> bool:
        """The run has ended (a drill session's at its score): nothing after is shown."""
        return self.ended is not None and (not self.in_session or
                                           self.ended.get("event") == "score")

    def poll(self) -> None:
        if self._over():
            return
        try:
            batch = self.follower.poll()
        except Exception as e:  # noqa: BLE001 - say it on screen, keep the view
            self.query_one("#watch-head", Static).update(f"[red]{escape(str(e))}[/red]")
            return
        if self.follower.restarted:
            self.records.clear()
        for item in batch:
            if self._over():  # lines after the end arrived in the same read: not shown
                break
            if isinstance(item, str):
                self._write(f"[dim]{escape(redact_text(item))}[/dim]")
                continue
            self.records.append(item)
            text = escape(redact_text(format_record(item)))
            style = _STYLE.get(str(item.get("event")))
            if item.get("step") == "-" and item.get("event") in ("finished", "planned"):
                style = "bold"
            self._write(f"[{style}]{text}[/{style}]" if style else text)
            if item.get("event") == "session":
                self.in_session = True
            if is_end(item) or (self.in_session and item.get("event") == "score"):
                self.ended = item
        if batch or not self.records:
            self.show_head()

    def _write(self, line: str) -> None:
        self.query_one("#watch-log", WrappingLog).add(line)

    def show_head(self) -> None:
        head = self.query_one("#watch-head", Static)
        if not self.records:
            head.update(f"waiting for lines in {escape(str(self.path))}")
            return
        try:
            s = summarize(self.records, str(self.path))
        except Exception:  # noqa: BLE001 - the stream is the point
            return
        t = s["totals"]
        state = {"finished": "[green]FINISHED[/green]", "failed": "[red]FAILED[/red]",
                 "unfinished": "[yellow]running[/yellow]",
                 "no runbook": "[dim]no runbook yet[/dim]"}[s["status"]]
        speed = t.get("speed") or 1.0

        def span(seconds) -> str:
            if seconds is None:
                return "-"
            return format_duration(seconds) + (f" (drill {format_duration(seconds * speed)})"
                                               if speed != 1 else "")

        lines = [f"[b]{escape(s['title'] or s['runbook'] or 'journal')}[/b]  {state}"
                 + (f"  under way: {s['in_flight']}" if s["in_flight"] else "")
                 + (f"  [red]{escape(s['error'])}[/red]" if s["error"] else ""),
                 f"elapsed {span(t['elapsed_s'])}  time to recovery "
                 f"{span(t['time_to_recovery_s'])}  waiting {span(t['time_waiting_s'])}  "
                 f"commands {t['commands_sent']} ({t['commands_failed']} failed)  "
                 f"failed steps {t['failures']}  overrides {t['overrides']}"]
        if s["session"] is not None:
            lines.append(f"drill: hints {t['hints']}  mistakes {t['mistakes']}  faults "
                         f"{t['faults']}" + (f"  score {s['score'].get('score')}"
                                            if s["score"] else ""))
        head.update("\n".join(lines))


def run_watch(path: str | Path) -> None:
    WatchApp(path).run()
