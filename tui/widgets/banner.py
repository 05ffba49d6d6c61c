"""The cluster banner: which cluster this is, and whether it is a drill. Never ambiguous."""

from __future__ import annotations

from tui.widgets.steady import SteadyStatic


class ClusterBanner(SteadyStatic):
    """A one-line banner: yellow DRILL stripes, or red REAL CLUSTER. Where the terminal is
    too narrow for the line it wraps: the verdict at its end (healthy, DEGRADED) is never
    cut off."""

    DEFAULT_CSS = """
    ClusterBanner { height: auto; width: 100%; text-style: bold; padding: 0 1; }
    ClusterBanner.drill { background: $warning; color: $background; }
    ClusterBanner.real { background: $error; color: $text; }
    """

    def show(self, *, name: str, version: str | None, drill: bool, read_only: bool,
             scenario: str | None = None, healthy: bool | None = None,
             speed: float | None = None) -> None:
        """`speed`: a drill's time factor (default: the app's backend's --speed); shown
        when the drill's clock runs faster or slower than real time."""
        self.set_class(drill, "drill")
        self.set_class(not drill, "real")
        parts = []
        if drill:
            # (a drill served by another process, opened from its inventory: its scenario
            # is not known here, and not guessed)
            where = f" // scenario {scenario}" if scenario else ""
            parts.append(f"DRILL // {name}{where} // simulated, not a real cluster")
            factor = speed if speed is not None else self._backend_speed()
            if factor is not None and factor != 1:
                parts.append(f"time x{factor:g}")
        else:
            parts.append(f"REAL CLUSTER {name}")
        if version:
            parts.append(f"OpenShift {version}")
        if read_only:
            parts.append("READ-ONLY")
        if healthy is not None:
            parts.append("healthy" if healthy else "DEGRADED")
        self.update(" | ".join(parts))

    def _backend_speed(self) -> float | None:
        try:
            spec = self.app.backend.spec
        except Exception:  # no app (a bare widget) or no backend: no factor to show
            return None
        return spec.speed if spec.is_drill else None
