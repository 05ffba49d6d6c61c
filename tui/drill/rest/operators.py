"""The operators (etcd, kube-apiserver, ...) and cluster operators as the drill's API shows
them: conditions that follow the rollouts, and patches to their spec."""

from __future__ import annotations

from typing import Any

from tui.drill import controllers
from tui.drill.conditions import clusteroperator_conditions
from tui.drill.model import (
    DrillCluster,
    OperatorState,
)
from tui.drill.objects import (
    ApiError,
    rollout_message,
    rollout_nodes,
    stamp,
)
from tui.drill.rest.base import (
    ENCRYPTED_GRS,
    INSTALLED,
    OPERATOR_PLURALS,
    OTHER_OPERATORS,
    metadata,
)
from tui.drill.rest.jsonpatch import merge_patch


def _etcd_conditions(cluster: DrillCluster) -> dict[str, dict]:
    """The etcd operator's conditions as cluster-etcd-operator words them."""
    etcd = cluster.etcd
    voters = etcd.voting_members()
    up = [m for m in voters if m.running]
    down = [m.name for m in voters if not m.running]
    if not down:
        available = {"status": "True", "reason": "EtcdQuorate",
                     "message": f"{len(voters)} members are available"}
    else:
        available = {"status": "True" if etcd.has_quorum() else "False",
                     "reason": "EtcdQuorate" if etcd.has_quorum() else "NoQuorum",
                     "message": f"{len(up)} of {len(voters)} members are available, "
                                + ", ".join(f"{n} is unhealthy" for n in down)}
    learners = [m.name for m in etcd.members if m.is_learner]
    if learners:
        members_prog = {"status": "True", "reason": "MembersProgressing",
                        "message": "Members are being added: " + ", ".join(learners)}
    else:
        members_prog = {"status": "False", "reason": "AsExpected",
                        "message": "No unstarted etcd members found"}
    out = {"EtcdMembersProgressing": members_prog, "EtcdMembersAvailable": available}
    op = cluster.api.operators.get("etcds")
    if op is not None:
        out["NodeInstallerProgressing"] = _installer_condition(cluster, op)
    return out


def _installer_condition(cluster: DrillCluster, op: OperatorState) -> dict:
    progressing, message = rollout_message(cluster, op)
    if progressing:
        return {"status": "True", "reason": "NodeInstaller", "message": message}
    return {"status": "False", "reason": "AllNodesAtLatestRevision", "message": message}


def _condition(ctype: str, c: dict | None, when: str) -> dict | None:
    if c is None:
        return None
    out: dict[str, Any] = {"lastTransitionTime": when}
    if c.get("message"):
        out["message"] = c["message"]
    if c.get("reason"):
        out["reason"] = c["reason"]
    out["status"] = c.get("status", "Unknown")
    out["type"] = ctype
    return out


def operator_object(cluster: DrillCluster, plural: str) -> dict:
    kinds = {**OPERATOR_PLURALS, **OTHER_OPERATORS}
    kind, key = kinds[plural]
    now = stamp(cluster)
    conditions: list[dict] = []
    op = cluster.api.operators.get(plural)
    if key == "etcd":
        derived = {**_etcd_conditions(cluster), **cluster.api.etcd_conditions}
        for ctype, c in derived.items():
            cond = _condition(ctype, c, now)
            if cond:
                conditions.append(cond)
    elif op is not None:
        cond = _condition("NodeInstallerProgressing", _installer_condition(cluster, op), now)
        if cond:
            conditions.append(cond)
    if key in ENCRYPTED_GRS:
        cond = _condition("Encrypted", cluster.api.encrypted.get(key), now)
        if cond:
            conditions.append(cond)
    spec: dict[str, Any] = {"logLevel": "Normal", "managementState": "Managed",
                            "observedConfig": None, "operatorLogLevel": "Normal",
                            "unsupportedConfigOverrides": None}
    status: dict[str, Any] = {"conditions": conditions}
    if op is not None:
        spec.update(op.spec)
        status["latestAvailableRevision"] = op.latest
        status["latestAvailableRevisionReason"] = ""
        statuses = []
        for n in rollout_nodes(cluster, op):
            s: dict[str, Any] = {"currentRevision": op.node_revisions.get(n, 0), "nodeName": n}
            if op.installing == n:
                s["targetRevision"] = op.latest
            statuses.append(s)
        status["nodeStatuses"] = statuses
        status["readyReplicas"] = 0
    else:
        status["latestAvailableRevision"] = cluster.api.etcd_revision
    spec = {k: v for k, v in spec.items() if v is not None or k in (
        "unsupportedConfigOverrides", "observedConfig")}
    return {"apiVersion": "operator.openshift.io/v1", "kind": kind,
            "metadata": metadata("cluster", generation=op.generation if op else 3,
                              annotations={"include.release.openshift.io/self-managed-high-"
                                           "availability": "true"}),
            "spec": spec, "status": status}


