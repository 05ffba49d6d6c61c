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

import json
import re
from typing import Any

from tui.drill import controllers
from tui.drill.model import DrillCluster
from tui.drill.objects import OVN_NS, ApiError, node_exists
from tui.drill.rest.base import (
    CLUSTER_OPERATORS,
    INSTALLED,
    MACHINE_NS,
    NO_RESOURCE,
    OPERATOR_PLURALS,
    OTHER_OPERATORS,
    enter,
    list_of,
    not_found,
    select,
    uid,
)
from tui.drill.rest.config import (
    apiserver_object,
    clusterversion_object,
    infrastructure_object,
    network_object,
    operator_log,
    patch_apiserver,
    patch_webhook,
    proxy_object,
    pv_object,
    webhook_config_object,
    webhook_objects,
)
from tui.drill.rest.jsonpatch import JsonPatchError, apply_json_patch, merge_diff
from tui.drill.rest.machines import approve_csr, csr_object, delete_machine, machine_object
from tui.drill.rest.operators import clusteroperator_object, operator_object, patch_operator
from tui.drill.rest.workloads import delete_pods, node_object, ovnkube_master_daemonset, pod_objects

# what the API server, `oc` and the tests use; the parts are in the package's modules
__all__ = ["JSON_PATCH", "MERGE", "OPERATOR_PLURALS", "OTHER_OPERATORS", "UNSUPPORTED_MEDIA",
           "ApiError", "apply_json_patch", "csr_object", "delete", "get", "merge_diff", "patch",
           "patch_changed", "put"]


def patch_changed(before: dict, after: dict) -> bool:
    return json.dumps(before, sort_keys=True) != json.dumps(after, sort_keys=True)


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
    enter(cluster)
    if path == "/version":
        return {"major": "1", "minor": "25", "gitVersion": "v1.25.16+9946c63",
                "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/api/v1/nodes":
        items = [node_object(cluster, h) for h in cluster.hosts if node_exists(cluster, h)]
        return list_of("NodeList", select(items, q))
    m = re.fullmatch(r"/api/v1/nodes/([^/]+)", path)
    if m:
        h = cluster.host(m.group(1))
        if h is None or not node_exists(cluster, h):
            raise not_found("nodes", m.group(1))
        return node_object(cluster, h)
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods", path)
    if m:
        return list_of("PodList", select(pod_objects(cluster, m.group(1)), q))
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)(/log)?", path)
    if m:
        pod = next((p for p in pod_objects(cluster, m.group(1))
                    if p["metadata"]["name"] == m.group(2)), None)
        if pod is None:
            raise not_found("pods", m.group(2))
        if m.group(3):
            return operator_log(cluster) if m.group(1) == "openshift-etcd-operator" else ""
        return pod
    if path == "/api/v1/persistentvolumes":
        return list_of("PersistentVolumeList",
                     select([pv_object(cluster, s) for s in api.persistent_volumes], q))
    m = re.fullmatch(r"/api/v1/persistentvolumes/([^/]+)", path)
    if m:
        spec = next((s for s in api.persistent_volumes if s["name"] == m.group(1)), None)
        if spec is None:
            raise not_found("persistentvolumes", m.group(1))
        return pv_object(cluster, spec)
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/configmaps/([^/]+)", path)
    if m:
        raise not_found("configmaps", m.group(2))
    if path == "/apis/config.openshift.io/v1/apiservers/cluster":
        return apiserver_object(cluster)
    if path == "/apis/config.openshift.io/v1/clusterversions/version":
        return clusterversion_object(cluster)
    if path == "/apis/config.openshift.io/v1/proxies/cluster":
        return proxy_object(cluster)
    if path == "/apis/config.openshift.io/v1/networks/cluster":
        return network_object(cluster)
    if path == "/apis/config.openshift.io/v1/infrastructures/cluster":
        return infrastructure_object(cluster)
    if path == "/apis/config.openshift.io/v1/clusteroperators":
        return list_of("ClusterOperatorList", select(
            [clusteroperator_object(cluster, n) for n in CLUSTER_OPERATORS], q),
            "config.openshift.io/v1")
    m = re.fullmatch(r"/apis/config\.openshift\.io/v1/clusteroperators/([^/]+)", path)
    if m:
        if m.group(1) not in CLUSTER_OPERATORS:
            raise not_found("clusteroperators", m.group(1), "config.openshift.io")
        return clusteroperator_object(cluster, m.group(1))
    m = re.fullmatch(_OP, path)
    if m:
        return operator_object(cluster, m.group(1))
    if path == _MACHINES.replace("\\", ""):
        items = [machine_object(cluster, mm) for mm in api.machines]
        return list_of("MachineList", select(items, q), "machine.openshift.io/v1beta1")
    m = re.fullmatch(_MACHINES + r"/([^/]+)", path)
    if m:
        mm = next((x for x in api.machines if x.name == m.group(1)), None)
        if mm is None:
            raise not_found("machines", m.group(1), "machine.openshift.io")
        return machine_object(cluster, mm)
    if path == _CSRS.replace("\\", ""):
        return list_of("CertificateSigningRequestList",
                     select([csr_object(cluster, c) for c in api.csrs], q), "certificates.k8s.io/v1")
    m = re.fullmatch(_CSRS + r"/([^/]+)", path)
    if m:
        c = next((c for c in api.csrs if c.name == m.group(1)), None)
        if c is None:
            raise not_found("certificatesigningrequests", m.group(1), "certificates.k8s.io")
        return csr_object(cluster, c)
    if path == f"/apis/apps/v1/namespaces/{OVN_NS}/daemonsets/ovnkube-master":
        if api.network_type != "OVNKubernetes" or cluster.api.release >= (4, 14):
            raise not_found("daemonsets", "ovnkube-master", "apps")
        return ovnkube_master_daemonset(cluster)
    m = re.fullmatch(_HOOKS, path)
    if m:
        kind = m.group(1)
        title = kind.capitalize()
        return list_of(f"{title}WebhookConfigurationList",
                     [webhook_config_object(w) for w in webhook_objects(cluster, kind)],
                     "admissionregistration.k8s.io/v1")
    m = re.fullmatch(_HOOKS + r"/([^/]+)", path)
    if m:
        w = next((w for w in webhook_objects(cluster, m.group(1)) if w["name"] == m.group(2)), None)
        if w is None:
            raise not_found(f"{m.group(1)}webhookconfigurations", m.group(2),
                             "admissionregistration.k8s.io")
        return webhook_config_object(w)
    raise ApiError(404, "NotFound", NO_RESOURCE, {})


MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
UNSUPPORTED_MEDIA = ("the body of the request was in an unknown format - accepted media types "
                     "include: application/json-patch+json, application/merge-patch+json, "
                     "application/apply-patch+yaml")


def patch(cluster: DrillCluster, path: str, body: Any, content_type: str = MERGE) -> dict:
    """PATCH `path` with a merge patch (`oc patch --type=merge`) or a JSON patch (`oc patch
    --type=json`: applied to the object as it is, then kept as the merge patch of the
    difference); custom resources refuse strategic merge patches, and so does the drill."""
    path = _split(path)
    enter(cluster)
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
        return patch_apiserver(cluster, body)
    m = re.fullmatch(_OP, path)
    if m:
        return patch_operator(cluster, m.group(1), body)
    m = re.fullmatch(_HOOKS + r"/([^/]+)", path)
    if m:
        return patch_webhook(cluster, m.group(1), m.group(2), body)
    get(cluster, path)  # 404 for unknown paths
    raise ApiError(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource")


def delete(cluster: DrillCluster, path: str, query: dict[str, str] | None = None) -> dict:
    """DELETE `path` (an object, or a pod collection by selectors): the object as it was, or
    for a collection the list of deleted pods."""
    path = _split(path)
    q = query or {}
    enter(cluster)
    m = re.fullmatch(r"/api/v1/nodes/([^/]+)", path)
    if m:
        h = cluster.host(m.group(1))
        if h is None or not node_exists(cluster, h):
            raise not_found("nodes", m.group(1))
        obj = node_object(cluster, h)

        controllers.node_deleted(cluster, h)
        return obj
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods", path)
    if m:
        return list_of("PodList", delete_pods(cluster, m.group(1), q))
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)", path)
    if m:
        return delete_pods(cluster, m.group(1), {}, name=m.group(2))[0]
    m = re.fullmatch(_MACHINES + r"/([^/]+)", path)
    if m:
        return delete_machine(cluster, m.group(1))
    m = re.fullmatch(_HOOKS + r"/([^/]+)", path)
    if m:
        w = next((w for w in webhook_objects(cluster, m.group(1)) if w["name"] == m.group(2)), None)
        if w is None:
            raise not_found(f"{m.group(1)}webhookconfigurations", m.group(2),
                             "admissionregistration.k8s.io")
        cluster.api.webhooks.remove(w)
        cluster.changed()
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": m.group(2), "group": "admissionregistration.k8s.io",
                            "kind": f"{m.group(1)}webhookconfigurations",
                            "uid": uid(f"None/{m.group(2)}/{INSTALLED}")}}
    get(cluster, path)
    raise ApiError(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource")


def put(cluster: DrillCluster, path: str, body: Any) -> dict:
    """PUT: only a CSR's approval subresource (what `oc adm certificate approve` sends)."""
    path = _split(path)
    enter(cluster)
    m = re.fullmatch(_CSRS + r"/([^/]+)/approval", path)
    if m:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body must be a CertificateSigningRequest")
        return approve_csr(cluster, m.group(1), body)
    get(cluster, path)
    raise ApiError(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource")
