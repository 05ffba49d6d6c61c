"""The drill models a whole restore through its API and `oc`: after the restore script, the
API returns, lost hosts' machines are replaced and come back fresh, the etcd operator adds
members back (on its own on 4.18+, after the forced redeployment with the quorum guard off
before), revisions roll out and the cluster operators settle. Driven over SSH with `oc`, the
way the restore runbooks drive it, on a frozen clock moved by the test.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets

from tui.drill import controllers
from tui.drill.model import SimClock
from tui.fleet.commands import Command

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
RECOVERY_KUBECONFIG = ("/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/"
                       "node-kubeconfigs/localhost-recovery.kubeconfig")
BACKUP = "/home/core/assets/backup"
GUARD_OFF = ('{"spec": {"unsupportedConfigOverrides": '
             '{"useUnsupportedUnsafeNonHANonProductionUnstableEtcd": true}}}')
GUARD_ON = '{"spec": {"unsupportedConfigOverrides": null}}'
MACHINES = "/apis/machine.openshift.io/v1beta1/namespaces/openshift-machine-api/machines"


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=START)) as start:
        yield start


def root(*argv: str, timeout: float = 60) -> Command:
    return Command.of(*argv, privileged=True, timeout=timeout)


def oc(*args: str) -> Command:
    return Command.of("oc", *args, privileged=True, env=(("KUBECONFIG", RECOVERY_KUBECONFIG),),
                      timeout=30)


async def run(fleet, host: str, cmd: Command):
    r = await fleet.run_one(host, cmd)
    assert r.ok, r
    return r


async def raw(fleet, path: str, host: str = "master-0") -> dict:
    return json.loads((await run(fleet, host, oc("get", "--raw", path))).stdout)


async def advance(lab, fleet, seconds: float, step: float = 5.0) -> None:
    """Let simulated time pass in steps, a command on the recovery host at each (kubelet and
    the controllers catch up as they would meanwhile)."""
    while seconds > 0:
        lab.cluster.clock.advance(min(step, seconds))
        seconds -= step
        assert (await fleet.run_one("master-0", root("true"))).exit_status == 0


async def wait_for(lab, fleet, predicate, limit: float, step: float = 5.0, what: str = ""):
    spent = 0.0
    while not await predicate():
        assert spent < limit, f"not within {limit} simulated seconds: {what}"
        await advance(lab, fleet, step, step)
        spent += step
    return spent


def conditions(obj: dict) -> dict[str, dict]:
    return {c["type"]: c for c in obj["status"]["conditions"]}


async def operators_stable(fleet) -> bool:
    cos = await raw(fleet, "/apis/config.openshift.io/v1/clusteroperators")
    return all((conditions(co)["Available"]["status"], conditions(co)["Progressing"]["status"],
                conditions(co)["Degraded"]["status"]) == ("True", "False", "False")
               for co in cos["items"])


def members(lab) -> list[tuple[str, bool, bool]]:
    return sorted((m.name, m.running, m.is_learner) for m in lab.cluster.etcd.members)


async def replace_machine(lab, fleet, host: str) -> str:
    """RST-16 / QRS-04: delete the lost host's machine; returns the replacement's name."""
    machines = (await raw(fleet, MACHINES))["items"]
    old = next(m["metadata"]["name"] for m in machines
               if m["status"].get("addresses", [{}])[0].get("address")
               == lab.cluster.host(host).address)
    r = await run(fleet, "master-0", oc("delete", "machine", "-n", "openshift-machine-api", old))
    assert r.stdout == f'machine.machine.openshift.io "{old}" deleted\n'
    phases = {m["metadata"]["name"]: m["status"]["phase"]
              for m in (await raw(fleet, MACHINES))["items"]}
    assert phases[old] == "Deleting"
    return old


async def test_restore_418_lost_hosts_replaced_and_members_rejoin(started):
    lab, fleet = await started("lost-two-hosts-4.18")
    cluster = lab.cluster
    r = await fleet.run_one("master-0", oc("whoami"))
    assert r.exit_status == 1 and "localhost:6443 was refused" in r.stderr  # no quorum
    await run(fleet, "master-0", root("/usr/local/bin/disable-etcd.sh"))  # RSTN-02
    await run(fleet, "master-0", root("/usr/local/bin/cluster-restore.sh", BACKUP))  # RSTN-04
    await wait_for(lab, fleet, lambda: _ok(fleet, oc("whoami")), 120, what="API back")
    assert members(lab) == [("master-0", True, False)]
    await run(fleet, "master-0", oc("patch", "etcd/cluster", "--type=merge", "-p", GUARD_OFF))
    assert not await operators_stable(fleet)

    old = [await replace_machine(lab, fleet, h) for h in ("master-1", "master-2")]
    await advance(lab, fleet, controllers.MACHINE_DELETE_SECONDS + 5)
    machines = (await raw(fleet, MACHINES))["items"]
    names = [m["metadata"]["name"] for m in machines]
    assert not set(old) & set(names)
    assert sorted(m["status"]["phase"] for m in machines) == ["Provisioning", "Provisioning",
                                                              "Running"]
    await advance(lab, fleet, controllers.PROVISION_SECONDS + controllers.BOOT_SECONDS)
    machines = (await raw(fleet, MACHINES))["items"]
    assert [m["status"]["phase"] for m in machines] == ["Running"] * 3
    # the new hosts answer SSH, fresh: kubelet runs, no etcd data, no etcd manifest
    for h in ("master-1", "master-2"):
        host = cluster.host(h)
        assert host.up and host.kubelet_running
        assert "/etc/kubernetes/manifests/etcd-pod.yaml" not in host.files or \
            cluster.member_of(host) is not None
        r = await reconnected(fleet, h, root("ls", "/etc/kubernetes/manifests"))
        assert r.ok and "kube-apiserver-pod.yaml" in r.stdout, r
    nodes = await raw(fleet, "/api/v1/nodes")
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["master-0", "master-1",
                                                                "master-2"]

    # the etcd operator adds them back on its own (4.18+)
    await wait_for(lab, fleet, _all_members(lab), 600, what="three voting members")
    r = await reconnected(fleet, "master-1", root("crictl", "ps", "--name", "^etcd$", "-q"))
    assert r.ok and r.stdout.strip()
    pods = await raw(fleet, "/api/v1/namespaces/openshift-etcd/pods?labelSelector=k8s-app%3Detcd")
    assert sorted((p["spec"]["nodeName"], p["status"]["phase"]) for p in pods["items"]) == [
        ("master-0", "Running"), ("master-1", "Running"), ("master-2", "Running")]
    await wait_for(lab, fleet, lambda: operators_stable(fleet), 900, step=15,
                   what="cluster operators stable")
    await run(fleet, "master-0", oc("patch", "etcd/cluster", "--type=merge", "-p", GUARD_ON))
    etcd = await raw(fleet, "/apis/operator.openshift.io/v1/etcds/cluster")
    assert conditions(etcd)["NodeInstallerProgressing"]["reason"] == "AllNodesAtLatestRevision"
    assert conditions(etcd)["EtcdMembersAvailable"]["message"] == "3 members are available"


async def reconnected(fleet, host: str, cmd: Command):
    """Run on a host whose machine was replaced: the fleet retries it at once (as the
    runbook does after RST-16) and the drill's new instance answers SSH."""
    import asyncio

    fleet.retry_now(host)
    for _ in range(100):
        r = await fleet.run_one(host, cmd)
        if r.error is None or "not connected" not in r.error:
            return r
        await asyncio.sleep(0.05)
    return r


