"""The quorum guard (off and back on), the forced redeployments of etcd and the control
plane and their rollouts (RST-17..24, RSTN-05/07/08), and every cluster operator stable
(RSTN-06 / QRS-05)."""

from __future__ import annotations

import re
from typing import Callable

from tui.cluster.ops import OPERATOR_RESOURCES, patch_operator_op
from tui.fleet.commands import Command
from tui.runbooks.context import RunContext, RunEventKind
from tui.runbooks.model import CheckResult
from tui.runbooks.runner import StepRun

from tui.runbooks.restore.common import (API, GUARD, GUARD_OFF, GUARD_ON, POLL, ROLLOUT_TIMEOUT,
                                         STABLE_TIMEOUT, guarded, keep_fact, cluster_ops, send, stamp_fact,
                                         wait_for_api, control_plane, learn_cluster, node_of,
                                         within)
from tui.runbooks.restore.nodes import etcd_pods_of, pod_phase


# --- the quorum guard and forced rollouts -------------------------------------------------

ETCD_PATH = "/apis/operator.openshift.io/v1/etcds/cluster"


def _operator_path(resource: str) -> str:
    return f"/apis/operator.openshift.io/v1/{OPERATOR_RESOURCES[resource]}/cluster"


async def guard_off_now(ctx: RunContext) -> bool:
    etcd = await cluster_ops(ctx).get(ETCD_PATH)
    overrides = (etcd.get("spec") or {}).get("unsupportedConfigOverrides") or {}
    return bool(isinstance(overrides, dict) and overrides.get(GUARD))


async def check_guard_off(ctx: RunContext, _host) -> CheckResult:
    if await guard_off_now(ctx):
        return CheckResult(True, "the quorum guard is off (unsupportedConfigOverrides set)")
    return CheckResult(False, "the quorum guard is on")


async def check_guard_on(ctx: RunContext, _host) -> CheckResult:
    etcd = await cluster_ops(ctx).get(ETCD_PATH)
    if (etcd.get("spec") or {}).get("unsupportedConfigOverrides"):
        return CheckResult(False, "unsupportedConfigOverrides is still in etcd/cluster")
    return CheckResult(True, "unsupportedConfigOverrides is gone from etcd/cluster: the quorum "
                             "guard is on")


def patch_action(resource: str, patch: Callable[[RunContext], dict], wait_api: bool = False,
                  learn: bool = False):
    async def action(ctx: RunContext, run: StepRun) -> str:
        if wait_api:
            await wait_for_api(ctx, run)
        if learn and "network_type" not in ctx.facts:
            await learn_cluster(ctx)
        result = await send(run, patch_operator_op(resource, patch(ctx)))
        if patch(ctx) == GUARD_OFF:
            keep_fact(run, guard_off=True)
        elif patch(ctx) == GUARD_ON:
            keep_fact(run, guard_off=False)
        return f"{result.output.strip()} (via {result.transport})"
    return guarded(action)


def patch_preview(resource: str, patch: Callable[[RunContext], dict]):
    return lambda ctx: [(API, Command.of("oc", *patch_operator_op(resource, patch(ctx)).oc_args))]


