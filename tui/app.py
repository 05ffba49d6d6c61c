"""The Textual app, and the one factory that builds it (the CLI and the tests both use it)."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Callable

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.reactive import var
from textual.worker import Worker, WorkerState

from assets import asset_path
from screens.status import StatusScreen
from tui.backend import Backend, BackendSpec
from tui.errors import EtcdDrError
from tui.fleet.fleet import FleetEvent, FleetEventKind
from tui.status.snapshot import StatusSnapshot
from tui.widgets.stylesheet import ParsedOnceStylesheet

if TYPE_CHECKING:
    from tui.drill.session import DrillSession


def _screen(module: str, name: str):
    from importlib import import_module

    return getattr(import_module(module), name)()


class HostCommands(Provider):
    """Command palette: open a screen, refresh, help, jump to a host's log pane.

    The same commands are listed before anything is typed (`discover`) and searched
    (`search`), so "Restore wizard" is in the first list the palette shows."""

    # the screens, in the order the palette lists them before anything is typed
    SCREENS = (("Restore wizard: restore to a previous cluster state", "restore"),
               ("Backup screen", "backup"), ("Encryption screen", "encryption"),
               ("Defrag screen", "defrag"), ("Status view", "status"))

    def _commands(self) -> list[tuple[str, Callable, str | None]]:
        app = self.app
        commands: list[tuple[str, Callable, str | None]] = []
        for text, mode in self.SCREENS:
            # a read-only console does not offer the runbook screens, nor any console the
            # screen it is on
            if app.check_action("switch_mode", (mode,)):
                commands.append((text, lambda m=mode: app.switch_mode(m), None))
        commands += [("Refresh status now", app.action_refresh, None),
                     ("Wrap long log lines (or one row each): w", app.action_toggle_wrap,
                      None),
                     ("Help: the screens and their keys", app.action_help, None)]
        if app.backend.inventory is not None:
            commands += [(f"Show host {host.name} ({host.address})",
                          lambda n=host.name: app.focus_host(n), host.role)
                         for host in app.backend.inventory.hosts]
        return commands

    async def discover(self) -> Hits:
        for text, action, help_text in self._commands():
            yield DiscoveryHit(text, action, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), action, help=help_text)


class EtcdDrApp(App):
    CSS_PATH = [str(asset_path("etcd_dr.tcss")), str(asset_path("drill.tcss"))]
    TITLE = "etcd-dr"
    COMMANDS = App.COMMANDS | {HostCommands}
    # data flows one way (issue 15): the app collects, and the screens watch these and
    # render (the status view: self.watch(app, "snapshot", ...)); no screen registers itself
    snapshot: var[StatusSnapshot | None] = var(None, always_update=True)
    started: var[bool] = var(False)  # the backend is up: its fleet takes subscribers
    wrap_logs: var[bool] = var(False)  # every log pane (RedactedLog) follows it: `w`
    # runbook screens are imported when first opened: the status view comes up sooner
    MODES = {"status": StatusScreen,
             "backup": lambda: _screen("screens.backup", "BackupScreen"),
             "encryption": lambda: _screen("screens.encryption", "EncryptionScreen"),
             "defrag": lambda: _screen("screens.defrag", "DefragScreen"),
             "restore": lambda: _screen("screens.restore", "RestoreScreen")}
    DEFAULT_MODE = "status"
    # every screen gets -narrow (under 100 columns), -medium (under 120) or -wide, and -short
    # (under 30 rows) or -tall: the styles fit the layouts to the terminal (etcd_dr.tcss)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("r", "refresh", "Refresh"),
        Binding("t", "trust_key", "Trust host key"),
        Binding("s", "switch_mode('status')", "Status"),
        Binding("b", "switch_mode('backup')", "Backup"),
        Binding("e", "switch_mode('encryption')", "Encryption"),
        Binding("d", "switch_mode('defrag')", "Defrag"),
        Binding("R", "switch_mode('restore')", "Restore"),
        # long lines in the log panes: wrapped, or one row each (scrolled sideways)
        Binding("w", "toggle_wrap", "Wrap log lines", show=False),
        # a drill session's (hidden elsewhere)
        Binding("h", "hint", "Hint"),
        Binding("D", "debrief", "Debrief"),
    ]
    # runbook screens change the cluster: a read-only console does not even offer them (the
    # restore wizard is offered: in a disaster its preflight and plan are worth reading; its
    # start is refused there)
    MUTATING_MODES = ("backup", "encryption", "defrag")

    def __init__(self, backend: Backend, *, refresh_interval: float = 2.0,
                 clock: Callable[[], float] = time.time, resume_path: str | None = None,
                 session: DrillSession | None = None):
        super().__init__()
        # the same rules as Textual's, each CSS source parsed once (tui/widgets/stylesheet.py)
        self.stylesheet = ParsedOnceStylesheet(variables=self.get_css_variables())
        self.backend = backend
        # a drill session (`etcd-dr drill`): briefing, RTO clock, hints, mistakes, debrief
        self.session = session
        self.fault_schedule = None
        self._session_unsubscribe: Callable[[], None] | None = None
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.resume_path = resume_path
        # DB size per member over the session, for the defrag screen's sparklines
        self.db_history: dict[str, deque[int]] = {}
        self.start_error: str | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self.run_worker(self._start_backend(), name="start", exit_on_error=False)
        if self.session is not None:
            self._start_session()

    async def _start_backend(self) -> None:
        await self.backend.start(wait=False)
        self.backend.fleet.subscribe(self._on_fleet_event)
        self.started = True
        if self.backend.collector is not None:
            self.backend.collector.clock = self.clock
        self.set_interval(self.refresh_interval, self.action_refresh)
        self._attach_faults()
        # first picture as soon as the connections settle, not one interval later
        await self.backend.fleet.wait_settled()
        self.action_refresh()
        await self._offer_resume()

    async def _offer_resume(self) -> None:
        """`console --resume JOURNAL`, or an unfinished journal of this cluster: resume it."""
        from screens.resume import ResumeScreen
        from tui.runbooks.journals import unfinished_journals

        if self.backend.read_only:
            return
        if self.resume_path:
            found = unfinished_journals(paths=[self.resume_path])
            if not found:
                self.notify(f"{self.resume_path}: nothing to resume (finished, or not a "
                            f"runbook journal)", severity="warning", timeout=15)
                return
            await self._resume(*found[0])
            return
        # a drill's journal from another process is not offered: its cluster died with it
        found = [(path, state) for path, state in
                 unfinished_journals(cluster=self.backend.inventory.cluster_name)
                 if self.backend.resumable(state)]
        if found:
            path, state = found[0]
            if await self.push_screen_wait(ResumeScreen(str(path), state)):
                await self._resume(path, state)

    async def _resume(self, path, state) -> None:
        mode = {"backup": "backup", "encryption-on": "encryption",
                "encryption-off": "encryption", "defrag": "defrag", "restore": "restore",
                "quorum-restore": "restore"}.get(state.runbook)
        if mode is None:
            self.notify(f"{path}: the {state.runbook} runbook has no screen in this build",
                        severity="warning")
            return
        await self.switch_mode(mode)  # the screen must be mounted before the run writes to it
        self.screen.start_resume(path, state)  # the screen picks its runbook from the state

    async def on_unmount(self) -> None:
        self._stop_session()
        await self.backend.close()

    # --- a drill session -------------------------------------------------------------------

    def _start_session(self) -> None:
        from screens.briefing import BriefingScreen

        session = self.session
        session.listeners.append(self._on_session_event)
        from tui.journal import add_listener

        self._session_unsubscribe = add_listener(self._observe_journal_line)
        self.screen_change_signal.subscribe(self, self._add_strip)
        self.call_later(self._add_strip, self.screen)
        self.push_screen(BriefingScreen(session), self._begin_session)

    def _begin_session(self, then: str | None = None) -> None:
        """The briefing closed: the clock starts. `then`: the drill key that closed it
        (h or D), which acts once the clock runs (a hint is counted from the start)."""
        self.session.start()
        self._refresh_strips()
        if then == "hint":
            self.action_hint()
        elif then == "debrief":
            self.action_debrief()

    def _refresh_strips(self) -> None:
        from tui.widgets.drill_session import DrillStrip

        for screen in self.screen_stack:
            for strip in screen.query(DrillStrip):
                strip.refresh_strip()

    def _observe_journal_line(self, journal, record: dict) -> None:
        """Every journal line of this process, for the session (a runbook's own lines)."""
        try:
            self.session.observe(record, path=journal.path)
        except Exception as e:  # the drill's scoring must never stop a step or show a trace
            self.notify(f"drill session: this line was not scored ({e.__class__.__name__}: "
                        f"{e})", severity="warning")

    def _add_strip(self, screen) -> None:
        """The drill strip on every full screen (dialogs sit on top of one that has it)."""
        from textual.screen import ModalScreen

        from tui.widgets.drill_session import DrillStrip

        if self.session is None or isinstance(screen, ModalScreen) or screen.query(DrillStrip):
            return
        screen.mount(DrillStrip(self.session, id="drill-strip"))

    def _attach_faults(self) -> None:
        """The scenario's `drill.faults`, injected when their triggers fire."""
        session = self.session
        lab = self.backend.lab
        if session is None or lab is None or not (session.drill and session.drill.faults):
            return
        from tui.drill.inject import FaultSchedule

        def on_fault(info: dict) -> None:
            self.notify(f"Fault: {info.get('detail')}", severity="warning", timeout=10)

        try:
            self.fault_schedule = FaultSchedule(lab.cluster, lab, list(session.drill.faults),
                                                on_fault)
            self.fault_schedule.start()
        except EtcdDrError as e:
            self.notify(f"The scenario's faults are not injected: {e.message}",
                        severity="error", timeout=20)

    def _stop_session(self) -> None:
        if self.fault_schedule is not None:
            self.fault_schedule.stop()
            self.fault_schedule = None
        if self._session_unsubscribe is not None:
            self._session_unsubscribe()
            self._session_unsubscribe = None
        if self.session is not None:
            self.session.flush_pending()

    def _on_session_event(self, event: str, fields: dict) -> None:
        self.call_later(self._refresh_strips)
        if event == "mistake":
            self.notify(f"Mistake ({fields.get('kind')}): {fields.get('detail')}",
                        title="drill: -10", severity="warning", timeout=15)
        elif event == "score":
            self.call_later(self.action_debrief)

    def action_hint(self) -> None:
        if self.session is None:
            return
        hint = self.session.take_hint()
        if hint is None:
            self.notify("No hints left." if self.session.scored else
                        "A free drill has no hints.", severity="information")
            return
        cost = "" if self.session.ended is not None else " (-5)"
        self.notify(hint.text, title=f"Hint {hint.n}{cost}", timeout=60)
        self.refresh_bindings()  # the last one taken: no h in the footer any more

    def action_debrief(self) -> None:
        from screens.debrief import DebriefScreen

        if self.session is None or isinstance(self.screen, DebriefScreen):
            return
        self.push_screen(DebriefScreen(self.session))

    def on_runbook_screen_run_ended(self, message) -> None:
        if self.session is not None and message.outcome == "refused":
            self.session.refused(message.runbook, message.message or "refused before it began")

    def on_confirm_step_screen_typed_wrong(self, message) -> None:
        """A typed confirmation typed wrong (the dialog asks again; the session counts it)."""
        if self.session is not None:
            self.session.typed_wrong(message.step_id, message.expected, message.typed)

    def _on_fleet_event(self, event: FleetEvent) -> None:
        if event.kind is FleetEventKind.STATE:
            self.refresh_bindings()

    async def _collect(self) -> StatusSnapshot:
        snap = await self.backend.collector.collect()
        self.snapshot = snap
        if not snap.etcd_stale:
            for m in snap.members:
                if m.db_size is not None:
                    self.db_history.setdefault(m.name, deque(maxlen=600)).append(m.db_size)
        self.refresh_bindings()
        return snap

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        message = error.message if isinstance(error, EtcdDrError) else \
            f"{event.worker.name or 'background task'} failed: {error.__class__.__name__}: {error}"
        if event.worker.name == "start":
            self.start_error = message
            self.notify(f"Could not start: {message}", severity="error", timeout=30)
        else:
            self.notify(message, severity="error", timeout=10)

    # --- actions -------------------------------------------------------------------------

    def action_refresh(self) -> None:
        if self.started:
            self.run_worker(self._collect(), name="collect", group="collect", exclusive=True,
                            exit_on_error=False)

    def action_toggle_wrap(self) -> None:
        self.wrap_logs = not self.wrap_logs
        self.notify("Log panes wrap long lines (continuation rows indented); w again: one "
                    "row each" if self.wrap_logs else
                    "Log panes show each line on one row (scroll sideways); w wraps them",
                    timeout=4)

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def _untrusted_hosts(self) -> list[str]:
        if not self.started:
            return []
        return [n for n, st in self.backend.fleet.status.items()
                if st.state.value == "host-key-unknown" and st.fingerprint]

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # the footer shows a key only where it acts: no `s` on the status view itself
        if action == "hint":  # none in a free drill, none once all were taken
            return self.session is not None and self.session.hints_left > 0
        if action == "debrief":
            return self.session is not None
        if action == "trust_key":
            return bool(self._untrusted_hosts())
        if action == "switch_mode" and parameters:
            mode = parameters[0]
            if mode == self.current_mode:
                return False
            if mode in self.MUTATING_MODES:
                return not self.backend.read_only
        return True

    def running_runbooks(self) -> list[str]:
        """The runbooks running now (each runbook screen runs its run in a worker
        named "runbook:NAME")."""
        return [w.name.removeprefix("runbook:") for w in self.workers
                if (w.name or "").startswith("runbook:") and not w.is_finished]

    async def action_quit(self) -> None:
        """q, everywhere but in a text field: quit; while a runbook runs, ask first (and a
        second q, in that question, quits)."""
        from screens.dialogs import QuitScreen

        running = self.running_runbooks()
        if not running or isinstance(self.screen, QuitScreen):
            self.exit()
            return
        self.push_screen(QuitScreen(self._quit_question(running)),
                         lambda quit_now: self.exit() if quit_now else None)

    def _quit_question(self, running: list[str]) -> str:
        names = " and ".join(f"the {name} runbook" for name in running)
        verb = "is" if len(running) == 1 else "are"
        if self.backend.spec.is_drill:
            after = ("This is a drill: its simulated cluster stops with the console, so the "
                     "run cannot be resumed.")
        else:
            after = ("Its journal keeps every step done: start the console again on this "
                     "cluster to resume it (the step under way is checked before anything is "
                     "sent again).")
        return f"{names[0].upper()}{names[1:]} {verb} running. Quitting stops it where it " \
               f"is. {after}"

    def action_trust_key(self) -> None:
        hosts = self._untrusted_hosts()
        if not hosts:
            return
        focused = getattr(self.focused, "host", None)
        name = focused.name if focused is not None and getattr(focused, "name", None) in hosts \
            else hosts[0]
        self._ask_trust(name)

    def _ask_trust(self, name: str) -> None:
        from screens.trust_key import TrustKeyScreen

        fleet = self.backend.fleet
        host = self.backend.inventory.host(name)
        fingerprint = fleet.status[name].fingerprint

        async def trust(ok: bool | None) -> None:
            if not ok:
                return
            try:
                await fleet.trust_host_key(name, fingerprint)
            except EtcdDrError as e:
                self.notify(e.message, severity="error", timeout=15)
            else:
                self.notify(f"Trusted {name}'s key ({fingerprint}); connecting.")

        self.push_screen(TrustKeyScreen(name, host.address, fingerprint,
                                        self.backend.inventory.ssh.known_hosts),
                         lambda ok: self.run_worker(trust(ok), exit_on_error=False))

    def focus_host(self, name: str) -> None:
        """The palette's "Show host": the status view, with the host's pane focused."""
        def focus() -> None:
            panes = self.screen.query(f"#log-{name}")
            if panes:
                panes.first().focus()

        if self.current_mode != "status":
            self.switch_mode("status")
        self.call_after_refresh(focus)


def make_app(spec: BackendSpec, *, refresh_interval: float = 2.0,
             clock: Callable[[], float] = time.time, resume_path: str | None = None,
             drill_session: bool = False) -> EtcdDrApp:
    """The one way to build the console: from a backend spec (real inventory or drill);
    `drill_session` (a drill only) adds the training session: briefing, RTO clock, hints,
    mistakes, score and debrief (`etcd-dr drill`)."""
    backend = Backend(spec)
    session = None
    if drill_session and spec.is_drill:
        from tui.drill.session import DrillSession
        from tui.runbooks.headless import journal_path_for

        def own_journal():
            inventory = backend.inventory
            return journal_path_for("drill", inventory.cluster_name if inventory
                                    else f"drill-{spec.scenario}")

        session = DrillSession.for_scenario(spec.scenario, speed=spec.speed,
                                            fallback_journal=own_journal, pace=backend.pace)
    return EtcdDrApp(backend, refresh_interval=refresh_interval, clock=clock,
                     resume_path=resume_path, session=session)


def run_console(spec: BackendSpec, resume_path: str | None = None,
                drill_session: bool = False) -> None:
    app = make_app(spec, resume_path=resume_path, drill_session=drill_session)
    app.run()
    if app.start_error:
        raise EtcdDrError(app.start_error)
