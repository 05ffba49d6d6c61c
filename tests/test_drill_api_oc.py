"""`oc` on drill hosts and the drill API's objects, through the real SSH path and HTTP.

oc answers from the host's own kube-apiserver (the recovery kubeconfig's localhost:6443),
independent of whether the external API is reachable, with the real client's messages.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets

from tui.cluster.api import OPERATOR_GROUP, ClusterApi
from tui.drill.model import SimClock
from tui.fleet.commands import Command

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
RECOVERY_KUBECONFIG = ("/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/"
                       "node-kubeconfigs/localhost-recovery.kubeconfig")


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=START)) as start:
        yield start


def oc(*args: str, kubeconfig: bool = True, privileged: bool = True) -> Command:
    env = (("KUBECONFIG", RECOVERY_KUBECONFIG),) if kubeconfig else ()
    return Command.of("oc", *args, privileged=privileged, env=env, timeout=30)


async def raw(fleet, host: str, path: str) -> dict:
    r = await fleet.run_one(host, oc("get", "--raw", path))
    assert r.ok, r
    return json.loads(r.stdout)


async def test_oc_needs_a_kubeconfig_it_can_read(started):
    lab, fleet = await started("healthy")
    r = await fleet.run_one("master-0", oc("whoami", kubeconfig=False))
    assert r.exit_status == 1
    assert r.stderr.startswith("error: Missing or incomplete configuration info.  Please point "
                               "to an existing, complete config file:")
    r = await fleet.run_one("master-0", oc("whoami", "--kubeconfig", "/nonexistent"))
    assert r.exit_status == 1
    assert r.stderr == "error: stat /nonexistent: no such file or directory\n"
    # the recovery kubeconfig is root's: as core, oc cannot open it
    r = await fleet.run_one("master-0", oc("whoami", privileged=False))
    assert r.exit_status == 1 and "permission denied" in r.stderr
    r = await fleet.run_one("master-0", oc("whoami"))
    assert r.ok and r.stdout == "system:admin\n"


async def test_get_raw_prints_the_apis_json_and_its_errors(started):
    lab, fleet = await started("healthy")
    nodes = await raw(fleet, "master-1", "/api/v1/nodes")
    assert nodes["kind"] == "NodeList"
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["master-0", "master-1", "master-2"]
    etcd = await raw(fleet, "master-0", "/apis/operator.openshift.io/v1/etcds/cluster")
    cond = {c["type"]: c for c in etcd["status"]["conditions"]}
    assert cond["NodeInstallerProgressing"]["reason"] == "AllNodesAtLatestRevision"
    assert cond["NodeInstallerProgressing"]["message"] == "3 nodes are at revision 7"
    pods = await raw(fleet, "master-0",
                     "/api/v1/namespaces/openshift-etcd/pods?labelSelector=k8s-app%3Detcd")
    assert sorted(p["spec"]["nodeName"] for p in pods["items"]) == ["master-0", "master-1",
                                                                    "master-2"]
    assert {p["status"]["phase"] for p in pods["items"]} == {"Running"}
    cos = await raw(fleet, "master-0", "/apis/config.openshift.io/v1/clusteroperators")
    assert len(cos["items"]) >= 10
    for co in cos["items"]:
        c = {x["type"]: x["status"] for x in co["status"]["conditions"]}
        assert (c["Available"], c["Progressing"], c["Degraded"]) == ("True", "False", "False")
    r = await fleet.run_one("master-0", oc("get", "--raw", "/api/v1/nodes/nope"))
    assert r.exit_status == 1
    assert r.stderr == 'Error from server (NotFound): nodes "nope" not found\n'
    r = await fleet.run_one("master-0", oc("get", "--raw", "/apis/nothing/here"))
    assert r.stderr == ("Error from server (NotFound): the server could not find the requested "
                        "resource\n")


async def test_oc_answers_from_the_hosts_own_apiserver_only(started):
    lab, fleet = await started("healthy")
    lab.cluster.api.reachable = False  # the external API is gone: oc on a host still answers
    assert (await fleet.run_one("master-2", oc("whoami"))).ok
    host = lab.cluster.host("master-2")
    for c in host.containers:
        if c.name == "kube-apiserver":
            c.state = "Exited"
    r = await fleet.run_one("master-2", oc("get", "--raw", "/api/v1/nodes"))
    assert r.exit_status == 1
    assert r.stderr == ("The connection to the server localhost:6443 was refused - did you "
                        "specify the right host or port?\n")


async def test_patch_operator_crs_and_a_forced_rollout(started):
    lab, fleet = await started("healthy")
    guard_off = ('{"spec": {"unsupportedConfigOverrides": '
                 '{"useUnsupportedUnsafeNonHANonProductionUnstableEtcd": true}}}')
    r = await fleet.run_one("master-0", oc("patch", "etcd/cluster", "--type=merge", "-p",
                                           guard_off))
    assert r.ok and r.stdout == "etcd.operator.openshift.io/cluster patched\n", r
    r = await fleet.run_one("master-0", oc("patch", "etcd/cluster", "--type=merge", "-p",
                                           guard_off))
    assert r.stdout == "etcd.operator.openshift.io/cluster patched (no change)\n"
    etcd = await raw(fleet, "master-0", "/apis/operator.openshift.io/v1/etcds/cluster")
    assert etcd["spec"]["unsupportedConfigOverrides"] == {
        "useUnsupportedUnsafeNonHANonProductionUnstableEtcd": True}
    # a strategic merge patch (oc's default) is refused by custom resources
    r = await fleet.run_one("master-0", oc("patch", "etcd", "cluster", "-p", guard_off))
    assert r.exit_status == 1 and r.stderr.startswith("Error from server (UnsupportedMediaType)")

    r = await fleet.run_one("master-0", oc(
        "patch", "kubeapiserver", "cluster", "-p=" + json.dumps(
            {"spec": {"forceRedeploymentReason": "recovery-1"}}), "--type=merge"))
    assert r.ok and r.stdout == "kubeapiserver.operator.openshift.io/cluster patched\n"
    kas = await raw(fleet, "master-0", "/apis/operator.openshift.io/v1/kubeapiservers/cluster")
    assert kas["status"]["latestAvailableRevision"] == 10
    cond = {c["type"]: c for c in kas["status"]["conditions"]}["NodeInstallerProgressing"]
    assert cond["status"] == "True"
    assert cond["message"] == "3 nodes are at revision 9; 0 nodes have achieved new revision 10"
    for _ in range(3):
        lab.cluster.clock.advance(61)
        assert (await fleet.run_one("master-0", oc("whoami"))).ok
    kas = await raw(fleet, "master-0", "/apis/operator.openshift.io/v1/kubeapiservers/cluster")
    cond = {c["type"]: c for c in kas["status"]["conditions"]}["NodeInstallerProgressing"]
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False", "AllNodesAtLatestRevision", "3 nodes are at revision 10")

    # the guard back on (RST-20): the key goes
    r = await fleet.run_one("master-0", oc("patch", "etcd/cluster", "--type=merge", "-p",
                                           '{"spec": {"unsupportedConfigOverrides": null}}'))
    assert r.ok
    etcd = await raw(fleet, "master-0", "/apis/operator.openshift.io/v1/etcds/cluster")
    assert etcd["spec"]["unsupportedConfigOverrides"] is None


async def test_the_kubernetes_client_patches_and_reads_through_http(started):
    lab, fleet = await started("healthy")
    api = ClusterApi(str(lab.kubeconfig_path), "admin")
    try:
        got = await api.patch_cluster_object(OPERATOR_GROUP, "etcds", "cluster", {
            "spec": {"forceRedeploymentReason": "recovery-2026"}})
        assert got["spec"]["forceRedeploymentReason"] == "recovery-2026"
        assert got["status"]["latestAvailableRevision"] == 8
        machines = await api.get_json(
            "/apis/machine.openshift.io/v1beta1/namespaces/openshift-machine-api/machines")
        assert [m["status"]["phase"] for m in machines["items"]] == ["Running"] * 3
        net = await api.get_json("/apis/config.openshift.io/v1/networks/cluster")
        assert net["status"]["networkType"] == "OVNKubernetes"
        infra = await api.get_json("/apis/config.openshift.io/v1/infrastructures/cluster")
        assert infra["status"]["platformStatus"]["type"] == "AWS"
        pvs = await api.get_json("/api/v1/persistentvolumes")
        kinds = {("local" if "local" in p["spec"] else "csi") for p in pvs["items"]}
        assert kinds == {"local", "csi"}
    finally:
        await api.close()


async def test_delete_nodes_pods_and_ovn_pods_come_back(started):
    lab, fleet = await started("healthy")
    cluster = lab.cluster
    before = await raw(fleet, "master-0", "/api/v1/namespaces/openshift-ovn-kubernetes/pods"
                                          "?labelSelector=app%3Dovnkube-master")
    names = sorted(p["metadata"]["name"] for p in before["items"])
    assert len(names) == 3
    r = await fleet.run_one("master-0", oc("-n", "openshift-ovn-kubernetes", "delete", "pod",
                                           "-l", "app=ovnkube-master"))
    assert r.ok, r
    assert sorted(r.stdout.splitlines()) == [f'pod "{n}" deleted' for n in names]
    after = await raw(fleet, "master-0", "/api/v1/namespaces/openshift-ovn-kubernetes/pods"
                                         "?labelSelector=app%3Dovnkube-master")
    assert {p["status"]["phase"] for p in after["items"]} == {"Pending"}
    assert not set(p["metadata"]["name"] for p in after["items"]) & set(names)
    cluster.clock.advance(25)
    after = await raw(fleet, "master-0", "/api/v1/namespaces/openshift-ovn-kubernetes/pods"
                                         "?labelSelector=app%3Dovnkube-master")
    assert {p["status"]["phase"] for p in after["items"]} == {"Running"}
    new = after["items"][0]["metadata"]["name"]
    node = after["items"][0]["spec"]["nodeName"]
    assert any(c.pod == new and c.state == "Running" for c in cluster.host(node).containers)

    # one node's ovnkube-node by field selector (the 4.14+ form)
    r = await fleet.run_one("master-0", oc(
        "-n", "openshift-ovn-kubernetes", "delete", "pod", "-l", "app=ovnkube-node",
        "--field-selector=spec.nodeName==master-1"))
    assert r.ok and len(r.stdout.splitlines()) == 1 and r.stdout.startswith('pod "ovnkube-node-')
    r = await fleet.run_one("master-0", oc("-n", "openshift-ovn-kubernetes", "delete", "pod",
                                           "-l", "app=nothing"))
    assert r.ok and r.stdout == "No resources found\n"

    # nodes: gone until their kubelet restarts
    r = await fleet.run_one("master-0", oc("delete", "node", "master-1", "master-2"))
    assert r.ok and r.stdout == 'node "master-1" deleted\nnode "master-2" deleted\n'
    nodes = await raw(fleet, "master-0", "/api/v1/nodes")
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["master-0"]
    ds = await raw(fleet, "master-0", "/apis/apps/v1/namespaces/openshift-ovn-kubernetes/"
                                      "daemonsets/ovnkube-master")
    assert cluster.host("master-1").address in json.dumps(ds)  # the operator re-renders late
    cluster.clock.advance(241)
    ds = await raw(fleet, "master-0", "/apis/apps/v1/namespaces/openshift-ovn-kubernetes/"
                                      "daemonsets/ovnkube-master")
    assert cluster.host("master-1").address not in json.dumps(ds)
    assert cluster.host("master-0").address in json.dumps(ds)
    r = await fleet.run_one("master-0", oc("delete", "node", "master-1"))
    assert r.exit_status == 1 and r.stderr == ('Error from server (NotFound): nodes "master-1" '
                                               'not found\n')
    assert (await fleet.run_one("master-1", Command.of(
        "systemctl", "restart", "kubelet.service", privileged=True))).ok
    nodes = await raw(fleet, "master-0", "/api/v1/nodes")
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["master-0", "master-1"]


async def test_webhook_with_failure_policy_fail_keeps_ovn_pods_away(started):
    lab, fleet = await started("""
