"""The drill cluster's etcd encryption migration, following the simulated clock.

Setting `spec.encryption.type` of apiserver/cluster starts what the three operators'
encryption controllers do on a real cluster (library-go pkg/operator/encryption): a new key,
revision rollouts, then the storage migration that rewrites every encrypted resource. Each
operator reports it in its `Encrypted` condition, with the shapes and texts of library-go's
condition_controller.go:

- encrypting (identity -> aescbc/aesgcm): for a short while nothing changes (the controller
  leaves the condition alone while the new key's revision rolls out), then False /
  EncryptionInProgress "Resource <first resource> is not encrypted", then "Encryption is
  ongoing" for most of the migration, then True / EncryptionCompleted "All resources
  encrypted: <resources>";
- decrypting (aescbc/aesgcm -> identity or unset): False / DecryptionInProgress "Encryption
  mode set to identity and decryption is not finished", then False / DecryptionCompleted
  "Encryption mode set to identity and everything is decrypted";
- aescbc <-> aesgcm is a key rotation: an older key that is fully migrated still counts, so
  a completed cluster stays EncryptionCompleted; identity <-> unset changes nothing.

The operators finish one after the other (authentication first, kube-apiserver last, after
`ApiState.encryption_minutes` simulated minutes). `conditions_at` computes the conditions at
any simulated time without waiting; `sync` applies them to a cluster, `attach` makes a
cluster follow API patches (through `DrillCluster.changed()`), and `encryption_forever`
keeps them moving with the clock while nobody looks.
"""

from __future__ import annotations

import asyncio

from tui.drill.model import ApiState, DrillCluster

OPERATORS = ("openshiftapiserver", "kubeapiserver", "authentication")
# the resources each operator encrypts, in the order its condition names them
ENCRYPTED_RESOURCES: dict[str, tuple[str, ...]] = {
    "openshiftapiserver": ("routes.route.openshift.io",),
    "kubeapiserver": ("secrets", "configmaps"),
    "authentication": ("oauthaccesstokens.oauth.openshift.io",
                       "oauthauthorizetokens.oauth.openshift.io"),
}
ENCRYPTING_TYPES = ("aescbc", "aesgcm")
DEFAULT_MINUTES = 20.0
# when each operator is done, as a share of the migration time: the oauth tokens are few,
# routes a few more, secrets and configmaps many (and kube-apiserver rolls out node by node)
SHARE = {"authentication": 0.6, "openshiftapiserver": 0.75, "kubeapiserver": 1.0}
UNTOUCHED = 0.05  # share of an operator's time while its controller leaves the condition
NOT_IN_CONFIG = 0.15  # ... until then "Resource X is not encrypted" (config not deployed)

NEVER_ENCRYPTED = {"status": "False"}  # what real clusters show before encryption was ever on


def encrypting(encryption_type: str) -> bool:
    return encryption_type in ENCRYPTING_TYPES


def completed(operator: str) -> dict:
    return {"status": "True", "reason": "EncryptionCompleted",
            "message": "All resources encrypted: " + ", ".join(ENCRYPTED_RESOURCES[operator])}


def decrypted() -> dict:
    return {"status": "False", "reason": "DecryptionCompleted",
            "message": "Encryption mode set to identity and everything is decrypted"}


def condition_at(operator: str, encryption_type: str, elapsed: float, minutes: float,
                 before: dict | None = None) -> dict | None:
    """One operator's Encrypted condition `elapsed` simulated seconds after the migration
    towards `encryption_type` began; `before` is what it showed when it began."""
    total = max(0.0, minutes) * 60.0 * SHARE[operator]
    done = 1.0 if total <= 0 else max(0.0, elapsed) / total
    if encrypting(encryption_type):
        if done >= 1.0:
            return completed(operator)
        if done < UNTOUCHED:
            return dict(before) if before is not None else None
        if done < NOT_IN_CONFIG:
            return {"status": "False", "reason": "EncryptionInProgress",
                    "message": f"Resource {ENCRYPTED_RESOURCES[operator][0]} is not encrypted"}
        return {"status": "False", "reason": "EncryptionInProgress",
                "message": "Encryption is ongoing"}
    if done >= 1.0:
        return decrypted()
    return {"status": "False", "reason": "DecryptionInProgress",
            "message": "Encryption mode set to identity and decryption is not finished"}


