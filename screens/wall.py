"""`etcd-dr wall`: the readiness wall, one row per cluster, worst first, read-only.

The wall (tui/wall/probe.py) does the looking; this only renders its rows. Enter opens the
highlighted cluster's status screen (the console's own StatusScreen, on that cluster's
read-only backend), escape comes back to the wall.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Markdown

from assets import asset_path
from screens.help import HelpScreen
from screens.status import StatusScreen
from tui.backend import Backend
from tui.errors import EtcdDrError
from tui.status.snapshot import StatusSnapshot
from tui.wall.probe import Wall
from tui.wall.readiness import ClusterReadiness
from tui.wall.render import UNKNOWN, WALL_COLUMNS, summary, wall_cells
from tui.wall.thread import LoopThread
from tui.widgets.footer import QuietFooter
from tui.widgets.narrowing_table import NarrowingTable
from tui.widgets.steady import SteadyStatic

VERDICT_STYLE = {"down": "bold white on red", "at-risk": "bold red", "degraded": "bold yellow",
                 "ready": "bold green"}
# cells that are bad news when they say so
_BAD = {"VERIFIED": ("no", UNKNOWN), "ENC CFG": ("no",), "BACKUP": ("none", UNKNOWN)}


class WallTable(NarrowingTable):
    """The rows, worst first. A terminal too narrow for every column leaves some out (the
    first of NARROW_DROPS first) and says so in its title; the highlighted row's reasons are
    all shown below the table anyway."""

    # DataTable's own enter (select the row), shown: here it opens the cluster
    BINDINGS: ClassVar = [Binding("enter", "select_cursor", "Open status")]
    COLUMNS = WALL_COLUMNS
    NARROW_DROPS = ("VERSION", "DB MAX", "LEADER", "WHY", "FRAG", "ENC", "ALARMS")
    TITLE = "readiness, worst first"
    FLEX = "WHY"
    FLEX_MIN = 24
    SPARE = 2  # the vertical scrollbar, which rows past the bottom bring

    def __init__(self, **kw):
        super().__init__(max_lines=2, **kw)

    def show(self, rows: list[ClusterReadiness]) -> None:
        before, self._rows = self._rows, [(row.source, self._styled(row)) for row in rows]
        if [key for key, _ in before] != [key for key, _ in self._rows] or \
                self._columns_for(self.scrollable_content_region.width) != self._columns_shown:
            self._draw(force=True)
            return
        # the same clusters in the same order (most looks): only the cells that changed
        # are redrawn, not a hundred rows for one age that went from 2h to 3h
        index = {name: WALL_COLUMNS.index(name) for name in self._columns_shown}
        for (key, old), (_, new) in zip(before, self._rows):
            for name, i in index.items():
                if (old[i].plain, old[i].style) != (new[i].plain, new[i].style):
                    self.update_cell(key, name, new[i], update_width=True)

    @staticmethod
    def _styled(row: ClusterReadiness) -> list[Text]:
        styled = []
        for name, cell in zip(WALL_COLUMNS, wall_cells(row)):
            if name == "VERDICT":
                styled.append(Text(cell, style=VERDICT_STYLE.get(cell, "")))
            elif cell == UNKNOWN:
                styled.append(Text(cell, style="bold yellow"))
            elif cell in _BAD.get(name, ()):
                styled.append(Text(cell, style="red"))
            else:
                styled.append(Text(cell))
        return styled

    def _cursor_mark(self) -> str | None:
        return self.selected_source()  # the same cluster, wherever its row went

    def _cursor_back(self, selected) -> None:
        keys = [key for key, _ in self._rows]
        if selected in keys:
            self.move_cursor(row=keys.index(selected))

    def selected_source(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
        except Exception:  # noqa: BLE001 - no row under the cursor
            return None


class WallScreen(Screen):
    BINDINGS: ClassVar = [Binding("r", "app.refresh", "Refresh")]

    def compose(self) -> ComposeResult:
        yield SteadyStatic("starting: connecting to every cluster (read-only)", id="wall-head")
        yield WallTable(id="wall-table")
        yield SteadyStatic("", id="wall-reasons")
        yield QuietFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "rows", self.show_rows, init=True)
        self.query_one(WallTable).focus()

    def show_rows(self, rows: list[ClusterReadiness] | None) -> None:
        if rows is None:
            return
        self.query_one(WallTable).show(rows)
        when = time.strftime("%H:%M:%S", time.localtime(self.app.looked_at or time.time()))
        self.query_one("#wall-head", SteadyStatic).update(
            f"{summary(rows)} · read-only · looked at {when}, every {self.app.interval:g}s")
        self._show_reasons()

    def on_data_table_row_highlighted(self, event) -> None:
        self._show_reasons()

    def _show_reasons(self) -> None:
        source = self.query_one(WallTable).selected_source()
        row = next((r for r in self.app.rows or () if r.source == source), None)
        box = self.query_one("#wall-reasons", SteadyStatic)
        if row is None:
            box.update("", layout=False)
            return
        lines = [f"{row.name} ({row.source}): {row.verdict}"]
        lines += [f"  - {reason}" for reason in row.reasons] or ["  all checks pass"]
        # its height is fixed (assets/wall.tcss): new reasons are a repaint, not a layout of
        # the screen (each key that moves the cursor brings new ones)
        box.update(Text("\n".join(lines)), layout=False)

    def on_data_table_row_selected(self, event) -> None:
        if event.row_key.value is not None:
            self.app.open_cluster(event.row_key.value)


class WallHelpScreen(HelpScreen):
    """The wall's help (assets/wall_help.md), with the console help's keys."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(asset_path("wall_help.md").read_text(encoding="utf-8"))
        yield QuietFooter()


