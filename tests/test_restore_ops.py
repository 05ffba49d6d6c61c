"""ClusterOps: the restore's API operations over REST, or `oc` on the recovery host when the
API is gone (RST-18); each shows its oc command line; failures name both transports."""

from __future__ import annotations

import json

import pytest

from tui.cluster.ops import (RECOVERY_KUBECONFIG, ClusterOps, NotFound, approve_csr_op,
                             delete_machine_op, delete_nodes_op, delete_pods_op, get_op,
                             patch_operator_op)
from tui.errors import CommandFailed, ReadOnlyRefused
from tui.fleet.commands import Safety
from tui.fleet.fleet import HostState, HostStatus, RunResult


class Down(Exception):
    """A connection that never got an HTTP answer."""


class Status(Exception):
    def __init__(self, status, reason=""):
        super().__init__(f"{status} {reason}")
        self.status, self.reason = status, reason


class FakeApi:
    configured = True
    server = "https://api.test:6443"

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, []

    async def _do(self, *call):
        self.calls.append(call)
        if self.error is not None:
            raise self.error
        return self.answer(*call) if callable(self.answer) else self.answer

    async def get_json(self, path, query=None):
        return await self._do("GET", path, query)

    async def request_json(self, method, path, query=None, body=None, content_type=None):
        return await self._do(method, path, query, body)

    async def delete_json(self, path, query=None):
        return await self._do("DELETE", path, query)

    async def approve_csr(self, name):
        return await self._do("APPROVE", name)


class FakeFleet:
    def __init__(self, reply=None, state=HostState.CONNECTED):
        self.status = {"master-0": HostStatus(state)}
        self.reply = reply or (lambda command: RunResult("master-0", 0, "{}", "", 0.1))
        self.sent = []

    async def run_one(self, host, command, timeout=None, on_line=None, quiet=False):
        self.sent.append((host, command))
        return self.reply(command)


def test_every_operation_has_the_oc_command_line_of_the_spec():
    assert get_op("/api/v1/nodes").oc == "oc get --raw /api/v1/nodes"
    assert get_op("/api/v1/namespaces/openshift-etcd/pods", {"labelSelector": "k8s-app=etcd"}) \
        .oc == "oc get --raw '/api/v1/namespaces/openshift-etcd/pods?labelSelector=k8s-app=etcd'"
    assert patch_operator_op("etcd", {"spec": {"unsupportedConfigOverrides": None}}).oc == \
        "oc patch etcd/cluster --type=merge -p '{\"spec\": {\"unsupportedConfigOverrides\": null}}'"
    assert delete_nodes_op(["master-1", "master-2"]).oc == "oc delete node master-1 master-2"
    assert delete_pods_op("openshift-ovn-kubernetes", "app=ovnkube-node", "master-0").oc == \
        ("oc -n openshift-ovn-kubernetes delete pod -l app=ovnkube-node "
         "--field-selector=spec.nodeName==master-0")
    assert delete_machine_op("c-master-1").oc == \
        "oc delete machine -n openshift-machine-api c-master-1"
    assert approve_csr_op("csr-1").oc == "oc adm certificate approve csr-1"


def test_reads_are_read_only_commands_and_writes_are_mutating_with_the_recovery_kubeconfig():
    read, write = get_op("/api/v1/nodes").command(), delete_machine_op("m").command()
    assert read.safety == Safety.READ and write.safety == Safety.MUTATING
    for command in (read, write):
        assert command.privileged and ("KUBECONFIG", RECOVERY_KUBECONFIG) in command.env
    assert read.render(True) == ("sudo -n -E sh -c 'export KUBECONFIG=" + RECOVERY_KUBECONFIG
                                 + "; oc get --raw /api/v1/nodes'")


async def test_rest_is_used_while_the_api_answers():
    api, fleet = FakeApi({"items": [1]}), FakeFleet()
    ops = ClusterOps(api, fleet, recovery_host="master-0")
    assert await ops.get("/api/v1/nodes") == {"items": [1]}
    assert ops.last_transport == "API" and fleet.sent == []