async def _ok(fleet, cmd: Command) -> bool:
    return (await fleet.run_one("master-0", cmd)).ok


def _all_members(lab):
    async def check() -> bool:
        ms = lab.cluster.etcd.members
        return len(ms) == 3 and all(m.running and not m.is_learner for m in ms)
    return check


async def test_restore_412_members_wait_for_the_forced_redeployment(started):
    lab, fleet = await started("lost-two-hosts")
    cluster = lab.cluster
    r = await fleet.run_one("master-0", root("/usr/local/bin/cluster-restore.sh", BACKUP))
    if r.exit_status != 0:
        pytest.skip(f"the 4.12 cluster-restore.sh is not in this build yet: {r.stderr[:80]}")
    await wait_for(lab, fleet, lambda: _ok(fleet, oc("whoami")), 180, what="API back")
    # RST-09/10: the rotated kubelet certificates make master-0 NotReady until its PEMs go
    node = await raw(fleet, "/api/v1/nodes/master-0")
    assert cluster.options == {"kubelet_certs_rotated": True}
    assert cluster.host("master-0").kubelet_certs == "stale"
    assert conditions(node)["Ready"]["status"] != "True"
    await run(fleet, "master-0", root("sh", "-c", "rm -f /var/lib/kubelet/pki/*.pem"))
    await run(fleet, "master-0", root("systemctl", "restart", "kubelet.service"))
    if cluster.host("master-0").kubelet_certs == "stale":
        pytest.skip("systemctl restart kubelet does not start the certificate bootstrap yet")
    await advance(lab, fleet, controllers.BOOTSTRAP_SECONDS + 5)
    node = await raw(fleet, "/api/v1/nodes/master-0")
    assert conditions(node)["Ready"]["status"] == "True"
    assert (await raw(fleet, "/apis/certificates.k8s.io/v1/certificatesigningrequests")
            )["items"] == []  # no workers: nothing to approve (RST-11 skipped)

    # RST-13/14: delete the lost nodes; the DaemonSet lets go of their IPs minutes later
    await run(fleet, "master-0", oc("delete", "node", "master-1", "master-2"))
    ds_path = "/apis/apps/v1/namespaces/openshift-ovn-kubernetes/daemonsets/ovnkube-master"
    lost_ips = {cluster.host(h).address for h in ("master-1", "master-2")}

    async def ips_gone() -> bool:
        text = json.dumps(await raw(fleet, ds_path))
        return not any(ip in text for ip in lost_ips)
    spent = await wait_for(lab, fleet, ips_gone, 900, step=30, what="ovnkube-master IPs")
    assert spent >= 120
    # RST-15: OVN restarted
    await run(fleet, "master-0", root("sh", "-c", "rm -f /var/lib/ovn/etc/*.db"))
    r = await run(fleet, "master-0", oc("delete", "pods", "-l", "app=ovnkube-master", "-n",
                                        "openshift-ovn-kubernetes"))
    assert r.stdout.count("deleted") == 1
    await run(fleet, "master-0", oc("-n", "openshift-ovn-kubernetes", "delete", "pod", "-l",
                                    "app=ovnkube-node"))
    await advance(lab, fleet, controllers.OVN_POD_START_SECONDS + 5)
    pods = await raw(fleet, "/api/v1/namespaces/openshift-ovn-kubernetes/pods")
    assert {p["status"]["phase"] for p in pods["items"]} == {"Running"}

    # RST-16: replace the machines; the new hosts register but etcd stays alone (guard on)
    for h in ("master-1", "master-2"):
        await replace_machine(lab, fleet, h)
    await advance(lab, fleet, controllers.MACHINE_DELETE_SECONDS + controllers.PROVISION_SECONDS
                  + controllers.BOOT_SECONDS + 3 * controllers.ROLLOUT_NODE_SECONDS)
    assert members(lab) == [("master-0", True, False)]
    etcd = await raw(fleet, "/apis/operator.openshift.io/v1/etcds/cluster")
    assert conditions(etcd)["NodeInstallerProgressing"]["status"] == "True"
    assert not await operators_stable(fleet)

    # RST-17..20: guard off, forced redeployment, guard back on
    await run(fleet, "master-0", oc("patch", "etcd/cluster", "--type=merge", "-p", GUARD_OFF))
    await run(fleet, "master-0", oc("patch", "etcd", "cluster", "-p=" + json.dumps(
        {"spec": {"forceRedeploymentReason": "recovery-2026-01-05"}}), "--type=merge"))
    await run(fleet, "master-0", oc("patch", "etcd/cluster", "--type=merge", "-p", GUARD_ON))
    latest = (await raw(fleet, "/apis/operator.openshift.io/v1/etcds/cluster")
              )["status"]["latestAvailableRevision"]

    async def at_latest() -> bool:
        etcd = await raw(fleet, "/apis/operator.openshift.io/v1/etcds/cluster")
        return conditions(etcd)["NodeInstallerProgressing"]["reason"] == \
            "AllNodesAtLatestRevision"
    await wait_for(lab, fleet, at_latest, 900, step=15, what="RST-22")
    etcd = await raw(fleet, "/apis/operator.openshift.io/v1/etcds/cluster")
    assert conditions(etcd)["NodeInstallerProgressing"]["message"] == \
        f"3 nodes are at revision {latest}"
    assert [m[1:] for m in members(lab)] == [(True, False)] * 3
    # RST-23: the other rollouts, each to AllNodesAtLatestRevision
    for kind, plural in (("kubeapiserver", "kubeapiservers"),
                         ("kubecontrollermanager", "kubecontrollermanagers"),
                         ("kubescheduler", "kubeschedulers")):
        await run(fleet, "master-0", oc("patch", f"{kind}/cluster", "--type=merge", "-p",
                                        json.dumps({"spec": {"forceRedeploymentReason":
                                                             f"recovery-{kind}"}})))

        async def done(plural=plural) -> bool:
            obj = await raw(fleet, f"/apis/operator.openshift.io/v1/{plural}/cluster")
            return conditions(obj)["NodeInstallerProgressing"]["status"] == "False"
        await wait_for(lab, fleet, done, 600, step=15, what=plural)
    await wait_for(lab, fleet, lambda: operators_stable(fleet), 600, step=15,
                   what="operators settle")