def patch_operator(cluster: DrillCluster, plural: str, body: dict) -> dict:
    op = cluster.api.operators.get(plural)
    if op is None:
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the "
                                                "requested resource")
    kind = {**OPERATOR_PLURALS, **OTHER_OPERATORS}[plural][0]
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "json: cannot unmarshal into Go value of type "
                                          "map[string]interface {}")
    for key in ("apiVersion", "kind"):
        if key in body and body[key] != {"apiVersion": "operator.openshift.io/v1",
                                         "kind": kind}[key]:
            raise ApiError(400, "BadRequest", f"{key} of the patch does not match the object")
    spec_patch = body.get("spec")
    if spec_patch is not None and not isinstance(spec_patch, dict):
        raise ApiError(422, "Invalid", f'{kind}.operator.openshift.io "cluster" is invalid: '
                                       f'spec: Invalid value: "{type(spec_patch).__name__}": '
                                       f'spec in body must be of type object')
    spec_patch = spec_patch or {}
    reason = spec_patch.get("forceRedeploymentReason")
    if reason is not None and not isinstance(reason, str):
        raise ApiError(422, "Invalid", f'{kind}.operator.openshift.io "cluster" is invalid: '
                                       f'spec.forceRedeploymentReason: Invalid value: '
                                       f'"{type(reason).__name__}": spec.forceRedeploymentReason '
                                       f'in body must be of type string')
    overrides = spec_patch.get("unsupportedConfigOverrides", {})
    if overrides not in ({}, None) and not isinstance(overrides, dict):
        raise ApiError(422, "Invalid", f'{kind}.operator.openshift.io "cluster" is invalid: '
                                       f'spec.unsupportedConfigOverrides: Invalid value: '
                                       f'"{type(overrides).__name__}": must be an object')
    before = dict(op.spec)
    new_spec = merge_patch(op.spec, spec_patch)
    if new_spec != before:
        op.spec = new_spec
        op.generation += 1
        if new_spec.get("forceRedeploymentReason") != before.get("forceRedeploymentReason") \
                and new_spec.get("forceRedeploymentReason"):
            controllers.new_revision(cluster, op, forced=True)
        cluster.changed()
    return operator_object(cluster, plural)


def clusteroperator_object(cluster: DrillCluster, name: str) -> dict:
    v = cluster.api.version
    conds = clusteroperator_conditions(cluster, name)
    since = conds.pop("_since", None)
    when = INSTALLED if since is None else stamp(cluster, since)
    conditions = [{"lastTransitionTime": when, "message": c["message"],
                   "reason": c["reason"], "status": c["status"], "type": t}
                  for t, c in conds.items()]
    conditions.append({"lastTransitionTime": INSTALLED, "message": "All is well",
                       "reason": "AsExpected", "status": "True", "type": "Upgradeable"})
    versions = [{"name": "operator", "version": v}]
    if name == "etcd":
        versions.append({"name": "raw-internal", "version": v})
    return {"apiVersion": "config.openshift.io/v1", "kind": "ClusterOperator",
            "metadata": metadata(name, generation=1, annotations={
                "include.release.openshift.io/self-managed-high-availability": "true"}),
            "spec": {},
            "status": {"conditions": conditions, "extension": None,
                       "relatedObjects": [{"group": "operator.openshift.io", "name": "cluster",
                                           "resource": name.replace("-", "") + "s"}],
                       "versions": versions}}
