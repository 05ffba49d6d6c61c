"""The drill cluster's OpenShift API, without a transport: what each request returns and does.

Both the simulated API server (tui.drill.apiserver, HTTP) and the `oc` on drill hosts
(tui.drill.commands.oc) answer from here: `get`, `patch`, `delete` and `put` take an API path
(and a query) and return the JSON the real API returns, or raise `ApiError` carrying the HTTP
status and the k8s Status message. Objects are shaped like real clusters' (see the reference
dumps the project was built against); what is derived from the model (nodes, pods, etcd
conditions) follows the hosts and etcd members, and what the restore changes (machines, CSRs,
revisions, OVN pods) lives in `ApiState` and moves on with the clock in
tui.drill.controllers. A write may start a controller (a deleted Machine is re-provisioned),
so this module sits above them; the objects' names and facts are tui.drill.objects, below.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import Any

from tui.drill import controllers, kubelet
from tui.drill.model import (
    Csr,
    DrillCluster,
    DrillHost,
    Machine,
    OperatorState,
)
from tui.drill.objects import (
    GUARD_KEY,
    OPERATOR_MANIFESTS,
    OVN_NS,
    ApiError,
    api_serving,
    control_plane_topology,
    host_serving,
    infra_name,
    init_objects,
    node_exists,
    node_ready,
    ovn_apps,
    ovn_container_names,
    pods_blocked,
    quorum_guard_off,
    replacement_pod_name,
    rollout_message,
    rollout_nodes,
    stamp,
    stop_pod_containers,
    suffix,
    version_of,
    zone,
)

__all__ = [
    "ApiError", "delete", "get", "patch", "put",
]

__all__ = [
    "ApiError", "GUARD_KEY", "OPERATOR_PLURALS", "api_serving", "delete", "get", "host_serving",
    "init_objects", "node_exists", "node_ready", "patch", "put", "quorum_guard_off",
]

ENCRYPTED_GRS = {
    "openshiftapiserver": "routes.route.openshift.io",
    "kubeapiserver": "secrets, configmaps",
    "authentication": "oauthaccesstokens.oauth.openshift.io, oauthauthorizetokens.oauth.openshift.io",
}
MACHINE_NS = "openshift-machine-api"
# the static-pod operators whose CRs the restore patches: plural -> (Kind, oc short name)
OPERATOR_PLURALS = {
    "etcds": ("Etcd", "etcd"),
    "kubeapiservers": ("KubeAPIServer", "kubeapiserver"),
    "kubecontrollermanagers": ("KubeControllerManager", "kubecontrollermanager"),
    "kubeschedulers": ("KubeScheduler", "kubescheduler"),
}
OTHER_OPERATORS = {"openshiftapiservers": ("OpenShiftAPIServer", "openshiftapiserver"),
                   "authentications": ("Authentication", "authentication")}
MIRROR_LABELS = {  # what the static pods' manifests label their pods with
    "etcd-pod.yaml": {"app": "etcd", "etcd": "true", "k8s-app": "etcd"},
    "kube-apiserver-pod.yaml": {"app": "openshift-kube-apiserver", "apiserver": "true"},
    "kube-controller-manager-pod.yaml": {"app": "kube-controller-manager",
                                         "kube-controller-manager": "true"},
    "kube-scheduler-pod.yaml": {"app": "openshift-kube-scheduler", "scheduler": "true"},
    "keepalived.yaml": {"app": "kni-infra-vrrp"},
}
CLUSTER_OPERATORS = (
    "authentication", "console", "dns", "etcd", "ingress", "kube-apiserver",
    "kube-controller-manager", "kube-scheduler", "machine-api", "machine-config", "monitoring",
    "network", "openshift-apiserver",
)
CREATED = "2026-01-05T09:14:55Z"  # when the drill clusters were "installed"


def _not_found(resource: str, name: str, group: str = "") -> ApiError:
    full = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{full} "{name}" not found',
                    {"name": name, "group": group, "kind": resource} if group else
                    {"name": name, "kind": resource})


NO_RESOURCE = "the server could not find the requested resource"


# --- small helpers ----------------------------------------------------------------------------


def _uid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "etcd-dr-drill/" + key))


_installed = CREATED  # the cluster being answered for: when it was installed (see _enter)


def _enter(cluster: DrillCluster) -> None:
    """Every entry point answers for one cluster at a time (no awaits inside): remember its
    installation time for the objects' creation timestamps."""
    global _installed
    when = cluster.api.installed_at
    _installed = stamp(cluster, when) if when else CREATED


