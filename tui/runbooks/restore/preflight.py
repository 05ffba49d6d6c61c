"""The preflight of every restore procedure: version and procedure, recovery host ranking,
lost hosts, the backup, and the report applied to the run's parameters.

Procedures as data: `preflight_report` gathers the facts once (preflight_facts), runs
PREFLIGHT_CHECKS over them in order (preflight_checks), and builds the report from both."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tui.runbooks.context import RunContext, RunEvent, RunEventKind
from tui.runbooks.restore_checks import BackupCheck, Candidate, RestorePath, check_backup_listing

from tui.runbooks.restore.common import DEFAULT_BACKUP_DIR
from tui.runbooks.restore.hosts import backup_source_param, backup_listing
from tui.runbooks.restore.preflight_checks import (FENCING_DOC, PREFLIGHT_CHECKS, PreflightItem,
                                                   run_checks)
from tui.runbooks.restore.preflight_facts import (CONFIRM_HINT, DUAL_REPLICA, INFRASTRUCTURE,
                                                  PCS, READING_NOTE, PreflightFacts,
                                                  api_lost_evidence, classify_hosts,
                                                  confirmed_lost, detect_fencing, gather_facts,
                                                  pick_version, read_manifest,
                                                  read_stopped_members)

__all__ = [
    "CONFIRM_HINT", "DUAL_REPLICA", "FENCING_DOC", "INFRASTRUCTURE", "PCS", "PREFLIGHT_CHECKS",
    "READING_NOTE", "PreflightFacts", "PreflightItem", "PreflightReport", "api_lost_evidence",
    "apply_report", "classify_hosts", "confirmed_lost", "detect_fencing", "detect_version",
    "gather_facts", "preflight_report", "read_stopped_members", "run_preflight",
]


# --- the preflight --------------------------------------------------------------------------

@dataclass
class PreflightReport:
    items: list[PreflightItem]
    path: RestorePath | None
    version: str | None
    version_source: str
    candidates: list[Candidate]
    procedure: str  # "restore" | "quorum-restore"
    recovery_host: str | None = None
    lost_hosts: list[str] = field(default_factory=list)
    keepalived_hosts: list[str] = field(default_factory=list)
    backup: BackupCheck | None = None
    manifest: dict | None = None
    api_reachable: bool = False
    lost_evidence: dict[str, str] = field(default_factory=dict)  # host -> why it is lost
    # hosts neither answering nor proven lost -> what is wrong and what the operator can do
    unproven: dict[str, str] = field(default_factory=dict)
    # seconds (real) until every unproven host would be proven lost by its refusals alone
    # (0: waiting does not help, or nothing to wait for)
    lost_wait: float = 0.0
    # the procedure the version calls for, whatever the operator chose instead (`path` is the
    # one the run follows): what a screen suggests, never the operator's own choice fed back
    detected_path: RestorePath | None = None
    # the cluster-wide proxy's variables RST-07 exports for the restore script (tui.runbooks.
    # checks.proxy_env; {"unknown": why} when the API cannot say): read here, so the plan the
    # wizard shows before its start and the dry run's both have it (issue #14 item 3)
    proxy: dict | None = None
    # each answering member's database file (host -> bytes): RST-04e's timeout scales with it
    db_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def blocking_failures(self) -> list[PreflightItem]:
        return [i for i in self.items if i.blocking and not i.ok]

    @property
    def green(self) -> bool:
        return not self.blocking_failures


async def detect_version(ctx: RunContext) -> tuple[str | None, str]:
    """The cluster's version and where it came from: the API's ClusterVersion when it
    answers, else the backup manifest, else the inventory's cluster.version, else (None, ...)
    (the operator chooses)."""
    snap = await ctx.api.snapshot() if ctx.api is not None else None
    host, directory = backup_source_param(ctx)
    # no recovery host chosen yet: the backup may be on any reachable control-plane host
    hosts = [host] if host is not None else [
        h.name for h in ctx.inventory.control_plane if ctx.fleet.status[h.name].state.usable]
    manifest = None
    for host in hosts:
        if manifest is not None:
            break
        if ctx.fleet.status.get(host) and ctx.fleet.status[host].state.usable:
            ok, listing = await backup_listing(ctx, host, directory)
            check = check_backup_listing(listing, directory) if ok else None
            manifest = await read_manifest(ctx, host, directory,
                                           check.timestamp if check and check.ok else None)
    return pick_version(ctx, snap, manifest)


async def preflight_report(ctx: RunContext, procedure: str | None = None) -> PreflightReport:
    """The restore's preflight (below); its time is the console's work, not the operator's
    (tui.pace: a drill's fair clock does not count it)."""
    with ctx.pace.working():
        return await _preflight_report(ctx, procedure)


async def _preflight_report(ctx: RunContext, procedure: str | None = None) -> PreflightReport:
    """Everything the restore starts from, checked before the API goes away. Reads only:
    the facts once, then each of PREFLIGHT_CHECKS over them, in order."""
    procedure = procedure or ctx.params.get("procedure") or "restore"
    # this module's clock, read when the API's evidence is dated (a test holds it still)
    facts = await gather_facts(ctx, procedure, now=lambda: datetime.now(timezone.utc))
    return PreflightReport(
        items=run_checks(facts), path=facts.path, detected_path=facts.detected_path,
        version=facts.version, version_source=facts.version_source,
        candidates=list(facts.candidates), procedure=procedure,
        recovery_host=facts.recovery_host, lost_hosts=facts.lost_hosts,
        keepalived_hosts=list(facts.keepalived_hosts), backup=facts.backup,
        manifest=facts.manifest, api_reachable=facts.api_reachable,
        lost_evidence={h: facts.lost_evidence[h] for h in facts.lost_hosts},
        unproven=facts.unproven, lost_wait=facts.lost_wait, proxy=facts.proxy,
        db_sizes=dict(facts.db_sizes))


def apply_report(ctx: RunContext, report: PreflightReport) -> None:
    """What the run keeps from its preflight (journaled with the plan, so a resume uses the
    same): the recovery host, lost hosts, keepalived hosts, path, version, the results."""
    p = ctx.params
    if not p.get("recovery_host") and report.recovery_host:
        p["recovery_host"] = report.recovery_host
        best = next((c for c in report.candidates if c.host == report.recovery_host), None)
        if not ctx.dry_run:
            ctx.operator.show(RunEvent(RunEventKind.NOTE,
                                       "-", f"recovery host: {report.recovery_host} "
                                       f"(the preflight's best candidate: "
                                       f"{'; '.join(best.reasons) if best else 'reachable'}; "
                                       f"choose another with --host)"))
    p["lost_hosts"] = list(report.lost_hosts)
    p["lost_evidence"] = {h: report.lost_evidence[h] for h in report.lost_hosts
                          if h in report.lost_evidence}
    p["keepalived_hosts"] = list(report.keepalived_hosts)
    if report.db_sizes:  # what RST-04e's move may copy; a resume keeps the first reading
        p.setdefault("db_sizes", dict(report.db_sizes))
    if not p.get("proxy") and report.proxy is not None:
        p["proxy"] = dict(report.proxy)  # RST-07 and the restore script's environment
    p.setdefault("backup_dir", DEFAULT_BACKUP_DIR)
    if report.path is not None and report.procedure == "restore":
        p.setdefault("path", report.path.key)
        p.setdefault("path_reason", report.path.why)
    elif report.procedure == "quorum-restore":
        p.setdefault("path", "4.18+")
    p["version"], p["version_source"] = report.version, report.version_source
    p["candidates"] = [{"host": c.host, "reasons": list(c.reasons)} for c in report.candidates]
    p["preflight"] = [i.to_json() for i in report.items]
    p.setdefault("redeploy_stamp", datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S"))
    if report.backup is not None and report.backup.ok:
        p["backup_ts"] = report.backup.timestamp


def _planned_as_lost(report: PreflightReport) -> PreflightReport:
    """For a dry run's ticket: hosts whose refusals will prove them lost by the time the run
    has waited (report.lost_wait) are planned as lost, and the ticket says so. The run itself
    decides again, after its wait."""
    from dataclasses import replace

    pending = {h: f"not proven yet ({why.split(';')[0]}); the run waits {report.lost_wait:.0f} "
                  f"s for that, then treats it as lost if it still refuses (or --lost HOST)"
               for h, why in report.unproven.items()}
    evidence = {**report.lost_evidence, **pending}
    lost = list(report.lost_hosts) + [h for h in pending if h not in report.lost_hosts]
    items = [i for i in report.items if i.key not in ("ssh", "lost")]
    items.insert(0, PreflightItem("lost", "Lost control-plane hosts (planned)", False,
                                  "; ".join(f"{h}: {evidence[h]}" for h in lost),
                                  blocking=False))
    return replace(report, items=items, lost_hosts=lost, lost_evidence=evidence)


def run_preflight(procedure: str, path_key: str | None = None):
    async def preflight(ctx: RunContext) -> list[str]:
        report = ctx.restore_report
        if report is None or report.procedure != procedure:
            report = await preflight_report(ctx, procedure)
        ctx.restore_report = None  # used once: a retry reads the cluster again
        others = [i for i in report.items if not i.ok and i.blocking and i.key != "ssh"
                  and not (i.overridable and ctx.params.get("override"))]
        if report.lost_wait > 0 and not ctx.dry_run and not others:
            # every host that does not answer refuses (or has no route) but not for long
            # enough to be lost, and nothing else blocks: wait until it would be, look again
            ctx.operator.show(RunEvent(RunEventKind.NOTE, "-", (
                f"waiting {report.lost_wait:.0f} s: " + "; ".join(
                    f"{h}: {why}" for h, why in report.unproven.items()))))
            await asyncio.sleep(report.lost_wait + 0.5)
            report = await preflight_report(ctx, procedure)
        elif report.lost_wait > 0 and not others:
            report = _planned_as_lost(report)  # a dry run: the plan of the run after its wait
        apply_report(ctx, report)
        if not ctx.params.get("proxy"):  # read by the preflight, applied by apply_report
            from tui.runbooks.checks import proxy_env

            ctx.params["proxy"] = report.proxy if report.proxy is not None else \
                await proxy_env(ctx) if report.api_reachable else \
                {"unknown": "the API is not reachable"}
        items = list(report.items)
        if path_key is not None and ctx.params.get("path") != path_key:
            items.append(PreflightItem("path", "Procedure", False,
                                       f"this runbook is the {path_key} procedure but the run "
                                       f"is for {ctx.params.get('path')}", overridable=False))
        if not ctx.dry_run:
            for item in items:
                mark = "ok  " if item.ok else ("FAIL" if item.blocking else "warn")
                ctx.operator.show(RunEvent(RunEventKind.NOTE,
                                           "-", f"preflight {mark} {item.title}: "
                                                         f"{item.detail}"))
        hard = [i for i in items if not i.ok and i.blocking and not i.overridable]
        soft = [i for i in items if not i.ok and i.blocking and i.overridable]
        if ctx.dry_run:
            # the ticket shows hosts not proven lost (the run itself will block on them)
            return [f"{i.title}: {i.detail}" for i in hard if i.key != "ssh"]
        if ctx.params.get("override"):
            return [f"{i.title}: {i.detail}" for i in hard]
        return [f"{i.title}: {i.detail}" for i in hard + soft]
    return preflight