name: webhook
version: "4.14.10"
control_plane: 3
api:
  webhooks:
  - {name: policy-agent, kind: validating, failure_policy: Fail,
     namespaces: [openshift-ovn-kubernetes]}
""")
    path = "/api/v1/namespaces/openshift-ovn-kubernetes/pods"
    r = await fleet.run_one("master-0", oc("-n", "openshift-ovn-kubernetes", "delete", "pod",
                                           "-l", "app=ovnkube-control-plane"))
    assert r.ok and len(r.stdout.splitlines()) == 3
    lab.cluster.clock.advance(60)
    pods = await raw(fleet, "master-0", path + "?labelSelector=app%3Dovnkube-control-plane")
    assert pods["items"] == []
    hooks = await raw(fleet, "master-0", "/apis/admissionregistration.k8s.io/v1/"
                                         "validatingwebhookconfigurations")
    assert hooks["items"][0]["webhooks"][0]["failurePolicy"] == "Fail"
    r = await fleet.run_one("master-0", oc("delete", "validatingwebhookconfiguration",
                                           "policy-agent"))
    assert r.ok and r.stdout == ('validatingwebhookconfiguration.admissionregistration.k8s.io '
                                 '"policy-agent" deleted\n')
    lab.cluster.clock.advance(25)
    assert (await fleet.run_one("master-0", oc("whoami"))).ok
    lab.cluster.clock.advance(25)
    pods = await raw(fleet, "master-0", path + "?labelSelector=app%3Dovnkube-control-plane")
    assert [p["status"]["phase"] for p in pods["items"]] == ["Running"] * 3


async def test_http_delete_and_csr_approval(started):
    lab, fleet = await started("""
