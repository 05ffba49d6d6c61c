"""The host strip: one box per host with its SSH state."""

from __future__ import annotations

from textual.containers import Horizontal

from tui.status.snapshot import HostView
from tui.widgets.steady import SteadyStatic

_STATE_CLASS = {
    "connected": "ok", "connecting": "pending", "disconnected": "pending",
    "sudo-denied": "warn", "unreachable": "bad", "auth-failed": "bad",
    "host-key-unknown": "warn", "host-key-mismatch": "bad",
}
_HINT = {
    "host-key-unknown": "press t to check and trust its key",
    "host-key-mismatch": "key changed: do not trust blindly",
    "auth-failed": "check ssh.identity_file / agent",
    "sudo-denied": "needs NOPASSWD sudo",
}


class HostBox(SteadyStatic):
    DEFAULT_CSS = """
    HostBox { width: 1fr; height: 3; border: round $panel; padding: 0 1; }
    HostBox.ok { border: round $success; }
    HostBox.pending { border: round $warning; }
    HostBox.warn { border: round $warning; }
    HostBox.bad { border: round $error; color: $error; }
    HostBox:focus { background: $boost; }
    """
    can_focus = True

    def __init__(self, host: HostView):
        super().__init__(id=f"host-{host.name}")
        self.host = host

    _age_text = ""

    def set_host(self, host: HostView, age_text: str) -> None:
        self.host = host
        self._age_text = age_text
        for cls in set(_STATE_CLASS.values()):
            self.set_class(_STATE_CLASS.get(host.state) == cls, cls)
        state = host.state + (" (retrying)" if host.reconnecting and host.state != "connected"
                              else "")
        hint = _HINT.get(host.state, "")
        self._titles()
        # a box is 3 rows high and shares the strip's width: its text never changes its size
        self.update(f"{state}" + (f" - {hint}" if hint else ""), layout=False)
        self.tooltip = (host.error or host.state) + f" ({host.address})"

    def on_resize(self) -> None:
        self._titles()

    def _titles(self) -> None:
        """"master-0 127.0.3.1" over "connected for 3m"; in a box too narrow for them the
        address and the state (the box says it) give way, rather than both being cut."""
        host = self.host
        room = max(0, self.outer_size.width - 6)  # "╭─ " and " ─╮" around a title
        title = f"{host.name} {host.address}"
        self.border_title = title if not room or len(title) <= room else host.name
        age = self._age_text
        if room and len(age) > room and " for " in age:
            age = "for " + age.split(" for ", 1)[1]
        self.border_subtitle = age


class HostStrip(Horizontal):
    DEFAULT_CSS = """
    HostStrip { height: 3; width: 100%; }
    """

    def set_hosts(self, hosts: list[HostView], now: float) -> None:
        for h in hosts:
            try:
                box = self.query_one(f"#host-{h.name}", HostBox)
            except Exception:
                box = HostBox(h)
                self.mount(box)
            box.set_host(h, f"{h.state} for {age_words(now - h.since)}")


def age_words(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"