def _meta(name: str, namespace: str | None = None, *, created: str | None = None,
          **extra) -> dict:
    created = created or _installed
    meta: dict[str, Any] = {"creationTimestamp": created, "name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["resourceVersion"] = str(40000 + len(name))
    meta["uid"] = _uid(f"{namespace}/{name}/{created}")
    meta.update(extra)
    return meta


def _node(cluster: DrillCluster, h: DrillHost) -> dict:
    api = cluster.api
    ready = node_ready(cluster, h)
    role = "master" if h.role == "control-plane" else "worker"
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": h.name,
              "kubernetes.io/os": "linux", f"node-role.kubernetes.io/{role}": "",
              "node.openshift.io/os_id": "rhcos"}
    if role == "master":
        labels["node-role.kubernetes.io/control-plane"] = ""
    machine = next((m for m in api.machines if m.host == h.name and m.phase != "Deleting"), None)
    annotations = {"machineconfiguration.openshift.io/controlPlaneTopology":
                   control_plane_topology(cluster),
                   "machineconfiguration.openshift.io/state": "Done",
                   "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
    if machine:
        annotations["machine.openshift.io/machine"] = f"{MACHINE_NS}/{machine.name}"
    created = api.node_created.get(h.name)
    now = stamp(cluster)
    since = stamp(cluster, created) if created else _installed
    if ready:
        ready_cond = {"lastHeartbeatTime": now, "lastTransitionTime": since,
                      "message": "kubelet is posting ready status", "reason": "KubeletReady",
                      "status": "True", "type": "Ready"}
    elif h.up and h.kubelet_running and h.kubelet_certs != "valid":
        # kubelet runs but the API refuses its certificate: it cannot post status
        ready_cond = {"lastHeartbeatTime": since, "lastTransitionTime": since,
                      "message": "Kubelet stopped posting node status.",
                      "reason": "NodeStatusUnknown", "status": "Unknown", "type": "Ready"}
    else:
        ready_cond = {"lastHeartbeatTime": since, "lastTransitionTime": since,
                      "message": "Kubelet stopped posting node status.",
                      "reason": "NodeStatusUnknown", "status": "Unknown", "type": "Ready"}
    pressure = [{"lastHeartbeatTime": now if ready else since, "lastTransitionTime": since,
                 "message": msg, "reason": reason, "status": "False" if ready else "Unknown",
                 "type": ctype}
                for ctype, reason, msg in (
                    ("MemoryPressure", "KubeletHasSufficientMemory",
                     "kubelet has sufficient memory available"),
                    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
    spec: dict[str, Any] = {}
    if machine:
        spec["providerID"] = _provider_id(cluster, machine)
    if not ready:
        spec["taints"] = [{"effect": "NoSchedule", "key": "node.kubernetes.io/unreachable",
                           "timeAdded": since},
                          {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                           "timeAdded": since}]
    minor = version_of(cluster)
    kube = {12: "v1.25.16+9946c63", 13: "v1.26.9+c7606e7", 14: "v1.27.16+03a907c",
            15: "v1.28.15+ff493be", 16: "v1.29.10+67d3387", 17: "v1.30.7+f1e6fbc",
            18: "v1.31.6+b8c2a48"}.get(minor[1], "v1.31.6+b8c2a48")
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": _meta(h.name, created=since, labels=labels, annotations=annotations),
        "spec": spec,
        "status": {
            "addresses": [{"address": h.address, "type": "InternalIP"},
                          {"address": h.name, "type": "Hostname"}],
            "conditions": pressure + [ready_cond],
            "nodeInfo": {
                "architecture": "amd64", "bootID": _uid(f"boot/{h.name}/{since}"),
                "containerRuntimeVersion": "cri-o://1.25.4-4.rhaos4.12.gitb9319a2.el8",
                "kernelVersion": "4.18.0-372.73.1.el8_6.x86_64",
                "kubeProxyVersion": kube, "kubeletVersion": kube,
                "machineID": _uid(f"machine/{h.name}/{since}").replace("-", ""),
                "operatingSystem": "linux",
                "osImage": "Red Hat Enterprise Linux CoreOS 412.86.202310170023-0 (Ootpa)",
                "systemUUID": _uid(f"system/{h.name}/{since}")},
        },
    }


def _list(kind: str, items: list[dict], api_version: str = "v1") -> dict:
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"resourceVersion": "50000"}, "items": items}


# --- selectors ------------------------------------------------------------------------------


def _parse_selector(text: str, what: str) -> list[tuple[str, str, str | None]]:
    """k=v, k==v, k!=v, k, !k, comma-joined (enough for the procedures' selectors)."""
    out: list[tuple[str, str, str | None]] = []
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        m = re.fullmatch(r"([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.:/-]*)", part)
        if m:
            out.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
        elif re.fullmatch(r"!?[A-Za-z0-9_./-]+", part):
            out.append((part.lstrip("!"), "!" if part.startswith("!") else "exists", None))
        else:
            raise ApiError(400, "BadRequest",
                           f"unable to parse requirement: invalid {what}: {part!r}")
    return out


def _matches(reqs: list[tuple[str, str, str | None]], values: dict[str, str]) -> bool:
    for key, op, want in reqs:
        have = values.get(key)
        if op == "=" and have != want:
            return False
        if op == "!=" and have == want:
            return False
        if op == "exists" and have is None:
            return False
        if op == "!" and have is not None:
            return False
    return True


def _field_values(obj: dict) -> dict[str, str]:
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status", {})
    return {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
            "spec.nodeName": spec.get("nodeName", ""), "status.phase": status.get("phase", "")}


def _select(items: list[dict], query: dict[str, str]) -> list[dict]:
    labels = _parse_selector(query.get("labelSelector", ""), "label selector")
    fields = _parse_selector(query.get("fieldSelector", ""), "field selector")
    for key, _, _ in fields:
        if key not in ("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"):
            raise ApiError(400, "BadRequest",
                           f'field label not supported: {key}')
    return [o for o in items
            if _matches(labels, o["metadata"].get("labels") or {})
            and _matches(fields, _field_values(o))]


# --- pods -----------------------------------------------------------------------------------


def _container_status(name: str, image: str, running: bool, ready: bool, started: str,
                      cid: str) -> dict:
    state = ({"running": {"startedAt": started}} if running else
             {"waiting": {"reason": "ContainerCreating"}})
    status = {"image": image, "imageID": image, "lastState": {}, "name": name,
              "ready": ready, "restartCount": 0, "started": running, "state": state}
    if running:
        status["containerID"] = "cri-o://" + cid
    return status


def _pod(cluster: DrillCluster, h: DrillHost, name: str, ns: str, labels: dict, containers:
         list[str], image: str, *, phase: str, ready: bool, created: str, owner: dict | None,
         started: str) -> dict:
    cid = hashlib.sha256(f"{h.name}/{name}".encode()).hexdigest()
    meta = _meta(name, ns, created=created, labels=labels)
    if owner:
        meta["ownerReferences"] = [owner]
    running = phase == "Running"
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"nodeName": h.name, "containers": [{"name": c, "image": image}
                                                     for c in containers],
                 "hostNetwork": True, "priorityClassName": "system-node-critical"},
        "status": {
            "phase": phase, "hostIP": h.address, "podIP": h.address,
            "conditions": [{"type": t, "status": "True" if ok else "False",
                            "lastProbeTime": None, "lastTransitionTime": created}
                           for t, ok in (("Initialized", True), ("Ready", ready),
                                         ("ContainersReady", ready), ("PodScheduled", True))],
            "containerStatuses": [_container_status(c, image, running, ready, started,
                                                    hashlib.sha256((cid + c).encode()).hexdigest())
                                  for c in containers],
            "startTime": created, "qosClass": "Burstable",
        },
    }