async def test_quorum_restore_then_machines_replaced(started):
    lab, fleet = await started("quorum-lost-4.18")
    await run(fleet, "master-0", root("/usr/local/bin/quorum-restore.sh"))
    await wait_for(lab, fleet, lambda: _ok(fleet, oc("whoami")), 120, what="API back")
    for h in ("master-1", "master-2"):
        await replace_machine(lab, fleet, h)
    # QRS-05 as the documentation has it: oc adm wait-for-stable-cluster, in drill time
    r = await fleet.run_one("master-0", oc("adm", "wait-for-stable-cluster",
                                           "--minimum-stable-period=1m", "--timeout=40m"))
    assert r.ok, r
    lines = [x for x in r.stdout.splitlines() if x]
    assert lines[0].startswith("clusteroperators/") and " is " in lines[0]
    assert any(" is still progressing" in x for x in lines)
    assert any(x.startswith("All clusteroperators became stable at ") for x in lines)
    assert lines[-1] == "All clusteroperators are stable"
    assert r.stdout.endswith("\n\nAll clusteroperators are stable\n")
    assert await operators_stable(fleet)
    assert len(lab.cluster.etcd.members) == 3
    pods = await raw(fleet, "/api/v1/namespaces/openshift-etcd/pods?labelSelector=k8s-app%3Detcd")
    assert [p["status"]["phase"] for p in pods["items"]] == ["Running"] * 3


