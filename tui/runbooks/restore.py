"""RST, RST by release, RSTN and QRS: restore etcd to a previous state, or from the member
with the most data when quorum is lost (RUNBOOK.md "RST", "RST by release", "RSTN", "QRS").

One runbook per procedure:
- `restore_runbook("4.12-4.13")`: RST-01..25 as the source document writes them;
- `restore_runbook("4.14-4.17")`: the same IDs with RST-04g (controller-manager and scheduler
  moved aside too) and OVN interconnect in RST-15; RST-13/14 do not apply;
- `restore_runbook("4.18+")`: RSTN-01..08 (disable-etcd.sh everywhere, cluster-restore.sh on
  the recovery host), plus RST-16 when hosts were lost;
- `QUORUM_RESTORE`: QRS-01..05 (quorum-restore.sh on the member with the highest raft index).
Each ends with RST-25, the aftercare, which also warns loudly when the quorum guard is off.

The API goes away during a restore: every API step goes through ClusterOps (REST when the
API answers, else `oc` on the recovery host with its recovery kubeconfig, RST-18).

Control-plane hosts that did not answer over SSH at the preflight are lost hosts: host steps
skip them (journaled) and RST-16 / QRS-04 replace their machines. Refusals by construction:
RST-04 never acts on the recovery host and RST-16 never deletes its machine (both checked
inside the step, not only by targeting); a second run of a restore script needs a typed
confirmation; a quorum guard left off at the end is a loud warning.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from tui.cluster.ops import (CSR_PATH, MACHINES_PATH, OPERATOR_RESOURCES, RECOVERY_KUBECONFIG,
                             ClusterOp, ClusterOps, OpResult, approve_csr_op, delete_machine_op,
                             delete_nodes_op, delete_pods_op, patch_operator_op)
from tui.errors import EtcdDrError, ReadOnlyRefused
from tui.fleet.commands import Command, Safety
from tui.journal import read_journal
from tui.runbooks.backup import ETCDCTL_BIN_DIR
from tui.runbooks.context import ConfirmRequest, RunContext, RunEvent
from tui.runbooks.model import CheckResult, Confirm, Runbook, Step, Targets, Wait
from tui.runbooks.restore_checks import (BackupCheck, Candidate, RestorePath,
                                         check_backup_listing, rank_recovery_hosts,
                                         restore_path)
from tui.runbooks.runner import Refused, StepRun
from tui.versions import openshift_minor

DEFAULT_BACKUP_DIR = "/home/core/assets/backup"
PATH_KEYS = ("4.12-4.13", "4.14-4.17", "4.18+")
RESTORE_SCRIPT = "/usr/local/bin/cluster-restore.sh"
DISABLE_SCRIPT = "/usr/local/bin/disable-etcd.sh"
QUORUM_SCRIPT = "/usr/local/bin/quorum-restore.sh"
MANIFESTS = "/etc/kubernetes/manifests"
KEEPALIVED = f"{MANIFESTS}/keepalived.yaml"
PKI_DIR = "/var/lib/kubelet/pki"
OVN_DB_DIR = {"4.12-4.13": "/var/lib/ovn/etc", "4.14-4.17": "/var/lib/ovn-ic/etc"}
OVN_NS = "openshift-ovn-kubernetes"
GUARD = "useUnsupportedUnsafeNonHANonProductionUnstableEtcd"
GUARD_OFF = {"spec": {"unsupportedConfigOverrides": {GUARD: True}}}
GUARD_ON = {"spec": {"unsupportedConfigOverrides": None}}
LOST_REASON = "lost: replaced in RST-16"
RERUN_PHRASE = "run the restore script again"
BOOTSTRAPPER = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
API = "API"  # the pseudo-host API operations are listed under in plans

# simulated-time budgets (a drill at --speed X waits X times less)
CONTAINER_STOP_TIMEOUT = 600.0
API_BACK_TIMEOUT = 1200.0
NODES_GRACE = 300.0
CSR_TIMEOUT = 1200.0
MACHINE_TIMEOUT = 3600.0
ROLLOUT_TIMEOUT = 3600.0
STABLE_TIMEOUT = 2700.0
POLL = 10.0


class Refusal(EtcdDrError):
    """The console refuses, by construction, something the procedure forbids."""


# --- what the run knows ---------------------------------------------------------------------

def recovery_host(ctx: RunContext) -> str:
    return ctx.params["recovery_host"]


def lost_hosts(ctx: RunContext) -> list[str]:
    return list(ctx.params.get("lost_hosts") or [])


def control_plane(ctx: RunContext) -> list[str]:
    return [h.name for h in ctx.inventory.control_plane]


def non_recovery_hosts(ctx: RunContext) -> list[str]:
    return [h for h in control_plane(ctx) if h != ctx.params.get("recovery_host")]


def _path(ctx: RunContext) -> str:
    return ctx.params.get("path") or "4.12-4.13"


def _ops(ctx: RunContext) -> ClusterOps:
    ops = ClusterOps.for_context(ctx)
    ops.rest_backoff = 10.0 / max(ctx.time_scale, 1e-6)
    return ops


def _priv(*argv: str, safety: Safety = Safety.READ, timeout: float = 30.0,
          env: tuple = ()) -> Command:
    return Command.of(*argv, privileged=True, safety=safety, timeout=timeout, env=env)


def _proxy_pairs(ctx: RunContext) -> tuple[tuple[str, str], ...]:
    proxy = ctx.params.get("proxy") or {}
    return tuple((k, v) for k, v in sorted(proxy.items()) if k != "unknown" and v)


def _stamp(ctx: RunContext) -> str:
    return ctx.params.get("redeploy_stamp") or datetime.now(timezone.utc).strftime(
        "%Y%m%d%H%M%S")


async def _probe(ctx: RunContext, host: str, command: Command):
    return await ctx.fleet.run_one(host, command, quiet=True)


async def _exists(ctx: RunContext, host: str, path: str) -> bool:
    r = await _probe(ctx, host, _priv("test", "-e", path, timeout=15))
    if r.exit_status not in (0, 1) or r.error:
        raise EtcdDrError(f"cannot look for {path} on {host}: "
                          f"{r.error or r.stderr.strip() or r.exit_status}")
    return r.exit_status == 0


def _guarded(action: Callable[[RunContext, StepRun], Awaitable[str]]):
    """A step's failure, said plainly: errors become a failed step (journaled, retry/skip/
    abort), never an exception out of the runner."""

    async def run(ctx: RunContext, step_run: StepRun) -> str:
        try:
            return await action(ctx, step_run)
        except ReadOnlyRefused:
            raise
        except Refusal as e:
            step_run.fail(f"REFUSED: {e.message}")
        except EtcdDrError as e:
            step_run.fail(e.message)
        raise AssertionError("unreachable")  # pragma: no cover

    run.__name__ = getattr(action, "__name__", "action")
    return run


def _skip_lost(run: StepRun, hosts: list[str], step_id: str | None = None) -> list[str]:
    """The hosts a host step acts on; lost ones are journaled as skipped (under "-", naming
    the step: a step-level `skipped` line would mark the whole step done for a resume)."""
    lost = set(lost_hosts(run.ctx))
    skipped = [h for h in hosts if h in lost]
    if skipped:
        sid = step_id or run.step.id
        run.journal("skipped", skipped, step_id="-", for_step=sid, reason=LOST_REASON)
        run.show("skip", f"{', '.join(skipped)}: skipped ({LOST_REASON})", skipped,
                 step_id=sid)
    return [h for h in hosts if h not in lost]


async def _send(run: StepRun, op: ClusterOp, step_id: str | None = None) -> OpResult:
    """One cluster operation, shown and journaled (as a command line) with its transport."""
    ctx, sid = run.ctx, step_id or run.step.id
    run.show("command", f"$ {op.oc}", step_id=sid)
    run.journal("started", [], step_id=sid, command=op.oc)
    try:
        result = await _ops(ctx).execute(op)
    except EtcdDrError as e:
        run.journal("failed", [], step_id=sid, command=op.oc, error=e.message)
        raise
    for line in result.output.strip().splitlines()[:50] if op.mutating else ():
        run.show("output", line, step_id=sid)
    run.journal("finished", [], step_id=sid, command=op.oc, exit_status=0,
                transport=result.transport,
                **({"facts": dict(ctx.facts)} if ctx.facts else {}))
    return result


def _keep_fact(run: StepRun, step_id: str | None = None, **facts) -> None:
    """Facts that must survive a console killed before the step ends (a command-style line:
    it does not mark the step done)."""
    run.ctx.facts.update(facts)
    run.journal("finished", [], step_id=step_id or run.step.id,
                command="# etcd-dr notes, before acting: " + ", ".join(sorted(facts)),
                exit_status=0, facts=dict(run.ctx.facts))


# --- reading the cluster --------------------------------------------------------------------

def _ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def _node_ip(node: dict) -> str | None:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a.get("address")
    return None


async def _nodes(ctx: RunContext) -> list[dict]:
    return (await _ops(ctx).get("/api/v1/nodes")).get("items") or []


def _node_map(ctx: RunContext, nodes: list[dict]) -> dict[str, str]:
    """inventory host -> Node name (same name, or the host's address as InternalIP)."""
    out = {}
    for h in ctx.inventory.hosts:
        for n in nodes:
            name = (n.get("metadata") or {}).get("name")
            if name == h.name or (_node_ip(n) and _node_ip(n) == h.address):
                out[h.name] = name
                break
    return out


def node_of(ctx: RunContext, host: str) -> str:
    return (ctx.facts.get("node_names") or {}).get(host, host)


async def learn_cluster(ctx: RunContext) -> dict:
    """What later steps decide on, read once the API answers (kept in facts, so a resumed
    run decides the same): nodes and workers, network type, platform, VIPs."""
    nodes = await _nodes(ctx)
    learned: dict[str, Any] = {
        "node_names": _node_map(ctx, nodes),
        "node_ips": {(n.get("metadata") or {}).get("name"): _node_ip(n) for n in nodes},
        "worker_nodes": sorted((n.get("metadata") or {}).get("name") for n in nodes
                               if "node-role.kubernetes.io/worker" in
                               ((n.get("metadata") or {}).get("labels") or {})
                               and "node-role.kubernetes.io/master" not in
                               ((n.get("metadata") or {}).get("labels") or {})
                               and "node-role.kubernetes.io/control-plane" not in
                               ((n.get("metadata") or {}).get("labels") or {})),
    }
    try:
        network = await _ops(ctx).get("/apis/config.openshift.io/v1/networks/cluster")
        learned["network_type"] = ((network.get("status") or {}).get("networkType")
                                   or (network.get("spec") or {}).get("networkType"))
    except EtcdDrError:
        pass
    try:
        infra = await _ops(ctx).get("/apis/config.openshift.io/v1/infrastructures/cluster")
        status = infra.get("status") or {}
        platform = (status.get("platformStatus") or {}).get("type") or status.get("platform")
        learned["platform"] = platform
        learned["topology"] = status.get("controlPlaneTopology")
        ps = (status.get("platformStatus") or {}).get((platform or "").lower()) or {}
        vips = list(ps.get("apiServerInternalIPs") or []) + list(ps.get("ingressIPs") or [])
        if vips and not ctx.params.get("vips"):
            learned["vips"] = vips
    except EtcdDrError:
        pass
    ctx.facts.update({k: v for k, v in learned.items() if v is not None})
    return learned


async def _wait_for_api(ctx: RunContext, run: StepRun, timeout: float = API_BACK_TIMEOUT,
                        step_id: str | None = None) -> str:
    """Until the API answers, over REST or `oc` on the recovery host; returns the transport."""
    waited, last = 0.0, ""
    while True:
        try:
            await _ops(ctx).get("/api/v1/nodes")
            return _ops(ctx).last_transport or "API"
        except EtcdDrError as e:
            last = e.message
        if waited >= timeout:
            run.fail(f"the API did not answer within {timeout:g}s: {last}")
        await run.wait(POLL, "the API to answer (REST, or oc on the recovery host)",
                       step_id=step_id)
        waited += POLL


def _vips(ctx: RunContext) -> list[str]:
    return list(ctx.params.get("vips") or ctx.facts.get("vips") or [])


# --- RST-01..03 / RSTN-01, -03: the recovery host, SSH, the backup --------------------------

async def _check_recovery_host(ctx: RunContext, _host) -> CheckResult:
    host = ctx.params.get("recovery_host")
    if host not in control_plane(ctx):
        return CheckResult(False, f"{host!r} is not a control-plane host")
    status = ctx.fleet.status[host]
    if not status.state.usable:
        return CheckResult(False, f"{host} is {status.state.value}")
    ranked = ctx.params.get("candidates") or []
    mine = next((c for c in ranked if c.get("host") == host), None)
    why = "; ".join(mine.get("reasons") or []) if mine else "reachable"
    best = ranked[0]["host"] if ranked else host
    note = "" if best == host else f" (the preflight ranked {best} first)"
    return CheckResult(True, f"recovery host {host}: {why}{note}")


async def _check_ssh(ctx: RunContext, host) -> CheckResult:
    if host in lost_hosts(ctx):
        return CheckResult(True, f"{host}: {LOST_REASON}")
    r = await _probe(ctx, host, _priv("true", timeout=15))
    if r.ok:
        return CheckResult(True, "SSH open with sudo -n on every reachable control-plane host")
    return CheckResult(False, r.error or r.stderr.strip() or f"exit status {r.exit_status}")


def _backup_source(ctx: RunContext) -> tuple[str | None, str]:
    """(host or None for this machine, directory) the backup comes from."""
    source = ctx.params.get("backup_source") or ""
    if not source:
        return ctx.params.get("recovery_host"), ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    host, sep, directory = source.partition(":")
    if sep and host in [h.name for h in ctx.inventory.hosts]:
        return host, directory
    return None, source


async def _listing(ctx: RunContext, host: str, directory: str) -> tuple[bool, str]:
    r = await _probe(ctx, host, _priv("ls", "-1", directory, timeout=15))
    if r.ok:
        return True, r.stdout
    return False, (r.error or r.stderr.strip() or f"exit status {r.exit_status}")


async def _check_backup_on_recovery(ctx: RunContext, host) -> CheckResult:
    host = host or recovery_host(ctx)
    directory = ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    ok, listing = await _listing(ctx, host, directory)
    if not ok:
        return CheckResult(False, f"cannot list {directory} on {host}: {listing}")
    check = check_backup_listing(listing, directory)
    if not check.ok:
        return CheckResult(False, "; ".join(check.problems))
    return CheckResult(True, f"{directory} on {host}: {check.snapshot} and "
                             f"{check.static_kuberesources}")


async def _copy_backup(ctx: RunContext, run: StepRun) -> str:
    source_host, source_dir = _backup_source(ctx)
    target, directory = recovery_host(ctx), ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    if source_host == target and source_dir.rstrip("/") == directory.rstrip("/"):
        return f"the backup is already in {directory} on {target}"
    if source_host is not None:
        run.fail(f"the backup is on {source_host}:{source_dir}; copy it to {target}:{directory} "
                 f"first (as the procedure does, e.g. `scp -3 core@{source_host}:{source_dir}/* "
                 f"core@{target}:{directory}/` after making the files readable), then retry")
    from tui.fleet.transfer import copy_dir_to_host

    run.show("note", f"copying {source_dir} (this machine) to {target}:{directory}", [target])
    result = await copy_dir_to_host(ctx.fleet, target, source_dir, directory)
    if not result.ok:
        run.fail(f"copy to {target}:{directory} failed: {result.error}")
    run.journal("finished", [target], command=f"(sftp) {source_dir} -> {target}:{directory}",
                exit_status=0, bytes=result.bytes)
    return f"copied {len(result.files)} file(s), {result.bytes} bytes, checksums verified"


def _copy_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    return [(ctx.params.get("recovery_host") or "?",
             Command.of("ls", "-1", ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR,
                        privileged=True))]


# --- RST-04: stop static pods and move data aside on the NON-recovery hosts -----------------

def _not_recovery(ctx: RunContext, host: str, what: str) -> None:
    if host == ctx.params.get("recovery_host"):
        raise Refusal(f"{what} never acts on the recovery host ({host}): the restore runs "
                      f"from its data", hint="This is a defect if you see it; nothing was sent")


def _stopped_check(name: str, exclude: str) -> Command:
    """`sudo crictl ps | grep NAME | egrep -v "EXCLUDE"` (empty = stopped)."""
    return Command.of("crictl", "ps", privileged=True, timeout=30).pipe(
        "grep", name).pipe("egrep", "-v", exclude)


def _rst04_manifests(ctx: RunContext) -> list[tuple[str, str, str, str]]:
    """(sub-step, manifest, container grep, exclusion) in the procedure's order."""
    out = [("RST-04a", f"{MANIFESTS}/etcd-pod.yaml", "etcd", "operator|etcd-guard"),
           ("RST-04c", f"{MANIFESTS}/kube-apiserver-pod.yaml", "kube-apiserver",
            "operator|guard")]
    if _path(ctx) == "4.14-4.17":
        out += [("RST-04g", f"{MANIFESTS}/kube-controller-manager-pod.yaml",
                 "kube-controller-manager", "operator|guard"),
                ("RST-04g", f"{MANIFESTS}/kube-scheduler-pod.yaml", "kube-scheduler",
                 "operator|guard")]
    return out


def rst04_commands(ctx: RunContext, host: str) -> list[tuple[str, Command]]:
    """RST-04's commands for one non-recovery host, as (sub-step ID, command). Refuses the
    recovery host whatever asked for it."""
    _not_recovery(ctx, host, "RST-04")
    out = []
    for sid, manifest, name, exclude in _rst04_manifests(ctx):
        out.append((sid, _priv("mv", "-v", manifest, "/tmp", safety=Safety.DESTRUCTIVE)))
        check_id = {"RST-04a": "RST-04b", "RST-04c": "RST-04d"}.get(sid, sid)
        out.append((check_id, _stopped_check(name, exclude)))
    out.append(("RST-04e", _priv("mv", "-v", "/var/lib/etcd/", "/tmp",
                                 safety=Safety.DESTRUCTIVE)))
    if host in (ctx.params.get("keepalived_hosts") or []):
        out.append(("RST-04f", _priv("mv", "-v", KEEPALIVED, "/tmp",
                                     safety=Safety.DESTRUCTIVE)))
        out.append(("RST-04f", Command.of("crictl", "ps", "--name", "keepalived",
                                          privileged=True)))
        out.append(("RST-04f", _vip_listing(ctx)))
    return out


def _vip_listing(ctx: RunContext) -> Command:
    vips = _vips(ctx)
    listing = Command.of("ip", "-o", "address")
    return listing.pipe("egrep", "|".join(re.escape(v) for v in vips)) if vips else listing


def _rst04_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    rec = ctx.params.get("recovery_host")
    return [(h, c) for h in non_recovery_hosts(ctx) if h not in lost_hosts(ctx) and h != rec
            for _, c in rst04_commands(ctx, h)]


async def _wait_stopped(run: StepRun, host: str, command: Command, what: str,
                        step_id: str) -> None:
    waited = 0.0
    while True:
        r = await run.ctx.fleet.run_one(host, command, quiet=True)
        if r.error:
            run.fail(f"{host}: cannot check {what}: {r.error}")
        if not r.stdout.strip():
            run.show("note", f"{what} stopped", [host], step_id=step_id)
            return
        if waited >= CONTAINER_STOP_TIMEOUT:
            run.fail(f"{host}: {what} still running after {CONTAINER_STOP_TIMEOUT:g}s: "
                     f"{r.stdout.strip().splitlines()[0]}")
        await run.wait(POLL, f"{what} to stop on {host}", [host], step_id=step_id)
        waited += POLL


async def _move_aside(run: StepRun, host: str, sid: str, command: Command, source: str) -> None:
    ctx = run.ctx
    if await _exists(ctx, host, source.rstrip("/")):
        r = await run.run(host, command, step_id=sid)
        if not r.ok:
            run.fail(f"{host}: {command.display()} failed: "
                     f"{(r.stderr.strip() or r.error or str(r.exit_status))}")
        return
    moved = "/tmp/" + source.rstrip("/").rsplit("/", 1)[-1]
    where = f"already in {moved}" if await _exists(ctx, host, moved) else "not there"
    run.show("already-done", f"{source}: {where}", [host], step_id=sid)


async def _stop_non_recovery(ctx: RunContext, run: StepRun) -> str:
    hosts = _skip_lost(run, non_recovery_hosts(ctx))
    done = []
    for host in hosts:
        for sid, command in rst04_commands(ctx, host):  # refuses the recovery host
            stage = command.stages[0]
            if stage[:2] == ("mv", "-v"):
                await _move_aside(run, host, sid, command, stage[2])
            elif stage[:2] == ("crictl", "ps") and len(command.stages) > 1:
                await _wait_stopped(run, host, command, f"{command.stages[1][1]} containers",
                                    sid)
            elif stage[:2] == ("crictl", "ps"):
                await _wait_stopped(run, host, Command.of(
                    "crictl", "ps", "--name", "keepalived", "-q", privileged=True),
                    "keepalived", sid)
            elif stage[0] == "ip":
                await _drop_vips(run, host)
        done.append(host)
    if not done:
        return "no reachable non-recovery control-plane host"
    return f"static pods stopped and /var/lib/etcd moved to /tmp on {', '.join(done)}"


async def _drop_vips(run: StepRun, host: str) -> None:
    ctx = run.ctx
    vips = _vips(ctx)
    if not vips:
        run.show("note", f"WARNING: the API/ingress VIPs are unknown (the API was down): "
                         f"check `ip -o address` on {host} and remove them by hand", [host],
                 step_id="RST-04f")
        return
    r = await run.run(host, _vip_listing(ctx), step_id="RST-04f")
    for line in r.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] in ("inet", "inet6"):
            device, address = fields[1], fields[3]
            d = await run.run(host, _priv("ip", "address", "del", address, "dev", device,
                                          safety=Safety.MUTATING), step_id="RST-04f")
            if not d.ok:
                run.fail(f"{host}: cannot remove VIP {address} from {device}: "
                         f"{d.stderr.strip() or d.error}")


