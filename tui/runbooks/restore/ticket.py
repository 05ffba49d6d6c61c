"""The dry-run plan printed as a change ticket."""

from __future__ import annotations

from tui.runbooks.restore.plan import restore_plan


# --- the printable plan -------------------------------------------------------------------

def print_ticket(runner, out):
    """The dry-run plan as a change ticket: title, procedure and why, recovery host, lost
    hosts, backup, preflight, then the steps. The plan is the one the console's restore
    wizard shows (tui/runbooks/restore/plan.py), in the same words; returned too."""
    plan = restore_plan(runner.runbook, runner.ctx)
    for line in plan.ticket_lines():
        print(line, file=out)
    return plan
