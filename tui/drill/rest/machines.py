"""Machines and certificate signing requests in the drill's API: what they show, deleting a
Machine (the machine API re-provisions it) and approving a CSR."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from tui.drill import controllers
from tui.drill.model import (
    Csr,
    DrillCluster,
    Machine,
)
from tui.drill.objects import (
    ApiError,
    infra_name,
    node_exists,
    stamp,
    zone,
)
from tui.drill.rest.base import (
    MACHINE_NS,
    metadata,
    not_found,
)
from tui.drill.rest.workloads import (
    node_object,
    provider_id,
)


def machine_object(cluster: DrillCluster, m: Machine) -> dict:
    infra = infra_name(cluster)
    h = cluster.host(m.host)
    labels = {"machine.openshift.io/cluster-api-cluster": infra,
              "machine.openshift.io/cluster-api-machine-role": m.role,
              "machine.openshift.io/cluster-api-machine-type": m.role,
              "machine.openshift.io/instance-type": "m6i.xlarge" if m.role == "master"
              else "m6i.large",
              "machine.openshift.io/region": "us-east-1",
              "machine.openshift.io/zone": zone(cluster, 0)}
    meta = metadata(m.name, MACHINE_NS, created=stamp(cluster, m.created), labels=labels,
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
                             "uid": node_object(cluster, h)["metadata"]["uid"]}
    spec: dict[str, Any] = {"lifecycleHooks": {}, "metadata": {},
                            "providerSpec": {"value": {
                                "apiVersion": "machine.openshift.io/v1beta1",
                                "kind": "AWSMachineProviderConfig" if cluster.api.platform == "AWS"
                                else "BareMetalMachineProviderSpec",
                                "instanceType": labels["machine.openshift.io/instance-type"],
                                "userDataSecret": {"name": f"{m.role}-user-data"}}}}
    if m.phase != "Provisioning":
        spec["providerID"] = provider_id(cluster, m)
    return {"apiVersion": "machine.openshift.io/v1beta1", "kind": "Machine", "metadata": meta,
            "spec": spec, "status": status}


def delete_machine(cluster: DrillCluster, name: str) -> dict:
    m = next((m for m in cluster.api.machines if m.name == name), None)
    if m is None:
        raise not_found("machines", name, "machine.openshift.io")
    if m.phase != "Deleting":

        controllers.machine_deleted(cluster, m)
    return machine_object(cluster, m)


def csr_object(cluster: DrillCluster, c: Csr) -> dict:
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
            "metadata": metadata(c.name, created=stamp(cluster, c.created), generateName="csr-"),
            "spec": {"groups": list(c.groups),
                     "request": base64.b64encode(pem.encode()).decode(),
                     "signerName": c.signer, "usages": list(c.usages), "username": c.username},
            "status": status}


def approve_csr(cluster: DrillCluster, name: str, body: dict | None = None) -> dict:
    c = next((c for c in cluster.api.csrs if c.name == name), None)
    if c is None:
        raise not_found("certificatesigningrequests", name, "certificates.k8s.io")
    conditions = ((body or {}).get("status") or {}).get("conditions") if body else None
    if body is not None and conditions is not None:
        kinds = {x.get("type") for x in conditions if isinstance(x, dict)}
        if "Denied" in kinds and c.approved_at is None:
            c.denied = True
            cluster.changed()
            return csr_object(cluster, c)
        if "Approved" not in kinds:
            return csr_object(cluster, c)
    if c.denied:
        raise ApiError(422, "Invalid", f'CertificateSigningRequest.certificates.k8s.io "{name}" '
                                       f'is invalid: status.conditions[1].type: Invalid value: '
                                       f'"Approved": Approved and Denied conditions are '
                                       f'mutually exclusive')
    if c.approved_at is None:
        c.approved_at = cluster.clock.now()
        cluster.changed()
    return csr_object(cluster, c)
