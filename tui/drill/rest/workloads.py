"""Nodes and pods as the drill's API shows them: derived from the hosts (static pods and
their mirror pods, the OVN pods), and deleting pods the way the API does."""

from __future__ import annotations

import hashlib
from typing import Any

from tui.drill import controllers, kubelet
from tui.drill.model import (
    DrillCluster,
    DrillHost,
    Machine,
)
from tui.drill.objects import (
    OPERATOR_MANIFESTS,
    OVN_NS,
    control_plane_topology,
    node_exists,
    node_ready,
    ovn_apps,
    ovn_container_names,
    pods_blocked,
    replacement_pod_name,
    stamp,
    stop_pod_containers,
    suffix,
    zone,
)
from tui.drill.rest.base import (
    INSTALLED,
    MACHINE_NS,
    MIRROR_LABELS,
    metadata,
    not_found,
    select,
    uid,
)


def node_object(cluster: DrillCluster, h: DrillHost) -> dict:
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
    since = stamp(cluster, created) if created else INSTALLED
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
        spec["providerID"] = provider_id(cluster, machine)
    if not ready:
        spec["taints"] = [{"effect": "NoSchedule", "key": "node.kubernetes.io/unreachable",
                           "timeAdded": since},
                          {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                           "timeAdded": since}]
    minor = cluster.api.release
    kube = {12: "v1.25.16+9946c63", 13: "v1.26.9+c7606e7", 14: "v1.27.16+03a907c",
            15: "v1.28.15+ff493be", 16: "v1.29.10+67d3387", 17: "v1.30.7+f1e6fbc",
            18: "v1.31.6+b8c2a48"}.get(minor[1], "v1.31.6+b8c2a48")
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": metadata(h.name, created=since, labels=labels, annotations=annotations),
        "spec": spec,
        "status": {
            "addresses": [{"address": h.address, "type": "InternalIP"},
                          {"address": h.name, "type": "Hostname"}],
            "conditions": pressure + [ready_cond],
            "nodeInfo": {
                "architecture": "amd64", "bootID": uid(f"boot/{h.name}/{since}"),
                "containerRuntimeVersion": "cri-o://1.25.4-4.rhaos4.12.gitb9319a2.el8",
                "kernelVersion": "4.18.0-372.73.1.el8_6.x86_64",
                "kubeProxyVersion": kube, "kubeletVersion": kube,
                "machineID": uid(f"machine/{h.name}/{since}").replace("-", ""),
                "operatingSystem": "linux",
                "osImage": "Red Hat Enterprise Linux CoreOS 412.86.202310170023-0 (Ootpa)",
                "systemUUID": uid(f"system/{h.name}/{since}")},
        },
    }


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
    meta = metadata(name, ns, created=created, labels=labels)
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
                                   "name": h.name, "uid": uid(f"None/{h.name}/{INSTALLED}")}))
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
                     "uid": uid(f"rs/{app}")}
            labels = {"app": app, "component": "network", "kubernetes.io/os": "linux",
                      "openshift.io/component": "network", "ovn-db-pod": "true",
                      "pod-template-hash": suffix(app + "/rs", 10), "type": "infra"}
        else:
            owner = {"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                     "kind": "DaemonSet", "name": app, "uid": uid(f"ds/{app}")}
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


def pod_objects(cluster: DrillCluster, ns: str) -> list[dict]:
    items: list[dict] = []
    if ns == "openshift-etcd-operator":
        cps = cluster.control_plane()
        h = cps[0] if cps else cluster.hosts[0]
        items.append(_pod(cluster, h, "etcd-operator-6b8f5d9c4f-x7k2q", ns,
                          {"app": "etcd-operator", "pod-template-hash": "6b8f5d9c4f"},
                          ["etcd-operator"], "quay.io/openshift-release-dev/ocp-v4.0-art-dev",
                          phase="Running", ready=True, created=INSTALLED, started=INSTALLED,
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
    items = pod_objects(cluster, ns)
    if name is not None:
        items = [p for p in items if p["metadata"]["name"] == name]
        if not items:
            raise not_found("pods", name)
    else:
        items = select(items, query)
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


def provider_id(cluster: DrillCluster, m: Machine) -> str:
    if cluster.api.platform == "AWS":
        return f"aws:///{zone(cluster, 0)}/{m.instance}"
    if cluster.api.platform == "BareMetal":
        return f"baremetalhost:///openshift-machine-api/{m.host}/{uid(m.instance)}"
    return f"drill:///{m.instance}"


def ovnkube_master_daemonset(cluster: DrillCluster) -> dict:
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
            "metadata": metadata("ovnkube-master", OVN_NS, generation=3,
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