# --- RST-06, RST-07 ---------------------------------------------------------------------------

def _skip_no_keepalived(ctx: RunContext) -> str | None:
    if ctx.params.get("recovery_host") in (ctx.params.get("keepalived_hosts") or []):
        return None
    return "no keepalived.yaml on the recovery host (no keepalived VIPs)"


async def _check_vip(ctx: RunContext, host) -> CheckResult:
    vips = _vips(ctx)
    if not vips:
        return CheckResult(False, "keepalived runs here but the API VIP is unknown (the API was "
                                  "down at the preflight): check `ip -o address` by hand")
    r = await _probe(ctx, host, Command.of("ip", "-o", "address").pipe("grep", vips[0]))
    if r.stdout.strip():
        return CheckResult(True, f"{host} holds the API VIP {vips[0]}")
    return CheckResult(False, f"{host} does not hold the API VIP {vips[0]} (missing or "
                              f"misconfigured keepalived)")


def _skip_no_proxy(ctx: RunContext) -> str | None:
    return None if _proxy_pairs(ctx) else "no cluster-wide proxy"


async def _check_proxy(ctx: RunContext, _host) -> CheckResult:
    names = [k for k, _ in _proxy_pairs(ctx)]
    return CheckResult(True, "exported for the restore script (sudo -E): " + ", ".join(names))


# --- RST-08 / RSTN-04 / QRS-03: the restore script, once ----------------------------------

@dataclass(frozen=True)
class ScriptSpec:
    path: str
    with_backup_dir: bool
    evidence: tuple[str, ...]  # argv of a probe that succeeds once the script has run


SCRIPTS = {
    "RST-08": ScriptSpec(RESTORE_SCRIPT, True, ("test", "-d", "/var/lib/etcd-backup/member")),
    "RSTN-04": ScriptSpec(RESTORE_SCRIPT, True, ("test", "-e", "/var/lib/etcd-backup/snapshot.db")),
    "QRS-03": ScriptSpec(QUORUM_SCRIPT, False, ("grep", "-q", "force-new-cluster",
                                                 f"{MANIFESTS}/etcd-pod.yaml")),
}


class RerunConfirm(ConfirmRequest):
    """A confirmation that --yes does not give in advance: it must be typed."""

    beyond_yes = True


def script_command(ctx: RunContext, step_id: str) -> Command:
    spec = SCRIPTS[step_id]
    args = (spec.path, ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR) \
        if spec.with_backup_dir else (spec.path,)
    return Command.of(*args, privileged=True, timeout=1800, env=_proxy_pairs(ctx),
                      safety=Safety.DESTRUCTIVE)


def script_history(ctx: RunContext, script: str) -> tuple[int, int]:
    """(times started, times completed with exit 0) of `script` in this run's journal."""
    if ctx.journal is None or not ctx.journal.path.exists():
        return 0, 0
    started = completed = 0
    for r in read_journal(ctx.journal.path):
        command = r.get("command") or ""
        if script not in command:
            continue
        if r["event"] == "started":
            started += 1
        elif r["event"] == "finished" and r.get("exit_status") == 0:
            completed += 1
    return started, completed


def _script_check(step_id: str):
    async def check(ctx: RunContext, host) -> CheckResult:
        spec = SCRIPTS[step_id]
        started, completed = script_history(ctx, spec.path)
        name = spec.path.rsplit("/", 1)[-1]
        if completed:
            return CheckResult(True, f"{name} completed on {recovery_host(ctx)} in this run")
        if started:
            r = await _probe(ctx, recovery_host(ctx), _priv(*spec.evidence, timeout=15))
            if r.exit_status == 0:
                return CheckResult(True, f"{name} was started in this run (journal) and its "
                                         f"result is on {recovery_host(ctx)}")
        return CheckResult(False, f"{name} has not completed in this run")
    return check


def _run_script(step_id: str):
    async def action(ctx: RunContext, run: StepRun) -> str:
        spec = SCRIPTS[step_id]
        host = recovery_host(ctx)
        started, _ = script_history(ctx, spec.path)
        if started:
            # the journal shows it ran (or was sent): a second run is the operator's typed call
            request = RerunConfirm(
                step=run.step, hosts=[host], kind=Confirm.TYPE_HOST, expected=RERUN_PHRASE,
                commands=[f"{host}: {script_command(ctx, step_id).redacted(ctx.use_sudo)}"],
                text=f"{step_id}: this journal shows {spec.path} already started {started} "
                     f"time(s) on {host}. Running it again restores the backup over what the "
                     f"first run did. Type '{RERUN_PHRASE}' to run it again.")
            if not await ctx.operator.confirm(request):
                run.fail(f"not run again: {spec.path} already ran in this journal and the "
                         f"second run was not confirmed")
            run.journal("confirmed", [host], kind="rerun", expected=RERUN_PHRASE)
        result = await run.run(host, script_command(ctx, step_id))
        if not result.ok:
            tail = (result.stderr.strip() or result.stdout.strip() or result.error or "")
            run.fail(f"{spec.path} failed on {host} (exit status {result.exit_status}): "
                     f"{tail.splitlines()[-1] if tail else 'no output'}")
        return f"{spec.path} completed on {host}"
    return _guarded(action)


def _script_preview(step_id: str):
    return lambda ctx: [(ctx.params.get("recovery_host") or "?", script_command(ctx, step_id))]


# --- RST-09..12: nodes, kubelet, CSRs, the single member ------------------------------------

def _pem_listing() -> Command:
    return Command.of("find", PKI_DIR, "-maxdepth", "1", "-name", "*.pem", privileged=True)


