"""RST-13..15: OVN-Kubernetes after a restore (delete the other control-plane nodes, wait
for ovnkube-master to forget them, restart OVN; interconnect from 4.14)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from tui.cluster.ops import (WEBHOOKS_PATH, NotFound, delete_nodes_op, delete_pods_op,
                             patch_webhook_op)
from tui.errors import EtcdDrError
from tui.fleet.commands import Command, Safety
from tui.runbooks.attempts import run_recorded
from tui.runbooks.context import ConfirmRequest, RunContext, RunEventKind
from tui.runbooks.model import CheckResult, Confirm
from tui.runbooks.runner import StepRun

from tui.runbooks.restore.common import (API, OVN_DB_DIR, OVN_NS, POLL, ROLLOUT_TIMEOUT,
                                         keep_fact, read_nodes, cluster_ops, path_params, priv, send, skip_lost,
                                         control_plane, learn_cluster, lost_hosts, node_of,
                                         non_recovery_hosts, within)
from tui.runbooks.restore.nodes import pod_phase


# --- RST-13..15: OVN-Kubernetes ---------------------------------------------------------------

def skip_not_ovn(ctx: RunContext) -> str | None:
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


def nodes_to_delete(ctx: RunContext) -> list[str]:
    return [node_of(ctx, h) for h in non_recovery_hosts(ctx)]


async def delete_nodes(ctx: RunContext, run: StepRun) -> str:
    if not await _ensure_network(ctx, run):
        return f"not OVN-Kubernetes ({ctx.facts.get('network_type')}): nothing to do"
    names = nodes_to_delete(ctx)
    ips = ctx.facts.get("node_ips") or {}
    keep_fact(run, deleted_node_ips=sorted(
        {ips.get(n) for n in names if ips.get(n)} |
        {ctx.inventory.host(h).address for h in non_recovery_hosts(ctx)}))
    result = await send(run, delete_nodes_op(names))
    ctx.facts["nodes_deleted"] = names
    return result.output.strip().replace("\n", "; ")


async def check_nodes_deleted(ctx: RunContext, _host) -> CheckResult:
    present = {(n.get("metadata") or {}).get("name") for n in await read_nodes(ctx)}
    left = [n for n in nodes_to_delete(ctx) if n in present]
    if left and not ctx.facts.get("nodes_deleted"):
        return CheckResult(False, f"nodes still there: {', '.join(left)}")
    return CheckResult(True, "the non-recovery control-plane nodes were deleted")


async def check_ovnkube_master_ips(ctx: RunContext, _host) -> CheckResult:
    ips = ctx.facts.get("deleted_node_ips") or [ctx.inventory.host(h).address
                                                for h in non_recovery_hosts(ctx)]
    ds = await cluster_ops(ctx).get(f"/apis/apps/v1/namespaces/{OVN_NS}/daemonsets/ovnkube-master")
    text = json.dumps(ds)
    left = [ip for ip in ips if ip and ip in text]
    if left:
        return CheckResult(False, f"ds/ovnkube-master still lists {', '.join(left)}")
    return CheckResult(True, f"ds/ovnkube-master no longer lists {', '.join(ips)}")


# --- RST-15's note: admission webhooks that can reject the OVN pods -------------------------
#
# A webhook with failurePolicy Fail whose backend runs on the pod network cannot answer while
# OVN restarts, and then nothing it matches is admitted: the OVN pods RST-15 deletes never come
# back. RST-15 sets each such webhook to Ignore (confirmed with the exact commands, the
# originals kept as a fact first, so a resume sets them back), and to Fail again once the OVN
# pods run. Stopped in between, it says loudly which are still Ignore and how to set them back.

WEBHOOK_FACT = "webhooks_relaxed"  # [{kind, name, index, webhook, failurePolicy}] set to Ignore
WEBHOOK_KINDS = ("validating", "mutating")


@dataclass(frozen=True)
class RiskyWebhook:
    """One webhook of a configuration (its index in .webhooks) that can reject the OVN pods."""

    kind: str  # validating | mutating
    name: str  # the configuration's name
    index: int
    webhook: str  # the webhook's own name
    policy: str = "Fail"  # its failurePolicy when found

    def fact(self) -> dict:
        return {"kind": self.kind, "name": self.name, "index": self.index,
                "webhook": self.webhook, "failurePolicy": self.policy}

    @classmethod
    def from_fact(cls, fact: dict) -> "RiskyWebhook":
        return cls(str(fact["kind"]), str(fact["name"]), int(fact["index"]),
                   str(fact.get("webhook") or ""), str(fact.get("failurePolicy") or "Fail"))

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.name, self.webhook

    def label(self) -> str:
        return f"{self.kind}webhookconfiguration {self.name} (webhook {self.index}: " \
               f"{self.webhook or '?'})"

    def patch_oc(self, policy: str) -> str:
        return patch_webhook_op(self.kind, self.name, self.index, policy).oc


def _rule_admits_pod_create(rule: dict) -> bool:
    """Whether a RuleWithOperations can match creating a pod (conservative: any version, as
    matchPolicy Equivalent may convert; scope * or Namespaced)."""
    operations = rule.get("operations") or []
    groups = rule.get("apiGroups") or []
    resources = rule.get("resources") or []
    scope = rule.get("scope") or "*"
    return (("CREATE" in operations or "*" in operations)
            and ("" in groups or "*" in groups)
            and any(r in ("pods", "*", "*/*") for r in resources)
            and scope in ("*", "Namespaced"))


def _selector_excludes(selector: dict | None, labels: dict[str, str], known_all: bool) -> bool:
    """True only when the label selector surely does not match a namespace with `labels`
    (a key not in `labels` is unknown, unless `known_all`: then it is absent)."""
    if not selector:
        return False  # {} matches every namespace
    for key, value in (selector.get("matchLabels") or {}).items():
        if key in labels:
            if labels[key] != str(value):
                return True
        elif known_all:
            return True
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key"), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        if key not in labels and not known_all:
            continue  # unknown: it may match
        present, value = key in labels, labels.get(key)
        if (op == "In" and (not present or value not in values)) or \
                (op == "NotIn" and present and value in values) or \
                (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return True
    return False


def risky_webhooks(configs: dict[str, list[dict]], ns_labels: dict[str, str],
                   known_all: bool = False) -> list[RiskyWebhook]:
    """The webhooks (kind -> configuration objects) with failurePolicy Fail (the v1 default
    when unset) that can reject creating a pod in a namespace with `ns_labels`: a rule on pods
    CREATE and a namespaceSelector that does not surely exclude it (objectSelector is not
    trusted to exclude the OVN pods)."""
    out = []
    for kind in WEBHOOK_KINDS:
        for obj in configs.get(kind) or []:
            name = (obj.get("metadata") or {}).get("name")
            for i, hook in enumerate(obj.get("webhooks") or []):
                policy = hook.get("failurePolicy") or "Fail"
                if policy != "Fail" or not name:
                    continue
                if not any(_rule_admits_pod_create(r) for r in hook.get("rules") or []):
                    continue
                if _selector_excludes(hook.get("namespaceSelector"), ns_labels, known_all):
                    continue
                out.append(RiskyWebhook(kind, name, i, str(hook.get("name") or ""), policy))
    return out


async def _read_webhooks(ctx: RunContext, run: StepRun) -> list[RiskyWebhook]:
    configs: dict[str, list[dict]] = {}
    for kind in WEBHOOK_KINDS:
        try:
            objs = await cluster_ops(ctx).get(WEBHOOKS_PATH.format(kind=kind))
        except EtcdDrError as e:
            run.show(RunEventKind.NOTE,
                     f"could not read the {kind} webhook configurations ({e.message}): "
                             f"those that could reject the OVN pods are not known")
            continue
        configs[kind] = objs.get("items") or []
    labels, known_all = {"kubernetes.io/metadata.name": OVN_NS}, False
    try:
        ns = await cluster_ops(ctx).get(f"/api/v1/namespaces/{OVN_NS}")
        labels = {**((ns.get("metadata") or {}).get("labels") or {}), **labels}
        known_all = True
    except EtcdDrError:
        pass  # only the name label is sure: selectors on other labels may match
    return risky_webhooks(configs, labels, known_all)


def _relaxed(ctx: RunContext) -> list[RiskyWebhook]:
    return [RiskyWebhook.from_fact(f) for f in ctx.facts.get(WEBHOOK_FACT) or []]


def _note_relaxed(run: StepRun, hooks: list[RiskyWebhook], why: str) -> None:
    """The webhooks RST-15 set to Ignore, as a fact on a command-style journal line (it does
    not mark the step done; a resumed run reads it back and sets them to Fail)."""
    run.ctx.facts[WEBHOOK_FACT] = [h.fact() for h in hooks]
    run.journal("finished", [], command=f"# etcd-dr notes: {WEBHOOK_FACT} ({why})",
                exit_status=0, facts=dict(run.ctx.facts))


async def _relax_webhooks(ctx: RunContext, run: StepRun) -> list[RiskyWebhook]:
    """Before the OVN pods are deleted: list the webhooks that can reject them and, confirmed
    with the exact commands, set each to failurePolicy Ignore. Returns every webhook this run
    set to Ignore (those of an earlier, interrupted attempt included)."""
    before = _relaxed(ctx)
    found = await _read_webhooks(ctx, run)
    if before:
        run.show(RunEventKind.NOTE,
                 "set to failurePolicy Ignore earlier in this run (set back to Fail "
                         "once the OVN pods run): " + ", ".join(h.label() for h in before))
    if not found:
        return before
    run.show(RunEventKind.NOTE,
             "WARNING: admission webhooks with failurePolicy Fail can reject the OVN "
                     "pods this step deletes (their backends may need the pod network): "
                     + ", ".join(h.label() for h in found))
    commands = [f"API: {h.patch_oc('Ignore')}" for h in found]
    request = ConfirmRequest(
        step=run.step, hosts=[], kind=Confirm.YES_NO, expected="yes",
        commands=commands + [f"then, once the OVN pods run: {h.patch_oc('Fail')}"
                             for h in found],
        text=f"{run.step.id}: {len(found)} admission webhook(s) with failurePolicy Fail can "
             f"reject the OVN pods ({', '.join(h.label() for h in found)}). Set them to "
             f"Ignore for the duration (RUNBOOK RST-15) and back to Fail once the OVN pods "
             f"run again?")
    if not await ctx.operator.confirm(request):
        run.fail("the admission webhooks that can reject the OVN pods were left at "
                 "failurePolicy Fail and no OVN pod was deleted: "
                 + ", ".join(h.label() for h in found) + ". Retry and confirm, or remove them "
                 "or set them to Ignore yourself, then retry")
    run.journal("confirmed", [], kind="webhooks-ignore", commands=commands)
    keys = {h.key for h in found}
    relaxed = [h for h in before if h.key not in keys] + found
    _note_relaxed(run, relaxed, "failurePolicy Fail before RST-15 set them to Ignore: set "
                                "back to Fail after the OVN pods run, or on a resume")
    for h in found:
        await send(run, patch_webhook_op(h.kind, h.name, h.index, "Ignore"))
    return relaxed


async def _current_index(ctx: RunContext, hook: RiskyWebhook) -> tuple[int | None, str | None]:
    """Where the webhook is now in its configuration, and its failurePolicy (None, None: the
    configuration or the webhook is gone)."""
    try:
        obj = await cluster_ops(ctx).get(f"{WEBHOOKS_PATH.format(kind=hook.kind)}/{hook.name}")
    except NotFound:
        return None, None
    hooks = obj.get("webhooks") or []
    if hook.webhook:
        at = next((i for i, w in enumerate(hooks) if w.get("name") == hook.webhook), None)
    else:
        at = hook.index if hook.index < len(hooks) else None
    if at is None:
        return None, None
    return at, hooks[at].get("failurePolicy") or "Fail"


async def _restore_webhooks(ctx: RunContext, run: StepRun,
                            relaxed: list[RiskyWebhook]) -> list[str]:
    """The OVN pods run: each webhook set to Ignore goes back to failurePolicy Fail."""
    notes, left = [], list(relaxed)
    for hook in relaxed:
        at, policy = await _current_index(ctx, hook)
        if at is None:
            run.show(RunEventKind.NOTE, f"{hook.label()} is no longer there: nothing to set back")
            notes.append(f"{hook.name}: gone")
        elif policy == "Fail":
            notes.append(f"{hook.name}: already Fail")
        else:
            await send(run, patch_webhook_op(hook.kind, hook.name, at, "Fail"))
            notes.append(f"{hook.name}: Fail again")
        left = [h for h in left if h.key != hook.key]
        ctx.facts[WEBHOOK_FACT] = [h.fact() for h in left]
    _note_relaxed(run, [], "failurePolicy Fail again: " + ", ".join(notes))
    return notes


def webhooks_warning(hooks: list[RiskyWebhook]) -> str:
    """The loud end-of-run text: which webhooks are still Ignore and how to set them back."""
    return ("WARNING: ADMISSION WEBHOOKS ARE STILL failurePolicy Ignore (RST-15 set them for "
            "the OVN restart and has not set them back): "
            + ", ".join(h.label() for h in hooks) + ". Once the OVN pods run, set them back: "
            + "; ".join(h.patch_oc("Fail") for h in hooks)
            + " (or resume the run: RST-15 sets them back)")


def warn_relaxed(run: StepRun, hooks: list[RiskyWebhook], step_id: str = "RST-15") -> None:
    text = webhooks_warning(hooks)
    run.show(RunEventKind.WARNING, text, step_id=step_id)
    run.journal("skipped", [], step_id="-", for_step=step_id, warning=text,
                reason="admission webhooks were left at failurePolicy Ignore")


async def still_relaxed(ctx: RunContext) -> list[RiskyWebhook]:
    """The webhooks this run set to Ignore that are still Ignore (from the facts; the API
    says which, when it answers)."""
    out = []
    for hook in _relaxed(ctx):
        try:
            at, policy = await _current_index(ctx, hook)
        except EtcdDrError:
            out.append(hook)
            continue
        if at is not None and policy != "Fail":
            out.append(RiskyWebhook(hook.kind, hook.name, at, hook.webhook, hook.policy))
    return out


async def _ovn_pods(ctx: RunContext, selector: str, node: str | None = None) -> list[dict]:
    query = {"labelSelector": selector}
    if node:
        query["fieldSelector"] = f"spec.nodeName={node}"
    return (await cluster_ops(ctx).get(f"/api/v1/namespaces/{OVN_NS}/pods", query)).get("items") or []


async def _wait_pods_running(run: StepRun, selector: str, gone: set[str],
                             node: str | None = None, step_id: str | None = None,
                             at_least: int = 1) -> str:
    waited = 0.0
    while True:
        pods = await _ovn_pods(run.ctx, selector, node)
        fresh = [p for p in pods if (p.get("metadata") or {}).get("name") not in gone]
        phases = [(p.get("metadata") or {}).get("name") + " " + pod_phase(p)[1] for p in fresh]
        if len(fresh) >= at_least and len(fresh) == len(pods) and \
                all(pod_phase(p)[1] == "Running" for p in fresh):
            return ", ".join(phases)
        if waited >= ROLLOUT_TIMEOUT / 2:
            run.fail(f"{selector} pods{' on ' + node if node else ''} not Running "
                     f"{within(run.ctx, ROLLOUT_TIMEOUT / 2)}: "
                     f"{', '.join(phases) or 'none'}")
        await run.wait(POLL, f"{selector} pods Running{' on ' + node if node else ''} "
                             f"({', '.join(phases) or 'none yet'})", step_id=step_id)
        waited += POLL


def _ovn_db_commands(ctx: RunContext) -> tuple[Command, Callable[[list[str]], Command]]:
    directory = OVN_DB_DIR["4.14-4.17" if path_params(ctx) == "4.14-4.17" else "4.12-4.13"]
    listing = Command.of("find", directory, "-maxdepth", "1", "-name", "*.db", privileged=True)
    return listing, lambda files: priv("rm", "-f", *files, safety=Safety.DESTRUCTIVE)


async def _remove_ovn_dbs(run: StepRun, host: str, step_id: str) -> str:
    listing, rm = _ovn_db_commands(run.ctx)
    r = await run.run(host, listing, step_id=step_id)
    files = [f.strip() for f in r.stdout.splitlines() if f.strip().endswith(".db")]
    if not r.ok and "No such file" not in r.stderr:
        run.fail(f"{host}: cannot list the OVN databases: {r.stderr.strip() or r.error}")
    if files:
        # under an attempt record: a resumed run knows whether this very rm already ran
        await run_recorded(run, host, rm(files), step_id=step_id)
    return f"{host}: {len(files)} database file(s) removed"


def _ovn_hosts(ctx: RunContext) -> list[str]:
    """Recovery host first, the other control-plane hosts, then the inventory's workers."""
    rec = ctx.params.get("recovery_host")
    return [rec] + [h for h in control_plane(ctx) if h != rec] + \
        [h.name for h in ctx.inventory.workers]


