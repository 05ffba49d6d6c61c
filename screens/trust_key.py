"""Trust a host's SSH key, after showing its fingerprint and asking for the host name."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from screens.dialogs import ALWAYS
from tui.widgets.footer import QuietFooter


class TrustKeyScreen(ModalScreen[bool]):
    # the name is typed in the field, which has the focus: q and ? are typed there too
    BINDINGS = [Binding("escape", "cancel", "Cancel"), *ALWAYS]

    def __init__(self, host: str, address: str, fingerprint: str, known_hosts: str):
        super().__init__()
        self.host, self.address, self.fingerprint = host, address, fingerprint
        self.known_hosts = known_hosts

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Host {self.host} ({self.address}) is not in {self.known_hosts}.")
            yield Static(f"It presents the key  {self.fingerprint}")
            yield Static("Compare it with the host's own fingerprint (ssh-keygen -lf "
                         "/etc/ssh/ssh_host_ed25519_key.pub on its console). If they match, "
                         f"type {self.host} and press Enter to add it to known_hosts. "
                         "Escape cancels.")
            yield Input(placeholder=self.host, id="confirm")
        yield QuietFooter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.host:
            self.dismiss(True)
        else:
            self.notify(f"Type {self.host} exactly to trust this key.", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(False)