async def _clean_pems(run: StepRun, host: str) -> str:
    listing = await run.run(host, _pem_listing())
    if not listing.ok:
        run.fail(f"{host}: cannot list {PKI_DIR}: {listing.stderr.strip() or listing.error}")
    files = [f.strip() for f in listing.stdout.splitlines()
             if f.strip().startswith(PKI_DIR + "/") and f.strip().endswith(".pem")]
    if not files:
        return f"{host}: no PEM files left"
    r = await run.run(host, _priv("rm", "-f", *files, safety=Safety.DESTRUCTIVE))
    if not r.ok:
        run.fail(f"{host}: rm failed: {r.stderr.strip() or r.error}")
    return f"{host}: {len(files)} PEM file(s) removed"


async def _nodes_and_pems(ctx: RunContext, run: StepRun) -> str:
    transport = await _wait_for_api(ctx, run)
    await learn_cluster(ctx)
    lost = set(lost_hosts(ctx))
    lost_nodes = {node_of(ctx, h) for h in lost}
    waited, not_ready = 0.0, []
    while True:
        nodes = await _nodes(ctx)
        not_ready = [(n.get("metadata") or {}).get("name") for n in nodes if not _ready(n)
                     and (n.get("metadata") or {}).get("name") not in lost_nodes]
        if not not_ready or waited >= NODES_GRACE:
            break
        await run.wait(POLL, f"nodes Ready (NotReady: {', '.join(not_ready)})")
        waited += POLL
    if not not_ready:
        return f"the API answers ({transport}); every node is Ready"
    hosts_by_node = {node_of(ctx, h.name): h.name for h in ctx.inventory.hosts}
    notes, by_hand = [], []
    for node in not_ready:
        host = hosts_by_node.get(node)
        if host is None or not ctx.fleet.status[host].state.usable:
            by_hand.append(node)
            continue
        notes.append(await _clean_pems(run, host))
    ctx.facts["pem_cleaned"] = sorted(set(ctx.facts.get("pem_cleaned") or []) |
                                      {hosts_by_node[n] for n in not_ready
                                       if n in hosts_by_node})
    if by_hand:
        run.show("note", f"WARNING: NotReady nodes the console cannot reach over SSH: "
                         f"{', '.join(by_hand)}: delete their {PKI_DIR}/*.pem by hand")
    return (f"NotReady after {waited:g}s: {', '.join(not_ready)}; " + "; ".join(notes)
            + (f"; by hand: {', '.join(by_hand)}" if by_hand else ""))


def _pem_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    return [(API, Command.of("oc", "get", "nodes")),
            ("<each NotReady node>", _pem_listing()),
            ("<each NotReady node>", _priv("rm", "-f", f"<each {PKI_DIR}/*.pem listed>",
                                           safety=Safety.DESTRUCTIVE))]


def _kubelet_hosts(ctx: RunContext) -> list[str]:
    """Every control-plane host, the recovery host first; then any other host whose PEMs
    RST-09 removed (its kubelet bootstraps new certificates only when restarted)."""
    rec = ctx.params.get("recovery_host")
    cp = [rec] + [h for h in control_plane(ctx) if h != rec]
    return cp + [h for h in ctx.facts.get("pem_cleaned") or [] if h not in cp]


def _restart_kubelet() -> Command:
    return _priv("systemctl", "restart", "kubelet.service", safety=Safety.MUTATING, timeout=120)


async def _restart_kubelets(ctx: RunContext, run: StepRun) -> str:
    hosts = _skip_lost(run, _kubelet_hosts(ctx))
    for host in hosts:
        r = await run.run(host, _restart_kubelet())
        if not r.ok:
            run.fail(f"{host}: kubelet restart failed: {r.stderr.strip() or r.error}")
        active = await _probe(ctx, host, Command.of("systemctl", "is-active", "kubelet"))
        if active.stdout.strip() != "active":
            run.fail(f"{host}: kubelet is {active.stdout.strip() or 'not active'} after the "
                     f"restart")
    return f"kubelet restarted on {', '.join(hosts)} (the recovery host first)"


def _skip_no_workers(ctx: RunContext) -> str | None:
    if ctx.inventory.workers or ctx.facts.get("worker_nodes"):
        return None
    return ("no worker nodes (inventory roles and the API's nodes): no CSRs to approve, as "
            "the procedure says for clusters without workers")


def review_csr(csr: dict, known_nodes: set[str]) -> tuple[bool, str]:
    """(approve?, why) for one pending CSR: only node-bootstrapper client CSRs and kubelet-
    serving CSRs of known nodes are approved."""
    spec = csr.get("spec") or {}
    signer, user = spec.get("signerName"), spec.get("username") or ""
    if signer == CLIENT_SIGNER:
        if user == BOOTSTRAPPER:
            return True, "node-bootstrapper client CSR"
        return False, f"client CSR from {user or 'nobody'}, not the node-bootstrapper"
    if signer == SERVING_SIGNER:
        if user.startswith("system:node:"):
            node = user[len("system:node:"):]
            if node in known_nodes:
                return True, f"kubelet-serving CSR of known node {node}"
            return False, f"kubelet-serving CSR from unknown node {node}"
        return False, f"kubelet-serving CSR from {user or 'nobody'}, not a node"
    return False, f"signer {signer or 'none'} is not one the restore approves"


def _pending(csr: dict) -> bool:
    conditions = (csr.get("status") or {}).get("conditions") or []
    return not any(c.get("type") in ("Approved", "Denied", "Failed") for c in conditions)


async def _approve_csrs(ctx: RunContext, run: StepRun) -> str:
    lost_nodes = {node_of(ctx, h) for h in lost_hosts(ctx)}
    approved = list(ctx.facts.get("csr_approved") or [])
    refused: dict[str, str] = dict(ctx.facts.get("csr_refused") or {})
    waited = 0.0
    while True:
        nodes = await _nodes(ctx)
        known = {h.name for h in ctx.inventory.hosts} | {
            (n.get("metadata") or {}).get("name") for n in nodes}
        csrs = (await _ops(ctx).get(CSR_PATH)).get("items") or []
        for csr in csrs:
            name = (csr.get("metadata") or {}).get("name")
            if not _pending(csr) or name in refused or name in approved:
                continue
            ok, why = review_csr(csr, known)
            if ok:
                await _send(run, approve_csr_op(name))
                approved.append(name)
                ctx.facts["csr_approved"] = approved
                run.show("note", f"approved {name}: {why}")
            else:
                refused[name] = why
                ctx.facts["csr_refused"] = refused
                run.journal("skipped", [], step_id="-", for_step=run.step.id, csr=name,
                            reason=f"not approved: {why}")
                run.show("note", f"NOT approved {name}: {why} (review it by hand: oc describe "
                                 f"csr {name})")
        not_ready = [(n.get("metadata") or {}).get("name") for n in nodes if not _ready(n)
                     and (n.get("metadata") or {}).get("name") not in lost_nodes]
        if not not_ready:
            break
        if waited >= CSR_TIMEOUT:
            run.fail(f"nodes still NotReady after {CSR_TIMEOUT:g}s: {', '.join(not_ready)}"
                     + (f"; CSRs not approved: {', '.join(refused)}" if refused else ""))
        await run.wait(POLL, f"nodes Ready and new CSRs (NotReady: {', '.join(not_ready)})")
        waited += POLL
    text = f"approved {len(approved)} CSR(s)" + (f": {', '.join(approved)}" if approved else "")
    if refused:
        text += "; refused: " + "; ".join(f"{n} ({w})" for n, w in refused.items())
    return text + "; every node is Ready"


def _csr_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    return [(API, Command.of("oc", "get", "--raw", CSR_PATH)),
            (API, Command.of("oc", "adm", "certificate", "approve", "<each approvable CSR>"))]


def _etcd_listing() -> Command:
    return Command.of("crictl", "ps", privileged=True).pipe("grep", "etcd").pipe(
        "egrep", "-v", "operator|etcd-guard")


async def _etcd_pods(ctx: RunContext) -> list[dict]:
    return (await _ops(ctx).get("/api/v1/namespaces/openshift-etcd/pods",
                                {"labelSelector": "k8s-app=etcd"})).get("items") or []


def _pod_phase(pod: dict) -> tuple[str, str]:
    return (pod.get("spec") or {}).get("nodeName") or "", \
        (pod.get("status") or {}).get("phase") or "Unknown"


async def _check_single_member(ctx: RunContext, host) -> CheckResult:
    host = host or recovery_host(ctx)
    r = await _probe(ctx, host, _etcd_listing())
    if not r.stdout.strip():
        return CheckResult(False, f"no running etcd container on {host} yet")
    if "network_type" not in ctx.facts:
        await learn_cluster(ctx)
    pods = [_pod_phase(p) for p in await _etcd_pods(ctx)]
    rec_node = node_of(ctx, host)
    lost_nodes = {node_of(ctx, h) for h in lost_hosts(ctx)}
    # the lost hosts' mirror pods keep whatever status the snapshot had: not counted
    running = [n for n, phase in pods if phase == "Running" and n not in lost_nodes]
    others = [f"{n} {phase}" for n, phase in pods if n != rec_node and n not in lost_nodes]
    if running != [rec_node] or others:
        shown = ", ".join(f"{n or '?'} {phase}" for n, phase in pods) or "none"
        return CheckResult(False, f"etcd pods: {shown} (waiting for one Running pod on "
                                  f"{rec_node})")
    nodes = {(n.get("metadata") or {}).get("name"): _ready(n) for n in await _nodes(ctx)}
    if not nodes.get(rec_node):
        return CheckResult(False, f"node {rec_node} is not Ready yet")
    return CheckResult(True, f"one Running etcd pod, on {rec_node}; the etcd container runs")


# --- RST-13..15: OVN-Kubernetes ---------------------------------------------------------------

def _skip_not_ovn(ctx: RunContext) -> str | None:
    network = ctx.facts.get("network_type")
    if network and network != "OVNKubernetes":
        return f"the cluster network is {network}, not OVN-Kubernetes"
    return None


async def _ensure_network(ctx: RunContext, run: StepRun) -> bool:
    if "network_type" not in ctx.facts:
        await learn_cluster(ctx)
    network = ctx.facts.get("network_type")
    if network is None:
        run.fail("cannot read networks/cluster to tell whether the cluster runs OVN-Kubernetes")
    return network == "OVNKubernetes"


def _nodes_to_delete(ctx: RunContext) -> list[str]:
    return [node_of(ctx, h) for h in non_recovery_hosts(ctx)]


async def _delete_nodes(ctx: RunContext, run: StepRun) -> str:
    if not await _ensure_network(ctx, run):
        return f"not OVN-Kubernetes ({ctx.facts.get('network_type')}): nothing to do"
    names = _nodes_to_delete(ctx)
    ips = ctx.facts.get("node_ips") or {}
    _keep_fact(run, deleted_node_ips=sorted(
        {ips.get(n) for n in names if ips.get(n)} |
        {ctx.inventory.host(h).address for h in non_recovery_hosts(ctx)}))
    result = await _send(run, delete_nodes_op(names))
    ctx.facts["nodes_deleted"] = names
    return result.output.strip().replace("\n", "; ")


async def _check_nodes_deleted(ctx: RunContext, _host) -> CheckResult:
    present = {(n.get("metadata") or {}).get("name") for n in await _nodes(ctx)}
    left = [n for n in _nodes_to_delete(ctx) if n in present]
    if left and not ctx.facts.get("nodes_deleted"):
        return CheckResult(False, f"nodes still there: {', '.join(left)}")
    return CheckResult(True, "the non-recovery control-plane nodes were deleted")


async def _check_ovnkube_master_ips(ctx: RunContext, _host) -> CheckResult:
    ips = ctx.facts.get("deleted_node_ips") or [ctx.inventory.host(h).address
                                                for h in non_recovery_hosts(ctx)]
    ds = await _ops(ctx).get(f"/apis/apps/v1/namespaces/{OVN_NS}/daemonsets/ovnkube-master")
    text = json.dumps(ds)
    left = [ip for ip in ips if ip and ip in text]
    if left:
        return CheckResult(False, f"ds/ovnkube-master still lists {', '.join(left)}")
    return CheckResult(True, f"ds/ovnkube-master no longer lists {', '.join(ips)}")


async def _webhook_warning(ctx: RunContext, run: StepRun) -> list[str]:
    risky = []
    for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
        try:
            objs = await _ops(ctx).get(f"/apis/admissionregistration.k8s.io/v1/{kind}")
        except EtcdDrError:
            continue
        for obj in objs.get("items") or []:
            for hook in obj.get("webhooks") or []:
                rules = json.dumps(hook.get("rules") or [])
                if hook.get("failurePolicy") == "Fail" and ("pods" in rules or '"*"' in rules):
                    risky.append(f"{kind[:-14]} {(obj.get('metadata') or {}).get('name')}/"
                                 f"{hook.get('name')}")
    if risky:
        run.show("note", "WARNING: admission webhooks with failurePolicy Fail can keep the OVN "
                         "pods from coming back: " + ", ".join(risky) + " (set failurePolicy "
                         "Ignore or remove them for the duration, restore them afterwards)")
    return risky


async def _ovn_pods(ctx: RunContext, selector: str, node: str | None = None) -> list[dict]:
    query = {"labelSelector": selector}
    if node:
        query["fieldSelector"] = f"spec.nodeName={node}"
    return (await _ops(ctx).get(f"/api/v1/namespaces/{OVN_NS}/pods", query)).get("items") or []


async def _wait_pods_running(run: StepRun, selector: str, gone: set[str],
                             node: str | None = None, step_id: str | None = None,
                             at_least: int = 1) -> str:
    waited = 0.0
    while True:
        pods = await _ovn_pods(run.ctx, selector, node)
        fresh = [p for p in pods if (p.get("metadata") or {}).get("name") not in gone]
        phases = [(p.get("metadata") or {}).get("name") + " " + _pod_phase(p)[1] for p in fresh]
        if len(fresh) >= at_least and len(fresh) == len(pods) and \
                all(_pod_phase(p)[1] == "Running" for p in fresh):
            return ", ".join(phases)
        if waited >= ROLLOUT_TIMEOUT / 2:
            run.fail(f"{selector} pods{' on ' + node if node else ''} not Running after "
                     f"{waited:g}s: {', '.join(phases) or 'none'}")
        await run.wait(POLL, f"{selector} pods Running{' on ' + node if node else ''} "
                             f"({', '.join(phases) or 'none yet'})", step_id=step_id)
        waited += POLL


