"""The backup screen (BAK-0..6): one control-plane host, the exact command, a verified result."""

from __future__ import annotations

import os

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select, Static

from screens.runbook import RunbookScreen
from tui.runbooks.backup import DEFAULT_DIR, script_timeout, suggest_host


class BackupScreen(RunbookScreen):
    RUNBOOK = "backup"

    def compose_params(self) -> ComposeResult:
        with Horizontal(classes="params"):
            yield Label("host")
            yield Select([], id="backup-host", allow_blank=True, prompt="choose a host")
            yield Label("directory")
            yield Input(DEFAULT_DIR, id="backup-dir")
        with Horizontal(classes="params"):
            yield Label("fetch to")
            yield Input("", id="backup-fetch",
                        placeholder="optional: a local directory; BAK-6 copies the pair "
                                    "there")
        yield Static("", id="backup-timeout")

    def on_mount(self) -> None:
        # Textual calls RunbookScreen.on_mount too (after this one): no super() call
        self._fill_hosts()
        self._show_timeout()
        # the parameters first, in the order they read: host, then Tab to the directory and
        # to "fetch to"; the steps table and the log come after them
        self.query_one("#backup-host", Select).focus()

    def on_screen_resume(self) -> None:
        self._fill_hosts()
        self._show_timeout()

    def _fill_hosts(self) -> None:
        backend = self.app.backend
        if backend.inventory is None:
            return
        select = self.query_one("#backup-host", Select)
        hosts = [h.name for h in backend.inventory.control_plane]
        snap = self.app.snapshot
        suggested = suggest_host(snap) if snap else None
        labels = [(f"{h} (suggested: healthy, not the leader)" if h == suggested else h, h)
                  for h in hosts]
        current = select.value if isinstance(select.value, str) else None
        select.set_options(labels)
        if current in hosts:
            select.value = current
        elif suggested:
            select.value = suggested

    def params(self) -> dict:
        select = self.query_one("#backup-host", Select)
        host = select.value if isinstance(select.value, str) else None
        params = {"host": host, "backup_dir": self.query_one("#backup-dir", Input).value.strip()}
        fetch_to = self.query_one("#backup-fetch", Input).value.strip()
        if fetch_to:
            params["fetch_to"] = os.path.abspath(os.path.expanduser(fetch_to))
        return params

    def _show_timeout(self) -> None:
        """BAK-4's timeout and why: it grows with the chosen host's member's database."""
        if self.running or self.app.backend.inventory is None:
            return
        ctx = self._run_context(journal=None)
        text = script_timeout(ctx).why if ctx.params.get("host") else ""
        self.query_one("#backup-timeout", Static).update(text)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._show_timeout()
        self.refresh_plan()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refresh_plan()
