"""The runbook catalog as a report uses it: step titles, which steps are waits, and the
runbook's title. A journal of a runbook this build does not know renders without them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# steps journaled inside another step's action, with no Step of their own in the catalog
SUB_TITLES = {"DEF-MAN-3": "Check the member's database shrank",
              "DEF-MAN-4": "Wait between members, then check the member answers"}


def step_catalog(runbooks: Iterable[str], params: dict) -> dict[str, Any]:
    """step ID -> Step of the runbooks the journal ran (empty when not in this build)."""
    out: dict[str, Any] = {}
    try:
        from tui.runbooks import registry

        reg = registry()
        for name in runbooks:
            if name == "restore":
                from tui.runbooks.restore import PATH_KEYS, restore_runbook

                chosen = params.get("path")
                keys = [chosen] if chosen in PATH_KEYS else list(PATH_KEYS)
                for key in keys:
                    for s in restore_runbook(key).steps:
                        out.setdefault(s.id, s)
            elif name in reg:
                for s in reg[name].steps:
                    out.setdefault(s.id, s)
                if name == "backup":  # `run backup --keep N` adds BAK-KEEP after BAK-6
                    from tui.runbooks.backup import KEEP

                    out.setdefault(KEEP.id, KEEP)
    except Exception:  # noqa: BLE001 - a report renders without titles rather than not at all
        return out
    return out


def runbook_title(runbooks: list[str], params: dict) -> str | None:
    if not runbooks:
        return None
    try:
        from tui.runbooks import registry

        name = runbooks[0]
        if name == "restore" and params.get("path"):
            from tui.runbooks.restore import restore_runbook

            return restore_runbook(params["path"]).title
        rb = registry().get(name)
        return rb.title if rb is not None else None
    except Exception:  # noqa: BLE001
        return None
