"""A per-host log pane: what was sent to a host and what it answered, bounded in memory."""

from __future__ import annotations

from tui.fleet.fleet import FleetEventKind
from tui.fleet.output import key_state
from tui.widgets.redacted_log import RedactedLog, bounded

MAX_LINES = 2000
FLUSH_INTERVAL = 0.2


class HostLog(RedactedLog):
    """Lines arrive through `add`; they are flushed in batches so a flood cannot starve keys.
    Every line is redacted as it is written (RedactedLog): commands, output, errors."""

    DEFAULT_CSS = """
    HostLog { border: round $panel; height: 1fr; width: 1fr; }
    """

    def __init__(self, host: str, **kw):
        super().__init__(max_lines=MAX_LINES, id=f"log-{host}", **kw)
        self.host = host
        self.border_title = f"{host} - ssh"
        self._pending: list[str] = []

    # the screen calls flush() for all its panes from one timer (FLUSH_INTERVAL): 5 batches a
    # second still look live, and a flood costs one repaint per batch for every pane together
    # rather than one per chunk and pane

    def add(self, line: str) -> None:
        self.add_lines((line,))

    def add_lines(self, lines) -> None:
        # bounded as they arrive: a flood of long lines waiting for the next flush must not
        # hold more than MAX_LINES short lines' worth of memory
        self._pending.extend(bounded(lines))
        if len(self._pending) > MAX_LINES:  # older lines would scroll away unseen anyway
            dropped = self._pending[: len(self._pending) - MAX_LINES]
            del self._pending[: len(self._pending) - MAX_LINES]
            self._skip_unseen(dropped)

    def _skip_unseen(self, lines: list[str]) -> None:
        """Lines dropped unseen may open (or close) a private key block: the redactor must
        know, or the key's body lines that follow would be shown."""
        state: bool | None = None
        for line in lines:
            if "-----" in line:
                state = key_state(line, state)
        if state is not None:
            self._redactor.in_key = state

    def show_event(self, event) -> None:
        """A fleet event as this pane shows it: commands sent, their output (stderr marked
        "! "), SSH state changes and results (status polls are quiet: they never come here)."""
        match event.kind:
            case FleetEventKind.COMMAND:
                self.add(f"$ {event.text}")
            case FleetEventKind.OUTPUT:
                self.add_lines(event.lines if event.stream == "stdout"
                               else [f"! {line}" for line in event.lines])
            case FleetEventKind.STATE:
                self.add(f"-- ssh {event.text}")
            case FleetEventKind.RESULT | FleetEventKind.NOTE:
                self.add(f"-- {event.text}")

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            self.write_lines(lines)
