"""One restore plan, two front ends (issue #14 item 3).

What the console's restore wizard shows before its start (screens/restore.py) and what
`etcd-dr run restore|quorum-restore --dry-run` prints (the change ticket, ticket.py) are both
built here, by `restore_plan`, from the run's parameters once its preflight was applied
(`apply_report`): the procedure and why, the recovery host and its ranking, the lost hosts and
their evidence, the backup, and each step with the hosts it acts on, the lost hosts it skips,
its exact commands, why it is skipped, its warning and its waits. Both front ends render these
values with these words (`summary_lines`, `step_lines`), so they cannot drift apart;
tests/test_front_ends_agree.py holds them to it for every restore scenario of the drill.

The choices both front ends make from a preflight are here too: the recovery host the
ranking proposes (`best_recovery_host`) and the procedure the checks point at
(`suggest_procedure`: on 4.18+ without a usable backup, the quorum restore).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tui.runbooks.context import RunContext
from tui.runbooks.model import Runbook, Step
from tui.runbooks.plan_text import flags, step_lines, wait_text
from tui.runbooks.restore_checks import RestorePath, best_recovery_host  # noqa: F401 (shared)

QUORUM = "quorum"  # the procedure key of the quorum restore (QRS), beside the path keys


def suggest_procedure(procedure: str, path: RestorePath | None, source: str,
                      backup_ok: bool) -> tuple[str | None, str]:
    """(procedure key or None, why) the preflight's findings point at: the path the version
    calls for, or on 4.18+ without a usable backup the quorum restore; None when the version
    is unknown (the operator chooses). `procedure` is the report's ("restore" or
    "quorum-restore"); `path` the detected path for a restore, the report's path for QRS."""
    if procedure == "quorum-restore":
        return QUORUM, path.why if path else "chosen by the operator"
    if path is None:
        return None, (f"The cluster version is unknown ({source or 'no source'}): choose the "
                      f"procedure below.")
    if path.key == "4.18+" and not backup_ok:
        return QUORUM, (f"{path.why}. No usable backup was found: the quorum restore (QRS) "
                        f"restarts etcd from the member with the highest raft index; data "
                        f"only the lost members had is lost. Choose the RSTN restore if a "
                        f"backup should be used.")
    return path.key, path.why


@dataclass(frozen=True)
class PlanStep:
    id: str
    title: str
    phase: str  # the phase confirmed as one (tui/runbooks/restore/paths.py PHASES), or ""
    explain: str
    target: str  # what the step targets, in words (when it names no hosts)
    hosts: tuple[str, ...]  # the hosts it acts on (lost ones left out)
    lost: tuple[str, ...]  # hosts it would act on that are lost: skipped
    safety: str
    confirm: str  # Confirm's value, "none" when it asks nothing
    warning: str
    skip_reason: str | None
    commands: tuple[tuple[str, str], ...]  # (host, command as the operator would type it)
    api: str | None
    wait: str | None  # "every 15s, up to 1800s"
    names_hosts: bool = True  # False: a step that acts through the API or the console

    @property
    def where(self) -> str:
        where = (", ".join(self.hosts) or "none") if self.names_hosts else self.target
        if self.lost:
            where += f"; lost, skipped: {', '.join(self.lost)}"
        return where

    def lines(self) -> list[str]:
        """In the words of every plan step (plan_text.py); `where` names the lost hosts."""
        return step_lines(id=self.id, title=self.title, where=self.where,
                          flags=flags(self.safety, self.confirm), explain=self.explain,
                          skip_reason=self.skip_reason, warning=self.warning,
                          commands=self.commands, api=self.api, wait=self.wait)