def _mirror_pods(cluster: DrillCluster, ns: str) -> list[dict]:
    """Static pods' mirror pods (etcd, kube-apiserver, ...) on control-plane nodes."""
    out = []
    for spec in kubelet.STATIC_PODS.values():
        if spec.namespace != ns:
            continue
        for h in cluster.control_plane():
            if not node_exists(cluster, h):
                continue
            manifest = kubelet.manifest_path(spec) in h.files
            main = spec.containers[1] if spec.manifest == "etcd-pod.yaml" else spec.containers[0]
            running = kubelet.running(h, spec, main)
            if not manifest and running is None:
                continue
            if h.up and h.kubelet_running:
                phase = "Running" if running is not None else "Pending"
                ready = running is not None
            else:  # the node stopped reporting: the last status stays, not ready
                phase, ready = "Running", False
            plural = {v: k for k, v in OPERATOR_MANIFESTS.items()}.get(spec.manifest)
            labels = dict(MIRROR_LABELS.get(spec.manifest, {"app": spec.pod_prefix}))
            if plural:
                op = cluster.api.operators.get(plural)
                labels["revision"] = str(op.node_revisions.get(h.name, op.latest) if op else 1)
            created = stamp(cluster, running.created) if running is not None else stamp(cluster)
            out.append(_pod(cluster, h, kubelet.pod_name(spec, h), ns, labels,
                            list(kubelet.pod_containers(cluster, spec)),
                            kubelet.image_for(spec.image_key),
                            phase=phase, ready=ready, created=created, started=created,
                            owner={"apiVersion": "v1", "controller": True, "kind": "Node",
                                   "name": h.name, "uid": _uid(f"None/{h.name}/{_installed}")}))
    return out


def _ovn_pods(cluster: DrillCluster) -> list[dict]:
    now = cluster.clock.now()
    out = []
    for (app, node), rec in sorted(cluster.api.pods.items(), key=lambda kv: kv[1].name):
        h = cluster.host(node)
        if h is None or not rec.name or not node_exists(cluster, h):
            continue
        if app not in ovn_apps(cluster, h):
            continue
        started = rec.running_at is not None and now >= rec.running_at
        if not (h.up and h.kubelet_running):
            phase, ready = ("Running" if started else "Pending"), False
        else:
            phase, ready = ("Running", True) if started else ("Pending", False)
        if app == "ovnkube-control-plane":
            owner = {"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                     "kind": "ReplicaSet", "name": f"{app}-{suffix(app + '/rs', 10)}",
                     "uid": _uid(f"rs/{app}")}
            labels = {"app": app, "component": "network", "kubernetes.io/os": "linux",
                      "openshift.io/component": "network", "ovn-db-pod": "true",
                      "pod-template-hash": suffix(app + "/rs", 10), "type": "infra"}
        else:
            owner = {"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                     "kind": "DaemonSet", "name": app, "uid": _uid(f"ds/{app}")}
            labels = {"app": app, "component": "network", "controller-revision-hash":
                      suffix(app + "/crh", 10), "kubernetes.io/os": "linux",
                      "openshift.io/component": "network", "pod-template-generation": "1",
                      "type": "infra"}
            if app == "ovnkube-master":
                labels["ovn-db-pod"] = "true"
        out.append(_pod(cluster, h, rec.name, OVN_NS, labels, ovn_container_names(cluster, app),
                        kubelet.image_for("ovn-kubernetes"), phase=phase, ready=ready,
                        created=stamp(cluster, rec.created),
                        started=stamp(cluster, rec.running_at or rec.created), owner=owner))
    return out


def _pods(cluster: DrillCluster, ns: str) -> list[dict]:
    items: list[dict] = []
    if ns == "openshift-etcd-operator":
        cps = cluster.control_plane()
        h = cps[0] if cps else cluster.hosts[0]
        items.append(_pod(cluster, h, "etcd-operator-6b8f5d9c4f-x7k2q", ns,
                          {"app": "etcd-operator", "pod-template-hash": "6b8f5d9c4f"},
                          ["etcd-operator"], "quay.io/openshift-release-dev/ocp-v4.0-art-dev",
                          phase="Running", ready=True, created=_installed, started=_installed,
                          owner=None))
    items += _mirror_pods(cluster, ns)
    if ns == OVN_NS:
        items += _ovn_pods(cluster)
    return items


def delete_pods(cluster: DrillCluster, ns: str, query: dict[str, str],
                name: str | None = None) -> list[dict]:
    """Delete the pods the selectors (or `name`) pick; returns them as they were. OVN pods
    are recreated by their DaemonSet/Deployment (tui.drill.controllers); mirror pods come
    back at once (kubelet owns them)."""
    items = _pods(cluster, ns)
    if name is not None:
        items = [p for p in items if p["metadata"]["name"] == name]
        if not items:
            raise _not_found("pods", name)
    else:
        items = _select(items, query)
    now = cluster.clock.now()
    blocked = pods_blocked(cluster, ns)
    for p in items:
        pname = p["metadata"]["name"]
        rec = next((r for r in cluster.api.pods.values() if r.name == pname), None)
        if rec is None:
            continue
        host = cluster.host(rec.node)
        if host is not None:
            stop_pod_containers(host, pname)
        if blocked:
            rec.name = ""
            rec.running_at = None
        else:

            rec.name = replacement_pod_name(cluster, rec)
            rec.created = now
            rec.running_at = now + controllers.OVN_POD_START_SECONDS
        p["metadata"]["deletionTimestamp"] = stamp(cluster)
    if items:
        cluster.changed()
    return items


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


def _operator(cluster: DrillCluster, plural: str) -> dict:
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
            "metadata": _meta("cluster", generation=op.generation if op else 3,
                              annotations={"include.release.openshift.io/self-managed-high-"
                                           "availability": "true"}),
            "spec": spec, "status": status}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _patch_operator(cluster: DrillCluster, plural: str, body: dict) -> dict:
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
    return _operator(cluster, plural)


def patch_changed(before: dict, after: dict) -> bool:
    return json.dumps(before, sort_keys=True) != json.dumps(after, sort_keys=True)


# --- cluster operators ----------------------------------------------------------------------


