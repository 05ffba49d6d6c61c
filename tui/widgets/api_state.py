"""The API's reachability as a box beside the host strip: during a restore the API goes away
and comes back, and the operator should see both moments without opening the status view."""

from __future__ import annotations

from tui.cluster.api import ApiSnapshot
from tui.widgets.host_strip import age_words
from tui.widgets.steady import SteadyStatic


class ApiStateBox(SteadyStatic):
    DEFAULT_CSS = """
    ApiStateBox { width: 1fr; height: 3; border: round $panel; padding: 0 1; }
    ApiStateBox.ok { border: round $success; }
    ApiStateBox.gone { border: round $error; color: $error; text-style: bold; }
    ApiStateBox.off { border: round $panel; color: $text-muted; }
    """

    def __init__(self, **kw):
        super().__init__("API: waiting for the first status", **kw)
        self.border_title = "cluster API"
        self.reachable: bool | None = None
        self.since: float | None = None  # when the current state began (app clock)
        self._text: str | None = None
        self._since_known = False

    def show(self, api: ApiSnapshot, now: float) -> str | None:
        """Show the API's state; returns a sentence when it changed (went away, came back),
        for the run's log."""
        change = None
        if self.reachable is None or api.reachable != self.reachable:
            if self.reachable is not None and api.configured:
                was = age_words(now - self.since) if self.since is not None else "?"
                change = (f"the API is back (it was away for {was})" if api.reachable
                          else f"the API went away: {api.error or 'no answer'}")
            # the first state seen may have begun long before: its age is a lower bound
            self._since_known = self.reachable is not None
            self.reachable = api.reachable
            self.since = now
        age = age_words(now - (self.since or now)) + ("" if self._since_known else "+")
        for cls in ("ok", "gone", "off"):
            self.set_class(False, cls)
        if not api.configured:
            self.add_class("off")
            text = "off: the inventory has no kubeconfig (API steps go over SSH)"
        elif api.reachable:
            self.add_class("ok")
            ready = sum(1 for n in api.nodes if n.ready)
            text = f"answers for {age}; {ready}/{len(api.nodes)} nodes Ready"
        else:
            self.add_class("gone")
            text = f"AWAY for {age}"
        self.border_subtitle = "" if api.reachable or not api.configured else \
            "oc via the recovery host"
        self.tooltip = (api.error or "unreachable") + (
            "" if api.reachable else "; while it is away, the restore's API steps run `oc` on "
                                     "the recovery host with its recovery kubeconfig (RST-18)")
        if text != self._text:
            self._text = text
            self.update(text)
        return change
