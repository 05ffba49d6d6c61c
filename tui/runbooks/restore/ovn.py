"""RST-13..15: OVN-Kubernetes after a restore (delete the other control-plane nodes, wait
for ovnkube-master to forget them, restart OVN; interconnect from 4.14)."""

from __future__ import annotations

import json
from typing import Callable

from tui.cluster.ops import delete_nodes_op, delete_pods_op
from tui.errors import EtcdDrError
from tui.fleet.commands import Command, Safety
from tui.runbooks.context import RunContext
from tui.runbooks.model import CheckResult
from tui.runbooks.runner import StepRun

from tui.runbooks.restore.common import (API, OVN_DB_DIR, OVN_NS, POLL, ROLLOUT_TIMEOUT,
                                         _keep_fact, _nodes, _ops, _path, _priv, _send, _skip_lost,
                                         control_plane, learn_cluster, lost_hosts, node_of,
                                         non_recovery_hosts, within)
from tui.runbooks.restore.nodes import _pod_phase


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
            run.fail(f"{selector} pods{' on ' + node if node else ''} not Running "
                     f"{within(run.ctx, ROLLOUT_TIMEOUT / 2)}: "
                     f"{', '.join(phases) or 'none'}")
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


def _ovn_acting_hosts(ctx: RunContext) -> list[str]:
    """The hosts RST-15 sends commands to: not the lost ones; before 4.14 the control-plane
    hosts only (the workers' part is an API operation)."""
    lost = set(lost_hosts(ctx))
    hosts = [h for h in _ovn_hosts(ctx) if h not in lost]
    return hosts if _path(ctx) == "4.14-4.17" else [h for h in hosts if h in control_plane(ctx)]


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
