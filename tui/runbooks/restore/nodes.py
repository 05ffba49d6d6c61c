"""RST-09..12: nodes Ready (PEM cleanup where not), kubelet restarts, the reviewed CSR
approvals, and the single-member control plane check."""

from __future__ import annotations

from tui.cluster.ops import CSR_PATH, ApiUnavailable, approve_csr_op
from tui.errors import EtcdDrError
from tui.fleet.commands import Command, Safety
from tui.runbooks.attempts import run_recorded
from tui.runbooks.context import RunContext, RunEventKind
from tui.runbooks.model import CheckResult
from tui.runbooks.runner import StepRun

from tui.runbooks.restore.common import (API, BOOTSTRAPPER, CLIENT_SIGNER, CSR_TIMEOUT,
                                         NODES_GRACE, PKI_DIR, POLL, SERVING_SIGNER, read_nodes, cluster_ops,
                                         priv, probe_host, ready, send, skip_lost, wait_for_api,
                                         control_plane, learn_cluster, lost_hosts, node_of,
                                         recovery_host, within)


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
    # under an attempt record: a resumed run knows whether this very rm already ran
    await run_recorded(run, host, priv("rm", "-f", *files, safety=Safety.DESTRUCTIVE))
    return f"{host}: {len(files)} PEM file(s) removed"