def _ovn_db_commands(ctx: RunContext) -> tuple[Command, Callable[[list[str]], Command]]:
    directory = OVN_DB_DIR["4.14-4.17" if _path(ctx) == "4.14-4.17" else "4.12-4.13"]
    listing = Command.of("find", directory, "-maxdepth", "1", "-name", "*.db", privileged=True)
    return listing, lambda files: _priv("rm", "-f", *files, safety=Safety.DESTRUCTIVE)


async def _remove_ovn_dbs(run: StepRun, host: str, step_id: str) -> str:
    listing, rm = _ovn_db_commands(run.ctx)
    r = await run.run(host, listing, step_id=step_id)
    files = [f.strip() for f in r.stdout.splitlines() if f.strip().endswith(".db")]
    if not r.ok and "No such file" not in r.stderr:
        run.fail(f"{host}: cannot list the OVN databases: {r.stderr.strip() or r.error}")
    if files:
        d = await run.run(host, rm(files), step_id=step_id)
        if not d.ok:
            run.fail(f"{host}: rm failed: {d.stderr.strip() or d.error}")
    return f"{host}: {len(files)} database file(s) removed"


def _ovn_hosts(ctx: RunContext) -> list[str]:
    """Recovery host first, the other control-plane hosts, then the inventory's workers."""
    rec = ctx.params.get("recovery_host")
    return [rec] + [h for h in control_plane(ctx) if h != rec] + \
        [h.name for h in ctx.inventory.workers]


async def _restart_ovn(ctx: RunContext, run: StepRun) -> str:
    if not await _ensure_network(ctx, run):
        return f"not OVN-Kubernetes ({ctx.facts.get('network_type')}): nothing to do"
    risky = await _webhook_warning(ctx, run)
    notes = []
    if _path(ctx) == "4.14-4.17":
        notes += await _restart_ovn_interconnect(ctx, run)
    else:
        hosts = _skip_lost(run, [h for h in _ovn_hosts(ctx) if h in control_plane(ctx)],
                           "RST-15a")
        for host in hosts:
            notes.append(await _remove_ovn_dbs(run, host, "RST-15a"))
        gone = {(p.get("metadata") or {}).get("name")
                for p in await _ovn_pods(ctx, "app=ovnkube-master")}
        await _send(run, delete_pods_op(OVN_NS, "app=ovnkube-master"), "RST-15b")
        notes.append("ovnkube-master: " + await _wait_pods_running(
            run, "app=ovnkube-master", gone, step_id="RST-15c"))
        gone = {(p.get("metadata") or {}).get("name")
                for p in await _ovn_pods(ctx, "app=ovnkube-node")}
        await _send(run, delete_pods_op(OVN_NS, "app=ovnkube-node"), "RST-15d")
        notes.append("ovnkube-node: " + await _wait_pods_running(
            run, "app=ovnkube-node", gone, step_id="RST-15e"))
    if risky:
        notes.append("webhooks with failurePolicy Fail: " + ", ".join(risky))
    return "; ".join(notes)


async def _restart_ovn_interconnect(ctx: RunContext, run: StepRun) -> list[str]:
    notes = []
    gone = {(p.get("metadata") or {}).get("name")
            for p in await _ovn_pods(ctx, "app=ovnkube-control-plane")}
    await _send(run, delete_pods_op(OVN_NS, "app=ovnkube-control-plane"))
    notes.append("ovnkube-control-plane: " + await _wait_pods_running(
        run, "app=ovnkube-control-plane", gone))
    hosts = _skip_lost(run, _ovn_hosts(ctx))
    for host in hosts:
        notes.append(await _remove_ovn_dbs(run, host, run.step.id))
        r = await run.run(host, _priv("systemctl", "restart", "ovs-vswitchd", "ovsdb-server",
                                      safety=Safety.MUTATING, timeout=120))
        if not r.ok:
            run.fail(f"{host}: restarting ovs-vswitchd and ovsdb-server failed: "
                     f"{r.stderr.strip() or r.error}")
        node = node_of(ctx, host)
        gone = {(p.get("metadata") or {}).get("name")
                for p in await _ovn_pods(ctx, "app=ovnkube-node", node)}
        await _send(run, delete_pods_op(OVN_NS, "app=ovnkube-node", node))
        notes.append(f"{node}: " + await _wait_pods_running(run, "app=ovnkube-node", gone,
                                                           node))
    inventory_nodes = {node_of(ctx, h.name) for h in ctx.inventory.hosts}
    by_hand = [n for n in ctx.facts.get("worker_nodes") or [] if n not in inventory_nodes]
    if by_hand:
        run.fail("RST-15 done on every inventory host, but these workers are not in the "
                 f"inventory: {', '.join(by_hand)}: do it there by hand (rm -f "
                 f"/var/lib/ovn-ic/etc/*.db, restart ovs-vswitchd ovsdb-server, delete its "
                 f"ovnkube-node pod), then skip this step with that reason")
    return notes


def _ovn_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    listing, rm = _ovn_db_commands(ctx)
    directory = listing.stages[0][1]
    out: list[tuple[str, Command]] = []
    hosts = [h for h in _ovn_hosts(ctx) if h not in lost_hosts(ctx)]
    if _path(ctx) == "4.14-4.17":
        out.append((API, Command.of("oc", *delete_pods_op(OVN_NS,
                                                          "app=ovnkube-control-plane").oc_args)))
        for h in hosts:
            out += [(h, listing), (h, rm([f"<each {directory}/*.db listed>"])),
                    (h, _priv("systemctl", "restart", "ovs-vswitchd", "ovsdb-server")),
                    (API, Command.of("oc", *delete_pods_op(OVN_NS, "app=ovnkube-node",
                                                           node_of(ctx, h)).oc_args))]
        return out
    for h in hosts:
        if h in control_plane(ctx):
            out += [(h, listing), (h, rm([f"<each {directory}/*.db listed>"]))]
    out.append((API, Command.of("oc", *delete_pods_op(OVN_NS, "app=ovnkube-master").oc_args)))
    out.append((API, Command.of("oc", *delete_pods_op(OVN_NS, "app=ovnkube-node").oc_args)))
    return out


# --- RST-16 / QRS-04: replace the machines of the other control-plane hosts ------------------

def _machine_role(m: dict) -> str:
    labels = (m.get("metadata") or {}).get("labels") or {}
    return labels.get("machine.openshift.io/cluster-api-machine-role") or \
        labels.get("machine.openshift.io/cluster-api-machine-type") or ""


def _machine_matches(ctx: RunContext, m: dict, host: str) -> bool:
    status = m.get("status") or {}
    node = (status.get("nodeRef") or {}).get("name")
    h = ctx.inventory.host(host)
    addresses = {a.get("address") for a in status.get("addresses") or []}
    name = (m.get("metadata") or {}).get("name") or ""
    return node in (node_of(ctx, host), host) or h.address in addresses or \
        host in addresses or name == host or name.endswith("-" + host)


def _machine_phase(m: dict) -> str:
    if (m.get("metadata") or {}).get("deletionTimestamp"):
        return "Deleting"
    return (m.get("status") or {}).get("phase") or "Unknown"


def assert_not_recovery_machine(ctx: RunContext, machine: dict, host: str) -> None:
    """RST-16: the recovery host's machine is never deleted, whichever host asked."""
    rec = ctx.params.get("recovery_host")
    if host == rec or (rec and _machine_matches(ctx, machine, rec)):
        name = (machine.get("metadata") or {}).get("name")
        raise Refusal(f"machine {name} belongs to the recovery host {rec}: RST-16 never deletes "
                      f"it", hint="Nothing was deleted")


async def _machines(ctx: RunContext) -> list[dict]:
    return (await _ops(ctx).get(MACHINES_PATH)).get("items") or []


async def _replace_one(ctx: RunContext, run: StepRun, host: str) -> str:
    _not_recovery(ctx, host, f"{run.step.id} (machine replacement)")
    record = (ctx.facts.get("replaced") or {}).get(host)
    machines = await _machines(ctx)
    names = {(m.get("metadata") or {}).get("name") for m in machines}
    if record is None:
        old = next((m for m in machines if _machine_matches(ctx, m, host)), None)
        if old is None:
            platform = ctx.facts.get("platform") or "unknown"
            run.fail(f"no Machine for {host} in {MACHINES_PATH.rsplit('/', 1)[0]} (platform "
                     f"{platform}): on user-provisioned or installer-provisioned bare metal "
                     f"the machine is not recreated: recreate the host the way it was created "
                     f"(see 'replacing a bare-metal control plane node'), then skip this step "
                     f"with that reason")
        assert_not_recovery_machine(ctx, old, host)
        old_name = old["metadata"]["name"]
        record = {"old": old_name, "before": sorted(n for n in names if n)}
        replaced = dict(ctx.facts.get("replaced") or {})
        replaced[host] = record
        _keep_fact(run, replaced=replaced)
        await _send(run, delete_machine_op(old_name))
    elif record["old"] in names:
        old = next(m for m in machines if (m.get("metadata") or {}).get("name") == record["old"])
        assert_not_recovery_machine(ctx, old, host)
        if _machine_phase(old) != "Deleting":
            await _send(run, delete_machine_op(record["old"]))
    waited = 0.0
    while True:
        machines = await _machines(ctx)
        new = [m for m in machines if (m.get("metadata") or {}).get("name") not in
               record["before"] and _machine_role(m) in ("master", "")]
        phases = ", ".join(f"{(m.get('metadata') or {}).get('name')} {_machine_phase(m)}"
                           for m in new) or "no new machine yet"
        running = [m for m in new if _machine_phase(m) == "Running"]
        if running:
            name = running[0]["metadata"]["name"]
            replaced = dict(ctx.facts.get("replaced") or {})
            replaced[host] = {**record, "new": name}
            ctx.facts["replaced"] = replaced
            return f"{host}: machine {record['old']} replaced by {name} (Running)"
        if waited >= MACHINE_TIMEOUT:
            run.fail(f"{host}: the replacement of machine {record['old']} is not Running after "
                     f"{waited:g}s ({phases})")
        await run.wait(POLL * 3, f"the replacement of {record['old']}: {phases}", [host])
        waited += POLL * 3


def _machine_hosts(ctx: RunContext, step_id: str) -> list[str]:
    if step_id == "RST-16" and _path(ctx) in ("4.12-4.13", "4.14-4.17"):
        return non_recovery_hosts(ctx)  # the procedure recreates every other one
    return [h for h in lost_hosts(ctx) if h != ctx.params.get("recovery_host")]


async def _replace_machines(ctx: RunContext, run: StepRun) -> str:
    await _wait_for_api(ctx, run)
    if "network_type" not in ctx.facts:
        await learn_cluster(ctx)
    done = []
    for host in _machine_hosts(ctx, run.step.id):  # one at a time
        done.append(await _replace_one(ctx, run, host))
    return "; ".join(done) or "no machine to replace"


def _machine_step_check(step_id: str):
    async def check(ctx: RunContext, host) -> CheckResult:
        hosts = _machine_hosts(ctx, step_id)
        replaced = ctx.facts.get("replaced") or {}
        missing = [h for h in hosts if not (replaced.get(h) or {}).get("new")]
        if missing:
            return CheckResult(False, f"not replaced yet: {', '.join(missing)}")
        return CheckResult(True, "replaced: " + (", ".join(
            f"{h} -> {replaced[h]['new']}" for h in hosts) or "none needed"))
    return check


def _machine_preview(step_id: str):
    def preview(ctx: RunContext) -> list[tuple[str, Command]]:
        out = [(API, Command.of("oc", "get", "machines", "-n", "openshift-machine-api", "-o",
                                "wide"))]
        for h in _machine_hosts(ctx, step_id):
            out.append((API, Command.of("oc", *delete_machine_op(f"<machine of {h}>").oc_args)))
        return out
    return preview


def _skip_no_machines(step_id: str):
    def skip(ctx: RunContext) -> str | None:
        if _machine_hosts(ctx, step_id):
            return None
        return "no control-plane host was lost"
    return skip


# --- the quorum guard and forced rollouts -------------------------------------------------

ETCD_PATH = "/apis/operator.openshift.io/v1/etcds/cluster"


def _operator_path(resource: str) -> str:
    return f"/apis/operator.openshift.io/v1/{OPERATOR_RESOURCES[resource]}/cluster"


async def _guard_off_now(ctx: RunContext) -> bool:
    etcd = await _ops(ctx).get(ETCD_PATH)
    overrides = (etcd.get("spec") or {}).get("unsupportedConfigOverrides") or {}
    return bool(isinstance(overrides, dict) and overrides.get(GUARD))


async def _check_guard_off(ctx: RunContext, _host) -> CheckResult:
    if await _guard_off_now(ctx):
        return CheckResult(True, "the quorum guard is off (unsupportedConfigOverrides set)")
    return CheckResult(False, "the quorum guard is on")


async def _check_guard_on(ctx: RunContext, _host) -> CheckResult:
    etcd = await _ops(ctx).get(ETCD_PATH)
    if (etcd.get("spec") or {}).get("unsupportedConfigOverrides"):
        return CheckResult(False, "unsupportedConfigOverrides is still in etcd/cluster")
    return CheckResult(True, "unsupportedConfigOverrides is gone from etcd/cluster: the quorum "
                             "guard is on")