def ovn_acting_hosts(ctx: RunContext) -> list[str]:
    """The hosts RST-15 sends commands to: not the lost ones; before 4.14 the control-plane
    hosts only (the workers' part is an API operation)."""
    lost = set(lost_hosts(ctx))
    hosts = [h for h in _ovn_hosts(ctx) if h not in lost]
    return hosts if path_params(ctx) == "4.14-4.17" else [h for h in hosts if h in control_plane(ctx)]


async def restart_ovn(ctx: RunContext, run: StepRun) -> str:
    if not await _ensure_network(ctx, run):
        return f"not OVN-Kubernetes ({ctx.facts.get('network_type')}): nothing to do"
    try:
        relaxed = await _relax_webhooks(ctx, run)
        notes = await _restart_ovn_pods(ctx, run)
        if relaxed:
            notes.append("webhooks set back to failurePolicy Fail: " + ", ".join(
                await _restore_webhooks(ctx, run, relaxed)))
    except Exception:
        # stopped between Ignore and Fail: say loudly which are still Ignore (a retry or a
        # resume sets them back; the facts keep them)
        left = _relaxed(ctx)
        if left:
            warn_relaxed(run, left)
        raise
    return "; ".join(notes)


async def _restart_ovn_pods(ctx: RunContext, run: StepRun) -> list[str]:
    notes = []
    if path_params(ctx) == "4.14-4.17":
        notes += await _restart_ovn_interconnect(ctx, run)
    else:
        hosts = skip_lost(run, [h for h in _ovn_hosts(ctx) if h in control_plane(ctx)],
                           "RST-15a")
        for host in hosts:
            notes.append(await _remove_ovn_dbs(run, host, "RST-15a"))
        gone = {(p.get("metadata") or {}).get("name")
                for p in await _ovn_pods(ctx, "app=ovnkube-master")}
        await send(run, delete_pods_op(OVN_NS, "app=ovnkube-master"), "RST-15b")
        notes.append("ovnkube-master: " + await _wait_pods_running(
            run, "app=ovnkube-master", gone, step_id="RST-15c"))
        gone = {(p.get("metadata") or {}).get("name")
                for p in await _ovn_pods(ctx, "app=ovnkube-node")}
        await send(run, delete_pods_op(OVN_NS, "app=ovnkube-node"), "RST-15d")
        notes.append("ovnkube-node: " + await _wait_pods_running(
            run, "app=ovnkube-node", gone, step_id="RST-15e"))
    return notes


