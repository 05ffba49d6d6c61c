"""What every part of the drill's API shares: the names it serves, object metadata, lists,
label and field selectors, and the API's own errors."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tui.drill.model import (
    DrillCluster,
)
from tui.drill.objects import (
    ApiError,
    stamp,
)

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


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    full = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{full} "{name}" not found',
                    {"name": name, "group": group, "kind": resource} if group else
                    {"name": name, "kind": resource})


NO_RESOURCE = "the server could not find the requested resource"


def uid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "etcd-dr-drill/" + key))


INSTALLED = CREATED  # the cluster being answered for: when it was installed (see enter)


def enter(cluster: DrillCluster) -> None:
    """Every entry point answers for one cluster at a time (no awaits inside): remember its
    installation time for the objects' creation timestamps."""
    global INSTALLED
    when = cluster.api.installed_at
    INSTALLED = stamp(cluster, when) if when else CREATED


def metadata(name: str, namespace: str | None = None, *, created: str | None = None,
          **extra) -> dict:
    created = created or INSTALLED
    meta: dict[str, Any] = {"creationTimestamp": created, "name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["resourceVersion"] = str(40000 + len(name))
    meta["uid"] = uid(f"{namespace}/{name}/{created}")
    meta.update(extra)
    return meta


def list_of(kind: str, items: list[dict], api_version: str = "v1") -> dict:
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"resourceVersion": "50000"}, "items": items}


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


def select(items: list[dict], query: dict[str, str]) -> list[dict]:
    labels = _parse_selector(query.get("labelSelector", ""), "label selector")
    fields = _parse_selector(query.get("fieldSelector", ""), "field selector")
    for key, _, _ in fields:
        if key not in ("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"):
            raise ApiError(400, "BadRequest",
                           f'field label not supported: {key}')
    return [o for o in items
            if _matches(labels, o["metadata"].get("labels") or {})
            and _matches(fields, _field_values(o))]