async def test_scenario_keys_are_checked():
    from tui.drill.scenario import build_cluster
    from tui.errors import ConfigError
    import tempfile
    import pathlib

    bad = {"api:\n  network_type: Calico\n": "api.network_type",
           "api:\n  platform: GCP\n": "api.platform",
           "restore:\n  nope: true\n": "restore: unknown key 'nope'",
           "restore:\n  kubelet_certs_rotated: 3\n": "restore.kubelet_certs_rotated",
           "api:\n  webhooks:\n  - {name: x, failure_policy: Sometimes}\n":
               "api.webhooks[0].failure_policy",
           "api:\n  persistent_volumes:\n  - {name: p, type: local, node: nowhere}\n":
               "api.persistent_volumes[0].node"}
    with tempfile.TemporaryDirectory() as d:
        for i, (text, key) in enumerate(bad.items()):
            p = pathlib.Path(d) / f"bad{i}.yaml"
            p.write_text("control_plane: 3\n" + text)
            with pytest.raises(ConfigError) as e:
                build_cluster(str(p))
            assert key in str(e.value)
            assert f"bad{i}" in str(e.value.where)


async def test_restore_416_interconnect_new_hosts_fresh_and_member_list(started):
    lab, fleet = await started("lost-two-hosts-4.16")
    cluster = lab.cluster
    await run(fleet, "master-0", root("/usr/local/bin/cluster-restore.sh", BACKUP))
    await wait_for(lab, fleet, lambda: _ok(fleet, oc("whoami")), 180, what="API back")
    assert cluster.options == {}  # certificates not rotated: nodes stay Ready
    node = await raw(fleet, "/api/v1/nodes/master-0")
    assert conditions(node)["Ready"]["status"] == "True"
    # 4.14+: no ovnkube-master DaemonSet; ovnkube-control-plane pods, ovnkube-node per node
    r = await fleet.run_one("master-0", oc("get", "--raw", "/apis/apps/v1/namespaces/"
                                                           "openshift-ovn-kubernetes/daemonsets/"
                                                           "ovnkube-master"))
    assert r.exit_status == 1 and "NotFound" in r.stderr
    r = await run(fleet, "master-0", oc("-n", "openshift-ovn-kubernetes", "delete", "pod", "-l",
                                        "app=ovnkube-control-plane"))
    assert r.stdout.count("deleted") == 3
    r = await run(fleet, "master-0", oc(
        "-n", "openshift-ovn-kubernetes", "delete", "pod", "-l", "app=ovnkube-node",
        "--field-selector=spec.nodeName==master-0"))
    assert r.stdout.count("deleted") == 1
    await advance(lab, fleet, controllers.OVN_POD_START_SECONDS + 5)
    pods = await raw(fleet, "/api/v1/namespaces/openshift-ovn-kubernetes/pods"
                            "?fieldSelector=spec.nodeName%3Dmaster-0")
    assert sorted((p["metadata"]["labels"]["app"], p["status"]["phase"])
                  for p in pods["items"]) == [("ovnkube-control-plane", "Running"),
                                              ("ovnkube-node", "Running")]
    for h in ("master-1", "master-2"):
        await replace_machine(lab, fleet, h)
    await advance(lab, fleet, controllers.MACHINE_DELETE_SECONDS + controllers.PROVISION_SECONDS
                  + controllers.BOOT_SECONDS + 5)
    r = await reconnected(fleet, "master-2", root("sh", "-c",
                                                  "ls /etc/kubernetes/manifests; ls -A /var/lib/etcd"))
    assert r.ok, r
    assert r.stdout.split() == ["kube-apiserver-pod.yaml", "kube-controller-manager-pod.yaml",
                                "kube-scheduler-pod.yaml"]
    assert (await reconnected(fleet, "master-2", oc("whoami"))).exit_status == 0  # its own API
    await run(fleet, "master-0", oc("patch", "etcd/cluster", "--type=merge", "-p", GUARD_OFF))
    await run(fleet, "master-0", oc("patch", "etcd/cluster", "--type=merge", "-p", json.dumps(
        {"spec": {"forceRedeploymentReason": "recovery-416"}})))
    await wait_for(lab, fleet, _all_members(lab), 900, step=10, what="members back")
    host = cluster.host("master-0")
    listed = await run(fleet, "master-0", root(
        "crictl", "exec", host.container("etcdctl").container_id, "etcdctl",
        "member", "list", "-w", "json"))
    assert sorted(m["name"] for m in json.loads(listed.stdout)["members"]) == [
        "master-0", "master-1", "master-2"]
    await run(fleet, "master-0", oc("patch", "etcd/cluster", "--type=merge", "-p", GUARD_ON))
    await wait_for(lab, fleet, lambda: operators_stable(fleet), 900, step=15,
                   what="operators settle")
