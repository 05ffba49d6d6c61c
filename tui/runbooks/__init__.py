"""Runbooks: the procedures of RUNBOOK.md as data, and the runner that executes them."""

from __future__ import annotations

from tui.runbooks.model import Runbook


def registry() -> dict[str, Runbook]:
    from tui.runbooks.backup import BACKUP
    from tui.runbooks.defrag import DEFRAG
    from tui.runbooks.encryption import ENCRYPTION_OFF, ENCRYPTION_ON
    from tui.runbooks.restore import QUORUM_RESTORE, RESTORE

    return {r.name: r for r in (BACKUP, ENCRYPTION_ON, ENCRYPTION_OFF, DEFRAG, RESTORE,
                                QUORUM_RESTORE)}


async def resolve_runbook(runbook: Runbook, ctx) -> Runbook:
    """The runbook to run: one whose steps depend on the cluster (`restore`: on its version)
    reads it here, through its `resolve(ctx)`; any other is itself."""
    resolve = getattr(runbook, "resolve", None)
    return await resolve(ctx) if resolve is not None else runbook
