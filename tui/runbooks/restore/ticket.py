"""The dry-run plan printed as a change ticket."""

from __future__ import annotations

import re

from tui.runbooks.context import RunContext
from tui.runbooks.model import Confirm, Step


# --- the printable plan -------------------------------------------------------------------

def print_ticket(runner, out) -> None:
    """The dry-run plan as a change ticket: title, path and why, preflight, then the steps."""
    ctx, runbook = runner.ctx, runner.runbook
    p = ctx.params
    w = lambda text="": print(text, file=out)  # noqa: E731
    w(f"CHANGE: {runbook.title}")
    w(f"Cluster: {ctx.inventory.cluster_name}" + (" (DRILL)" if ctx.inventory.drill else "")
      + f"; version {p.get('version') or 'unknown'} ({p.get('version_source') or '?'})")
    if runbook.name == "restore":
        why = next((i["detail"] for i in p.get("preflight") or [] if i["key"] == "path"),
                   p.get("path_reason") or "")
        w(f"Procedure: {p.get('path')}: {why}")
    w(f"Recovery host: {p.get('recovery_host')}")
    for c in p.get("candidates") or []:
        w(f"    candidate {c['host']}: {', '.join(c['reasons'])}")
    if p.get("lost_hosts"):
        w(f"Lost hosts (skipped by host steps, machines replaced): {', '.join(p['lost_hosts'])}")
        evidence = p.get("lost_evidence") or {}
        for host in p["lost_hosts"]:  # lost only on evidence (issue 12): say which
            w(f"    {host}: {evidence.get(host) or 'no evidence recorded'}")
    if runbook.name == "restore":
        w(f"Backup: {p.get('backup_dir')} on {p.get('recovery_host')}"
          + (f" (from {p['backup_source']})" if p.get("backup_source") else "")
          + (f", timestamp {p['backup_ts']}" if p.get("backup_ts") else ""))
    w("(dry run: nothing is sent)")
    w("Destructive host commands are sent under an attempt record: the host keeps each one's "
      "output and exit status in /var/lib/etcd-dr/attempts/, so a resumed run knows what "
      "this run did (README: \"Was it done?\").")
    w()
    w("Preflight:")
    for item in p.get("preflight") or []:
        mark = "ok  " if item["ok"] else ("FAIL" if item["blocking"] else "warn")
        blocks = "  <- blocks the run" + ("" if item.get("overridable", True) else
                                          " (cannot be overridden)") \
            if not item["ok"] and item["blocking"] else ""
        w(f"  [{mark}] {item['title']}: {item['detail']}{blocks}")
    if p.get("override"):
        w(f"  override (journaled): {p['override']}")
    w()
    w("Steps:")
    lost = set(p.get("lost_hosts") or [])
    for planned in runner.plan():
        step = planned.step
        acting = [h for h in planned.hosts if h not in lost]
        where = (", ".join(acting) or "none") if planned.hosts else step.targets.value
        if lost & set(planned.hosts):
            where += f"; lost, skipped: {', '.join(h for h in planned.hosts if h in lost)}"
        flags = [step.safety.value]
        if step.confirm != Confirm.NONE:
            flags.append(f"confirm: {step.confirm.value}")
        w(f"{step.id}  {step.title}  [{where}] ({'; '.join(flags)})")
        w(f"    {step.explain}")
        if planned.skip_reason:
            w(f"    SKIPPED: {planned.skip_reason}")
        if step.warning:
            w(f"    WARNING: {step.warning}")
        for host, command in _ticket_commands(ctx, step, acting):
            w(f"    {host}$ {command}")
        if planned.api:
            w(f"    API: {planned.api}")
        if step.wait:
            w(f"    waits: every {step.wait.interval:g}s, up to {step.wait.timeout:g}s")


_QUOTED_PLACEHOLDER = re.compile(r"'([^' ]*<[^']*>[^' ]*)'")


def _ticket_commands(ctx: RunContext, step: Step, hosts: list[str]) -> list[tuple[str, str]]:
    """Each command as the operator would type it (`sudo ...`), placeholders unquoted."""
    out = []
    if step.commands:
        for h in hosts:
            out += [(h, c) for c in ctx.commands_for(step, h)]
    if step.preview is not None:
        out += step.preview(ctx)
    return [(h, _QUOTED_PLACEHOLDER.sub(r"\1", c.display(ctx.use_sudo))) for h, c in out]