def _clusteroperator(cluster: DrillCluster, name: str) -> dict:
    v = cluster.api.version
    conds = controllers.clusteroperator_conditions(cluster, name)
    since = conds.pop("_since", None)
    when = _installed if since is None else stamp(cluster, since)
    conditions = [{"lastTransitionTime": when, "message": c["message"],
                   "reason": c["reason"], "status": c["status"], "type": t}
                  for t, c in conds.items()]
    conditions.append({"lastTransitionTime": _installed, "message": "All is well",
                       "reason": "AsExpected", "status": "True", "type": "Upgradeable"})
    versions = [{"name": "operator", "version": v}]
    if name == "etcd":
        versions.append({"name": "raw-internal", "version": v})
    return {"apiVersion": "config.openshift.io/v1", "kind": "ClusterOperator",
            "metadata": _meta(name, generation=1, annotations={
                "include.release.openshift.io/self-managed-high-availability": "true"}),
            "spec": {},
            "status": {"conditions": conditions, "extension": None,
                       "relatedObjects": [{"group": "operator.openshift.io", "name": "cluster",
                                           "resource": name.replace("-", "") + "s"}],
                       "versions": versions}}


# --- machines -------------------------------------------------------------------------------


def _provider_id(cluster: DrillCluster, m: Machine) -> str:
    if cluster.api.platform == "AWS":
        return f"aws:///{zone(cluster, 0)}/{m.instance}"
    if cluster.api.platform == "BareMetal":
        return f"baremetalhost:///openshift-machine-api/{m.host}/{_uid(m.instance)}"
    return f"drill:///{m.instance}"


def _machine(cluster: DrillCluster, m: Machine) -> dict:
    infra = infra_name(cluster)
    h = cluster.host(m.host)
    labels = {"machine.openshift.io/cluster-api-cluster": infra,
              "machine.openshift.io/cluster-api-machine-role": m.role,
              "machine.openshift.io/cluster-api-machine-type": m.role,
              "machine.openshift.io/instance-type": "m6i.xlarge" if m.role == "master"
              else "m6i.large",
              "machine.openshift.io/region": "us-east-1",
              "machine.openshift.io/zone": zone(cluster, 0)}
    meta = _meta(m.name, MACHINE_NS, created=stamp(cluster, m.created), labels=labels,
                 finalizers=["machine.machine.openshift.io"], generation=2,
                 annotations={"machine.openshift.io/instance-state":
                              "running" if m.phase in ("Running", "Provisioned") else
                              "pending" if m.phase == "Provisioning" else "shutting-down"})
    if m.phase == "Deleting":
        meta["deletionTimestamp"] = stamp(cluster, m.phase_since)
        meta["deletionGracePeriodSeconds"] = 0
    status: dict[str, Any] = {"lastUpdated": stamp(cluster, m.phase_since), "phase": m.phase}
    if m.phase != "Provisioning" and h is not None:
        status["addresses"] = [{"address": h.address, "type": "InternalIP"},
                               {"address": h.name, "type": "InternalDNS"},
                               {"address": h.name, "type": "Hostname"}]
        status["providerStatus"] = {
            "conditions": [{"lastProbeTime": stamp(cluster, m.created),
                            "lastTransitionTime": stamp(cluster, m.created),
                            "message": "Machine successfully created",
                            "reason": "MachineCreationSucceeded", "status": "True",
                            "type": "MachineCreation"}],
            "instanceId": m.instance,
            "instanceState": "running" if m.phase != "Deleting" else "shutting-down"}
        status["conditions"] = [{"lastTransitionTime": stamp(cluster, m.phase_since),
                                 "status": "True", "type": "InstanceExists"}]
    if m.phase in ("Running", "Deleting") and h is not None and node_exists(cluster, h):
        status["nodeRef"] = {"kind": "Node", "name": h.name,
                             "uid": _node(cluster, h)["metadata"]["uid"]}
    spec: dict[str, Any] = {"lifecycleHooks": {}, "metadata": {},
                            "providerSpec": {"value": {
                                "apiVersion": "machine.openshift.io/v1beta1",
                                "kind": "AWSMachineProviderConfig" if cluster.api.platform == "AWS"
                                else "BareMetalMachineProviderSpec",
                                "instanceType": labels["machine.openshift.io/instance-type"],
                                "userDataSecret": {"name": f"{m.role}-user-data"}}}}
    if m.phase != "Provisioning":
        spec["providerID"] = _provider_id(cluster, m)
    return {"apiVersion": "machine.openshift.io/v1beta1", "kind": "Machine", "metadata": meta,
            "spec": spec, "status": status}


def delete_machine(cluster: DrillCluster, name: str) -> dict:
    m = next((m for m in cluster.api.machines if m.name == name), None)
    if m is None:
        raise _not_found("machines", name, "machine.openshift.io")
    if m.phase != "Deleting":

        controllers.machine_deleted(cluster, m)
    return _machine(cluster, m)


# --- CSRs -----------------------------------------------------------------------------------


def _csr(cluster: DrillCluster, c: Csr) -> dict:
    request = hashlib.sha512(c.name.encode()).digest() * 4

    pem = ("-----BEGIN CERTIFICATE REQUEST-----\n" + base64.b64encode(request).decode() +
           "\n-----END CERTIFICATE REQUEST-----\n")
    status: dict[str, Any] = {}
    if c.approved_at is not None:
        status = {"certificate": base64.b64encode(b"-----BEGIN CERTIFICATE-----\n"
                                                  + base64.b64encode(request[:96])
                                                  + b"\n-----END CERTIFICATE-----\n").decode(),
                  "conditions": [{"lastTransitionTime": stamp(cluster, c.approved_at),
                                  "lastUpdateTime": stamp(cluster, c.approved_at),
                                  "message": "This CSR was approved by the drill's oc adm "
                                             "certificate approve.",
                                  "reason": "KubectlApprove", "status": "True",
                                  "type": "Approved"}]}
    elif c.denied:
        status = {"conditions": [{"lastTransitionTime": stamp(cluster), "message": "denied",
                                  "reason": "KubectlDeny", "status": "True", "type": "Denied"}]}
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": _meta(c.name, created=stamp(cluster, c.created), generateName="csr-"),
            "spec": {"groups": list(c.groups),
                     "request": base64.b64encode(pem.encode()).decode(),
                     "signerName": c.signer, "usages": list(c.usages), "username": c.username},
            "status": status}