@dataclass(frozen=True)
class RestorePlan:
    title: str
    runbook: str  # "restore" | "quorum-restore"
    cluster: str
    drill: bool
    version: str | None
    version_source: str
    procedure: str | None  # "4.12-4.13" | "4.14-4.17" | "4.18+" | "quorum"
    procedure_why: str
    recovery_host: str | None
    candidates: tuple[tuple[str, tuple[str, ...]], ...]  # (host, reasons), best first
    lost_hosts: tuple[str, ...]
    lost_evidence: dict[str, str] = field(default_factory=dict)
    backup: str | None = None  # "DIR on HOST (from SOURCE), timestamp TS"; None for QRS
    preflight: tuple[dict, ...] = ()
    override: str = ""
    steps: tuple[PlanStep, ...] = ()

    def step(self, step_id: str) -> PlanStep | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def summary_lines(self) -> list[str]:
        """The procedure and why, the recovery host and its ranking, the lost hosts and their
        evidence, the backup."""
        out = [f"Procedure: {self.procedure or 'unknown'}: {self.procedure_why}",
               f"Recovery host: {self.recovery_host}"]
        out += [f"    candidate {host}: {'; '.join(reasons)}"
                for host, reasons in self.candidates]
        if self.lost_hosts:
            out.append(f"Lost hosts (skipped by host steps, machines replaced): "
                       f"{', '.join(self.lost_hosts)}")
            # lost only on evidence (issue 12): say which
            out += [f"    {host}: {self.lost_evidence.get(host) or 'no evidence recorded'}"
                    for host in self.lost_hosts]
        if self.backup is not None:
            out.append(f"Backup: {self.backup}")
        return out

    def preflight_lines(self) -> list[str]:
        out = []
        for item in self.preflight:
            mark = "ok  " if item["ok"] else ("FAIL" if item["blocking"] else "warn")
            blocks = "  <- blocks the run" + ("" if item.get("overridable", True) else
                                              " (cannot be overridden)") \
                if not item["ok"] and item["blocking"] else ""
            out.append(f"  [{mark}] {item['title']}: {item['detail']}{blocks}")
        if self.override:
            out.append(f"  override (journaled): {self.override}")
        return out

    def step_lines(self) -> list[str]:
        return [line for step in self.steps for line in step.lines()]

    def ticket_lines(self) -> list[str]:
        """The dry run's change ticket."""
        return ([f"CHANGE: {self.title}",
                 f"Cluster: {self.cluster}" + (" (DRILL)" if self.drill else "")
                 + f"; version {self.version or 'unknown'} ({self.version_source or '?'})"]
                + self.summary_lines()
                + ["(dry run: nothing is sent)",
                   "Destructive host commands are sent under an attempt record: the host keeps "
                   "each one's output and exit status in /var/lib/etcd-dr/attempts/, so a "
                   "resumed run knows what this run did (README: \"Was it done?\").",
                   "", "Preflight:"] + self.preflight_lines()
                + ["", "Steps:"] + self.step_lines())


_QUOTED_PLACEHOLDER = re.compile(r"'([^' ]*<[^']*>[^' ]*)'")


def step_commands(ctx: RunContext, step: Step, hosts: list[str]) -> list[tuple[str, str]]:
    """Each command of a step as the operator would type it (`sudo ...`; what the host panes
    show as it is sent), placeholders such as `<machine of master-1>` unquoted."""
    out = []
    if step.commands:
        for h in hosts:
            out += [(h, c) for c in ctx.commands_for(step, h)]
    if step.preview is not None:
        out += step.preview(ctx)
    return [(h, _QUOTED_PLACEHOLDER.sub(r"\1", c.display(ctx.use_sudo))) for h, c in out]


def _backup_line(p: dict) -> str:
    source = p.get("backup_source") or ""
    directory = p.get("backup_dir") or ""
    host = p.get("recovery_host")
    # the wizard names the recovery host's own directory as the source when none is typed:
    # that is no copy, and no other backup than `run restore` without --backup-source reads
    same = source.partition(":")[0] == host and \
        source.partition(":")[2].rstrip("/") == directory.rstrip("/")
    return (f"{directory} on {host}" + (f" (from {source})" if source and not same else "")
            + (f", timestamp {p['backup_ts']}" if p.get("backup_ts") else ""))


def restore_plan(runbook: Runbook, ctx: RunContext) -> RestorePlan:
    """The plan of a restore runbook (restore_runbook(...) or QUORUM_RESTORE) for the run's
    parameters, as the console and `run --dry-run` show it. Raises what the steps' previews
    raise when a parameter they need is missing (KeyError, EtcdDrError)."""
    from tui.runbooks.runner import Runner, time_note

    p = ctx.params
    quorum = runbook.name == "quorum-restore"
    why = next((i["detail"] for i in p.get("preflight") or [] if i["key"] == "path"),
               p.get("path_reason") or "")
    lost = set(p.get("lost_hosts") or [])
    steps = []
    for planned in Runner(runbook, ctx).plan():
        step = planned.step
        acting = [h for h in planned.hosts if h not in lost]
        steps.append(PlanStep(
            id=step.id, title=step.title, phase=getattr(step, "phase", "") or "",
            explain=step.explain, target=step.targets.value, hosts=tuple(acting),
            lost=tuple(h for h in planned.hosts if h in lost), safety=step.safety.value,
            confirm=step.confirm.value, warning=step.warning or "",
            skip_reason=planned.skip_reason,
            commands=tuple(step_commands(ctx, step, acting)), api=planned.api,
            wait=wait_text(step.wait, time_note(ctx.time_scale)),
            names_hosts=bool(planned.hosts)))
    return RestorePlan(
        title=runbook.title, runbook=runbook.name, cluster=ctx.inventory.cluster_name,
        drill=bool(ctx.inventory.drill), version=p.get("version"),
        version_source=p.get("version_source") or "",
        procedure=QUORUM if quorum else p.get("path"), procedure_why=why,
        recovery_host=p.get("recovery_host"),
        candidates=tuple((c["host"], tuple(c["reasons"])) for c in p.get("candidates") or []),
        lost_hosts=tuple(p.get("lost_hosts") or []),
        lost_evidence={h: e for h, e in (p.get("lost_evidence") or {}).items()
                       if h in lost},
        backup=None if quorum else _backup_line(p),
        preflight=tuple(dict(i) for i in p.get("preflight") or []),
        override=p.get("override") or "", steps=tuple(steps))