def conditions_at(encryption_type: str, started: float, now: float, *,
                  minutes: float = DEFAULT_MINUTES,
                  before: dict[str, dict | None] | None = None) -> dict[str, dict | None]:
    """The three operators' Encrypted conditions at simulated time `now`, for a migration
    towards `encryption_type` that began at `started` (pure: no cluster needed)."""
    before = before or {}
    return {op: condition_at(op, encryption_type, now - started, minutes,
                             before.get(op, NEVER_ENCRYPTED))
            for op in OPERATORS}


def finished_after(minutes: float = DEFAULT_MINUTES) -> float:
    """Simulated seconds until the last operator reports its migration done."""
    return max(0.0, minutes) * 60.0 * max(SHARE.values())


def settled_conditions(encryption_type: str) -> dict[str, dict | None]:
    """What a cluster shows long after it settled on `encryption_type` (scenarios start so)."""
    if encrypting(encryption_type):
        return {op: completed(op) for op in OPERATORS}
    return {op: dict(NEVER_ENCRYPTED) for op in OPERATORS}


def _anything_encrypted(cluster: DrillCluster) -> bool:
    """Whether some data may be encrypted now: a decryption would have work to do."""
    api = cluster.api
    for c in api.encrypted.values():
        if c and c.get("reason") in ("EncryptionCompleted", "EncryptionInProgress",
                                     "DecryptionInProgress"):
            return True
    return False


def _start(cluster: DrillCluster, now: float) -> None:
    api = cluster.api
    api.encryption_from = {op: (dict(c) if c is not None else None)
                           for op, c in ((op, api.encrypted.get(op)) for op in OPERATORS)}
    api.encryption_since = now


def type_changed(cluster: DrillCluster, old: str, new: str, now: float | None = None) -> None:
    """spec.encryption.type went from `old` to `new`: start what the operators would."""
    now = cluster.clock.now() if now is None else now
    api = cluster.api
    if encrypting(new):
        if encrypting(old):
            return  # a key rotation: the old key stays fully migrated, nothing to report
        all_done = all((api.encrypted.get(op) or {}).get("reason") == "EncryptionCompleted"
                       for op in OPERATORS)
        if api.encryption_since is None and all_done:
            return
        _start(cluster, now)
        return
    # identity or unset
    if not encrypting(old):
        return  # identity <-> unset: the same mode, nothing new to do
    if not _anything_encrypted(cluster):
        # switched back before any operator began (or nothing was ever encrypted)
        api.encryption_since = None
        api.encryption_from = {}
        return
    _start(cluster, now)


def sync(cluster: DrillCluster, now: float | None = None) -> bool:
    """Bring the Encrypted conditions to simulated time `now` (default: the clock's);
    True if any changed."""
    return sync_api(cluster.api, cluster.clock.now() if now is None else now)


def sync_api(api: ApiState, now: float) -> bool:
    """`sync` on the API state alone."""
    if api.encryption_since is None:
        return False
    fresh = conditions_at(api.encryption_type, api.encryption_since, now,
                          minutes=api.encryption_minutes, before=api.encryption_from)
    changed = False
    for op, cond in fresh.items():
        if api.encrypted.get(op) != cond:
            api.encrypted[op] = cond
            changed = True
    if now - api.encryption_since >= finished_after(api.encryption_minutes):
        api.encryption_since = None
        api.encryption_from = {}
    return changed


class _Follower:
    """A DrillCluster listener: notices spec.encryption.type changes and keeps the
    conditions at the clock's time whenever anything reports a change."""

    def __init__(self, cluster: DrillCluster):
        self.cluster = cluster
        self.seen = cluster.api.encryption_type

    def __call__(self) -> None:
        api = self.cluster.api
        if api.encryption_type != self.seen:
            old, self.seen = self.seen, api.encryption_type
            type_changed(self.cluster, old, api.encryption_type)
        sync(self.cluster)


def attach(cluster: DrillCluster) -> None:
    """Make the cluster follow encryption type changes (idempotent)."""
    if not any(isinstance(listener, _Follower) for listener in cluster.listeners):
        cluster.listeners.append(_Follower(cluster))


async def encryption_forever(cluster: DrillCluster, interval: float = 0.25) -> None:
    """Keep the migration moving with the simulated clock; run it as a task."""
    attach(cluster)
    follower = next(listener for listener in cluster.listeners
                    if isinstance(listener, _Follower))
    while True:
        follower()
        await asyncio.sleep(interval)
