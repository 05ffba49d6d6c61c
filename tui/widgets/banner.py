"""The cluster banner: which cluster this is, and whether it is a drill. Never ambiguous."""

from __future__ import annotations

from textual.widgets import Static


class ClusterBanner(Static):
    """A one-line banner: yellow DRILL stripes, or red REAL CLUSTER."""

    DEFAULT_CSS = """
    ClusterBanner { height: 1; width: 100%; text-style: bold; padding: 0 1; }
    ClusterBanner.drill { background: $warning; color: $background; }
    ClusterBanner.real { background: $error; color: $text; }
    """

    def show(self, *, name: str, version: str | None, drill: bool, read_only: bool,
             scenario: str | None = None, healthy: bool | None = None) -> None:
        self.set_class(drill, "drill")
        self.set_class(not drill, "real")
        parts = []
        if drill:
            parts.append(f"DRILL // {name} // scenario {scenario or '?'} // simulated, not a real "
                         f"cluster")
        else:
            parts.append(f"REAL CLUSTER {name}")
        if version:
            parts.append(f"OpenShift {version}")
        if read_only:
            parts.append("READ-ONLY")
        if healthy is not None:
            parts.append("healthy" if healthy else "DEGRADED")
        self.update(" | ".join(parts))
