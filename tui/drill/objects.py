"""The drill cluster's API objects as the cluster's own controllers see them.

Their names, the facts the rest derives from the model (is a node there, is the API
serving, which OVN pods run where, is a rollout done) and the objects a scenario starts with.
The controllers (tui.drill.controllers) act on these; the API's own view, what a GET, PATCH,
DELETE or PUT returns and does, is tui.drill.rest, above the controllers.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from tui.drill import kubelet
from tui.drill.model import (
    DrillCluster,
    DrillHost,
    Machine,
    OperatorState,
    PodRecord,
)

GUARD_KEY = "useUnsupportedUnsafeNonHANonProductionUnstableEtcd"
OVN_NS = "openshift-ovn-kubernetes"
# static pod manifest of each rolled-out operator (tui.drill.kubelet.STATIC_PODS keys)
OPERATOR_MANIFESTS = {"etcds": "etcd-pod.yaml", "kubeapiservers": "kube-apiserver-pod.yaml",
                      "kubecontrollermanagers": "kube-controller-manager-pod.yaml",
                      "kubeschedulers": "kube-scheduler-pod.yaml"}
OVN_CONTAINERS = {
    "ovnkube-master": ["northd", "nbdb", "kube-rbac-proxy", "sbdb", "ovnkube-master",
                       "ovn-dbchecker"],
    "ovnkube-control-plane": ["kube-rbac-proxy", "ovnkube-cluster-manager"],
    "ovnkube-node-4.12": ["ovn-controller", "ovn-acl-logging", "kube-rbac-proxy",
                          "kube-rbac-proxy-ovn-metrics", "ovnkube-node"],
    "ovnkube-node": ["ovn-controller", "ovn-acl-logging", "kube-rbac-proxy-node",
                     "kube-rbac-proxy-ovn-metrics", "northd", "nbdb", "sbdb",
                     "ovnkube-controller"],
}


class ApiError(Exception):
    """What the API answers instead of an object: HTTP `code`, Status `reason`, `message`."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure", "message": self.message,
                                "reason": self.reason}
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def stamp(cluster: DrillCluster, when: float | None = None) -> str:
    t = cluster.clock.now() if when is None else when
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def suffix(seed: str, n: int = 5) -> str:
    """A generated name's random part (Kubernetes' alphabet), the same for the same seed."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    out = []
    for _ in range(n):
        h, r = divmod(h, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def new_name(cluster: DrillCluster, prefix: str) -> str:
    cluster.api.serial += 1
    return prefix + suffix(f"{cluster.name}/{prefix}/{cluster.api.serial}")


def _kas_running(host: DrillHost) -> bool:
    return host.up and kubelet.running(
        host, kubelet.STATIC_PODS["kube-apiserver-pod.yaml"], "kube-apiserver") is not None


def host_serving(cluster: DrillCluster, host: DrillHost) -> bool:
    """This host's kube-apiserver answers (the recovery kubeconfig's localhost:6443): its
    container runs and etcd has a leader to serve it from."""
    return _kas_running(host) and cluster.etcd.leader() is not None


def api_serving(cluster: DrillCluster) -> bool:
    """Some kube-apiserver answers from a quorate etcd: the in-cluster controllers work."""
    return cluster.etcd.leader() is not None and any(_kas_running(h) for h in cluster.hosts)


def quorum_guard_off(cluster: DrillCluster) -> bool:
    op = cluster.api.operators.get("etcds")
    overrides = (op.spec.get("unsupportedConfigOverrides") if op else None) or {}
    return isinstance(overrides, dict) and overrides.get(GUARD_KEY) in (True, "true")


# --- initial objects (scenario build) -------------------------------------------------------


def init_objects(cluster: DrillCluster, *, machines: bool = True) -> None:
    """Operators at their revisions, machines, OVN pods: what an installed cluster has."""
    api = cluster.api
    cps = cluster.control_plane()
    revisions = {"etcds": api.etcd_revision, "kubeapiservers": 9,
                 "kubecontrollermanagers": 6, "kubeschedulers": 6}
    for plural, rev in revisions.items():
        api.operators.setdefault(plural, OperatorState(
            plural=plural, latest=rev, node_revisions={h.name: rev for h in cps}))
    now = cluster.clock.now()
    if not api.installed_at:
        api.installed_at = now - 12 * 86400
    if machines and not api.machines:
        infra = infra_name(cluster)
        workers = [h for h in cluster.hosts if h.role == "worker"]
        for h in cluster.hosts:
            if h.role == "control-plane":
                name = f"{infra}-master-{cps.index(h)}"
            else:
                name = f"{infra}-worker-{zone(cluster, workers.index(h))}-{suffix('m/' + h.name)}"
            api.machines.append(Machine(
                name=name, host=h.name, role="master" if h.role == "control-plane" else "worker",
                phase="Running", created=now - 12 * 86400, phase_since=now - 12 * 86400,
                instance=_instance_id(f"{name}/0")))
    if api.network_type == "OVNKubernetes":
        for h in cluster.hosts:
            for app in ovn_apps(cluster, h):
                if (app, h.name) in api.pods:
                    continue
                existing = next((c.pod for c in h.containers
                                 if c.namespace == OVN_NS and c.pod.startswith(app + "-")),
                                None)
                name = existing or (f"{app}-{suffix(app + '/rs', 10)}-{suffix(app + '/' + h.name)}"
                                    if app == "ovnkube-control-plane" else
                                    f"{app}-{suffix(app + '/' + h.name)}")
                api.pods[(app, h.name)] = PodRecord(app, h.name, name, now - 4 * 86400,
                                                    running_at=now - 4 * 86400)
                if existing is None and h.up:
                    start_pod_containers(cluster, h, api.pods[(app, h.name)],
                                         created=now - 4 * 86400)


def control_plane_topology(cluster: DrillCluster) -> str:
    """Infrastructure status.controlPlaneTopology (and the nodes' controlPlaneTopology
    annotation): the scenario's, else HighlyAvailable, or SingleReplica for one host."""
    if cluster.api.topology:
        return cluster.api.topology
    return "HighlyAvailable" if len(cluster.control_plane()) > 1 else "SingleReplica"