def approve_csr(cluster: DrillCluster, name: str, body: dict | None = None) -> dict:
    c = next((c for c in cluster.api.csrs if c.name == name), None)
    if c is None:
        raise _not_found("certificatesigningrequests", name, "certificates.k8s.io")
    conditions = ((body or {}).get("status") or {}).get("conditions") if body else None
    if body is not None and conditions is not None:
        kinds = {x.get("type") for x in conditions if isinstance(x, dict)}
        if "Denied" in kinds and c.approved_at is None:
            c.denied = True
            cluster.changed()
            return _csr(cluster, c)
        if "Approved" not in kinds:
            return _csr(cluster, c)
    if c.denied:
        raise ApiError(422, "Invalid", f'CertificateSigningRequest.certificates.k8s.io "{name}" '
                                       f'is invalid: status.conditions[1].type: Invalid value: '
                                       f'"Approved": Approved and Denied conditions are '
                                       f'mutually exclusive')
    if c.approved_at is None:
        c.approved_at = cluster.clock.now()
        cluster.changed()
    return _csr(cluster, c)


# --- config objects, PVs, webhooks ----------------------------------------------------------


def _network(cluster: DrillCluster) -> dict:
    t = cluster.api.network_type
    return {"apiVersion": "config.openshift.io/v1", "kind": "Network",
            "metadata": _meta("cluster", generation=2),
            "spec": {"clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}],
                     "externalIP": {"policy": {}}, "networkType": t,
                     "serviceNetwork": ["172.30.0.0/16"]},
            "status": {"clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}],
                       "clusterNetworkMTU": 8901 if t == "OVNKubernetes" else 8951,
                       "networkType": t, "serviceNetwork": ["172.30.0.0/16"]}}


def _infrastructure(cluster: DrillCluster) -> dict:
    api = cluster.api
    infra = infra_name(cluster)
    platform = api.platform
    status_p: dict[str, Any] = {"type": platform}
    spec_p: dict[str, Any] = {"type": platform}
    if platform == "AWS":
        status_p["aws"] = {"region": "us-east-1"}
        spec_p["aws"] = {}
    elif platform == "BareMetal":
        status_p["baremetal"] = {"apiServerInternalIP": (api.api_vips or [""])[0],
                                 "apiServerInternalIPs": list(api.api_vips),
                                 "ingressIP": (api.ingress_vips or [""])[0],
                                 "ingressIPs": list(api.ingress_vips),
                                 "loadBalancer": {"type": "OpenShiftManagedDefault"}}
        spec_p["baremetal"] = {"apiServerInternalIPs": list(api.api_vips),
                               "ingressIPs": list(api.ingress_vips)}
    return {"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure",
            "metadata": _meta("cluster", generation=1),
            "spec": {"cloudConfig": {"name": ""}, "platformSpec": spec_p},
            "status": {"apiServerInternalURI": f"https://api-int.{cluster.name}.example.com:6443",
                       "apiServerURL": f"https://api.{cluster.name}.example.com:6443",
                       "controlPlaneTopology": control_plane_topology(cluster),
                       "cpuPartitioning": "None",
                       "etcdDiscoveryDomain": "", "infrastructureName": infra,
                       "infrastructureTopology": "HighlyAvailable",
                       "platform": platform, "platformStatus": status_p}}


def _pv(cluster: DrillCluster, spec: dict) -> dict:
    name = spec["name"]
    capacity = spec.get("capacity", "10Gi")
    kind = spec.get("type", "csi")
    pv_spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": capacity},
                               "persistentVolumeReclaimPolicy": spec.get("reclaim", "Delete"),
                               "storageClassName": spec.get("storage_class", "")}
    if spec.get("claim"):
        ns, _, claim = str(spec["claim"]).partition("/")
        pv_spec["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                               "name": claim, "namespace": ns,
                               "uid": _uid(f"pvc/{spec['claim']}")}
    labels: dict[str, str] = {}
    if kind == "local":
        node = spec.get("node", "")
        pv_spec["local"] = {"path": spec.get("path", f"/mnt/local-storage/"
                                             f"{pv_spec['storageClassName']}/{spec.get('device', 'sdb')}")}
        pv_spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
        pv_spec["volumeMode"] = "Filesystem"
        labels = {"kubernetes.io/hostname": node,
                  "storage.openshift.com/owner-kind": "LocalVolume",
                  "storage.openshift.com/owner-name": pv_spec["storageClassName"],
                  "storage.openshift.com/owner-namespace": "openshift-local-storage"}
    else:
        driver = spec.get("driver", "ebs.csi.aws.com")
        pv_spec["csi"] = {"driver": driver, "fsType": "ext4",
                          "volumeHandle": spec.get("handle", "vol-0" + hashlib.sha256(
                              name.encode()).hexdigest()[:16])}
        pv_spec["volumeMode"] = "Filesystem"
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": _meta(name, labels=labels, finalizers=["kubernetes.io/pv-protection"],
                              annotations={"pv.kubernetes.io/provisioned-by":
                                           "local-volume-provisioner" if kind == "local"
                                           else pv_spec["csi"]["driver"]}),
            "spec": pv_spec,
            "status": {"phase": "Bound" if spec.get("claim") else "Available"}}


def _webhook_config(w: dict) -> dict:
    kind = "ValidatingWebhookConfiguration" if w.get("kind", "validating") == "validating" \
        else "MutatingWebhookConfiguration"
    namespaces = w.get("namespaces") or []
    selector: dict[str, Any] = ({"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                       "operator": "In",
                                                       "values": list(namespaces)}]}
                                if namespaces else {})
    hook = {"admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": w.get("service", w["name"]),
                                         "namespace": w.get("service_namespace", "default"),
                                         "path": "/validate" if kind.startswith("V") else "/mutate",
                                         "port": 443}},
            "failurePolicy": w.get("failure_policy", "Fail"), "matchPolicy": "Equivalent",
            "name": f"{w['name']}.example.com" if "." not in w["name"] else w["name"],
            "namespaceSelector": selector, "objectSelector": {},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"],
                       "operations": ["CREATE", "UPDATE"],
                       "resources": list(w.get("resources") or ["pods"]), "scope": "*"}],
            "sideEffects": "None", "timeoutSeconds": 10}
    if kind.startswith("M"):
        hook["reinvocationPolicy"] = "Never"
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": _meta(w["name"], generation=1), "webhooks": [hook]}


def _webhooks(cluster: DrillCluster, kind: str) -> list[dict]:
    return [w for w in cluster.api.webhooks if w.get("kind", "validating") == kind]