async def _restart_ovn_interconnect(ctx: RunContext, run: StepRun) -> list[str]:
    notes = []
    gone = {(p.get("metadata") or {}).get("name")
            for p in await _ovn_pods(ctx, "app=ovnkube-control-plane")}
    await send(run, delete_pods_op(OVN_NS, "app=ovnkube-control-plane"))
    notes.append("ovnkube-control-plane: " + await _wait_pods_running(
        run, "app=ovnkube-control-plane", gone))
    hosts = skip_lost(run, _ovn_hosts(ctx))
    for host in hosts:
        notes.append(await _remove_ovn_dbs(run, host, run.step.id))
        r = await run.run(host, priv("systemctl", "restart", "ovs-vswitchd", "ovsdb-server",
                                      safety=Safety.MUTATING, timeout=120))
        if not r.ok:
            run.fail(f"{host}: restarting ovs-vswitchd and ovsdb-server failed: "
                     f"{r.stderr.strip() or r.error}")
        node = node_of(ctx, host)
        gone = {(p.get("metadata") or {}).get("name")
                for p in await _ovn_pods(ctx, "app=ovnkube-node", node)}
        await send(run, delete_pods_op(OVN_NS, "app=ovnkube-node", node))
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


def ovn_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    listing, rm = _ovn_db_commands(ctx)
    directory = listing.stages[0][1]
    out: list[tuple[str, Command]] = []
    hosts = [h for h in _ovn_hosts(ctx) if h not in lost_hosts(ctx)]
    if path_params(ctx) == "4.14-4.17":
        out.append((API, Command.of("oc", *delete_pods_op(OVN_NS,
                                                          "app=ovnkube-control-plane").oc_args)))
        for h in hosts:
            out += [(h, listing), (h, rm([f"<each {directory}/*.db listed>"])),
                    (h, priv("systemctl", "restart", "ovs-vswitchd", "ovsdb-server")),
                    (API, Command.of("oc", *delete_pods_op(OVN_NS, "app=ovnkube-node",
                                                           node_of(ctx, h)).oc_args))]
        return out
    for h in hosts:
        if h in control_plane(ctx):
            out += [(h, listing), (h, rm([f"<each {directory}/*.db listed>"]))]
    out.append((API, Command.of("oc", *delete_pods_op(OVN_NS, "app=ovnkube-master").oc_args)))
    out.append((API, Command.of("oc", *delete_pods_op(OVN_NS, "app=ovnkube-node").oc_args)))
    return out