def _patch_action(resource: str, patch: Callable[[RunContext], dict], wait_api: bool = False,
                  learn: bool = False):
    async def action(ctx: RunContext, run: StepRun) -> str:
        if wait_api:
            await _wait_for_api(ctx, run)
        if learn and "network_type" not in ctx.facts:
            await learn_cluster(ctx)
        result = await _send(run, patch_operator_op(resource, patch(ctx)))
        if patch(ctx) == GUARD_OFF:
            _keep_fact(run, guard_off=True)
        elif patch(ctx) == GUARD_ON:
            _keep_fact(run, guard_off=False)
        return f"{result.output.strip()} (via {result.transport})"
    return _guarded(action)


def _patch_preview(resource: str, patch: Callable[[RunContext], dict]):
    return lambda ctx: [(API, Command.of("oc", *patch_operator_op(resource, patch(ctx)).oc_args))]


def _redeploy_patch(resource: str):
    return lambda ctx: {"spec": {"forceRedeploymentReason": f"recovery-{_stamp(ctx)}"
                                 + ("" if resource == "etcd" else f"-{resource}")}}


_AT_REVISION = re.compile(r"(\d+) nodes? (?:are|is) at revision (\d+)")


def _rollout_state(obj: dict) -> tuple[bool, int | None, str]:
    """(all nodes at the latest revision?, latest revision, the condition's message)."""
    status = obj.get("status") or {}
    cond = next((c for c in status.get("conditions") or []
                 if c.get("type") == "NodeInstallerProgressing"), None)
    message = (cond or {}).get("message") or ""
    revisions = [int(r) for _, r in _AT_REVISION.findall(message)]
    latest = status.get("latestAvailableRevision")
    latest = int(latest) if isinstance(latest, int) or str(latest or "").isdigit() else \
        (max(revisions) if revisions else None)
    settled = bool(cond) and cond.get("status") == "False" and \
        cond.get("reason") == "AllNodesAtLatestRevision" and len(set(revisions)) <= 1
    node_revs = [n.get("currentRevision") for n in status.get("nodeStatuses") or []]
    if settled and latest is not None and node_revs and any(r != latest for r in node_revs):
        settled = False
    return settled, latest, message


async def _rollout_done(ctx: RunContext, resource: str, before_key: str) -> CheckResult:
    obj = await _ops(ctx).get(_operator_path(resource))
    settled, latest, message = _rollout_state(obj)
    before = (ctx.facts.get("revisions_before") or {}).get(before_key)
    if settled and (before is None or latest is None or latest > before):
        return CheckResult(True, f"{resource}: {message or 'AllNodesAtLatestRevision'}")
    if settled:
        return CheckResult(False, f"{resource}: the new revision has not started yet ({message})")
    return CheckResult(False, f"{resource}: rolling out ({message or 'no condition yet'})")


async def _force_redeploy(ctx: RunContext, run: StepRun, resource: str, key: str,
                          step_id: str | None = None) -> None:
    """Record the revision before, then patch a unique forceRedeploymentReason (once)."""
    reason = _redeploy_patch(resource)(ctx)["spec"]["forceRedeploymentReason"]
    obj = await _ops(ctx).get(_operator_path(resource))
    if (obj.get("spec") or {}).get("forceRedeploymentReason") == reason:
        return  # sent before the console stopped: do not start yet another rollout
    _, latest, _ = _rollout_state(obj)
    revisions = dict(ctx.facts.get("revisions_before") or {})
    revisions[key] = latest
    _keep_fact(run, step_id=step_id, revisions_before=revisions)
    await _send(run, patch_operator_op(resource, _redeploy_patch(resource)(ctx)), step_id)


async def _check_redeploy_sent(ctx: RunContext, _host) -> CheckResult:
    reason = _redeploy_patch("etcd")(ctx)["spec"]["forceRedeploymentReason"]
    etcd = await _ops(ctx).get(ETCD_PATH)
    if (etcd.get("spec") or {}).get("forceRedeploymentReason") == reason:
        return CheckResult(True, f"etcd forceRedeploymentReason is {reason}")
    return CheckResult(False, f"etcd forceRedeploymentReason is not {reason} yet")


async def _redeploy_etcd(ctx: RunContext, run: StepRun) -> str:
    await _force_redeploy(ctx, run, "etcd", "etcd")
    return f"etcd redeployment forced ({_redeploy_patch('etcd')(ctx)['spec']})"


async def _check_etcd_rolled_out(ctx: RunContext, _host) -> CheckResult:
    return await _rollout_done(ctx, "etcd", "etcd")


ROLLOUT_ORDER = ("kubeapiserver", "kubecontrollermanager", "kubescheduler")


async def _redeploy_control_plane(ctx: RunContext, run: StepRun) -> str:
    done = []
    for resource in ROLLOUT_ORDER:
        await _force_redeploy(ctx, run, resource, resource)
        waited = 0.0
        while True:
            verdict = await _rollout_done(ctx, resource, resource)
            if verdict.ok:
                done.append(verdict.detail)
                break
            if waited >= ROLLOUT_TIMEOUT:
                run.fail(f"{resource} did not reach AllNodesAtLatestRevision in {waited:g}s: "
                         f"{verdict.detail}")
            await run.wait(POLL * 3, verdict.detail)
            waited += POLL * 3
    return "; ".join(done)


def _rollout_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    return [(API, Command.of("oc", *patch_operator_op(r, _redeploy_patch(r)(ctx)).oc_args))
            for r in ROLLOUT_ORDER]


async def _check_all_rollouts(ctx: RunContext, _host) -> CheckResult:
    details = []
    for resource in ROLLOUT_ORDER:
        obj = await _ops(ctx).get(_operator_path(resource))
        reason = _redeploy_patch(resource)(ctx)["spec"]["forceRedeploymentReason"]
        if (obj.get("spec") or {}).get("forceRedeploymentReason") != reason:
            return CheckResult(False, f"{resource}: not redeployed yet")
        verdict = await _rollout_done(ctx, resource, resource)
        if not verdict.ok:
            return verdict
        details.append(verdict.detail)
    return CheckResult(True, "; ".join(details))


async def _check_etcd_everywhere(ctx: RunContext, _host) -> CheckResult:
    pods = [_pod_phase(p) for p in await _etcd_pods(ctx)]
    running = {n for n, phase in pods if phase == "Running"}
    cp = control_plane(ctx)
    if len(running) >= len(cp) and node_of(ctx, ctx.params.get("recovery_host") or cp[0]) \
            in running:
        return CheckResult(True, f"{len(running)} Running etcd pods: {', '.join(sorted(running))}")
    shown = ", ".join(f"{n or '?'} {phase}" for n, phase in pods) or "none"
    return CheckResult(False, f"etcd pods: {shown} ({len(running)} of {len(cp)} Running)")


async def _check_etcd_static_pods(ctx: RunContext, host) -> CheckResult:
    everywhere = await _check_etcd_everywhere(ctx, host)
    if not everywhere.ok:
        return everywhere
    obj = await _ops(ctx).get(ETCD_PATH)
    settled, _, message = _rollout_state(obj)
    if not settled:
        return CheckResult(False, f"etcd rolling out: {message}")
    return CheckResult(True, f"{everywhere.detail}; {message}")


async def _force_if_stalled(ctx: RunContext, run: StepRun) -> str:
    await _force_redeploy(ctx, run, "etcd", "etcd-rstn-08")
    return "etcd redeployment forced: the static pods had not rolled out"


# --- RSTN-06 / QRS-05: every cluster operator stable ---------------------------------------

async def _check_stable(ctx: RunContext, _host) -> CheckResult:
    """What `oc adm wait-for-stable-cluster` waits for: every operator Available, none
    Progressing or Degraded."""
    cos = (await _ops(ctx).get("/apis/config.openshift.io/v1/clusteroperators")).get("items") or []
    if not cos:
        return CheckResult(False, "no cluster operators listed yet")
    bad = []
    for co in cos:
        conds = {c.get("type"): c.get("status") for c in
                 (co.get("status") or {}).get("conditions") or []}
        name = (co.get("metadata") or {}).get("name")
        problems = [t for t, want in (("Available", "True"), ("Progressing", "False"),
                                      ("Degraded", "False")) if conds.get(t) != want]
        if problems:
            words = ["not Available" if p == "Available" else p for p in problems]
            bad.append(f"{name} ({'/'.join(words)})")
    if bad:
        return CheckResult(False, f"{len(bad)} of {len(cos)} operators not stable: "
                                  + ", ".join(bad[:6]) + (" ..." if len(bad) > 6 else ""))
    return CheckResult(True, f"all {len(cos)} cluster operators Available, none Progressing or "
                             f"Degraded")


async def _wait_stable_quorum(ctx: RunContext, run: StepRun) -> str:
    await _wait_for_api(ctx, run)
    waited, forced = 0.0, False
    while True:
        verdict = await _check_stable(ctx, None)
        if verdict.ok:
            return verdict.detail + ("; etcd redeployment was forced" if forced else "")
        if not forced and waited >= STABLE_TIMEOUT / 3:
            rolled = await _check_etcd_static_pods(ctx, None)
            if not rolled.ok:
                run.show("note", f"the etcd static pods have not rolled out ({rolled.detail}): "
                                 f"forcing a redeployment")
                await _force_redeploy(ctx, run, "etcd", "etcd-qrs-05")
                forced = True
        if waited >= STABLE_TIMEOUT:
            run.fail(f"not stable after {waited:g}s: {verdict.detail}")
        await run.wait(POLL * 3, verdict.detail)
        waited += POLL * 3


# --- RST-25: aftercare --------------------------------------------------------------------

@dataclass(frozen=True)
class AftercareItem:
    key: str  # PV-1 .. PV-4, RST-25a ..
    title: str
    detail: str
    pvs: tuple[str, ...] = ()  # the cluster's objects this item is about
    reminder: bool = False  # a reminder rather than a check to tick


def _pv_line(pv: dict) -> str:
    meta, spec = pv.get("metadata") or {}, pv.get("spec") or {}
    claim = spec.get("claimRef") or {}
    where = f"{claim.get('namespace')}/{claim.get('name')}" if claim else "unclaimed"
    source = ("local " + (spec.get("local") or {}).get("path", "")) if spec.get("local") else \
        ("csi " + (spec.get("csi") or {}).get("driver", "")) if spec.get("csi") else \
        next((k for k in spec if k not in ("capacity", "accessModes", "claimRef",
                                           "persistentVolumeReclaimPolicy", "storageClassName",
                                           "volumeMode", "nodeAffinity", "mountOptions")), "?")
    return (f"{meta.get('name')} ({source.strip()}, {spec.get('storageClassName') or 'no class'}"
            f", {(spec.get('capacity') or {}).get('storage', '?')}) -> {where}")


def _is_local(pv: dict) -> bool:
    spec, meta = pv.get("spec") or {}, pv.get("metadata") or {}
    labels = meta.get("labels") or {}
    return bool(spec.get("local") or spec.get("hostPath")) or any(
        k.startswith("storage.openshift.com/") for k in labels) or \
        "local" in (spec.get("storageClassName") or "")


async def aftercare(ctx: RunContext) -> list[AftercareItem]:
    """PV-1..4 with the cluster's PVs when the API answers, and RST-25's reminders."""
    pvs: list[dict] = []
    problem = None
    try:
        pvs = (await _ops(ctx).get("/api/v1/persistentvolumes")).get("items") or []
    except EtcdDrError as e:
        problem = e.message
    unknown = f" (the PV list could not be read: {problem})" if problem else ""
    bound = tuple(_pv_line(p) for p in pvs if (p.get("spec") or {}).get("claimRef"))
    csi = [p for p in pvs if (p.get("spec") or {}).get("csi")]
    drivers = tuple(sorted({(p["spec"]["csi"] or {}).get("driver", "?") for p in csi}))
    local = tuple(_pv_line(p) for p in pvs if _is_local(p))
    attached = tuple(_pv_line(p) for p in csi if (p.get("spec") or {}).get("claimRef"))
    items = [
        AftercareItem("PV-1", "Databases on persistent volumes",
                      "PV contents are not in the etcd snapshot: a database pod's volume must "
                      "be restored at the storage provider and its PV edited to point at it."
                      + unknown, bound),
        AftercareItem("PV-2", "Volumes attached to another node than at snapshot time",
                      "A volume attached to node Y at snapshot time and now used on node X: "
                      "detach it by hand from Y, attach it to X." + unknown, attached),
        AftercareItem("PV-3", "Storage credentials rotated since the snapshot",
                      "CSI drivers and operators that use cloud or storage credentials fail "
                      "until those are updated by hand." + (" CSI drivers in use: "
                                                            + ", ".join(drivers) if drivers
                                                            else "") + unknown, drivers),
        AftercareItem("PV-4", "Local storage devices removed or renamed",
                      "The local storage operator's PVs may point at missing devices: delete "
                      "those PVs, remove the symlinks on each node, delete the LocalVolume/"
                      "LocalVolumeSet objects." + unknown, local),
        AftercareItem("RST-25a", "Restart pods that cache API state",
                      "Routers, operators and third-party components keep state read before "
                      "the restore: restart them.", reminder=True),
        AftercareItem("RST-25b", "Allow a few minutes",
                      "Services need a few minutes to settle after the restore.", reminder=True),
        AftercareItem("RST-25c", "OAuth logins may fail for a while",
                      "Until the OAuth server pods restart, use the installer's system:admin "
                      "kubeconfig (`oc whoami` to confirm).", reminder=True),
    ]
    try:
        if await _guard_off_now(ctx):
            items.append(AftercareItem(
                "RST-20", "THE QUORUM GUARD IS STILL OFF",
                "etcd/cluster keeps unsupportedConfigOverrides: turn it back on: oc patch "
                "etcd/cluster --type=merge -p '{\"spec\": {\"unsupportedConfigOverrides\": "
                "null}}'", reminder=True))
    except EtcdDrError:
        pass
    return items


