"""The encryption screen (ENC-ON, ENC-OFF): the current type and the three operators'
Encrypted conditions, live; turn encryption on (aescbc, or aesgcm) or off (identity)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Label, Select, Static

from screens.runbook import RunbookScreen
from tui.runbooks import registry


class EncryptionScreen(RunbookScreen):
    RUNBOOK = "encryption-on"
    BINDINGS = RunbookScreen.BINDINGS + [Binding("o", "toggle_direction", "On/off")]

    def compose_params(self) -> ComposeResult:
        yield Static("", id="encryption-state")
        with Horizontal(classes="params"):
            yield Label("turn encryption")
            yield Select([("on", "on"), ("off", "off")], id="direction", value="on",
                         allow_blank=False)
            yield Label("type")
            yield Select([("aescbc", "aescbc"), ("aesgcm", "aesgcm")], id="enc-type",
                         value="aescbc", allow_blank=False)

    def on_mount(self) -> None:
        # Textual calls RunbookScreen.on_mount too: no super() call
        self.set_interval(1.0, self._show_state)
        self._show_state()

    def params(self) -> dict:
        on = self.query_one("#direction", Select).value == "on"
        return {"encryption_type": self.query_one("#enc-type", Select).value if on
                else "identity"}

    def _choose_runbook(self) -> None:
        on = self.query_one("#direction", Select).value == "on"
        name = "encryption-on" if on else "encryption-off"
        if name != self.RUNBOOK and not self.running:
            self.RUNBOOK = name
            self.runbook = registry()[name]
            self._step_state = {s.id: "pending" for s in self.runbook.steps}
            self._step_detail = {}
            # a stopped run of the other direction is not resumed by this one's g
            self.finished = self.cancelled_before = self.journal_path = None
            table = self.query_one("#steps")
            table.clear()
            for step in self.runbook.steps:
                table.add_row(*self.step_cells(step), key=step.id)
            self.query_one("#runbook-title", Static).update(self.runbook.title)
        self.query_one("#enc-type", Select).disabled = not on
        self.refresh_plan()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._choose_runbook()

    def start_resume(self, path, state) -> None:
        """A resumed encryption-on or encryption-off run: its direction first."""
        if state.runbook != self.RUNBOOK:
            self.query_one("#direction", Select).value = \
                "off" if state.runbook.endswith("off") else "on"
            self._choose_runbook()
        super().start_resume(path, state)

    def action_toggle_direction(self) -> None:
        select = self.query_one("#direction", Select)
        select.value = "off" if select.value == "on" else "on"

    def _show_state(self) -> None:
        snap = self.app.snapshot
        widget = self.query_one("#encryption-state", Static)
        if snap is None:
            widget.update("waiting for the first status…")
            return
        api = snap.api
        if not api.reachable:
            widget.update(f"API unreachable: {api.error}. Encryption is switched through the "
                          f"API; this screen waits for it.")
            return
        lines = [f"current type: [b]{api.encryption_type}[/b]"]
        for op, c in api.encrypted.items():
            if c is None:
                lines.append(f"  {op}: no Encrypted condition")
            else:
                lines.append(f"  {op}: {c.status} {c.reason or ''} {c.message or ''}".rstrip())
        widget.update("\n".join(lines))
