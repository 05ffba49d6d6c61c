"""The restore wizard's setup phase: which procedure and why, the preflight, the ranked
recovery hosts, the lost hosts, the backup directory and the start gate.

The phase renders what the screen (screens/restore.py) hands it (its SetupState,
screens/restore_state.py) and sends the operator's choices up as messages; the screen decides
what they mean (a re-check, a new plan, ...).
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Select, Static

from screens.restore_state import DEFAULT_BACKUP_DIR, QUORUM, SetupState
from tui.widgets.fit_table import FitTable
from tui.widgets.steady import SteadyStatic

PROCEDURES = [
    ("restore from a backup, 4.12-4.13 (RST as written)", "4.12-4.13"),
    ("restore from a backup, 4.14-4.17 (RST by release)", "4.14-4.17"),
    ("restore from a backup, 4.18+ (RSTN)", "4.18+"),
    ("quorum restore without a backup, 4.18+ (QRS)", QUORUM),
]


class SetupPhase(VerticalScroll):
    """The setup phase's fields and tables (id "setup"), showing the screen's SetupState
    (it reads it, never changes it)."""

    class ProcedureChosen(Message):
        """The procedure in the choice changed (None: none chosen)."""

        def __init__(self, procedure: str | None) -> None:
            super().__init__()
            self.procedure = procedure

    class ChoiceEdited(Message):
        """A typed field changed: `choice` is its id (path-reason, backup-dir,
        backup-source, confirm-lost, override)."""

        def __init__(self, choice: str) -> None:
            super().__init__()
            self.choice = choice

    class BackupSubmitted(Message):
        """Enter in the backup directory or its source: check that backup."""

    class RecoveryHostChosen(Message):
        """Enter on a row of the ranked recovery hosts."""

        def __init__(self, host: str) -> None:
            super().__init__()
            self.host = host

    class LostHostConfirmed(Message):
        """The operator's typed "HOST why it is gone", with Enter."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, state: SetupState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state

    def compose(self) -> ComposeResult:
        with Vertical(id="runbook-head"):
            yield Static("Restore to a previous cluster state", id="runbook-title")
        yield SteadyStatic("", id="path-why")
        with Horizontal(classes="params"):
            yield Label("procedure")
            yield Select(PROCEDURES, id="procedure", allow_blank=True,
                         prompt="choose the procedure")
        # its own row, right under the choice it explains: beside it, a narrow
        # terminal put it off the screen
        with Horizontal(classes="params", id="path-reason-row"):
            yield Label("why another")
            yield Input(placeholder="reason to use another procedure", id="path-reason")
        # DETAIL, then CHECK, wrap to what the terminal leaves
        yield FitTable(id="preflight", cursor_type="none", zebra_stripes=True,
                       flex=(-1, 1), min_width=24, max_lines=20)
        yield Static("recovery host (Enter on a row chooses it):", classes="caption")
        yield FitTable(id="candidates", cursor_type="row", zebra_stripes=True,
                       flex=(-1,))
        yield SteadyStatic("", id="lost-hosts")
        with Horizontal(classes="params"):
            yield Label("confirm lost")
            yield Input(placeholder="HOST and why it is gone for good, then Enter "
                                    "(journaled)", id="confirm-lost")
        with Horizontal(classes="params"):
            yield Label("backup directory")
            yield Input(DEFAULT_BACKUP_DIR, id="backup-dir")
            yield Label("copied from")
            yield Input(placeholder="HOST:DIR if elsewhere", id="backup-source")
        with Horizontal(classes="params"):
            yield Label("override")
            yield Input(placeholder="reason to start despite failed checks "
                                    "(journaled)", id="override")
        yield SteadyStatic("", id="start-gate")

    def on_mount(self) -> None:
        self.query_one("#preflight", DataTable).add_columns("", "CHECK", "BLOCKS", "DETAIL")
        self.query_one("#candidates", DataTable).add_columns("", "HOST", "WHY")
        self.query_one("#path-reason-row").display = False  # until another one is chosen

    # --- the operator's choices, as typed -------------------------------------------------

    @property
    def procedure(self) -> str | None:
        value = self.query_one("#procedure", Select).value
        return value if isinstance(value, str) else None

    def _typed(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    @property
    def path_reason(self) -> str:
        return self._typed("path-reason")

    @property
    def backup_dir(self) -> str:
        return self._typed("backup-dir")

    @property
    def backup_source(self) -> str:
        return self._typed("backup-source")

    @property
    def override(self) -> str:
        return self._typed("override")

    def suggest_procedure(self) -> None:
        """Choose the suggested procedure, unless the operator chose one."""
        select = self.query_one("#procedure", Select)
        if self.state.suggested and not isinstance(select.value, str):
            select.value = self.state.suggested  # the operator's own choice is kept

    def resume_choices(self, procedure: str | None, backup_dir: str, backup_source: str,
                        override: str) -> None:
        """The choices a resumed run was started with."""
        self.query_one("#procedure", Select).value = procedure
        self.query_one("#backup-dir", Input).value = backup_dir
        self.query_one("#backup-source", Input).value = backup_source
        self.query_one("#override", Input).value = override

    def clear_lost_host_confirmation(self) -> None:
        self.query_one("#confirm-lost", Input).value = ""

    # --- the setup's state, shown ---------------------------------------------------------

    def show_procedure(self) -> None:
        chosen, suggested, report = self.procedure, self.state.suggested, self.state.report
        why = escape(self.state.suggested_why or "checking which procedure applies…")
        if version := (report.version if report else None):
            why += (f"\n[dim](version {escape(version)} from "
                    f"{escape(report.version_source or '?')})[/dim]")
        another = bool(chosen and suggested and chosen != suggested)
        if another:
            why += (f"\n[yellow]You chose {escape(chosen)} instead of {escape(suggested)}: "
                    f"type why (journaled).[/yellow]")
        self.query_one("#path-why", Static).update(why)
        self.query_one("#path-reason-row").display = another

    def show_preflight(self) -> None:
        report = self.state.report
        table = self.query_one("#preflight", DataTable)
        table.clear()
        if report is None:
            table.add_row(Text("??", style="bold red"), "preflight", "yes",
                          self.state.preflight_error or "not run yet")
            return
        for item in report.items:
            mark = Text("ok", style="green") if item.ok else (
                Text("FAIL", style="bold red") if item.blocking else Text("warn", "yellow"))
            blocks = "no" if not item.blocking else (
                "yes" if item.overridable else "yes, always")
            # (markup=False: a detail is text, "[...]" in it is not a style)
            table.add_row(mark, item.title, blocks, Text(item.detail or ""))

    def show_candidates(self, ranked: list | None = None) -> None:
        """The ranked recovery hosts: `ranked`, the console's own ranking before a report;
        else the report's, when it has any."""
        candidates = self.state.candidates if ranked is None else ranked
        if ranked is None and not candidates:
            return
        table = self.query_one("#candidates", DataTable)
        table.clear()
        for i, c in enumerate(candidates):
            chosen = c.host == self.state.recovery_host
            mark = Text("chosen" if chosen else ("best" if i == 0 else ""),
                        style="bold green" if chosen else "dim")
            table.add_row(mark, c.host, "; ".join(c.reasons), key=c.host)

    def show_lost_hosts(self) -> None:
        lost_hosts, unproven = self.state.lost_hosts, self.state.unproven
        evidence = self.state.lost_evidence
        if lost_hosts:
            text = ("lost hosts (on evidence; host steps skip them, their machines are "
                    f"replaced): [b]{escape(', '.join(lost_hosts))}[/b]")
            for host in lost_hosts:
                if host in evidence:
                    text += f"\n  {escape(host)}: {escape(evidence[host])}"
        elif unproven:
            text = "lost hosts: none proven"
        else:
            text = "lost hosts: none (every control-plane host answers over SSH)"
        for host, why in unproven.items():
            text += (f"\n  [yellow]{escape(host)} is not proven lost[/yellow]: {escape(why)}")
        if unproven:
            text += ("\n  To confirm one lost, type its name and why in 'confirm lost' "
                     "(e.g. [i]master-1 powered off, disk failed[/i]) and press Enter.")
        self.query_one("#lost-hosts", Static).update(text)

    def show_gate(self, read_only: bool) -> None:
        gate = self.query_one("#start-gate", Static)
        blocked = self.state.start_blocked(read_only, self)
        checking = self.state.checking
        # a re-check keeps the last verdict on screen (it still gates the start), marked as
        # being checked again, rather than blanking it on every timer or typed reason
        again = " [yellow](checking again…)[/yellow]" if checking else ""
        if checking and self.state.report is None:
            gate.update("[yellow]checking…[/yellow]")
        elif blocked:
            gate.update(f"[red]Start blocked:[/red] {escape(blocked)}{again}")
        elif self.state.blocking_failures():
            gate.update("[yellow]Ready with an override (journaled): press g to start[/yellow]"
                        + again)
        else:
            gate.update("[green]Preflight green: press g to start; every mutating step asks "
                        "first[/green]" + again)

    # --- the operator's choices, sent up --------------------------------------------------

    @on(Select.Changed, "#procedure")
    def _procedure_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.ProcedureChosen(
            event.value if isinstance(event.value, str) else None))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.ChoiceEdited(event.input.id or ""))

    @on(Input.Submitted, "#backup-dir, #backup-source")
    def _backup_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.BackupSubmitted())

    @on(Input.Submitted, "#confirm-lost")
    def _lost_host_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.LostHostConfirmed(event.value))

    @on(DataTable.RowSelected, "#candidates")
    def _candidate_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.RecoveryHostChosen(event.row_key.value))