class ClusterStatusScreen(StatusScreen):
    """A cluster's status screen, opened from the wall: the same view as the console's."""

    BINDINGS: ClassVar = [Binding("escape", "app.close_cluster", "Back to the wall")]


class WallApp(App):
    CSS_PATH: ClassVar = [str(asset_path("etcd_dr.tcss")), str(asset_path("wall.tcss"))]
    TITLE = "etcd-dr wall"
    BINDINGS: ClassVar = [Binding("q", "quit", "Quit"),
                          Binding("question_mark", "help", "Help", key_display="?"),
                          Binding("r", "refresh", "Refresh", show=False)]
    HORIZONTAL_BREAKPOINTS: ClassVar = [(0, "-narrow"), (100, "-medium"), (120, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar = [(0, "-short"), (30, "-tall")]
    rows: var[list[ClusterReadiness] | None] = var(None, always_update=True)
    # what the StatusScreen reads from its app, for the cluster opened from the wall
    snapshot: var[StatusSnapshot | None] = var(None, always_update=True)
    started: var[bool] = var(False)

    def __init__(self, wall: Wall, *, interval: float = 10.0,
                 clock: Callable[[], float] = time.time):
        super().__init__()
        self.wall = wall
        self.interval = interval
        self.clock = clock
        self.backend: Backend | None = None  # the opened cluster's (read-only)
        self.opened: str | None = None
        self.looked_at: float | None = None
        self.start_error: str | None = None
        self._looking = False
        self._frozen = False
        # the probes' own loop: keys are never queued behind a hundred clusters' traffic
        self.probes = LoopThread()

    def on_mount(self) -> None:
        self.push_screen(WallScreen())
        self.run_worker(self._start(), name="start", exit_on_error=False)

    async def _start(self) -> None:
        await self.probes.run(self.wall.start())
        self.set_interval(self.interval, self.action_refresh)
        await self._look()
        # What is alive now lives as long as the wall: the modules, the widgets, the
        # sessions to every host. Kept out of the cyclic collector's oldest generation, a
        # full collection (one per refresh at 100 clusters) no longer walks them all and
        # stops both threads for 65-85 ms, under a key the operator just pressed
        # (bench/RESULTS.md). Unfrozen when the wall ends.
        gc.freeze()
        self._frozen = True

    async def _look(self) -> None:
        if self._looking:
            return  # the last look is still under way: no pile-up of looks
        self._looking = True
        try:
            rows = await self.probes.run(self.wall.refresh())
        finally:
            self._looking = False
        self.looked_at = self.clock()
        self.rows = rows
        if self.opened is not None:
            probe = self.wall.probe_for(self.opened)
            if probe is not None and probe.snapshot is not None:
                self.snapshot = probe.snapshot

    def action_refresh(self) -> None:
        if not self._looking:
            self.run_worker(self._look(), name="look", group="look", exit_on_error=False)

    def open_cluster(self, source: str) -> None:
        probe = self.wall.probe_for(source)
        if probe is None or probe.backend is None or probe.backups is None:
            why = probe.load_error if probe is not None and probe.load_error else \
                "it has not answered yet"
            self.notify(f"No status screen for this cluster: {why}", severity="warning")
            return
        self.backend = probe.backend
        self.opened = source
        self.snapshot = probe.snapshot
        self.started = True
        probe.detailed = True  # its status screen shows the API's full look, read now
        self.run_worker(self._look_closer(probe), name="look-closer", exit_on_error=False)
        self.push_screen(ClusterStatusScreen())

    async def _look_closer(self, probe) -> None:
        await self.probes.run(probe.refresh())
        if self.opened == probe.source and probe.snapshot is not None:
            self.snapshot = probe.snapshot

    async def action_close_cluster(self) -> None:
        if isinstance(self.screen, ClusterStatusScreen):
            # gone (its timers with it) before the backend it reads is let go
            await self.pop_screen()
        probe = self.wall.probe_for(self.opened) if self.opened is not None else None
        if probe is not None:
            probe.detailed = False
        self.opened = None
        self.started = False
        self.backend = None

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            # on the wall, the wall's keys; on a cluster's status screen, the console's help
            self.push_screen(WallHelpScreen() if isinstance(self.screen, WallScreen)
                             else HelpScreen())

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        message = error.message if isinstance(error, EtcdDrError) else \
            f"{error.__class__.__name__}: {error}"
        if event.worker.name == "start":
            self.start_error = message
        self.notify(f"The wall could not look: {message}", severity="error", timeout=20)

    async def on_unmount(self) -> None:
        try:
            await self.probes.run(self.wall.close())
        finally:
            self.probes.stop()
            if self._frozen:
                gc.unfreeze()  # back to the collector, which frees what the wall let go
                self._frozen = False


def run_wall(wall: Wall, *, interval: float = 10.0) -> None:
    app = WallApp(wall, interval=interval)
    app.run()
    if app.start_error:
        raise EtcdDrError(app.start_error)
