"""ENC-ON and ENC-OFF: turn etcd encryption on or off through apiserver/cluster.

The change is one merge patch; the work is the migration that follows, which the three
operators report in their `Encrypted` conditions. The runbook waits for all three.
"""

from __future__ import annotations

from tui.cluster.api import CONFIG_GROUP
from tui.fleet.commands import Safety
from tui.runbooks.context import RunContext
from tui.versions import openshift_minor
from tui.runbooks.model import ApiAction, CheckResult, Confirm, Runbook, Step, Targets, Wait

OPERATORS = ("openshiftapiserver", "kubeapiserver", "authentication")
MIGRATION_TIMEOUT = 3 * 3600.0  # "20 minutes or more" on a large cluster; allow plenty
POLL = 10.0


def _patch(encryption_type: str) -> dict:
    return {"spec": {"encryption": {"type": encryption_type}}}


def _describe(ctx: RunContext) -> str:
    t = ctx.params["encryption_type"]
    return (f"PATCH apiserver.config.openshift.io/cluster (merge patch) "
            f"{{\"spec\": {{\"encryption\": {{\"type\": \"{t}\"}}}}}}")


async def _apply(ctx: RunContext) -> str:
    t = ctx.params["encryption_type"]
    await ctx.api.patch_cluster_object(CONFIG_GROUP, "apiservers", "cluster", _patch(t))
    return f"spec.encryption.type set to {t}"


async def _check_api(ctx: RunContext, _host) -> CheckResult:
    snap = await ctx.api.snapshot()
    if not snap.reachable:
        return CheckResult(False, f"the API is needed for this runbook: {snap.error}")
    return CheckResult(True, f"API reachable; encryption type now {snap.encryption_type}")


async def _check_type_set(ctx: RunContext, _host) -> CheckResult:
    snap = await ctx.api.snapshot()
    if not snap.reachable:
        return CheckResult(False, snap.error or "API unreachable")
    want = ctx.params["encryption_type"]
    have = snap.encryption_type or "identity"
    if have == want:
        return CheckResult(True, f"apiserver/cluster spec.encryption.type is {want}")
    return CheckResult(False, f"spec.encryption.type is {have}, not {want}")


def _check_conditions(done_reason: str):
    # a cluster that was never encrypted shows Encrypted=False with no reason (or
    # EncryptionDisabled) once the type is identity: for "off", that is done as well
    done = {done_reason} if done_reason != "DecryptionCompleted" else \
        {done_reason, "EncryptionDisabled", None}

    async def check(ctx: RunContext, _host) -> CheckResult:
        snap = await ctx.api.snapshot()
        if not snap.reachable:
            return CheckResult(False, f"waiting for the API: {snap.error}")
        if done_reason == "DecryptionCompleted" and snap.encryption_type not in ("identity", ""):
            return CheckResult(False, f"encryption type is still {snap.encryption_type}")
        states = []
        waiting = False
        for op in OPERATORS:
            c = snap.encrypted.get(op)
            reason = c.reason if c else None
            states.append(f"{op} {reason or 'no reason'}")
            waiting = waiting or reason not in done
        return CheckResult(not waiting, ", ".join(states))

    return check


AESGCM_SINCE = (4, 13)  # the release whose APIServer type accepts aesgcm


async def _preflight_on(ctx: RunContext) -> list[str]:
    snap = await ctx.api.snapshot()
    if not snap.reachable:
        return [f"encryption is switched through the API, which does not answer ({snap.error})"]
    if ctx.params.get("encryption_type") == "aesgcm":
        version = snap.version or ctx.inventory.cluster_version
        minor = openshift_minor(version)
        if minor is not None and minor < AESGCM_SINCE:
            return [f"aesgcm is offered from OpenShift 4.13; this cluster runs {version}: "
                    f"use aescbc"]
    return []


async def _check_warning_read(ctx: RunContext, _host) -> CheckResult:
    # ENC-ON-1 touches nothing: it is done once the operator has read the warning and gone
    # ahead (its confirmation); what it leaves is the rule to keep until ENC-ON-4
    return CheckResult(True, "warning read: take no backup until all three operators report "
                             "EncryptionCompleted (ENC-ON-4)")


ENCRYPTION_ON = Runbook(
    name="encryption-on",
    title="Turn etcd encryption on",
    params=("encryption_type",),
    preflight=_preflight_on,
    steps=(
        Step("ENC-ON-0", "Check API access",
             "Encryption is switched through the API, with cluster-admin access: the API "
             "must answer.",
             targets=Targets.API, check=_check_api),
        Step("ENC-ON-1", "Read the warning",
             "Take no backup until encryption has completed: a backup taken midway is only "
             "partly encrypted. While it runs, some resources use more memory, backups slow "
             "down (the leader serves them) and the nodes receiving data see more disk I/O.",
             targets=Targets.CONSOLE, confirm=Confirm.YES_NO, check=_check_warning_read,
             warning="Do not take a backup until encryption has completed."),
        Step("ENC-ON-2", "Set the encryption type",
             "Patch apiserver/cluster: spec.encryption.type = the chosen type (aescbc: "
             "AES-CBC with PKCS#7 padding and a 32-byte key; aesgcm where offered).",
             targets=Targets.API, api=ApiAction(_describe, _apply), check=_check_type_set,
             safety=Safety.MUTATING, confirm=Confirm.TYPE_CLUSTER),
        Step("ENC-ON-3", "Wait for the migration",
             "The operators re-encrypt Secrets, ConfigMaps, Routes and OAuth tokens; 20 "
             "minutes or more on a large cluster.",
             targets=Targets.API, check=_check_conditions("EncryptionCompleted"),
             wait=Wait(interval=POLL, timeout=MIGRATION_TIMEOUT)),
        Step("ENC-ON-4", "Check all three operators",
             "openshiftapiserver, kubeapiserver and authentication all report "
             "Encrypted = EncryptionCompleted.",
             targets=Targets.API, check=_check_conditions("EncryptionCompleted")),
    ),
)

ENCRYPTION_OFF = Runbook(
    name="encryption-off",
    title="Turn etcd encryption off",
    params=("encryption_type",),
    steps=(
        Step("ENC-OFF-1", "Set the encryption type to identity",
             "Patch apiserver/cluster: spec.encryption.type = identity (no encryption).",
             targets=Targets.API, api=ApiAction(_describe, _apply), check=_check_type_set,
             safety=Safety.MUTATING, confirm=Confirm.TYPE_CLUSTER),
        Step("ENC-OFF-2", "Wait for the decryption",
             "The operators decrypt every encrypted resource; 20 minutes or more.",
             targets=Targets.API, check=_check_conditions("DecryptionCompleted"),
             wait=Wait(interval=POLL, timeout=MIGRATION_TIMEOUT)),
        Step("ENC-OFF-3", "Check all three operators",
             "openshiftapiserver, kubeapiserver and authentication all report "
             "Encrypted = DecryptionCompleted.",
             targets=Targets.API, check=_check_conditions("DecryptionCompleted")),
    ),
)
