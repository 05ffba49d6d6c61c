"""The cluster-wide objects the console reads from the drill's API: Network, Infrastructure,
ClusterVersion, APIServer (and its encryption), Proxy, persistent volumes, admission
webhooks, and the etcd operator's log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tui.drill.model import (
    DrillCluster,
)
from tui.drill.objects import (
    ApiError,
    control_plane_topology,
    infra_name,
)
from tui.drill.rest.base import (
    INSTALLED,
    metadata,
    not_found,
    uid,
)


def network_object(cluster: DrillCluster) -> dict:
    t = cluster.api.network_type
    return {"apiVersion": "config.openshift.io/v1", "kind": "Network",
            "metadata": metadata("cluster", generation=2),
            "spec": {"clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}],
                     "externalIP": {"policy": {}}, "networkType": t,
                     "serviceNetwork": ["172.30.0.0/16"]},
            "status": {"clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}],
                       "clusterNetworkMTU": 8901 if t == "OVNKubernetes" else 8951,
                       "networkType": t, "serviceNetwork": ["172.30.0.0/16"]}}


def infrastructure_object(cluster: DrillCluster) -> dict:
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
            "metadata": metadata("cluster", generation=1),
            "spec": {"cloudConfig": {"name": ""}, "platformSpec": spec_p},
            "status": {"apiServerInternalURI": f"https://api-int.{cluster.name}.example.com:6443",
                       "apiServerURL": f"https://api.{cluster.name}.example.com:6443",
                       "controlPlaneTopology": control_plane_topology(cluster),
                       "cpuPartitioning": "None",
                       "etcdDiscoveryDomain": "", "infrastructureName": infra,
                       "infrastructureTopology": "HighlyAvailable",
                       "platform": platform, "platformStatus": status_p}}


def pv_object(cluster: DrillCluster, spec: dict) -> dict:
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
                               "uid": uid(f"pvc/{spec['claim']}")}
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
            "metadata": metadata(name, labels=labels, finalizers=["kubernetes.io/pv-protection"],
                              annotations={"pv.kubernetes.io/provisioned-by":
                                           "local-volume-provisioner" if kind == "local"
                                           else pv_spec["csi"]["driver"]}),
            "spec": pv_spec,
            "status": {"phase": "Bound" if spec.get("claim") else "Available"}}


def webhook_config_object(w: dict) -> dict:
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
            "metadata": metadata(w["name"], generation=1), "webhooks": [hook]}


def webhook_objects(cluster: DrillCluster, kind: str) -> list[dict]:
    return [w for w in cluster.api.webhooks if w.get("kind", "validating") == kind]


def patch_webhook(cluster: DrillCluster, kind: str, name: str, body: dict) -> dict:
    """A merge patch of a webhook configuration: the drill keeps its one webhook's
    failurePolicy (Fail or Ignore, else 422 as the API's validation says)."""
    w = next((w for w in webhook_objects(cluster, kind) if w["name"] == name), None)
    if w is None:
        raise not_found(f"{kind}webhookconfigurations", name, "admissionregistration.k8s.io")
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
    return webhook_config_object(w)


def clusterversion_object(cluster: DrillCluster) -> dict:
    v = cluster.api.version
    return {
        "apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
        "metadata": metadata("version"),
        "spec": {"clusterID": uid("clusterid/" + cluster.name),
                 "channel": "stable-" + ".".join(v.split(".")[:2])},
        "status": {
            "desired": {"version": v,
                        "image": f"quay.io/openshift-release-dev/ocp-release:{v}-x86_64"},
            "history": [{"state": "Completed", "version": v, "verified": False,
                         "startedTime": INSTALLED,
                         "completionTime": INSTALLED,
                         "image": f"quay.io/openshift-release-dev/ocp-release:{v}-x86_64"}],
            "conditions": [{"type": "Available", "status": "True",
                            "message": f"Done applying {v}",
                            "lastTransitionTime": INSTALLED}],
        }}


def apiserver_object(cluster: DrillCluster) -> dict:
    spec: dict[str, Any] = {"audit": {"profile": "Default"}}
    if cluster.api.encryption_type:
        spec["encryption"] = {"type": cluster.api.encryption_type}
    return {"apiVersion": "config.openshift.io/v1", "kind": "APIServer",
            "metadata": metadata("cluster", generation=2), "spec": spec}


def patch_apiserver(cluster: DrillCluster, body: Any) -> dict:
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
    return apiserver_object(cluster)


def proxy_object(cluster: DrillCluster) -> dict:
    proxy = cluster.api.proxy
    return {"apiVersion": "config.openshift.io/v1", "kind": "Proxy",
            "metadata": metadata("cluster"), "spec": {**proxy, "trustedCA": {"name": ""}},
            "status": dict(proxy)}


def operator_log(cluster: DrillCluster) -> str:
    now = cluster.clock.now_dt()
    lines = []
    for i, m in enumerate(cluster.etcd.members):
        stamp = now.strftime("%m%d %H:%M:%S") + f".{123456 + i:06d}"
        lines.append(f"I{stamp}       1 defragcontroller.go:295] etcd member has been "
                     f"defragmented: {m.name}, memberID: {m.member_id}")
    return "\n".join(lines) + "\n"