name: csrs
version: "4.12.30"
control_plane: 3
workers: 2
api:
  pending_csrs:
  - {username: "system:node:stranger", signer: serving}
""")
    cluster = lab.cluster
    host = cluster.host("worker-0")
    host.kubelet_certs = "bootstrapping"  # kubelet restarted without its PEMs (RST-09/10)
    host.kubelet_since = cluster.clock.now()
    cluster.clock.advance(2)
    csrs = (await raw(fleet, "master-0",
                      "/apis/certificates.k8s.io/v1/certificatesigningrequests"))["items"]
    by_user = {c["spec"]["username"]: c for c in csrs}
    assert set(by_user) == {
        "system:node:stranger",
        "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"}
    client = by_user["system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"]
    assert client["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet"
    assert client["status"] == {}
    nodes = await raw(fleet, "master-0", "/api/v1/nodes/worker-0")
    ready = next(c for c in nodes["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] != "True"
    name = client["metadata"]["name"]
    r = await fleet.run_one("master-0", oc("describe", "csr", name))  # RST-11's review
    assert r.ok, r
    assert ("Requesting User:    system:serviceaccount:openshift-machine-config-operator:"
            "node-bootstrapper") in r.stdout
    assert "Signer:             kubernetes.io/kube-apiserver-client-kubelet" in r.stdout
    assert "Status:             Pending" in r.stdout
    assert "Common Name:    system:node:worker-0" in r.stdout
    r = await fleet.run_one("master-0", oc("get", "csr"))
    assert r.ok and r.stdout.count("Pending") == 2, r
    r = await fleet.run_one("master-0", oc("adm", "certificate", "approve", name))
    assert r.ok and r.stdout == f"certificatesigningrequest.certificates.k8s.io/{name} approved\n"
    cluster.clock.advance(6)
    csrs = (await raw(fleet, "master-0",
                      "/apis/certificates.k8s.io/v1/certificatesigningrequests"))["items"]
    serving = next(c for c in csrs if c["spec"]["username"] == "system:node:worker-0")
    assert serving["spec"]["signerName"] == "kubernetes.io/kubelet-serving"

    # approval over HTTP, as the console's REST transport sends it
    api = ClusterApi(str(lab.kubeconfig_path), "admin")
    try:
        client_api = await api._api_client()
        sname = serving["metadata"]["name"]
        body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                "metadata": {"name": sname},
                "status": {"conditions": [{"type": "Approved", "status": "True",
                                           "reason": "etcd-drApprove", "message": "RST-11"}]}}
        params = await client_api.param_serialize(
            method="PUT", resource_path="/apis/certificates.k8s.io/v1/"
                                        f"certificatesigningrequests/{sname}/approval",
            body=body, header_params={"Accept": "application/json",
                                      "Content-Type": "application/json"},
            auth_settings=["BearerToken"])
        resp = await client_api.call_api(*params)
        await resp.read()
        assert resp.status == 200
        cluster.clock.advance(5)
        await asyncio.sleep(0)
        node = await api.get_json("/api/v1/nodes/worker-0")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
        assert host.kubelet_certs == "valid"
        # DELETE a node over HTTP
        params = await client_api.param_serialize(
            method="DELETE", resource_path="/api/v1/nodes/worker-1",
            header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        resp = await client_api.call_api(*params)
        await resp.read()
        assert resp.status == 200
        nodes = await api.get_json("/api/v1/nodes")
        assert "worker-1" not in [n["metadata"]["name"] for n in nodes["items"]]
    finally:
        await api.close()


async def test_bare_metal_infrastructure_and_no_machine_recreated(started):
    lab, fleet = await started("""