def _patch_webhook(cluster: DrillCluster, kind: str, name: str, body: dict) -> dict:
    """A merge patch of a webhook configuration: the drill keeps its one webhook's
    failurePolicy (Fail or Ignore, else 422 as the API's validation says)."""
    w = next((w for w in _webhooks(cluster, kind) if w["name"] == name), None)
    if w is None:
        raise _not_found(f"{kind}webhookconfigurations", name, "admissionregistration.k8s.io")
    hooks = body.get("webhooks") if isinstance(body, dict) else None
    if isinstance(hooks, list) and hooks and isinstance(hooks[0], dict) \
            and "failurePolicy" in hooks[0]:
        policy = hooks[0]["failurePolicy"]
        if policy not in ("Fail", "Ignore"):
            raise ApiError(422, "Invalid",
                           f'{kind.capitalize()}WebhookConfiguration.admissionregistration.k8s.io '
                           f'"{name}" is invalid: webhooks[0].failurePolicy: Unsupported value: '
                           f'{json.dumps(policy)}: supported values: "Fail", "Ignore"',
                           {"name": name, "group": "admissionregistration.k8s.io",
                            "kind": f"{kind.capitalize()}WebhookConfiguration"})
        if w.get("failure_policy", "Fail") != policy:
            w["failure_policy"] = policy
            cluster.changed()
    return _webhook_config(w)


# --- the other objects the console reads ----------------------------------------------------


def _clusterversion(cluster: DrillCluster) -> dict:
    v = cluster.api.version
    return {
        "apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
        "metadata": _meta("version"),
        "spec": {"clusterID": _uid("clusterid/" + cluster.name),
                 "channel": "stable-" + ".".join(v.split(".")[:2])},
        "status": {
            "desired": {"version": v,
                        "image": f"quay.io/openshift-release-dev/ocp-release:{v}-x86_64"},
            "history": [{"state": "Completed", "version": v, "verified": False,
                         "startedTime": _installed,
                         "completionTime": _installed,
                         "image": f"quay.io/openshift-release-dev/ocp-release:{v}-x86_64"}],
            "conditions": [{"type": "Available", "status": "True",
                            "message": f"Done applying {v}",
                            "lastTransitionTime": _installed}],
        }}


def _apiserver_obj(cluster: DrillCluster) -> dict:
    spec: dict[str, Any] = {"audit": {"profile": "Default"}}
    if cluster.api.encryption_type:
        spec["encryption"] = {"type": cluster.api.encryption_type}
    return {"apiVersion": "config.openshift.io/v1", "kind": "APIServer",
            "metadata": _meta("cluster", generation=2), "spec": spec}


def _patch_apiserver(cluster: DrillCluster, body: Any) -> dict:
    try:
        new_type = body.get("spec", {}).get("encryption", {}).get("type")
    except AttributeError:
        raise ApiError(400, "BadRequest", "invalid JSON in merge patch") from None
    if new_type is not None:
        if new_type not in ("", "identity", "aescbc", "aesgcm"):
            raise ApiError(422, "Invalid",
                           f'APIServer.config.openshift.io "cluster" is invalid: '
                           f'spec.encryption.type: Unsupported value: "{new_type}": '
                           f'supported values: "", "identity", "aescbc", "aesgcm"')
        cluster.api.encryption_type = new_type
        cluster.changed()
    return _apiserver_obj(cluster)


def _proxy(cluster: DrillCluster) -> dict:
    proxy = cluster.api.proxy
    return {"apiVersion": "config.openshift.io/v1", "kind": "Proxy",
            "metadata": _meta("cluster"), "spec": {**proxy, "trustedCA": {"name": ""}},
            "status": dict(proxy)}


def _operator_log(cluster: DrillCluster) -> str:
    now = cluster.clock.now_dt()
    lines = []
    for i, m in enumerate(cluster.etcd.members):
        stamp = now.strftime("%m%d %H:%M:%S") + f".{123456 + i:06d}"
        lines.append(f"I{stamp}       1 defragcontroller.go:295] etcd member has been "
                     f"defragmented: {m.name}, memberID: {m.member_id}")
    return "\n".join(lines) + "\n"


def _ovnkube_master_ds(cluster: DrillCluster) -> dict:
    ips = controllers.ovn_master_ips(cluster)
    nb = ",".join(f"ssl:{ip}:9641" for ip in ips)
    sb = ",".join(f"ssl:{ip}:9642" for ip in ips)
    image = kubelet.image_for("ovn-kubernetes")
    n = len([h for h in cluster.control_plane() if node_exists(cluster, h)])
    ready = len([r for r in cluster.api.pods.values() if r.app == "ovnkube-master" and r.name
                 and r.running_at is not None and cluster.clock.now() >= r.running_at])
    containers = [
        {"name": "northd", "image": image, "command": ["/bin/bash", "-c",
         f"exec ovn-northd --no-chdir -vconsole:info --ovnnb-db \"{nb}\" --ovnsb-db \"{sb}\""]},
        {"name": "nbdb", "image": image, "command": ["/bin/bash", "-c",
         "exec /usr/share/ovn/scripts/ovn-ctl run_nb_ovsdb"],
         "env": [{"name": "OVN_NB_DB_LIST", "value": nb}]},
        {"name": "sbdb", "image": image, "command": ["/bin/bash", "-c",
         "exec /usr/share/ovn/scripts/ovn-ctl run_sb_ovsdb"],
         "env": [{"name": "OVN_SB_DB_LIST", "value": sb}]},
        {"name": "ovnkube-master", "image": image, "command": ["/bin/bash", "-c",
         f"exec /usr/bin/ovnkube --init-master \"${{K8S_NODE}}\" --nb-address \"{nb}\" "
         f"--sb-address \"{sb}\""]},
    ]
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": _meta("ovnkube-master", OVN_NS, generation=3,
                              annotations={"kubernetes.io/description":
                                           "This daemonset launches the ovn-kubernetes "
                                           "controller (master) networking components."}),
            "spec": {"selector": {"matchLabels": {"app": "ovnkube-master"}},
                     "template": {"metadata": {"labels": {"app": "ovnkube-master"}},
                                  "spec": {"containers": containers,
                                           "nodeSelector": {
                                               "node-role.kubernetes.io/master": ""}}}},
            "status": {"currentNumberScheduled": n, "desiredNumberScheduled": n,
                       "numberAvailable": ready, "numberReady": ready, "numberMisscheduled": 0,
                       "observedGeneration": 3, "updatedNumberScheduled": n}}