async def _aftercare_step(ctx: RunContext, run: StepRun) -> str:
    warning = ""
    try:
        off = await _guard_off_now(ctx)
    except EtcdDrError as e:
        off = bool(ctx.facts.get("guard_off"))
        warning = f" (could not read etcd/cluster: {e.message})"
    if off:
        text = ("WARNING: THE QUORUM GUARD IS STILL OFF: etcd/cluster keeps "
                "unsupportedConfigOverrides.useUnsupportedUnsafeNonHANonProductionUnstableEtcd. "
                "Turn it back on (RST-20): oc patch etcd/cluster --type=merge -p "
                "'{\"spec\": {\"unsupportedConfigOverrides\": null}}'")
        run.show("note", text)
        run.journal("skipped", [], step_id="-", for_step="RST-20", warning=text,
                    reason="the quorum guard was left off")
    items = await aftercare(ctx)
    for item in items:
        run.show("note", f"{item.key} {item.title}: {item.detail}"
                 + (f" [{len(item.pvs)} object(s)]" if item.pvs else ""))
    summary = f"{len([i for i in items if i.key.startswith('PV')])} PV checks and " \
              f"{len([i for i in items if i.reminder])} reminders to go through"
    return ("QUORUM GUARD STILL OFF; " if off else "") + summary + warning


# --- the preflight --------------------------------------------------------------------------

@dataclass(frozen=True)
class PreflightItem:
    key: str
    title: str
    ok: bool
    detail: str = ""
    blocking: bool = True
    overridable: bool = True  # False: no typed reason lets the run start

    def to_json(self) -> dict:
        return asdict(self)


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

    @property
    def blocking_failures(self) -> list[PreflightItem]:
        return [i for i in self.items if i.blocking and not i.ok]

    @property
    def green(self) -> bool:
        return not self.blocking_failures


_LOST_STATES = ("unreachable", "disconnected", "connecting")