async def nodes_and_pems(ctx: RunContext, run: StepRun) -> str:
    transport = await wait_for_api(ctx, run)
    gone = 0  # times the API went away again after it answered
    while True:
        try:
            await learn_cluster(ctx)
            break
        except ApiUnavailable as e:
            gone = await _api_gone_again(ctx, run, e, gone)
    lost = set(lost_hosts(ctx))
    lost_nodes = {node_of(ctx, h) for h in lost}
    waited, not_ready = 0.0, []
    while True:
        try:
            nodes = await read_nodes(ctx)
        except ApiUnavailable as e:
            gone = await _api_gone_again(ctx, run, e, gone)
            continue
        not_ready = [(n.get("metadata") or {}).get("name") for n in nodes if not ready(n)
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
        run.show(RunEventKind.NOTE, f"WARNING: NotReady nodes the console cannot reach over SSH: "
                         f"{', '.join(by_hand)}: delete their {PKI_DIR}/*.pem by hand")
    return (f"NotReady after {waited:g}s: {', '.join(not_ready)}; " + "; ".join(notes)
            + (f"; by hand: {', '.join(by_hand)}" if by_hand else ""))


API_FLAPS = 5  # the API may go away this often after it first answered, then RST-09 fails


async def _api_gone_again(ctx: RunContext, run: StepRun, error: ApiUnavailable,
                          gone: int) -> int:
    """The API answered, then stopped (its servers restart as revisions roll out after a
    restore): say so and wait for it again, as RST-09 does before its first read; fail with
    what was seen when it keeps going away."""
    gone += 1
    if gone > API_FLAPS:
        run.fail(f"the API went away {gone} times after it first answered: {error.message}")
    run.show(RunEventKind.NOTE,
             f"the API stopped answering again ({error.message}); waiting for it")
    await wait_for_api(ctx, run)
    return gone


def pem_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    return [(API, Command.of("oc", "get", "nodes")),
            ("<each NotReady node>", _pem_listing()),
            ("<each NotReady node>", priv("rm", "-f", f"<each {PKI_DIR}/*.pem listed>",
                                           safety=Safety.DESTRUCTIVE))]


def kubelet_hosts(ctx: RunContext) -> list[str]:
    """Every control-plane host, the recovery host first; then any other host whose PEMs
    RST-09 removed (its kubelet bootstraps new certificates only when restarted)."""
    rec = ctx.params.get("recovery_host")
    cp = [rec] + [h for h in control_plane(ctx) if h != rec]
    return cp + [h for h in ctx.facts.get("pem_cleaned") or [] if h not in cp]


def restart_kubelet() -> Command:
    return priv("systemctl", "restart", "kubelet.service", safety=Safety.MUTATING, timeout=120)


async def restart_kubelets(ctx: RunContext, run: StepRun) -> str:
    hosts = skip_lost(run, kubelet_hosts(ctx))
    for host in hosts:
        r = await run.run(host, restart_kubelet())
        if not r.ok:
            run.fail(f"{host}: kubelet restart failed: {r.stderr.strip() or r.error}")
        active = await probe_host(ctx, host, Command.of("systemctl", "is-active", "kubelet"))
        if active.stdout.strip() != "active":
            run.fail(f"{host}: kubelet is {active.stdout.strip() or 'not active'} after the "
                     f"restart")
    return f"kubelet restarted on {', '.join(hosts)} (the recovery host first)"


def skip_no_workers(ctx: RunContext) -> str | None:
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


async def approve_csrs(ctx: RunContext, run: StepRun) -> str:
    lost_nodes = {node_of(ctx, h) for h in lost_hosts(ctx)}
    approved = list(ctx.facts.get("csr_approved") or [])
    refused: dict[str, str] = dict(ctx.facts.get("csr_refused") or {})
    waited = 0.0
    while True:
        nodes = await read_nodes(ctx)
        known = {h.name for h in ctx.inventory.hosts} | {
            (n.get("metadata") or {}).get("name") for n in nodes}
        csrs = (await cluster_ops(ctx).get(CSR_PATH)).get("items") or []
        for csr in csrs:
            name = (csr.get("metadata") or {}).get("name")
            if not _pending(csr) or name in refused or name in approved:
                continue
            ok, why = review_csr(csr, known)
            if ok:
                await send(run, approve_csr_op(name))
                approved.append(name)
                ctx.facts["csr_approved"] = approved
                run.show(RunEventKind.NOTE, f"approved {name}: {why}")
            else:
                refused[name] = why
                ctx.facts["csr_refused"] = refused
                run.journal("skipped", [], step_id="-", for_step=run.step.id, csr=name,
                            reason=f"not approved: {why}")
                run.show(RunEventKind.NOTE,
                         f"NOT approved {name}: {why} (review it by hand: oc describe "
                                 f"csr {name})")
        not_ready = [(n.get("metadata") or {}).get("name") for n in nodes if not ready(n)
                     and (n.get("metadata") or {}).get("name") not in lost_nodes]
        if not not_ready:
            break
        if waited >= CSR_TIMEOUT:
            run.fail(f"nodes not Ready {within(ctx, CSR_TIMEOUT)}: {', '.join(not_ready)}"
                     + (f"; CSRs not approved: {', '.join(refused)}" if refused else ""))
        await run.wait(POLL, f"nodes Ready and new CSRs (NotReady: {', '.join(not_ready)})")
        waited += POLL
    text = f"approved {len(approved)} CSR(s)" + (f": {', '.join(approved)}" if approved else "")
    if refused:
        text += "; refused: " + "; ".join(f"{n} ({w})" for n, w in refused.items())
    return text + "; every node is Ready"


def csr_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    return [(API, Command.of("oc", "get", "--raw", CSR_PATH)),
            (API, Command.of("oc", "adm", "certificate", "approve", "<each approvable CSR>"))]


def _etcd_listing() -> Command:
    return Command.of("crictl", "ps", privileged=True).pipe("grep", "etcd").pipe(
        "egrep", "-v", "operator|etcd-guard")


async def etcd_pods_of(ctx: RunContext) -> list[dict]:
    return (await cluster_ops(ctx).get("/api/v1/namespaces/openshift-etcd/pods",
                                {"labelSelector": "k8s-app=etcd"})).get("items") or []


def pod_phase(pod: dict) -> tuple[str, str]:
    return (pod.get("spec") or {}).get("nodeName") or "", \
        (pod.get("status") or {}).get("phase") or "Unknown"


async def check_single_member(ctx: RunContext, host) -> CheckResult:
    host = host or recovery_host(ctx)
    r = await probe_host(ctx, host, _etcd_listing())
    if not r.stdout.strip():
        return CheckResult(False, f"no running etcd container on {host} yet")
    container = f"the etcd container runs on {host}"
    try:
        if "network_type" not in ctx.facts:
            await learn_cluster(ctx)
        pods = [pod_phase(p) for p in await etcd_pods_of(ctx)]
    except EtcdDrError as e:  # the host half holds; the API half cannot be read yet
        return CheckResult(False, f"{container}; the API does not answer yet: {e.message}")
    rec_node = node_of(ctx, host)
    lost_nodes = {node_of(ctx, h) for h in lost_hosts(ctx)}
    # the lost hosts' mirror pods keep whatever status the snapshot had: not counted
    running = [n for n, phase in pods if phase == "Running" and n not in lost_nodes]
    others = [f"{n} {phase}" for n, phase in pods if n != rec_node and n not in lost_nodes]
    if running != [rec_node] or others:
        shown = ", ".join(f"{n or '?'} {phase}" for n, phase in pods) or "none"
        return CheckResult(False, f"etcd pods: {shown} (waiting for one Running pod on "
                                  f"{rec_node})")
    try:
        nodes = {(n.get("metadata") or {}).get("name"): ready(n) for n in await read_nodes(ctx)}
    except EtcdDrError as e:
        return CheckResult(False, f"{container}; the API does not answer yet: {e.message}")
    if not nodes.get(rec_node):
        return CheckResult(False, f"node {rec_node} is not Ready yet")
    return CheckResult(True, f"one Running etcd pod, on {rec_node}; the etcd container runs")
