"""RST-25: the aftercare checklist (pods that cache API state, OAuth, the persistent-volume
checks PV-1..4) and the loud warnings when the quorum guard is still off or admission webhooks
RST-15 set to failurePolicy Ignore are still Ignore."""

from __future__ import annotations

from dataclasses import dataclass

from tui.errors import EtcdDrError
from tui.runbooks.context import RunContext, RunEventKind
from tui.runbooks.runner import StepRun

from tui.runbooks.restore.common import cluster_ops
from tui.runbooks.restore.ovn import warn_relaxed, still_relaxed, webhooks_warning
from tui.runbooks.restore.rollouts import guard_off_now


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
        pvs = (await cluster_ops(ctx).get("/api/v1/persistentvolumes")).get("items") or []
    except EtcdDrError as e:
        problem = e.message
    # said once, as its own line above the checks, not in each of PV-1..4
    unknown = " (the cluster's PVs could not be listed: see PV-list)" if problem else ""
    bound = tuple(_pv_line(p) for p in pvs if (p.get("spec") or {}).get("claimRef"))
    csi = [p for p in pvs if (p.get("spec") or {}).get("csi")]
    drivers = tuple(sorted({(p["spec"]["csi"] or {}).get("driver", "?") for p in csi}))
    local = tuple(_pv_line(p) for p in pvs if _is_local(p))
    attached = tuple(_pv_line(p) for p in csi if (p.get("spec") or {}).get("claimRef"))
    items = [AftercareItem(
        "PV-list", "THE CLUSTER'S PVs COULD NOT BE LISTED",
        f"{problem} PV-1..4 below still apply: list the PVs yourself once the API answers "
        f"(oc get pv -o wide).", reminder=True)] if problem else []
    items += [
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
        if await guard_off_now(ctx):
            items.append(AftercareItem(
                "RST-20", "THE QUORUM GUARD IS STILL OFF",
                "etcd/cluster keeps unsupportedConfigOverrides: turn it back on: oc patch "
                "etcd/cluster --type=merge -p '{\"spec\": {\"unsupportedConfigOverrides\": "
                "null}}'", reminder=True))
    except EtcdDrError:
        pass
    relaxed = await still_relaxed(ctx)
    if relaxed:
        items.append(AftercareItem(
            "RST-15", "ADMISSION WEBHOOKS ARE STILL failurePolicy Ignore",
            webhooks_warning(relaxed).removeprefix("WARNING: "), reminder=True))
    return items


async def aftercare_step(ctx: RunContext, run: StepRun) -> str:
    warning = ""
    try:
        off = await guard_off_now(ctx)
    except EtcdDrError as e:
        off = bool(ctx.facts.get("guard_off"))
        warning = f" (could not read etcd/cluster: {e.message})"
    if off:
        text = ("WARNING: THE QUORUM GUARD IS STILL OFF: etcd/cluster keeps "
                "unsupportedConfigOverrides.useUnsupportedUnsafeNonHANonProductionUnstableEtcd. "
                "Turn it back on (RST-20): oc patch etcd/cluster --type=merge -p "
                "'{\"spec\": {\"unsupportedConfigOverrides\": null}}'")
        run.show(RunEventKind.WARNING, text)
        run.journal("skipped", [], step_id="-", for_step="RST-20", warning=text,
                    reason="the quorum guard was left off")
    relaxed = await still_relaxed(ctx)
    if relaxed:
        warn_relaxed(run, relaxed)
    items = await aftercare(ctx)
    for item in items:
        run.show(RunEventKind.NOTE, f"{item.key} {item.title}: {item.detail}"
                 + (f" [{len(item.pvs)} object(s)]" if item.pvs else ""))
    summary = f"{len([i for i in items if i.key.startswith('PV')])} PV checks and " \
              f"{len([i for i in items if i.reminder])} reminders to go through"
    return ("QUORUM GUARD STILL OFF; " if off else "") + \
        ("WEBHOOKS STILL failurePolicy Ignore; " if relaxed else "") + summary + warning