async def _read_manifest(ctx: RunContext, host: str | None, directory: str,
                         ts: str | None) -> dict | None:
    if host is None or ts is None:
        return None
    r = await _probe(ctx, host, _priv("cat", f"{directory.rstrip('/')}/etcd-dr-manifest_{ts}.json",
                                      timeout=15))
    if not r.ok:
        return None
    try:
        data = json.loads(r.stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _snapshot_status(ctx: RunContext, host: str, path: str) -> tuple[bool, str]:
    for tool in ("etcdutl", "etcdctl"):
        r = await _probe(ctx, host, _priv(f"{ETCDCTL_BIN_DIR}/{tool}", "snapshot", "status",
                                          path, "-w", "json", timeout=600))
        if r.ok:
            for line in reversed(r.stdout.splitlines()):
                try:
                    status = json.loads(line)
                except ValueError:
                    continue
                if isinstance(status, dict) and "hash" in status:
                    return True, (f"{tool} snapshot status: hash {status.get('hash')}, revision "
                                  f"{status.get('revision')}, {status.get('totalKey')} keys")
        elif r.exit_status not in (126, 127) and "No such file" not in (r.stderr or "") \
                and "not found" not in (r.stderr or ""):
            return False, f"{tool} snapshot status failed: {(r.stderr or r.error or '').strip()}"
    r = await _probe(ctx, host, _priv("stat", "-c", "%s", path, timeout=15))
    size = int(r.stdout.strip()) if r.ok and r.stdout.strip().isdigit() else 0
    if size > 0:
        return True, f"{size} bytes (no etcdutl/etcdctl on the host to read its status)"
    return False, f"the snapshot is empty or unreadable: {r.stderr.strip() or r.error or size}"


async def detect_version(ctx: RunContext) -> tuple[str | None, str]:
    """The cluster's version and where it came from: the API's ClusterVersion when it
    answers, else the backup manifest, else the inventory's cluster.version, else (None, ...)
    (the operator chooses)."""
    snap = await ctx.api.snapshot() if ctx.api is not None else None
    host, directory = _backup_source(ctx)
    # no recovery host chosen yet: the backup may be on any reachable control-plane host
    hosts = [host] if host is not None else [
        h.name for h in ctx.inventory.control_plane if ctx.fleet.status[h.name].state.usable]
    manifest = None
    for host in hosts:
        if manifest is not None:
            break
        if ctx.fleet.status.get(host) and ctx.fleet.status[host].state.usable:
            ok, listing = await _listing(ctx, host, directory)
            check = check_backup_listing(listing, directory) if ok else None
            manifest = await _read_manifest(ctx, host, directory,
                                            check.timestamp if check and check.ok else None)
    return _pick_version(ctx, snap, manifest)


def _pick_version(ctx, snap, manifest) -> tuple[str | None, str]:
    if snap is not None and snap.reachable and snap.version:
        return snap.version, "the API's ClusterVersion"
    if manifest and manifest.get("version"):
        return str(manifest["version"]), "the backup manifest"
    if ctx.inventory.cluster_version:
        return ctx.inventory.cluster_version, "the inventory's cluster.version"
    return None, "no source (API down, no backup manifest, no cluster.version)"


async def preflight_report(ctx: RunContext, procedure: str | None = None) -> PreflightReport:
    """Everything the restore starts from, checked before the API goes away. Reads only."""
    procedure = procedure or ctx.params.get("procedure") or "restore"
    quorum = procedure == "quorum-restore"
    items: list[PreflightItem] = []
    snap = await ctx.backend.collector.collect()
    cp_views = [h for h in snap.hosts if h.role == "control-plane"]
    candidates = rank_recovery_hosts(snap)
    given_lost = ctx.params.get("lost_hosts")
    lost = list(given_lost) if given_lost is not None else \
        [h.name for h in cp_views if h.state in _LOST_STATES]
    reachable = [h.name for h in cp_views if h.state == "connected"]
    broken = [h for h in cp_views if h.state not in _LOST_STATES + ("connected",)]
    if not quorum and not ctx.params.get("recovery_host") and not ctx.params.get("backup_source"):
        candidates = await _rank_with_backup(ctx, candidates, reachable)
    recovery = ctx.params.get("recovery_host") or next(
        (c.host for c in candidates if c.score[0]), None)

    # SSH to every control-plane host, before the API goes away
    if broken:
        items.append(PreflightItem(
            "ssh", "SSH to every control-plane host", False,
            "; ".join(f"{h.name}: {h.state}" + (f" ({h.error})" if h.error else "")
                      for h in broken) + ": the host answers but the console cannot act on it "
                                         "(fix the key, user or sudo rule)"))
    else:
        items.append(PreflightItem("ssh", "SSH to every control-plane host", not lost,
                                   f"open to {', '.join(reachable) or 'none'}"
                                   + (f"; no answer from {', '.join(lost)}" if lost else ""),
                                   blocking=False))
    if lost:
        items.append(PreflightItem("lost", "Lost control-plane hosts", False,
                                   f"{', '.join(lost)} do not answer over SSH: treated as lost "
                                   f"(host steps skip them; RST-16/QRS-04 replace their "
                                   f"machines)", blocking=False))
    # sudo -n on each reachable host
    sudo_bad = []
    for host in reachable:
        r = await _probe(ctx, host, _priv("true", timeout=15))
        if not r.ok:
            sudo_bad.append(f"{host}: {r.error or r.stderr.strip() or r.exit_status}")
    items.append(PreflightItem("sudo", "sudo -n works on each reachable control-plane host",
                               not sudo_bad, "; ".join(sudo_bad) or
                               f"root via sudo -n on {', '.join(reachable) or 'none'}"))
    # the recovery host
    ranked = "; ".join(f"{i + 1}. {c.host}: {', '.join(c.reasons)}"
                       for i, c in enumerate(candidates))
    if recovery is None:
        items.append(PreflightItem("recovery", "Recovery host", False,
                                   f"no reachable control-plane host ({ranked})"))
    elif recovery not in [h.name for h in cp_views]:
        items.append(PreflightItem("recovery", "Recovery host", False,
                                   f"{recovery} is not a control-plane host"))
    elif recovery not in reachable:
        items.append(PreflightItem("recovery", "Recovery host", False,
                                   f"{recovery} is not reachable over SSH ({ranked})"))
    else:
        best = candidates[0].host if candidates else recovery
        mine = next(c for c in candidates if c.host == recovery)
        if quorum and best != recovery:
            items.append(PreflightItem(
                "recovery", "Recovery host (highest raft index)", False,
                f"{recovery} ({', '.join(mine.reasons)}) is not the member with the highest "
                f"raft index, {best}: data written only to {best} would be lost. Ranking: "
                f"{ranked}"))
        else:
            note = "" if best == recovery else f" (the ranking prefers {best})"
            items.append(PreflightItem("recovery", "Recovery host", True,
                                       f"{recovery}: {', '.join(mine.reasons)}{note}. "
                                       f"Ranking: {ranked}", blocking=quorum))
    # the backup
    manifest, backup = None, None
    source_host, source_dir = _backup_source(ctx)
    if not ctx.params.get("backup_source"):
        source_host = recovery
    if not quorum:
        where = f"{source_host}:{source_dir}" if source_host else f"{source_dir} (this machine)"
        listing_ok, listing = False, ""
        if source_host is None:
            import os

            try:
                listing, listing_ok = "\n".join(os.listdir(source_dir)), True
            except OSError as e:
                listing = e.strerror or str(e)
        elif ctx.fleet.status[source_host].state.usable:
            listing_ok, listing = await _listing(ctx, source_host, source_dir)
        else:
            listing = f"{source_host} is not reachable"
        if not listing_ok:
            items.append(PreflightItem("backup", "Backup directory", False,
                                       f"cannot list {where}: {listing}"))
        else:
            backup = check_backup_listing(listing, source_dir)
            items.append(PreflightItem(
                "backup", "Backup directory: one snapshot and one tarball, same timestamp",
                backup.ok, "; ".join(backup.problems) if not backup.ok else
                f"{where}: {backup.snapshot}, {backup.static_kuberesources}"))
        if backup is not None and backup.ok and source_host is not None:
            path = f"{source_dir.rstrip('/')}/{backup.snapshot}"
            ok, detail = await _snapshot_status(ctx, source_host, path)
            items.append(PreflightItem("snapshot", "Snapshot status", ok, detail))
            if backup.dirty:
                items.append(PreflightItem(
                    "dirty", "Backup marked __POSSIBLY_DIRTY__", False,
                    "cluster-backup.sh was forced past its checks while an operator was "
                    "progressing: this backup may be inconsistent; prefer a clean one",
                    blocking=False))
            manifest = await _read_manifest(ctx, source_host, source_dir, backup.timestamp)
    # the version, the z-stream, the path
    version, source = _pick_version(ctx, snap.api, manifest)
    if not quorum:
        cluster_version = snap.api.version if snap.api.reachable else \
            ctx.inventory.cluster_version
        cluster_source = "ClusterVersion" if snap.api.reachable else "the inventory"
        if manifest and manifest.get("version") and cluster_version:
            same = str(manifest["version"]) == str(cluster_version)
            items.append(PreflightItem(
                "zstream", "Backup from the same z-stream release", same,
                f"backup manifest {manifest['version']}, cluster {cluster_version} "
                f"({cluster_source})" + ("" if same else ": a backup restores only onto the "
                                                        "exact release it was taken on")))
        elif backup is not None and backup.ok:
            items.append(PreflightItem(
                "zstream", "Backup from the same z-stream release", False,
                f"no etcd-dr manifest beside the backup: its release cannot be checked; "
                f"confirm it was taken on {cluster_version or version or 'the running release'}",
                blocking=False))
        encryption = (manifest or {}).get("encryption")
        if encryption is None and snap.api.reachable:
            encryption = snap.api.encryption_type
        if encryption not in (None, "", "identity") and backup is not None and backup.ok \
                and source_host is not None:
            tarball = f"{source_dir.rstrip('/')}/{backup.static_kuberesources}"
            r = await _probe(ctx, source_host, _priv("tar", "-tzf", tarball, timeout=120))
            if r.ok:
                has = "encryption-config" in r.stdout
                items.append(PreflightItem(
                    "encryption", "Encryption configuration in the tarball", has,
                    f"encryption {encryption}: " + ("the tarball holds an encryption-config"
                                                    if has else "the tarball has no "
                                                    "encryption-config: the restored data "
                                                    "could not be decrypted")))
            else:
                items.append(PreflightItem(
                    "encryption", "Encryption configuration in the tarball", False,
                    f"encryption {encryption}, but `tar -tzf` could not list {tarball}: "
                    f"{(r.stderr or r.error or '').strip()}", blocking=False))
    path = restore_path(version, source)
    chosen = ctx.params.get("path")
    if quorum:
        minor = openshift_minor(version)
        if minor is not None and minor < (4, 18):
            items.append(PreflightItem("path", "Quorum restore needs 4.18 or later", False,
                                       f"{source} says {version}: quorum-restore.sh exists from "
                                       f"4.18 on; restore from a backup instead",
                                       overridable=False))
        else:
            items.append(PreflightItem("path", "Procedure", minor is not None,
                                       f"QRS (quorum restore): {source} says {version}: "
                                       f"quorum-restore.sh is there from 4.18 on" if path else
                                       f"the version is unknown ({source}): the preflight checks "
                                       f"that quorum-restore.sh exists instead",
                                       blocking=False))
    elif chosen and chosen != (path.key if path else None):
        reason = ctx.params.get("path_reason") or ""
        items.append(PreflightItem(
            "path", "Procedure", bool(reason),
            f"{chosen} chosen by the operator" + (f" ({reason})" if reason else
                                                  ": a reason is required")
            + (f"; detected: {path.key} ({path.why})" if path else f"; version unknown "
                                                                   f"({source})"),
            blocking=not reason))
        path = RestorePath(chosen, "RSTN" if chosen == "4.18+" else "RST",
                           f"chosen by the operator: {reason}")
    elif path is None:
        items.append(PreflightItem("path", "Procedure", False,
                                   f"the cluster version is unknown ({source}): choose the "
                                   f"procedure (--path with --reason)"))
    else:
        items.append(PreflightItem("path", "Procedure", True, path.why))
    # the scripts the procedure needs, on the recovery host
    if recovery in reachable:
        scripts = [QUORUM_SCRIPT] if quorum else [RESTORE_SCRIPT] + (
            [DISABLE_SCRIPT] if path is not None and path.key == "4.18+" else [])
        missing = [s for s in scripts if not await _exists(ctx, recovery, s)]
        items.append(PreflightItem("scripts", "Restore scripts on the recovery host",
                                   not missing, f"missing on {recovery}: {', '.join(missing)}"
                                   if missing else f"{', '.join(scripts)} on {recovery}"))
    # keepalived (baremetal VIPs), the API
    keepalived = [h for h in reachable if await _exists(ctx, h, KEEPALIVED)]
    items.append(PreflightItem("keepalived", "keepalived static pods", True,
                               f"on {', '.join(keepalived)}: RST-04f/RST-06 apply there"
                               if keepalived else "none (no VIP steps)", blocking=False))
    items.append(PreflightItem("api", "Cluster API", snap.api.reachable,
                               f"reachable ({snap.api.version})" if snap.api.reachable else
                               f"not reachable ({snap.api.error}): API steps will run oc on the "
                               f"recovery host with its recovery kubeconfig (RST-18)",
                               blocking=False))
    return PreflightReport(items=items, path=path, version=version, version_source=source,
                           candidates=candidates, procedure=procedure, recovery_host=recovery,
                           lost_hosts=lost, keepalived_hosts=keepalived, backup=backup,
                           manifest=manifest, api_reachable=snap.api.reachable)


async def _rank_with_backup(ctx: RunContext, candidates: list[Candidate],
                            reachable: list[str]) -> list[Candidate]:
    """For a restore from a backup, a reachable host that already holds a usable backup in
    the backup directory ranks first (no copy needed), the ranking otherwise kept."""
    directory = ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    ranked = []
    for c in candidates:
        holds = False
        if c.host in reachable:
            ok, listing = await _listing(ctx, c.host, directory)
            holds = ok and check_backup_listing(listing, directory).ok
        reasons = c.reasons + ((f"holds the backup in {directory}",) if holds else ())
        ranked.append(Candidate(c.host, (c.score[0], holds) + tuple(c.score[1:]), reasons))
    return sorted(ranked, key=lambda c: c.score, reverse=True)


def apply_report(ctx: RunContext, report: PreflightReport) -> None:
    """What the run keeps from its preflight (journaled with the plan, so a resume uses the
    same): the recovery host, lost hosts, keepalived hosts, path, version, the results."""
    p = ctx.params
    if not p.get("recovery_host") and report.recovery_host:
        p["recovery_host"] = report.recovery_host
        best = next((c for c in report.candidates if c.host == report.recovery_host), None)
        if not ctx.dry_run:
            ctx.operator.show(RunEvent("note", "-", f"recovery host: {report.recovery_host} "
                                       f"(the preflight's best candidate: "
                                       f"{', '.join(best.reasons) if best else 'reachable'}; "
                                       f"choose another with --host)"))
    p["lost_hosts"] = list(report.lost_hosts)
    p["keepalived_hosts"] = list(report.keepalived_hosts)
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


def _preflight(procedure: str, path_key: str | None = None):
    async def preflight(ctx: RunContext) -> list[str]:
        report = getattr(ctx, "_restore_report", None)
        if report is None or report.procedure != procedure:
            report = await preflight_report(ctx, procedure)
        ctx._restore_report = None  # used once: a retry reads the cluster again
        apply_report(ctx, report)
        if not ctx.params.get("proxy"):
            from tui.runbooks.checks import proxy_env

            ctx.params["proxy"] = await proxy_env(ctx) if report.api_reachable else \
                {"unknown": "the API is not reachable"}
        items = list(report.items)
        if path_key is not None and ctx.params.get("path") != path_key:
            items.append(PreflightItem("path", "Procedure", False,
                                       f"this runbook is the {path_key} procedure but the run "
                                       f"is for {ctx.params.get('path')}", overridable=False))
        if not ctx.dry_run:
            for item in items:
                mark = "ok  " if item.ok else ("FAIL" if item.blocking else "warn")
                ctx.operator.show(RunEvent("note", "-", f"preflight {mark} {item.title}: "
                                                         f"{item.detail}"))
        hard = [i for i in items if not i.ok and i.blocking and not i.overridable]
        soft = [i for i in items if not i.ok and i.blocking and i.overridable]
        if ctx.dry_run:
            return [f"{i.title}: {i.detail}" for i in hard]
        if ctx.params.get("override"):
            return [f"{i.title}: {i.detail}" for i in hard]
        return [f"{i.title}: {i.detail}" for i in hard + soft]
    return preflight


# --- the runbooks --------------------------------------------------------------------------

def _step_rst01() -> Step:
    return Step("RST-01", "Choose the recovery host",
                "The healthy control-plane host the cluster is restored from: reachable, its "
                "etcd data present, the highest raft index where readable.",
                targets=Targets.RECOVERY_HOST, check=_check_recovery_host)


def _step_ssh(step_id: str = "RST-02") -> Step:
    return Step(step_id, "SSH open to every control-plane host",
                "Sessions to every control-plane host, the recovery host included, are open "
                "and kept open by the console: once the restore starts the API is gone. Lost "
                "hosts are noted and replaced later.",
                targets=Targets.CONTROL_PLANE, check=_check_ssh)


def _step_backup(step_id: str = "RST-03") -> Step:
    return Step(step_id, "The backup on the recovery host",
                "The backup directory on the recovery host holds exactly one snapshot_<ts>.db "
                "and one static_kuberesources_<ts>.tar.gz with the same <ts> (copied there "
                "first when it comes from this machine).",
                targets=Targets.RECOVERY_HOST, action=_guarded(_copy_backup),
                preview=_copy_preview, check=_check_backup_on_recovery,
                safety=Safety.MUTATING)


def _step_rst04(path_key: str) -> Step:
    extra = (" On 4.14-4.17 the kube-controller-manager and kube-scheduler manifests are "
             "moved aside too (RST-04g).") if path_key == "4.14-4.17" else ""
    return Step("RST-04", "Stop static pods and move etcd data on the other hosts",
                "On every non-recovery control-plane host (never the recovery host): move "
                "etcd-pod.yaml to /tmp and wait until the etcd containers stop (RST-04a/b), "
                "the same for kube-apiserver (RST-04c/d), move /var/lib/etcd to /tmp "
                "(RST-04e); where keepalived.yaml exists, move it and remove the VIPs "
                f"(RST-04f).{extra} Lost hosts are skipped.",
                targets=Targets.NON_RECOVERY_HOSTS, action=_guarded(_stop_non_recovery),
                preview=_rst04_preview, safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER,
                skip_if=lambda ctx: None if [h for h in non_recovery_hosts(ctx)
                                             if h not in lost_hosts(ctx)]
                else "every non-recovery control-plane host is lost (replaced in RST-16)")


def _step_script(step_id: str, title: str, explain: str) -> Step:
    return Step(step_id, title, explain, targets=Targets.RECOVERY_HOST,
                action=_run_script(step_id), preview=_script_preview(step_id),
                check=_script_check(step_id), safety=Safety.DESTRUCTIVE,
                confirm=Confirm.TYPE_HOST,
                warning=("Irreversible: etcd restarts as a single member from this host's data; "
                         "what only the lost members had is gone." if step_id == "QRS-03" else
                         "Irreversible: the cluster goes back to the backup's state and the API "
                         "goes away until the restore completes."))


def _step_replace(step_id: str, explain: str) -> Step:
    return Step(step_id, "Replace the machines of the other control-plane hosts", explain,
                targets=Targets.API, action=_guarded(_replace_machines),
                preview=_machine_preview(step_id), check=_machine_step_check(step_id),
                safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER,
                skip_if=_skip_no_machines(step_id))


def _step_aftercare() -> Step:
    return Step("RST-25", "Aftercare",
                "Restart the pods that cache API state (routers, operators, third-party "
                "components), allow a few minutes, use the installer's system:admin kubeconfig "
                "while OAuth logins fail; go through the persistent-volume checks PV-1..4. "
                "Warns loudly if the quorum guard is still off.",
                targets=Targets.API, action=_guarded(_aftercare_step))


def _skip_two_node(ctx: RunContext) -> str | None:
    if len(control_plane(ctx)) == 2 or ctx.facts.get("topology") == "DualReplica":
        return "a two-node cluster with fencing keeps no quorum guard"
    return None


def _guard_off_step(step_id: str, wait_api: bool = False) -> Step:
    return Step(step_id, "Turn the quorum guard off",
                "etcd/cluster gets unsupportedConfigOverrides."
                "useUnsupportedUnsafeNonHANonProductionUnstableEtcd: true, so the etcd "
                "operator can roll out etcd while it has a single member.",
                targets=Targets.API,
                action=_patch_action("etcd", lambda ctx: GUARD_OFF, wait_api=wait_api,
                                     learn=wait_api),
                preview=_patch_preview("etcd", lambda ctx: GUARD_OFF),
                check=_check_guard_off, safety=Safety.MUTATING, confirm=Confirm.YES_NO,
                skip_if=_skip_two_node if step_id == "RSTN-05" else None)


def _guard_on_step(step_id: str, title: str = "Turn the quorum guard back on") -> Step:
    return Step(step_id, title,
                "etcd/cluster's unsupportedConfigOverrides is set to null, and read back: "
                "it must be gone.",
                targets=Targets.API, action=_patch_action("etcd", lambda ctx: GUARD_ON),
                preview=_patch_preview("etcd", lambda ctx: GUARD_ON),
                check=_check_guard_on, wait=Wait(10.0, 120.0), safety=Safety.MUTATING)


def _rst_steps(path_key: str) -> tuple[Step, ...]:
    ovn_ic = path_key == "4.14-4.17"
    steps = [
        _step_rst01(),
        _step_ssh("RST-02"),
        _step_backup("RST-03"),
        _step_rst04(path_key),
        Step("RST-05", "Work from the recovery host",
             "From here on, host commands run on the recovery host unless a step says "
             "otherwise.", targets=Targets.RECOVERY_HOST, check=_check_recovery_host),
        Step("RST-06", "The recovery host holds the API VIP",
             "keepalived clusters only: `ip -o address | grep <api_vip>` must show the VIP on "
             "the recovery host.", targets=Targets.RECOVERY_HOST, check=_check_vip,
             skip_if=_skip_no_keepalived),
        Step("RST-07", "Export the proxy variables",
             "With a cluster-wide proxy, NO_PROXY, HTTP_PROXY and HTTPS_PROXY are exported for "
             "the restore script (sudo -E).", targets=Targets.RECOVERY_HOST,
             check=_check_proxy, skip_if=_skip_no_proxy),
        _step_script("RST-08", "Run cluster-restore.sh on the recovery host",
                     "cluster-restore.sh stops the kube-apiserver, kube-controller-manager, "
                     "kube-scheduler and etcd static pods, moves /var/lib/etcd/member to "
                     "/var/lib/etcd-backup, restores the snapshot as a single-member etcd and "
                     "starts the control plane from the backup's resources. The API is gone "
                     "until it is back. Run once: a second run needs a typed confirmation."),
        Step("RST-09", "Nodes Ready, PEM cleanup where not",
             "Wait for the API (REST, or oc on the recovery host), then for the nodes to be "
             "Ready. A node still NotReady after a few minutes gets every PEM file in "
             "/var/lib/kubelet/pki deleted (kubelet-client-*, kubelet-server-*, the -current "
             "links) so its kubelet bootstraps new certificates.",
             targets=Targets.API, action=_guarded(_nodes_and_pems), preview=_pem_preview,
             safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER),
        Step("RST-10", "Restart kubelet on every control-plane host",
             "`systemctl restart kubelet.service`, the recovery host first; also on any other "
             "node whose PEM files RST-09 removed, so its kubelet bootstraps again.",
             targets=Targets.CONTROL_PLANE, action=_guarded(_restart_kubelets),
             preview=lambda ctx: [(h, _restart_kubelet()) for h in _kubelet_hosts(ctx)
                                  if h not in lost_hosts(ctx)],
             safety=Safety.MUTATING),
        Step("RST-11", "Approve the nodes' pending CSRs",
             "Each pending CSR is reviewed: only node-bootstrapper client CSRs "
             "(kubernetes.io/kube-apiserver-client-kubelet from system:serviceaccount:openshift-"
             "machine-config-operator:node-bootstrapper) and kubelet-serving CSRs from "
             "system:node:<name> of a known node are approved; others are listed and left. "
             "Repeats until the nodes are Ready. Skipped without worker nodes.",
             targets=Targets.API, action=_guarded(_approve_csrs), preview=_csr_preview,
             safety=Safety.MUTATING, confirm=Confirm.YES_NO, skip_if=_skip_no_workers),
        Step("RST-12", "Check the single-member control plane",
             "On the recovery host a running etcd container; in the API one Running etcd pod, "
             "on the recovery host's node, which is Ready.",
             targets=Targets.RECOVERY_HOST, check=_check_single_member,
             wait=Wait(POLL, API_BACK_TIMEOUT)),
    ]
    if not ovn_ic:
        steps += [
            Step("RST-13", "Delete the other control-plane nodes (OVN-Kubernetes)",
                 "OVN-Kubernetes only: delete the Node objects of the non-recovery control-"
                 "plane hosts, so ovnkube-master drops them.",
                 targets=Targets.API, action=_guarded(_delete_nodes),
                 preview=lambda ctx: [(API, Command.of("oc", *delete_nodes_op(
                     _nodes_to_delete(ctx)).oc_args))],
                 check=_check_nodes_deleted, safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER,
                 skip_if=_skip_not_ovn),
            Step("RST-14", "Wait until ovnkube-master forgets them",
                 "OVN-Kubernetes only: until ds/ovnkube-master no longer mentions the IPs of the "
                 "non-recovery control-plane hosts (5-10 minutes or more).",
                 targets=Targets.API, check=_check_ovnkube_master_ips,
                 wait=Wait(15.0, ROLLOUT_TIMEOUT), skip_if=_skip_not_ovn),
        ]
    steps += [
        Step("RST-15", "Restart OVN-Kubernetes" + (" (interconnect)" if ovn_ic else ""),
             ("OVN interconnect: delete the ovnkube-control-plane pods; then node by node "
              "(recovery host first, the other control-plane hosts, then workers): rm -f "
              "/var/lib/ovn-ic/etc/*.db, restart ovs-vswitchd and ovsdb-server, delete that "
              "node's ovnkube-node pod and wait for it to run again." if ovn_ic else
              "rm -f /var/lib/ovn/etc/*.db on the control-plane hosts (RST-15a), delete the "
              "ovnkube-master pods and wait for them (RST-15b/c), delete every ovnkube-node pod "
              "and wait for them (RST-15d/e).")
             + " Admission webhooks with failurePolicy Fail can keep the pods away: they are "
               "listed first.",
             targets=Targets.ALL_NODES, action=_guarded(_restart_ovn), preview=_ovn_preview,
             safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER, skip_if=_skip_not_ovn),
        _step_replace("RST-16",
                      "One at a time, delete the machine of each other control-plane host "
                      "(oc delete machine -n openshift-machine-api); the machine API provisions "
                      "a new one; wait until it is Running. Never the recovery host's machine. "
                      "On user-provisioned or bare metal installs the host is recreated by "
                      "hand."),
        _guard_off_step("RST-17"),
        Step("RST-18", "API access from the recovery host",
             f"When the external API is not back, API steps run `oc` on the recovery host with "
             f"KUBECONFIG={RECOVERY_KUBECONFIG}; the console picks the transport per call.",
             targets=Targets.API, check=_check_transport, wait=Wait(POLL, API_BACK_TIMEOUT)),
        Step("RST-19", "Force an etcd redeployment",
             "A unique forceRedeploymentReason (recovery-<timestamp>) starts a new etcd "
             "revision; with the guard off, etcd scales back up to every control-plane host.",
             targets=Targets.API, action=_guarded(_redeploy_etcd),
             preview=_patch_preview("etcd", _redeploy_patch("etcd")),
             check=_check_redeploy_sent, safety=Safety.MUTATING, confirm=Confirm.YES_NO),
        _guard_on_step("RST-20"),
        Step("RST-21", "Check the guard is on",
             "unsupportedConfigOverrides must be gone from etcd/cluster.",
             targets=Targets.API, check=_check_guard_on),
        Step("RST-22", "Wait for etcd's rollout",
             "Until NodeInstallerProgressing reads AllNodesAtLatestRevision (one revision in "
             "the message) with the new revision.",
             targets=Targets.API, check=_check_etcd_rolled_out,
             wait=Wait(30.0, ROLLOUT_TIMEOUT)),
        Step("RST-23", "Force the control plane's rollouts",
             "kubeapiserver, then kubecontrollermanager, then kubescheduler: each a unique "
             "forceRedeploymentReason, each waited until AllNodesAtLatestRevision.",
             targets=Targets.API, action=_guarded(_redeploy_control_plane),
             preview=_rollout_preview, check=_check_all_rollouts, safety=Safety.MUTATING,
             confirm=Confirm.YES_NO),
        Step("RST-24", "etcd runs on every control-plane host",
             "`oc -n openshift-etcd get pods -l k8s-app=etcd`: one Running pod per control-"
             "plane host.", targets=Targets.API, check=_check_etcd_everywhere,
             wait=Wait(30.0, ROLLOUT_TIMEOUT)),
        _step_aftercare(),
    ]
    return tuple(steps)


async def _check_transport(ctx: RunContext, _host) -> CheckResult:
    try:
        await _ops(ctx).get("/api/v1/nodes")
    except EtcdDrError as e:
        return CheckResult(False, e.message)
    via = _ops(ctx).last_transport or "API"
    if via == "API":
        return CheckResult(True, "the external API answers: API steps use it")
    return CheckResult(True, f"the external API does not answer: API steps run oc {via} with "
                             f"the recovery kubeconfig")


def _rstn_steps() -> tuple[Step, ...]:
    return (
        Step("RSTN-01", "Choose the recovery host; SSH to every control-plane host",
             "The healthy control-plane host the cluster is restored from, and sessions to "
             "every control-plane host (kept open: the API goes away).",
             targets=Targets.CONTROL_PLANE, check=_check_rstn01),
        Step("RSTN-02", "Run disable-etcd.sh on every control-plane host",
             "On every control-plane host, the recovery host included: disable-etcd.sh moves "
             "etcd-pod.yaml to /home/core/assets/manifests-stopped and waits for the etcd "
             "containers to stop; the API servers keep running. Lost hosts are skipped.",
             targets=Targets.CONTROL_PLANE, action=_guarded(_disable_etcd),
             preview=lambda ctx: [(h, _disable_command(ctx)) for h in control_plane(ctx)
                                  if h not in lost_hosts(ctx)],
             check=_check_etcd_disabled, safety=Safety.DESTRUCTIVE, confirm=Confirm.YES_NO),
        _step_backup("RSTN-03"),
        _step_script("RSTN-04", "Run cluster-restore.sh on the recovery host",
                     "cluster-restore.sh stops etcd, restores the snapshot with a revision bump "
                     "and the compaction mark and starts a single-member etcd; the other "
                     "members rejoin on their own. Run once: a second run needs a typed "
                     "confirmation."),
        _guard_off_step("RSTN-05", wait_api=True),
        _step_replace("RST-16",
                      "Hosts were lost: one at a time, delete each lost host's machine so the "
                      "machine API provisions a new one, and wait until it is Running. Never "
                      "the recovery host's machine."),
        Step("RSTN-06", "Wait until every cluster operator is stable",
             "What `oc adm wait-for-stable-cluster` does: no operator Progressing or Degraded, "
             "all Available (about 15 minutes).",
             targets=Targets.API, check=_check_stable, wait=Wait(30.0, STABLE_TIMEOUT)),
        _guard_on_step("RSTN-07", "Turn the quorum guard back on and check it"),
        Step("RSTN-08", "Force a redeployment only if etcd did not roll out",
             "When the etcd static pods did not roll out to every control-plane host, a unique "
             "forceRedeploymentReason forces it; otherwise nothing is sent.",
             targets=Targets.API, action=_guarded(_force_if_stalled),
             preview=_patch_preview("etcd", _redeploy_patch("etcd")),
             check=_check_etcd_static_pods, wait=Wait(30.0, ROLLOUT_TIMEOUT),
             safety=Safety.MUTATING),
        _step_aftercare(),
    )


async def _check_rstn01(ctx: RunContext, host) -> CheckResult:
    rec = await _check_recovery_host(ctx, None)
    if not rec.ok:
        return rec
    ssh = await _check_ssh(ctx, host)
    if not ssh.ok:
        return ssh
    return CheckResult(True, rec.detail if host == recovery_host(ctx) else ssh.detail)


def _disable_command(ctx: RunContext) -> Command:
    return Command.of(DISABLE_SCRIPT, privileged=True, timeout=900, env=_proxy_pairs(ctx),
                      safety=Safety.DESTRUCTIVE)


async def _disable_etcd(ctx: RunContext, run: StepRun) -> str:
    hosts = _skip_lost(run, control_plane(ctx))
    for host in hosts:
        r = await run.run(host, _disable_command(ctx))
        if not r.ok:
            tail = (r.stderr.strip() or r.stdout.strip() or r.error or "")
            run.fail(f"{host}: disable-etcd.sh failed: {tail.splitlines()[-1] if tail else ''}")
    return f"etcd disabled on {', '.join(hosts)}"


async def _check_etcd_disabled(ctx: RunContext, host) -> CheckResult:
    if host in lost_hosts(ctx):
        return CheckResult(True, f"{host}: {LOST_REASON}")
    if await _exists(ctx, host, f"{MANIFESTS}/etcd-pod.yaml"):
        return CheckResult(False, "etcd-pod.yaml is still in the manifests")
    r = await _probe(ctx, host, Command.of("crictl", "ps", "--name", "^etcd$", "-q",
                                           privileged=True))
    if r.stdout.strip():
        return CheckResult(False, "the etcd container still runs")
    return CheckResult(True, "etcd disabled (manifest moved, container stopped)")


def _qrs_steps() -> tuple[Step, ...]:
    return (
        Step("QRS-01", "Pick the member with the most recent data",
             "With the API down: the running control-plane host with the highest raft index "
             "(endpoint status, or maxRaftIndex in /var/lib/etcd/revision.json). Data written "
             "only to other members is lost.",
             targets=Targets.RECOVERY_HOST, check=_check_recovery_host),
        Step("QRS-02", "Check its etcd container",
             "`crictl ps --name '^etcd$'` on that host.",
             targets=Targets.RECOVERY_HOST, check=_check_etcd_container),
        _step_script("QRS-03", "Run quorum-restore.sh on that host",
                     "quorum-restore.sh restarts etcd as a new single-member cluster from this "
                     "host's local data, with a revision bump. Run once: a second run needs a "
                     "typed confirmation."),
        _step_replace("QRS-04",
                      "Members on hosts that are still online rejoin on their own; for each "
                      "offline (lost) host, delete its Machine so a new one is provisioned, and "
                      "wait until it is Running (user-provisioned: delete its node and "
                      "reinstall by hand)."),
        Step("QRS-05", "Wait until every cluster operator is stable",
             "No operator Progressing or Degraded, all Available; a redeployment is forced "
             "only if the etcd static pods do not roll out.",
             targets=Targets.API, action=_guarded(_wait_stable_quorum),
             preview=_patch_preview("etcd", _redeploy_patch("etcd")),
             check=_check_stable, safety=Safety.MUTATING),
        _step_aftercare(),
    )


async def _check_etcd_container(ctx: RunContext, host) -> CheckResult:
    r = await _probe(ctx, host, Command.of("crictl", "ps", "--name", "^etcd$", privileged=True))
    rows = [l for l in r.stdout.splitlines()[1:] if l.strip()]
    if rows:
        return CheckResult(True, f"etcd container running: {' '.join(rows[0].split())}")
    if await _exists(ctx, host, "/var/lib/etcd/member"):
        return CheckResult(True, "no etcd container running, but /var/lib/etcd/member is there "
                                 "for quorum-restore.sh")
    return CheckResult(False, f"no etcd container and no /var/lib/etcd/member on {host}")


@dataclass(frozen=True)
class RestoreRunbook(Runbook):
    """A restore procedure; `path_key` says which ("4.12-4.13", ..., "quorum")."""

    path_key: str = ""

    def print_plan(self, runner, out) -> None:
        """The change ticket; exit 2 afterwards when the real run would be refused."""
        print_ticket(runner, out)
        override = runner.ctx.params.get("override")
        blocked = [i for i in runner.ctx.params.get("preflight") or []
                   if i["blocking"] and not i["ok"]
                   and not (override and i.get("overridable", True))]
        if blocked:
            raise Refused("the plan is printed, but the run would be refused: "
                          + "; ".join(f"{i['title']}: {i['detail']}" for i in blocked),
                          hint="Fix these, or give --override REASON where that is allowed")


def restore_runbook(path_key: str) -> RestoreRunbook:
    """The restore runbook for a path: "4.12-4.13" | "4.14-4.17" | "4.18+"."""
    if path_key not in PATH_KEYS:
        raise EtcdDrError(f"unknown restore path {path_key!r}",
                          hint=f"Choose one of {', '.join(PATH_KEYS)}")
    steps = _rstn_steps() if path_key == "4.18+" else _rst_steps(path_key)
    label = {"4.12-4.13": "RST as written", "4.14-4.17": "RST by release",
             "4.18+": "RSTN"}[path_key]
    return RestoreRunbook(name="restore", title=f"Restore etcd from a backup ({path_key}, "
                                                f"{label})",
                          steps=steps, preflight=_preflight("restore", path_key),
                          params=("backup_dir",), path_key=path_key)


QUORUM_RESTORE = RestoreRunbook(
    name="quorum-restore", title="Quorum restore without a backup (4.18+, QRS)",
    steps=_qrs_steps(), preflight=_preflight("quorum-restore"),
    path_key="quorum")


@dataclass(frozen=True)
class ResolvingRunbook(Runbook):
    """`restore` before its path is known: `resolve(ctx)` reads the cluster (the preflight)
    and returns the runbook for its version, or for params["path"] when given (a resume, or
    the operator's override with a reason)."""

    @property
    def mutating(self) -> bool:
        return True

    async def resolve(self, ctx: RunContext) -> RestoreRunbook:
        key = ctx.params.get("path")
        if key and key not in PATH_KEYS:
            raise EtcdDrError(f"unknown restore path {key!r}",
                              hint=f"Choose one of {', '.join(PATH_KEYS)}")
        if key and ctx.params.get("preflight") is not None:
            return restore_runbook(key)  # a resume: the journal's plan already chose it
        report = await preflight_report(ctx, "restore")
        ctx._restore_report = report
        if key and report.path is not None and report.path.key != key and \
                not ctx.params.get("path_reason"):
            raise Refused(f"--path {key} differs from the detected {report.path.key} "
                          f"({report.path.why})", hint="Give the reason with --reason")
        key = key or (report.path.key if report.path else None)
        if key is None:
            raise Refused(f"the cluster version is unknown ({report.version_source}): the "
                          f"restore procedure depends on it",
                          hint="Choose it with --path 4.12-4.13|4.14-4.17|4.18+ and --reason")
        return restore_runbook(key)


async def _unresolved(ctx: RunContext) -> list[str]:
    return ["the restore runbook must be resolved to a procedure first (resolve_runbook)"]


RESTORE = ResolvingRunbook(name="restore", title="Restore etcd from a backup", steps=(),
                           preflight=_unresolved)


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
    if runbook.name == "restore":
        w(f"Backup: {p.get('backup_dir')} on {p.get('recovery_host')}"
          + (f" (from {p['backup_source']})" if p.get("backup_source") else "")
          + (f", timestamp {p['backup_ts']}" if p.get("backup_ts") else ""))
    w("(dry run: nothing is sent)")
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