def infra_name(cluster: DrillCluster) -> str:
    return f"{cluster.name}-{suffix('infra/' + cluster.name)}"


def zone(cluster: DrillCluster, i: int) -> str:
    return {"AWS": ["us-east-1a", "us-east-1b", "us-east-1c"]}.get(
        cluster.api.platform, ["zone-a", "zone-b", "zone-c"])[i % 3]


def _instance_id(seed: str) -> str:
    return "i-0" + hashlib.sha256(seed.encode()).hexdigest()[:16]


def ovn_apps(cluster: DrillCluster, host: DrillHost) -> list[str]:
    """The OVN-Kubernetes pods a node runs (by app label)."""
    if cluster.api.network_type != "OVNKubernetes":
        return []
    apps = ["ovnkube-node"]
    if host.role == "control-plane":
        apps.insert(0, "ovnkube-master" if cluster.api.release < (4, 14) else "ovnkube-control-plane")
    return apps


def ovn_container_names(cluster: DrillCluster, app: str) -> list[str]:
    if app == "ovnkube-node" and cluster.api.release < (4, 14):
        return OVN_CONTAINERS["ovnkube-node-4.12"]
    return OVN_CONTAINERS[app]


def start_pod_containers(cluster: DrillCluster, host: DrillHost, rec: PodRecord,
                         created: float | None = None) -> None:
    pod_id = hashlib.sha256(f"pod/{host.name}/{rec.name}".encode()).hexdigest()
    for i, name in enumerate(ovn_container_names(cluster, rec.app)):
        kubelet.new_container(cluster, host, name=name, pod=rec.name, namespace=OVN_NS,
                              image=kubelet.image_for("ovn-kubernetes"), pod_id=pod_id,
                              created=None if created is None else created + i)


def stop_pod_containers(host: DrillHost, pod: str) -> None:
    for c in host.containers:
        if c.pod == pod and c.state == "Running":
            c.state = "Exited"


# --- nodes ----------------------------------------------------------------------------------


def node_exists(cluster: DrillCluster, host: DrillHost) -> bool:
    return host.name not in cluster.api.node_deleted


def node_ready(cluster: DrillCluster, host: DrillHost) -> bool:
    override = cluster.api.node_ready.get(host.name)
    if override is not None:
        return override
    return host.up and host.kubelet_running and host.kubelet_certs == "valid"


def replacement_pod_name(cluster: DrillCluster, rec: PodRecord) -> str:
    if rec.app == "ovnkube-control-plane":
        return new_name(cluster, f"{rec.app}-{suffix(rec.app + '/rs', 10)}-")
    return new_name(cluster, f"{rec.app}-")


def pods_blocked(cluster: DrillCluster, ns: str) -> str | None:
    """The name of a failurePolicy Fail admission webhook that rejects pods in `ns` (its
    backend does not answer during a restore), or None."""
    for w in cluster.api.webhooks:
        if w.get("failure_policy") != "Fail" or not w.get("blocks_pods", True):
            continue
        namespaces = w.get("namespaces") or []
        if not namespaces or ns in namespaces:
            return str(w["name"])
    return None


# --- operators --------------------------------------------------------------------------------


def rollout_message(cluster: DrillCluster, op: OperatorState) -> tuple[bool, str]:
    """(progressing, message) of NodeInstallerProgressing, worded as library-go does."""
    nodes = rollout_nodes(cluster, op)
    counts: dict[int, int] = {}
    for n in nodes:
        rev = op.node_revisions.get(n, 0)
        counts[rev] = counts.get(rev, 0) + 1
    parts = [f"{c} nodes are at revision {r}" for r, c in sorted(counts.items())]
    progressing = any(r != op.latest for r in counts)
    if progressing and op.latest not in counts:
        parts.append(f"0 nodes have achieved new revision {op.latest}")
    return progressing, "; ".join(parts) or f"0 nodes are at revision {op.latest}"


def rollout_nodes(cluster: DrillCluster, op: OperatorState) -> list[str]:
    return [h.name for h in cluster.control_plane() if node_exists(cluster, h)]
