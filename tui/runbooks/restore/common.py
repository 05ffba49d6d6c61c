"""What every part of the restore knows: constants and budgets, the run's hosts and
parameters, the step helpers (lost hosts, guarded actions, API operations), and reading the
cluster (nodes, the API coming back, which transport API steps use)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from tui.cluster.ops import ClusterOp, ClusterOps, OpResult
from tui.errors import EtcdDrError, ReadOnlyRefused
from tui.fleet.commands import Command, Safety
from tui.runbooks.attempts import PASS_THROUGH
from tui.runbooks.context import RunContext, RunEventKind
from tui.runbooks.model import CheckResult
from tui.runbooks.runner import StepRun

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


# A host is lost only on evidence (the preflight records it in params["lost_evidence"]):
# the operator confirmed it, the API says its Node or Machine is gone, or every connection
# attempt was refused / found no route for LOST_AFTER seconds. Simulated-time budgets, like
# the others: a drill at --speed X waits X times less.
LOST_AFTER = 60.0
NODE_LOST_AFTER = 300.0  # a Node NotReady this long (its Ready condition's last transition)


def lost_evidence(ctx: RunContext) -> dict[str, str]:
    return dict(ctx.params.get("lost_evidence") or {})


def proven_lost(ctx: RunContext, host: str) -> str | None:
    """Why the host is lost (the preflight's evidence), or None when it is not proven lost."""
    if host not in lost_hosts(ctx):
        return None
    why = lost_evidence(ctx).get(host)
    return why if isinstance(why, str) and why.strip() else None


def same_machine_as_recovery(ctx: RunContext) -> list[str]:
    """Other control-plane names whose SSH host key (as the fleet saw it) is the recovery
    host's: two inventory names for one machine."""
    rec = ctx.params.get("recovery_host")
    status = ctx.fleet.status
    key = getattr(status.get(rec), "server_key", None) if rec else None
    if not key:
        return []
    return [h for h in control_plane(ctx)
            if h != rec and getattr(status.get(h), "server_key", None) == key]


def assert_one_name_per_machine(ctx: RunContext, what: str) -> None:
    """The recovery host's identity is its host key: refuse when another control-plane name
    reaches the same machine (RST-04 would stop etcd and move its data on the recovery host
    itself; RST-16 would delete its machine)."""
    twins = same_machine_as_recovery(ctx)
    if twins:
        rec = ctx.params.get("recovery_host")
        key = ctx.fleet.status[rec].server_key
        raise Refusal(f"{what}: {', '.join(twins)} and the recovery host {rec} present the same "
                      f"SSH host key ({key}): they are one machine under two inventory names",
                      hint="Nothing was sent. Fix the inventory (one name per machine), "
                           "then run the restore again")


def describe_lost(ctx: RunContext, hosts: list[str]) -> str:
    ev = lost_evidence(ctx)
    return "; ".join(f"{h}: {ev.get(h) or 'no evidence'}" for h in hosts)


def control_plane(ctx: RunContext) -> list[str]:
    return [h.name for h in ctx.inventory.control_plane]


def non_recovery_hosts(ctx: RunContext) -> list[str]:
    return [h for h in control_plane(ctx) if h != ctx.params.get("recovery_host")]


def path_params(ctx: RunContext) -> str:
    return ctx.params.get("path") or "4.12-4.13"


def cluster_ops(ctx: RunContext) -> ClusterOps:
    ops = ClusterOps.for_context(ctx)
    ops.rest_backoff = 10.0 / max(ctx.time_scale, 1e-6)
    return ops


def priv(*argv: str, safety: Safety = Safety.READ, timeout: float = 30.0,
          env: tuple = ()) -> Command:
    return Command.of(*argv, privileged=True, safety=safety, timeout=timeout, env=env)


def proxy_pairs(ctx: RunContext) -> tuple[tuple[str, str], ...]:
    proxy = ctx.params.get("proxy") or {}
    return tuple((k, v) for k, v in sorted(proxy.items()) if k != "unknown" and v)


def stamp_fact(ctx: RunContext) -> str:
    return ctx.params.get("redeploy_stamp") or datetime.now(timezone.utc).strftime(
        "%Y%m%d%H%M%S")


async def probe_host(ctx: RunContext, host: str, command: Command):
    return await ctx.fleet.run_one(host, command, quiet=True)


async def path_exists(ctx: RunContext, host: str, path: str) -> bool:
    r = await probe_host(ctx, host, priv("test", "-e", path, timeout=15))
    if r.exit_status not in (0, 1) or r.error:
        raise EtcdDrError(f"cannot look for {path} on {host}: "
                          f"{r.error or r.stderr.strip() or r.exit_status}")
    return r.exit_status == 0


def guarded(action: Callable[[RunContext, StepRun], Awaitable[str]]):
    """A step's failure, said plainly: errors become a failed step (journaled, retry/skip/
    abort), never an exception out of the runner."""

    async def run(ctx: RunContext, step_run: StepRun) -> str:
        try:
            return await action(ctx, step_run)
        except (ReadOnlyRefused, *PASS_THROUGH):
            raise
        except Refusal as e:
            step_run.fail(f"REFUSED: {e.message}")
        except EtcdDrError as e:
            step_run.fail(e.message)
        raise AssertionError("unreachable")  # pragma: no cover

    run.__name__ = getattr(action, "__name__", "action")
    return run


def skip_lost(run: StepRun, hosts: list[str], step_id: str | None = None) -> list[str]:
    """The hosts a host step acts on; lost ones are journaled as skipped (under "-", naming
    the step: a step-level `skipped` line would mark the whole step done for a resume), each
    with the evidence that it is lost."""
    lost = set(lost_hosts(run.ctx))
    skipped = [h for h in hosts if h in lost]
    if skipped:
        sid = step_id or run.step.id
        evidence = {h: lost_evidence(run.ctx).get(h) or "no evidence recorded"
                    for h in skipped}
        run.journal("skipped", skipped, step_id="-", for_step=sid, reason=LOST_REASON,
                    evidence=evidence)
        run.show(RunEventKind.SKIP, f"{', '.join(skipped)}: skipped ({LOST_REASON}; "
                         f"{describe_lost(run.ctx, skipped)})", skipped, step_id=sid)
    return [h for h in hosts if h not in lost]


async def send(run: StepRun, op: ClusterOp, step_id: str | None = None) -> OpResult:
    """One cluster operation, shown and journaled (as a command line) with its transport."""
    ctx, sid = run.ctx, step_id or run.step.id
    run.show(RunEventKind.COMMAND, f"$ {op.oc}", step_id=sid)
    run.journal("started", [], step_id=sid, command=op.oc)
    try:
        result = await cluster_ops(ctx).execute(op)
    except EtcdDrError as e:
        run.journal("failed", [], step_id=sid, command=op.oc, error=e.message)
        raise
    for line in result.output.strip().splitlines()[:50] if op.mutating else ():
        run.show(RunEventKind.OUTPUT, line, step_id=sid)
    run.journal("finished", [], step_id=sid, command=op.oc, exit_status=0,
                transport=result.transport,
                **({"facts": dict(ctx.facts)} if ctx.facts else {}))
    return result


def keep_fact(run: StepRun, step_id: str | None = None, **facts) -> None:
    """Facts that must survive a console killed before the step ends (a command-style line:
    it does not mark the step done)."""
    run.ctx.facts.update(facts)
    run.journal("finished", [], step_id=step_id or run.step.id,
                command="# etcd-dr notes, before acting: " + ", ".join(sorted(facts)),
                exit_status=0, facts=dict(run.ctx.facts))


# --- reading the cluster --------------------------------------------------------------------

def ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def node_ip(node: dict) -> str | None:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a.get("address")
    return None


async def read_nodes(ctx: RunContext) -> list[dict]:
    return (await cluster_ops(ctx).get("/api/v1/nodes")).get("items") or []


def _node_map(ctx: RunContext, nodes: list[dict]) -> dict[str, str]:
    """inventory host -> Node name (same name, or the host's address as InternalIP)."""
    out = {}
    for h in ctx.inventory.hosts:
        for n in nodes:
            name = (n.get("metadata") or {}).get("name")
            if name == h.name or (node_ip(n) and node_ip(n) == h.address):
                out[h.name] = name
                break
    return out


def node_of(ctx: RunContext, host: str) -> str:
    return (ctx.facts.get("node_names") or {}).get(host, host)


async def learn_cluster(ctx: RunContext) -> dict:
    """What later steps decide on, read once the API answers (kept in facts, so a resumed
    run decides the same): nodes and workers, network type, platform, VIPs."""
    nodes = await read_nodes(ctx)
    learned: dict[str, Any] = {
        "node_names": _node_map(ctx, nodes),
        "node_ips": {(n.get("metadata") or {}).get("name"): node_ip(n) for n in nodes},
        "worker_nodes": sorted((n.get("metadata") or {}).get("name") for n in nodes
                               if "node-role.kubernetes.io/worker" in
                               ((n.get("metadata") or {}).get("labels") or {})
                               and "node-role.kubernetes.io/master" not in
                               ((n.get("metadata") or {}).get("labels") or {})
                               and "node-role.kubernetes.io/control-plane" not in
                               ((n.get("metadata") or {}).get("labels") or {})),
    }
    try:
        network = await cluster_ops(ctx).get("/apis/config.openshift.io/v1/networks/cluster")
        learned["network_type"] = ((network.get("status") or {}).get("networkType")
                                   or (network.get("spec") or {}).get("networkType"))
    except EtcdDrError:
        pass
    try:
        infra = await cluster_ops(ctx).get("/apis/config.openshift.io/v1/infrastructures/cluster")
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


async def wait_for_api(ctx: RunContext, run: StepRun, timeout: float = API_BACK_TIMEOUT,
                        step_id: str | None = None) -> str:
    """Until the API answers, over REST or `oc` on the recovery host; returns the transport."""
    waited, last = 0.0, ""
    while True:
        try:
            await cluster_ops(ctx).get("/api/v1/nodes")
            return cluster_ops(ctx).last_transport or "API"
        except EtcdDrError as e:
            last = e.message
        if waited >= timeout:
            run.fail(f"the API did not answer {within(ctx, timeout)}: {last}")
        await run.wait(POLL, "the API to answer (REST, or oc on the recovery host)",
                       step_id=step_id)
        waited += POLL


def within(ctx: RunContext, seconds: float) -> str:
    """A wait's budget in the time the operator lives in: "within 1200 s"; in a drill at
    another speed "within 1200 s of drill time (2 s real at --speed 600)"."""
    scale = ctx.time_scale
    if scale == 1:
        return f"within {seconds:g} s"
    real = seconds / max(scale, 1e-6)
    return (f"within {seconds:g} s of drill time ({round(real, 1 if real < 10 else 0):g} s "
            f"real at --speed {scale:g})")


def known_vips(ctx: RunContext) -> list[str]:
    return list(ctx.params.get("vips") or ctx.facts.get("vips") or [])


# --- RST-18: the transport API steps use -----------------------------------------------------

async def check_transport(ctx: RunContext, _host) -> CheckResult:
    try:
        await cluster_ops(ctx).get("/api/v1/nodes")
    except EtcdDrError as e:
        return CheckResult(False, e.message)
    via = cluster_ops(ctx).last_transport or "API"
    if via == "API":
        return CheckResult(True, "the external API answers: API steps use it")
    return CheckResult(True, f"the external API does not answer: API steps run oc {via} with "
                             f"the recovery kubeconfig")