# --- routing --------------------------------------------------------------------------------

_OP = r"/apis/operator\.openshift\.io/v1/(etcds|kubeapiservers|kubecontrollermanagers|" \
      r"kubeschedulers|openshiftapiservers|authentications)/cluster"
_MACHINES = rf"/apis/machine\.openshift\.io/v1beta1/namespaces/{MACHINE_NS}/machines"
_CSRS = r"/apis/certificates\.k8s\.io/v1/certificatesigningrequests"
_HOOKS = r"/apis/admissionregistration\.k8s\.io/v1/(validating|mutating)webhookconfigurations"


def _split(path: str) -> str:
    return "/" + path.split("?", 1)[0].strip("/") if path not in ("", "/") else "/"


def get(cluster: DrillCluster, path: str, query: dict[str, str] | None = None) -> Any:
    """GET `path`: a dict (JSON) or a str (logs); ApiError when the API says no."""
    q = query or {}
    path = _split(path)
    api = cluster.api
    _enter(cluster)
    if path == "/version":
        return {"major": "1", "minor": "25", "gitVersion": "v1.25.16+9946c63",
                "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/api/v1/nodes":
        items = [_node(cluster, h) for h in cluster.hosts if node_exists(cluster, h)]
        return _list("NodeList", _select(items, q))
    m = re.fullmatch(r"/api/v1/nodes/([^/]+)", path)
    if m:
        h = cluster.host(m.group(1))
        if h is None or not node_exists(cluster, h):
            raise _not_found("nodes", m.group(1))
        return _node(cluster, h)
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods", path)
    if m:
        return _list("PodList", _select(_pods(cluster, m.group(1)), q))
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)(/log)?", path)
    if m:
        pod = next((p for p in _pods(cluster, m.group(1))
                    if p["metadata"]["name"] == m.group(2)), None)
        if pod is None:
            raise _not_found("pods", m.group(2))
        if m.group(3):
            return _operator_log(cluster) if m.group(1) == "openshift-etcd-operator" else ""
        return pod
    if path == "/api/v1/persistentvolumes":
        return _list("PersistentVolumeList",
                     _select([_pv(cluster, s) for s in api.persistent_volumes], q))
    m = re.fullmatch(r"/api/v1/persistentvolumes/([^/]+)", path)
    if m:
        spec = next((s for s in api.persistent_volumes if s["name"] == m.group(1)), None)
        if spec is None:
            raise _not_found("persistentvolumes", m.group(1))
        return _pv(cluster, spec)
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/configmaps/([^/]+)", path)
    if m:
        raise _not_found("configmaps", m.group(2))
    if path == "/apis/config.openshift.io/v1/apiservers/cluster":
        return _apiserver_obj(cluster)
    if path == "/apis/config.openshift.io/v1/clusterversions/version":
        return _clusterversion(cluster)
    if path == "/apis/config.openshift.io/v1/proxies/cluster":
        return _proxy(cluster)
    if path == "/apis/config.openshift.io/v1/networks/cluster":
        return _network(cluster)
    if path == "/apis/config.openshift.io/v1/infrastructures/cluster":
        return _infrastructure(cluster)
    if path == "/apis/config.openshift.io/v1/clusteroperators":
        return _list("ClusterOperatorList", _select(
            [_clusteroperator(cluster, n) for n in CLUSTER_OPERATORS], q),
            "config.openshift.io/v1")
    m = re.fullmatch(r"/apis/config\.openshift\.io/v1/clusteroperators/([^/]+)", path)
    if m:
        if m.group(1) not in CLUSTER_OPERATORS:
            raise _not_found("clusteroperators", m.group(1), "config.openshift.io")
        return _clusteroperator(cluster, m.group(1))
    m = re.fullmatch(_OP, path)
    if m:
        return _operator(cluster, m.group(1))
    if path == _MACHINES.replace("\\", ""):
        items = [_machine(cluster, mm) for mm in api.machines]
        return _list("MachineList", _select(items, q), "machine.openshift.io/v1beta1")
    m = re.fullmatch(_MACHINES + r"/([^/]+)", path)
    if m:
        mm = next((x for x in api.machines if x.name == m.group(1)), None)
        if mm is None:
            raise _not_found("machines", m.group(1), "machine.openshift.io")
        return _machine(cluster, mm)
    if path == _CSRS.replace("\\", ""):
        return _list("CertificateSigningRequestList",
                     _select([_csr(cluster, c) for c in api.csrs], q), "certificates.k8s.io/v1")
    m = re.fullmatch(_CSRS + r"/([^/]+)", path)
    if m:
        c = next((c for c in api.csrs if c.name == m.group(1)), None)
        if c is None:
            raise _not_found("certificatesigningrequests", m.group(1), "certificates.k8s.io")
        return _csr(cluster, c)
    if path == f"/apis/apps/v1/namespaces/{OVN_NS}/daemonsets/ovnkube-master":
        if api.network_type != "OVNKubernetes" or version_of(cluster) >= (4, 14):
            raise _not_found("daemonsets", "ovnkube-master", "apps")
        return _ovnkube_master_ds(cluster)
    m = re.fullmatch(_HOOKS, path)
    if m:
        kind = m.group(1)
        title = kind.capitalize()
        return _list(f"{title}WebhookConfigurationList",
                     [_webhook_config(w) for w in _webhooks(cluster, kind)],
                     "admissionregistration.k8s.io/v1")
    m = re.fullmatch(_HOOKS + r"/([^/]+)", path)
    if m:
        w = next((w for w in _webhooks(cluster, m.group(1)) if w["name"] == m.group(2)), None)
        if w is None:
            raise _not_found(f"{m.group(1)}webhookconfigurations", m.group(2),
                             "admissionregistration.k8s.io")
        return _webhook_config(w)
    raise ApiError(404, "NotFound", NO_RESOURCE, {})


MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
UNSUPPORTED_MEDIA = ("the body of the request was in an unknown format - accepted media types "
                     "include: application/json-patch+json, application/merge-patch+json, "
                     "application/apply-patch+yaml")


class JsonPatchError(ValueError):
    """A JSON patch (RFC 6902) that does not apply to the document."""


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not isinstance(path, str) or not path.startswith("/"):
        raise JsonPatchError(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list, key: str, path: str, op: str, adding: bool = False) -> int:
    if adding and key == "-":
        return len(container)
    if not re.fullmatch(r"0|[1-9]\d*", key):
        raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    i = int(key)
    if i > len(container) - (0 if adding else 1):
        raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return i