def redeploy_patch(resource: str):
    return lambda ctx: {"spec": {"forceRedeploymentReason": f"recovery-{stamp_fact(ctx)}"
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
    obj = await cluster_ops(ctx).get(_operator_path(resource))
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
    reason = redeploy_patch(resource)(ctx)["spec"]["forceRedeploymentReason"]
    obj = await cluster_ops(ctx).get(_operator_path(resource))
    if (obj.get("spec") or {}).get("forceRedeploymentReason") == reason:
        return  # sent before the console stopped: do not start yet another rollout
    _, latest, _ = _rollout_state(obj)
    revisions = dict(ctx.facts.get("revisions_before") or {})
    revisions[key] = latest
    keep_fact(run, step_id=step_id, revisions_before=revisions)
    await send(run, patch_operator_op(resource, redeploy_patch(resource)(ctx)), step_id)


async def check_redeploy_sent(ctx: RunContext, _host) -> CheckResult:
    reason = redeploy_patch("etcd")(ctx)["spec"]["forceRedeploymentReason"]
    etcd = await cluster_ops(ctx).get(ETCD_PATH)
    if (etcd.get("spec") or {}).get("forceRedeploymentReason") == reason:
        return CheckResult(True, f"etcd forceRedeploymentReason is {reason}")
    return CheckResult(False, f"etcd forceRedeploymentReason is not {reason} yet")


async def redeploy_etcd(ctx: RunContext, run: StepRun) -> str:
    await _force_redeploy(ctx, run, "etcd", "etcd")
    return f"etcd redeployment forced ({redeploy_patch('etcd')(ctx)['spec']})"


async def check_etcd_rolled_out(ctx: RunContext, _host) -> CheckResult:
    return await _rollout_done(ctx, "etcd", "etcd")


ROLLOUT_ORDER = ("kubeapiserver", "kubecontrollermanager", "kubescheduler")


async def redeploy_control_plane(ctx: RunContext, run: StepRun) -> str:
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
                run.fail(f"{resource} did not reach AllNodesAtLatestRevision "
                         f"{within(ctx, ROLLOUT_TIMEOUT)}: "
                         f"{verdict.detail}")
            await run.wait(POLL * 3, verdict.detail)
            waited += POLL * 3
    return "; ".join(done)


def rollout_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    return [(API, Command.of("oc", *patch_operator_op(r, redeploy_patch(r)(ctx)).oc_args))
            for r in ROLLOUT_ORDER]


async def check_all_rollouts(ctx: RunContext, _host) -> CheckResult:
    details = []
    for resource in ROLLOUT_ORDER:
        obj = await cluster_ops(ctx).get(_operator_path(resource))
        reason = redeploy_patch(resource)(ctx)["spec"]["forceRedeploymentReason"]
        if (obj.get("spec") or {}).get("forceRedeploymentReason") != reason:
            return CheckResult(False, f"{resource}: not redeployed yet")
        verdict = await _rollout_done(ctx, resource, resource)
        if not verdict.ok:
            return verdict
        details.append(verdict.detail)
    return CheckResult(True, "; ".join(details))


async def check_etcd_everywhere(ctx: RunContext, _host) -> CheckResult:
    pods = [pod_phase(p) for p in await etcd_pods_of(ctx)]
    running = {n for n, phase in pods if phase == "Running"}
    cp = control_plane(ctx)
    if len(running) >= len(cp) and node_of(ctx, ctx.params.get("recovery_host") or cp[0]) \
            in running:
        return CheckResult(True, f"{len(running)} Running etcd pods: {', '.join(sorted(running))}")
    shown = ", ".join(f"{n or '?'} {phase}" for n, phase in pods) or "none"
    return CheckResult(False, f"etcd pods: {shown} ({len(running)} of {len(cp)} Running)")


async def check_etcd_static_pods(ctx: RunContext, host) -> CheckResult:
    everywhere = await check_etcd_everywhere(ctx, host)
    if not everywhere.ok:
        return everywhere
    obj = await cluster_ops(ctx).get(ETCD_PATH)
    settled, _, message = _rollout_state(obj)
    if not settled:
        return CheckResult(False, f"etcd rolling out: {message}")
    return CheckResult(True, f"{everywhere.detail}; {message}")


async def force_if_stalled(ctx: RunContext, run: StepRun) -> str:
    await _force_redeploy(ctx, run, "etcd", "etcd-rstn-08")
    return "etcd redeployment forced: the static pods had not rolled out"


# --- RSTN-06 / QRS-05: every cluster operator stable ---------------------------------------

async def check_stable(ctx: RunContext, _host) -> CheckResult:
    """What `oc adm wait-for-stable-cluster` waits for: every operator Available, none
    Progressing or Degraded."""
    cos = (await cluster_ops(ctx).get("/apis/config.openshift.io/v1/clusteroperators")).get("items") or []
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


async def wait_stable_quorum(ctx: RunContext, run: StepRun) -> str:
    await wait_for_api(ctx, run)
    waited, forced = 0.0, False
    while True:
        verdict = await check_stable(ctx, None)
        if verdict.ok:
            return verdict.detail + ("; etcd redeployment was forced" if forced else "")
        if not forced and waited >= STABLE_TIMEOUT / 3:
            rolled = await check_etcd_static_pods(ctx, None)
            if not rolled.ok:
                run.show(RunEventKind.NOTE,
                         f"the etcd static pods have not rolled out ({rolled.detail}): "
                                 f"forcing a redeployment")
                await _force_redeploy(ctx, run, "etcd", "etcd-qrs-05")
                forced = True
        if waited >= STABLE_TIMEOUT:
            run.fail(f"not stable {within(ctx, STABLE_TIMEOUT)}: {verdict.detail}")
        await run.wait(POLL * 3, verdict.detail)
        waited += POLL * 3
