"""Runbooks: the procedures of RUNBOOK.md as data, and the runner that executes them."""

from __future__ import annotations

from tui.runbooks.model import Runbook


def registry() -> dict[str, Runbook]:
    from tui.runbooks.backup import BACKUP
    from tui.runbooks.defrag import DEFRAG
    from tui.runbooks.encryption import ENCRYPTION_OFF, ENCRYPTION_ON

    return {r.name: r for r in (BACKUP, ENCRYPTION_ON, ENCRYPTION_OFF, DEFRAG)}