name: metal
version: "4.14.10"
control_plane: 3
workers: 1
api:
  platform: BareMetal
  api_vips: [192.168.111.5]
  ingress_vips: [192.168.111.4]
""")
    infra = await raw(fleet, "master-0", "/apis/config.openshift.io/v1/infrastructures/cluster")
    assert infra["status"]["platformStatus"]["type"] == "BareMetal"
    assert infra["status"]["platformStatus"]["baremetal"]["apiServerInternalIPs"] == [
        "192.168.111.5"]
    machines = (await raw(fleet, "master-0", "/apis/machine.openshift.io/v1beta1/namespaces/"
                                             "openshift-machine-api/machines"))["items"]
    assert len(machines) == 4
    name = machines[2]["metadata"]["name"]
    r = await fleet.run_one("master-0", oc("delete", "machine", "-n", "openshift-machine-api",
                                           name))
    assert r.ok
    lab.cluster.clock.advance(400)
    assert (await fleet.run_one("master-0", oc("whoami"))).ok
    machines = (await raw(fleet, "master-0", "/apis/machine.openshift.io/v1beta1/namespaces/"
                                             "openshift-machine-api/machines"))["items"]
    assert len(machines) == 3 and name not in [m["metadata"]["name"] for m in machines]
    assert not lab.cluster.host("master-2").up
    # the worker's local-storage PV is there for the aftercare list (PV-4)
    pvs = (await raw(fleet, "master-0", "/api/v1/persistentvolumes"))["items"]
    local = [p for p in pvs if "local" in p["spec"]]
    assert local[0]["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] == ["worker-0"]