def _parent(doc: Any, parts: list[str], path: str, op: str) -> Any:
    node = doc
    for key in parts[:-1]:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list):
            node = node[_index(node, key, path, op)]
        else:
            raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return node


def _at(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, key = _parent(doc, parts, path, op), parts[-1]
    if isinstance(parent, dict) and key in parent:
        return parent[key]
    if isinstance(parent, list):
        return parent[_index(parent, key, path, op)]
    raise JsonPatchError(f"{op} operation does not apply: doc is missing key: {path}")


def apply_json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 (add, remove, replace, move, copy, test) on a copy of `doc`."""
    if not isinstance(operations, list):
        raise JsonPatchError("json: cannot unmarshal object into Go value of type "
                             "jsonpatch.Patch")
    doc = json.loads(json.dumps(doc))
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise JsonPatchError("operation missing op or path")
        op, path = operation["op"], operation["path"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise JsonPatchError(f"{op} operation: missing value")
        if op == "test":
            if _at(doc, path, op) != operation["value"]:
                raise JsonPatchError(f"testing value {path} failed: test failed")
            continue
        if op in ("move", "copy"):
            value = json.loads(json.dumps(_at(doc, operation.get("from", ""), op)))
            if op == "move":
                doc = apply_json_patch(doc, [{"op": "remove", "path": operation.get("from")}])
            doc = apply_json_patch(doc, [{"op": "add", "path": path, "value": value}])
            continue
        if op not in ("add", "remove", "replace"):
            raise JsonPatchError(f"unexpected operation: {op!r}")
        parts = _pointer(path)
        if not parts:
            if op == "remove":
                raise JsonPatchError("remove operation does not apply: the whole document")
            doc = operation["value"]
            continue
        parent, key = _parent(doc, parts, path, op), parts[-1]
        if isinstance(parent, dict):
            if op != "add" and key not in parent:
                raise JsonPatchError(f"{op} operation does not apply: doc is missing key: "
                                     f"{path}")
            if op == "remove":
                del parent[key]
            else:
                parent[key] = operation["value"]
        elif isinstance(parent, list):
            i = _index(parent, key, path, op, adding=op == "add")
            if op == "add":
                parent.insert(i, operation["value"])
            elif op == "remove":
                del parent[i]
            else:
                parent[i] = operation["value"]
        else:
            raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return doc


def merge_diff(before: Any, after: Any) -> Any:
    """The merge patch (RFC 7386) that turns `before` into `after`."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return after
    out: dict[str, Any] = {k: None for k in before if k not in after}
    for k, v in after.items():
        if k not in before:
            out[k] = v
        elif before[k] != v:
            out[k] = merge_diff(before[k], v)
    return out


def patch(cluster: DrillCluster, path: str, body: Any, content_type: str = MERGE) -> dict:
    """PATCH `path` with a merge patch (`oc patch --type=merge`) or a JSON patch (`oc patch
    --type=json`: applied to the object as it is, then kept as the merge patch of the
    difference); custom resources refuse strategic merge patches, and so does the drill."""
    path = _split(path)
    _enter(cluster)
    if "json-patch+json" in content_type:
        before = get(cluster, path)  # 404 for unknown objects
        try:
            after = apply_json_patch(before, body)
        except JsonPatchError as e:
            code, reason = (400, "BadRequest") if not isinstance(body, list) else \
                (422, "Invalid")
            raise ApiError(code, reason, str(e)) from None
        body = merge_diff(before, after)
    elif "merge-patch+json" not in content_type:
        raise ApiError(415, "UnsupportedMediaType", UNSUPPORTED_MEDIA)
    if path == "/apis/config.openshift.io/v1/apiservers/cluster":
        return _patch_apiserver(cluster, body)
    m = re.fullmatch(_OP, path)
    if m:
        return _patch_operator(cluster, m.group(1), body)
    m = re.fullmatch(_HOOKS + r"/([^/]+)", path)
    if m:
        return _patch_webhook(cluster, m.group(1), m.group(2), body)
    get(cluster, path)  # 404 for unknown paths
    raise ApiError(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource")


def delete(cluster: DrillCluster, path: str, query: dict[str, str] | None = None) -> dict:
    """DELETE `path` (an object, or a pod collection by selectors): the object as it was, or
    for a collection the list of deleted pods."""
    path = _split(path)
    q = query or {}
    _enter(cluster)
    m = re.fullmatch(r"/api/v1/nodes/([^/]+)", path)
    if m:
        h = cluster.host(m.group(1))
        if h is None or not node_exists(cluster, h):
            raise _not_found("nodes", m.group(1))
        obj = _node(cluster, h)

        controllers.node_deleted(cluster, h)
        return obj
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods", path)
    if m:
        return _list("PodList", delete_pods(cluster, m.group(1), q))
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)", path)
    if m:
        return delete_pods(cluster, m.group(1), {}, name=m.group(2))[0]
    m = re.fullmatch(_MACHINES + r"/([^/]+)", path)
    if m:
        return delete_machine(cluster, m.group(1))
    m = re.fullmatch(_HOOKS + r"/([^/]+)", path)
    if m:
        w = next((w for w in _webhooks(cluster, m.group(1)) if w["name"] == m.group(2)), None)
        if w is None:
            raise _not_found(f"{m.group(1)}webhookconfigurations", m.group(2),
                             "admissionregistration.k8s.io")
        cluster.api.webhooks.remove(w)
        cluster.changed()
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": m.group(2), "group": "admissionregistration.k8s.io",
                            "kind": f"{m.group(1)}webhookconfigurations",
                            "uid": _uid(f"None/{m.group(2)}/{_installed}")}}
    get(cluster, path)
    raise ApiError(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource")


def put(cluster: DrillCluster, path: str, body: Any) -> dict:
    """PUT: only a CSR's approval subresource (what `oc adm certificate approve` sends)."""
    path = _split(path)
    _enter(cluster)
    m = re.fullmatch(_CSRS + r"/([^/]+)/approval", path)
    if m:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body must be a CertificateSigningRequest")
        return approve_csr(cluster, m.group(1), body)
    get(cluster, path)
    raise ApiError(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource")