async def test_without_the_api_oc_runs_on_the_recovery_host_and_its_json_is_returned():
    fleet = FakeFleet(lambda c: RunResult("master-0", 0, json.dumps({"items": [2]}), "", 0.1))
    ops = ClusterOps(FakeApi(error=Down("Connect call failed")), fleet, recovery_host="master-0")
    assert await ops.get("/api/v1/nodes") == {"items": [2]}
    assert ops.last_transport == "SSH on master-0"
    host, command = fleet.sent[0]
    assert host == "master-0" and command.stages == (("oc", "get", "--raw", "/api/v1/nodes"),)
    # the API just failed: the next call goes straight to SSH (no second timeout)
    await ops.get("/api/v1/nodes")
    assert len(fleet.sent) == 2 and len(ops.api.calls) == 1


async def test_a_stale_credential_falls_back_to_ssh_but_a_bad_request_does_not():
    fleet = FakeFleet(lambda c: RunResult("master-0", 0, "node \"m\" deleted", "", 0.1))
    ops = ClusterOps(FakeApi(error=Status(401)), fleet, recovery_host="master-0")
    result = await ops.delete_nodes(["m"])
    assert result.transport == "SSH on master-0" and "deleted" in result.output
    ops = ClusterOps(FakeApi(error=Status(422, "Unprocessable")), FakeFleet(),
                     recovery_host="master-0")
    with pytest.raises(CommandFailed, match="422"):
        await ops.patch_operator("etcd", {"spec": {}})


async def test_when_neither_answers_the_error_names_both_and_what_to_do():
    fleet = FakeFleet(lambda c: RunResult(
        "master-0", 1, "", "The connection to the server localhost:6443 was refused - did you "
                           "specify the right host or port?\n", 0.1))
    ops = ClusterOps(FakeApi(error=Down("Connect call failed")), fleet, recovery_host="master-0")
    with pytest.raises(CommandFailed) as e:
        await ops.get("/api/v1/nodes")
    text = e.value.message
    assert "the API" in text and "refuses connections" in text
    assert "master-0 over SSH" in text and "localhost:6443 was refused" in text
    assert "kube-apiserver" in text  # what to do


async def test_an_unreachable_recovery_host_is_named_without_sending():
    fleet = FakeFleet(state=HostState.UNREACHABLE)
    ops = ClusterOps(None, fleet, recovery_host="master-0")
    with pytest.raises(CommandFailed, match="no kubeconfig.*master-0 is unreachable"):
        await ops.get("/api/v1/nodes")
    assert fleet.sent == []


async def test_not_found_is_an_answer_and_a_delete_of_a_missing_node_is_done():
    ops = ClusterOps(FakeApi(error=Status(404)), FakeFleet(), recovery_host="master-0")
    with pytest.raises(NotFound):
        await ops.get("/apis/x")
    fleet = FakeFleet(lambda c: RunResult("master-0", 1, "",
                                          'Error from server (NotFound): nodes "m" not found\n',
                                          0.1))
    ops = ClusterOps(None, fleet, recovery_host="master-0")
    result = await ops.delete_nodes(["m"])
    assert "NotFound" in result.output
    with pytest.raises(NotFound):
        await ops.delete_machine("m")


async def test_read_only_refuses_every_write_before_sending():
    api, fleet = FakeApi({}), FakeFleet()
    ops = ClusterOps(api, fleet, recovery_host="master-0", read_only=True)
    for call in (ops.delete_nodes(["m"]), ops.approve_csr("c"), ops.delete_machine("m"),
                 ops.patch_operator("etcd", {}), ops.delete_pods("ns", "a=b")):
        with pytest.raises(ReadOnlyRefused):
            await call
    assert api.calls == [] and fleet.sent == []
    assert await ops.get("/api/v1/nodes") == {}  # reads still work


async def test_rest_forms_of_the_writes():
    api = FakeApi(lambda *call: {"items": [{"metadata": {"name": "ovnkube-node-x"}}]}
                  if call[0] == "DELETE" else {"spec": {"a": 1}})
    ops = ClusterOps(api, FakeFleet(), recovery_host="master-0")
    out = await ops.delete_pods("openshift-ovn-kubernetes", "app=ovnkube-node", "master-0")
    assert out.output == 'pod "ovnkube-node-x" deleted'
    assert api.calls[-1] == ("DELETE", "/api/v1/namespaces/openshift-ovn-kubernetes/pods",
                             {"labelSelector": "app=ovnkube-node",
                              "fieldSelector": "spec.nodeName=master-0"})
    out = await ops.patch_operator("etcd", {"spec": {"a": 1}})
    assert out.output == "etcd.operator.openshift.io/cluster patched (no change)"
    assert (await ops.approve_csr("csr-9")).output == \
        "certificatesigningrequest.certificates.k8s.io/csr-9 approved"
