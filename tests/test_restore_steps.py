"""The restore runbooks' steps on small fakes: the refusals by construction, the CSR review,
lost hosts, the quorum guard warning, aftercare (the restore script once: test_restore_evidence.py)."""

from __future__ import annotations

import pytest

from tui.errors import EtcdDrError
from tui.fleet.fleet import HostState, HostStatus, RunResult
from tui.inventory import Host, Inventory
from tui.journal import Journal, read_journal
from tui.runbooks import registry
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.headless import HeadlessOperator
from tui.runbooks.model import Runbook
from tui.runbooks.restore import (BOOTSTRAPPER, GUARD, QUORUM_RESTORE, Refusal, aftercare, assert_not_recovery_machine,
                                  restore_runbook, review_csr, rst04_commands)
from tui.runbooks.runner import Refused, RunAborted, Runner


class Operator:
    def __init__(self, confirm=True):
        self.answer = confirm
        self.events, self.requests = [], []

    async def confirm(self, request):
        self.requests.append(request)
        return self.answer(request) if callable(self.answer) else self.answer

    async def on_failure(self, step, error):
        return Decision("abort")

    async def on_unknown(self, step, question):
        from tui.runbooks.attempts import UnknownDecision

        self.unknowns = getattr(self, "unknowns", []) + [question]
        return UnknownDecision.ABORT, ""

    def show(self, event):
        self.events.append(event)

    def texts(self):
        return [e.text for e in self.events]


class Fleet:
    """Answers each command from `reply(host, script)`; records what was sent where."""

    def __init__(self, hosts, reply=None, down=()):
        self.status = {h: HostStatus(HostState.UNREACHABLE if h in down else
                                     HostState.CONNECTED) for h in hosts}
        self.reply = reply or (lambda host, script: (0, "", ""))
        self.sent = []

    async def run_one(self, host, command, timeout=None, on_line=None, quiet=False):
        # a recorded command is sent in its attempt record's wrapper (tests of that wrapper:
        # test_restore_evidence.py); here, what the step asked to run
        script = command.plain_script()
        self.sent.append((host, script))
        status, out, err = self.reply(host, script)
        return RunResult(host, status, out, err, 0.01)


class Ops:
    """A ClusterOps stand-in: reads from a dict of path -> JSON (or callables), records writes."""

    def __init__(self, objects):
        self.objects = objects
        self.sent = []
        self.last_transport = "API"
        self.rest_backoff = 0
        self.recovery_host = None

    async def get(self, path, query=None):
        value = self.objects.get(path)
        if callable(value):
            value = value(query)
        if value is None:
            raise EtcdDrError(f"no {path}")
        return value

    async def execute(self, op):
        from tui.cluster.ops import OpResult

        if not op.mutating:
            value = await self.get(op.oc_args[2].split("?")[0])
            return OpResult(op, "API", value, "")
        self.sent.append(op.oc)
        hook = self.objects.get("on_write")
        if hook:
            hook(op)
        return OpResult(op, "API", "ok", f"{op.oc_args[0]} done")


class Backend:
    def __init__(self, inventory, fleet):
        self.inventory, self.fleet = inventory, fleet
        self.api, self.collector, self.read_only, self.lab = None, None, False, None


def inventory(workers=0):
    hosts = tuple(Host(f"master-{i}", f"10.0.0.{5 + i}") for i in range(3)) + tuple(
        Host(f"worker-{i}", f"10.0.1.{5 + i}", role="worker") for i in range(workers))
    return Inventory(cluster_name="prod", hosts=hosts)


def context(tmp_path, fleet, ops=None, operator=None, workers=0, **params):
    inv = inventory(workers)
    ctx = RunContext(backend=Backend(inv, fleet), journal=Journal(tmp_path / "j.jsonl", "restore"),
                     operator=operator or Operator(),
                     params={"recovery_host": "master-0", "backup_dir": "/home/core/assets/backup",
                             "path": "4.12-4.13", "lost_hosts": [], "redeploy_stamp": "20261127",
                             **params},
                     time_scale=1e6)
    ctx.cluster_ops = ops or Ops({})
    return ctx


async def run_steps(ctx, *step_ids, runbook=None):
    runbook = runbook or restore_runbook(ctx.params["path"])
    steps = tuple(runbook.step(s) for s in step_ids)
    await Runner(Runbook(name="restore", title="t", steps=steps), ctx).run()


def journal(ctx):
    return read_journal(ctx.journal.path)


# --- registry --------------------------------------------------------------------------------

def test_the_registry_has_restore_and_quorum_restore_and_restore_resolves_at_run_time():
    runbooks = registry()
    assert runbooks["quorum-restore"] is QUORUM_RESTORE
    assert hasattr(runbooks["restore"], "resolve") and runbooks["restore"].mutating


@pytest.mark.parametrize("key, present, absent", [
    ("4.12-4.13", ["RST-04", "RST-13", "RST-14", "RST-16", "RST-25"], ["RSTN-01"]),
    ("4.14-4.17", ["RST-04", "RST-15", "RST-16", "RST-25"], ["RST-13", "RST-14"]),
    ("4.18+", ["RSTN-01", "RSTN-02", "RSTN-04", "RSTN-08", "RST-16", "RST-25"], ["RST-04"]),
])
def test_each_path_has_its_steps(key, present, absent):
    ids = [s.id for s in restore_runbook(key).steps]
    assert all(i in ids for i in present) and not any(i in ids for i in absent)
    assert len(ids) == len(set(ids))


def test_quorum_restore_steps():
    assert [s.id for s in QUORUM_RESTORE.steps] == ["QRS-01", "QRS-02", "QRS-03", "QRS-04",
                                                      "QRS-05", "RST-25"]


# --- RST-04 never on the recovery host --------------------------------------------------------

def test_rst04_commands_refuse_the_recovery_host(tmp_path):
    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2"]))
    with pytest.raises(Refusal, match="never acts on the recovery host"):
        rst04_commands(ctx, "master-0")
    ids = [sid for sid, _ in rst04_commands(ctx, "master-1")]
    assert ids == ["RST-04a", "RST-04b", "RST-04c", "RST-04d", "RST-04e"]
    ctx.params["path"] = "4.14-4.17"
    assert [sid for sid, _ in rst04_commands(ctx, "master-1")].count("RST-04g") == 4


def test_rst04e_waits_for_a_move_as_long_as_the_members_database_takes_to_copy(tmp_path):
    """Where /var/lib/etcd is a disk of its own, mv copies the database and its WAL to /tmp:
    a fixed 30 s gave up on a gigabyte and left the operator an "unknown" to answer."""
    from tui.timeouts import GB, MB

    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2"]))

    def move_timeout():
        [mv] = [c for sid, c in rst04_commands(ctx, "master-1") if sid == "RST-04e"]
        assert mv.stages[0][:3] == ("mv", "-v", "/var/lib/etcd/")
        return mv.timeout

    unknown = move_timeout()  # no member answered the preflight: the 8 GB quota
    assert unknown >= 8 * GB / (30 * MB)
    ctx.params["db_sizes"] = {"master-1": 4 * GB, "master-2": 100 * MB}
    big = move_timeout()
    assert 4 * GB / (30 * MB) <= big < unknown
    ctx.params["db_sizes"] = {"master-2": 100 * MB}  # master-1's member did not answer
    small = move_timeout()  # one cluster's members hold the same keys: master-2's size
    assert 30 <= small < big
    ctx.params["db_sizes"] = {"master-1": 0}
    assert move_timeout() >= 30  # the floor


def _host_files(existing):
    def reply(host, script):
        if script.startswith("test -e "):
            return (0 if script.split()[-1] in existing.get(host, ()) else 1), "", ""
        if script.startswith("mv -v "):
            existing[host].discard(script.split()[2].rstrip("/"))
            return 0, f"renamed '{script.split()[2]}'\n", ""
        return 1, "", ""  # crictl | grep | egrep: nothing left running
    return reply


async def test_rst04_acts_on_the_other_reachable_hosts_only(tmp_path):
    files = {h: {"/etc/kubernetes/manifests/etcd-pod.yaml",
                 "/etc/kubernetes/manifests/kube-apiserver-pod.yaml", "/var/lib/etcd"}
             for h in ("master-0", "master-1", "master-2")}
    fleet = Fleet(["master-0", "master-1", "master-2"], _host_files(files), down=["master-2"])
    ctx = context(tmp_path, fleet, lost_hosts=["master-2"],
                  lost_evidence={"master-2": "confirmed lost by the operator: --lost"})
    await run_steps(ctx, "RST-04")
    hosts = {h for h, _ in fleet.sent}
    assert hosts == {"master-1"}  # never master-0 (recovery), never master-2 (lost)
    assert files["master-1"] == set() and len(files["master-0"]) == 3
    mvs = [s for h, s in fleet.sent if s.startswith("mv")]
    assert mvs == ["mv -v /etc/kubernetes/manifests/etcd-pod.yaml /tmp",
                   "mv -v /etc/kubernetes/manifests/kube-apiserver-pod.yaml /tmp",
                   "mv -v /var/lib/etcd/ /tmp"]
    skipped = [r for r in journal(ctx) if r["event"] == "skipped" and r.get("for_step") == "RST-04"]
    assert skipped[0]["hosts"] == ["master-2"] and "RST-16" in skipped[0]["reason"]
    # lost on evidence only, and the skip says which (issue 12)
    assert skipped[0]["evidence"] == {"master-2": "confirmed lost by the operator: --lost"}


async def test_rst04_journals_the_empty_container_listing_as_its_sub_steps_check(tmp_path):
    files = {h: {"/etc/kubernetes/manifests/etcd-pod.yaml",
                 "/etc/kubernetes/manifests/kube-apiserver-pod.yaml", "/var/lib/etcd"}
             for h in ("master-0", "master-1", "master-2")}
    fleet = Fleet(["master-0", "master-1", "master-2"], _host_files(files))
    ctx = context(tmp_path, fleet)
    await run_steps(ctx, "RST-04")
    records = journal(ctx)
    checks = {r["step"]: r for r in records
              if r["step"] in ("RST-04b", "RST-04d") and r["hosts"] == ["master-1"]}
    assert checks["RST-04b"]["event"] == "finished"
    assert checks["RST-04b"]["hosts"] == ["master-1"]
    assert checks["RST-04b"]["detail"] == "no etcd containers running"
    assert "crictl ps | grep etcd | egrep -v" in checks["RST-04b"]["command"]
    assert "operator|etcd-guard" in checks["RST-04b"]["command"]
    assert checks["RST-04d"]["detail"] == "no kube-apiserver containers running"
    assert not [r for r in records if r["event"] == "failed"]


async def test_rst04_g_journals_the_controller_manager_and_scheduler_checks(tmp_path):
    files = {h: {"/etc/kubernetes/manifests/etcd-pod.yaml",
                 "/etc/kubernetes/manifests/kube-apiserver-pod.yaml",
                 "/etc/kubernetes/manifests/kube-controller-manager-pod.yaml",
                 "/etc/kubernetes/manifests/kube-scheduler-pod.yaml", "/var/lib/etcd"}
             for h in ("master-0", "master-1", "master-2")}
    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2"], _host_files(files)),
                  path="4.14-4.17")
    await run_steps(ctx, "RST-04")
    details = [r["detail"] for r in journal(ctx) if r["step"] == "RST-04g"
               and r["event"] == "finished" and "detail" in r and r["hosts"] == ["master-1"]]
    assert details == ["no kube-controller-manager containers running",
                       "no kube-scheduler containers running"]


async def test_a_wait_that_runs_out_says_its_budget_in_drill_time_and_real_time(tmp_path):
    def reply(host, script):
        if script.startswith("test -e "):
            return 0, "", ""
        if script.startswith("mv -v "):
            return 0, "", ""
        return 0, "abc123 etcd Running\n", ""  # the etcd container never stops

    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2"], reply))
    ctx.time_scale = 600.0
    with pytest.raises(RunAborted) as failed:
        await run_steps(ctx, "RST-04")
    assert "did not stop within 600 s of drill time (1 s real at --speed 600)" in \
        str(failed.value)


def test_a_wait_budget_at_the_walls_speed_is_said_once(tmp_path):
    from tui.runbooks.restore.common import within

    ctx = context(tmp_path, Fleet(["master-0"]))
    ctx.time_scale = 1.0
    assert within(ctx, 1200) == "within 1200 s"
    ctx.time_scale = 600.0
    assert within(ctx, 1200) == "within 1200 s of drill time (2 s real at --speed 600)"


async def test_rst04_refuses_when_anything_lists_the_recovery_host(tmp_path, monkeypatch):
    import tui.runbooks.restore.hosts as hosts

    fleet = Fleet(["master-0", "master-1", "master-2"])
    ctx = context(tmp_path, fleet)
    monkeypatch.setattr(hosts, "non_recovery_hosts",
                        lambda ctx: ["master-0", "master-1", "master-2"])
    with pytest.raises(RunAborted, match="REFUSED"):
        await run_steps(ctx, "RST-04")
    assert not [s for h, s in fleet.sent if h == "master-0"]


# --- RST-16 never deletes the recovery host's machine -----------------------------------------

def _machine(name, node, address, phase="Running"):
    return {"metadata": {"name": name, "labels": {
        "machine.openshift.io/cluster-api-machine-role": "master"}},
        "status": {"phase": phase, "nodeRef": {"name": node},
                   "addresses": [{"type": "InternalIP", "address": address}]}}


def test_the_recovery_hosts_machine_is_refused_whoever_asks(tmp_path):
    ctx = context(tmp_path, Fleet(["master-0"]))
    with pytest.raises(Refusal, match="never deletes"):
        assert_not_recovery_machine(ctx, _machine("c-master-0", "master-0", "10.0.0.5"),
                                    "master-1")
    assert_not_recovery_machine(ctx, _machine("c-master-1", "master-1", "10.0.0.6"), "master-1")


async def test_rst16_refuses_a_lost_hosts_machine_that_is_the_recovery_hosts(tmp_path,
                                                                             monkeypatch):
    # a broken record: the lost host's Machine carries the recovery host's address
    machines = {"items": [_machine("c-master-0", "master-0", "10.0.0.5"),
                          _machine("c-odd", "someone", "10.0.0.5")]}
    ops = Ops({"/api/v1/nodes": {"items": []},
               "/apis/machine.openshift.io/v1beta1/namespaces/openshift-machine-api/machines":
                   machines})
    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2"], down=["master-1"]),
                  ops=ops, path="4.18+", lost_hosts=["master-1"],
                  lost_evidence={"master-1": "confirmed lost by the operator: --lost"})
    ctx.facts["network_type"] = "OVNKubernetes"
    import tui.runbooks.restore.machines as machines

    real = machines.machine_matches
    # the lost host's lookup lands on c-odd, which carries the recovery host's address
    monkeypatch.setattr(machines, "machine_matches", lambda ctx, m, host: (
        m["metadata"]["name"] == "c-odd") if host == "master-1" else real(ctx, m, host))
    with pytest.raises(RunAborted, match="REFUSED.*never deletes"):
        await run_steps(ctx, "RST-16")
    assert ops.sent == []


async def test_rst16_replaces_each_lost_hosts_machine_and_waits_until_running(tmp_path):
    state = {"items": [_machine("c-master-0", "master-0", "10.0.0.5"),
                       _machine("c-master-1", "master-1", "10.0.0.6", phase="Failed")]}
    polls = []

    def machines(query):
        polls.append(1)
        if len(polls) == 3:  # the machine API creates the replacement
            state["items"].append(_machine("c-master-3", "master-1", "10.0.0.9",
                                           phase="Provisioning"))
        if len(polls) == 5:
            state["items"][-1]["status"]["phase"] = "Running"
        return state

    def on_write(op):
        if op.oc_args[:2] == ("delete", "machine"):
            state["items"] = [m for m in state["items"]
                              if m["metadata"]["name"] != op.oc_args[-1]]

    ops = Ops({"/api/v1/nodes": {"items": []}, "on_write": on_write,
               "/apis/machine.openshift.io/v1beta1/namespaces/openshift-machine-api/machines":
                   machines})
    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2"], down=["master-1"]),
                  ops=ops, path="4.18+", lost_hosts=["master-1"],
                  lost_evidence={"master-1": "confirmed lost by the operator: --lost"})
    ctx.facts["network_type"] = "OVNKubernetes"
    await run_steps(ctx, "RST-16")
    assert ops.sent == ["oc delete machine -n openshift-machine-api c-master-1"]
    assert ctx.facts["replaced"]["master-1"]["new"] == "c-master-3"
    finished = [r for r in journal(ctx) if r["step"] == "RST-16" and r["event"] == "finished"
                and "command" not in r]
    assert "c-master-3" in finished[-1]["detail"]


# --- RST-11: CSRs reviewed before approval ----------------------------------------------------

def _csr(name, signer, user, approved=False):
    return {"metadata": {"name": name}, "spec": {"signerName": signer, "username": user},
            "status": {"conditions": [{"type": "Approved", "status": "True"}]} if approved
            else {}}


def test_only_bootstrapper_client_and_known_node_serving_csrs_are_approved():
    known = {"master-0", "worker-0"}
    client = "kubernetes.io/kube-apiserver-client-kubelet"
    serving = "kubernetes.io/kubelet-serving"
    assert review_csr(_csr("a", client, BOOTSTRAPPER), known)[0]
    assert review_csr(_csr("b", serving, "system:node:worker-0"), known)[0]
    assert not review_csr(_csr("c", serving, "system:node:intruder"), known)[0]
    assert not review_csr(_csr("d", client, "system:serviceaccount:default:x"), known)[0]
    assert not review_csr(_csr("e", "example.com/signer", BOOTSTRAPPER), known)[0]
    assert not review_csr(_csr("f", serving, "admin"), known)[0]


async def test_rst11_approves_the_valid_ones_and_journals_the_refused(tmp_path):
    client = "kubernetes.io/kube-apiserver-client-kubelet"
    serving = "kubernetes.io/kubelet-serving"
    csrs = {"items": [_csr("csr-a", client, BOOTSTRAPPER),
                      _csr("csr-b", serving, "system:node:worker-0"),
                      _csr("csr-c", serving, "system:node:intruder"),
                      _csr("csr-d", client, BOOTSTRAPPER, approved=True)]}
    ready = {"value": False}

    def nodes(query):
        cond = [{"type": "Ready", "status": "True" if ready["value"] else "False"}]
        return {"items": [{"metadata": {"name": n}, "status": {"conditions": cond}}
                          for n in ("master-0", "worker-0")]}

    def on_write(op):
        ready["value"] = ready["value"] or op.oc_args[-1] == "csr-b"

    ops = Ops({"/api/v1/nodes": nodes, "on_write": on_write,
               "/apis/certificates.k8s.io/v1/certificatesigningrequests": csrs})
    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2", "worker-0"]), ops=ops,
                  workers=1)
    await run_steps(ctx, "RST-11")
    assert ops.sent == ["oc adm certificate approve csr-a", "oc adm certificate approve csr-b"]
    refused = [r for r in journal(ctx) if r["event"] == "skipped" and r.get("csr")]
    assert [r["csr"] for r in refused] == ["csr-c"] and "unknown node" in refused[0]["reason"]


def test_rst11_is_skipped_without_workers(tmp_path):
    ctx = context(tmp_path, Fleet(["master-0"]))
    step = restore_runbook("4.12-4.13").step("RST-11")
    assert "no worker nodes" in step.skip_if(ctx)
    ctx.facts["worker_nodes"] = ["worker-9"]
    assert step.skip_if(ctx) is None


# --- RST-09: PEM cleanup only on NotReady nodes -----------------------------------------------

async def test_rst09_cleans_pems_only_on_notready_nodes(tmp_path):
    def nodes(query):
        return {"items": [
            {"metadata": {"name": "master-0"}, "status": {"conditions": [
                {"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "master-1"}, "status": {"conditions": [
                {"type": "Ready", "status": "False"}]}},
            {"metadata": {"name": "master-2"}, "status": {"conditions": [
                {"type": "Ready", "status": "Unknown"}]}}]}

    def reply(host, script):
        if script.startswith("find /var/lib/kubelet/pki"):
            return 0, ("/var/lib/kubelet/pki/kubelet-client-2026.pem\n"
                       "/var/lib/kubelet/pki/kubelet-client-current.pem\n"), ""
        return 0, "", ""

    fleet = Fleet(["master-0", "master-1", "master-2"], reply, down=["master-2"])
    ctx = context(tmp_path, fleet, ops=Ops({"/api/v1/nodes": nodes}), lost_hosts=["master-2"])
    await run_steps(ctx, "RST-09")
    removed = [(h, s) for h, s in fleet.sent if s.startswith("rm")]
    assert removed == [("master-1", "rm -f /var/lib/kubelet/pki/kubelet-client-2026.pem "
                                    "/var/lib/kubelet/pki/kubelet-client-current.pem")]


# --- the quorum guard and aftercare ------------------------------------------------------------

async def test_the_end_warns_loudly_when_the_quorum_guard_is_still_off(tmp_path):
    ops = Ops({"/apis/operator.openshift.io/v1/etcds/cluster":
               {"spec": {"unsupportedConfigOverrides": {GUARD: True}}},
               "/api/v1/persistentvolumes": {"items": []}})
    op = Operator()
    ctx = context(tmp_path, Fleet(["master-0"]), ops=ops, operator=op)
    await run_steps(ctx, "RST-25")
    assert any("QUORUM GUARD IS STILL OFF" in t for t in op.texts())
    warned = [r for r in journal(ctx) if r.get("for_step") == "RST-20"]
    assert warned and "left off" in warned[0]["reason"]
    items = await aftercare(ctx)
    assert items[-1].key == "RST-20" and items[-1].reminder


async def test_aftercare_lists_the_clusters_pvs(tmp_path):
    pvs = {"items": [
        {"metadata": {"name": "local-pv-1", "labels": {
            "storage.openshift.com/local-volume-owner-name": "lv"}},
         "spec": {"local": {"path": "/mnt/local-storage/sdb"}, "storageClassName": "local-sc",
                  "capacity": {"storage": "100Gi"},
                  "claimRef": {"namespace": "db", "name": "data-postgres-0"}}},
        {"metadata": {"name": "pvc-123"},
         "spec": {"csi": {"driver": "ebs.csi.aws.com"}, "storageClassName": "gp3-csi",
                  "capacity": {"storage": "10Gi"},
                  "claimRef": {"namespace": "app", "name": "cache"}}}]}
    ops = Ops({"/api/v1/persistentvolumes": pvs,
               "/apis/operator.openshift.io/v1/etcds/cluster": {"spec": {}}})
    items = {i.key: i for i in await aftercare(context(tmp_path, Fleet(["master-0"]), ops=ops))}
    assert [k for k in items if k.startswith("PV")] == ["PV-1", "PV-2", "PV-3", "PV-4"]
    assert len(items["PV-1"].pvs) == 2
    assert items["PV-3"].pvs == ("ebs.csi.aws.com",)
    assert items["PV-4"].pvs[0].startswith("local-pv-1 (local /mnt/local-storage/sdb")
    assert all(items[k].reminder for k in ("RST-25a", "RST-25b", "RST-25c"))
    assert "RST-20" not in items


async def test_aftercare_without_the_api_still_lists_the_checks(tmp_path):
    items = await aftercare(context(tmp_path, Fleet(["master-0"]), ops=Ops({})))
    assert [i.key for i in items][:5] == ["PV-list", "PV-1", "PV-2", "PV-3", "PV-4"]
    # why, said once above the checks (not four times), and each check points at it
    assert items[0].reminder and "oc get pv" in items[0].detail
    why = items[0].detail.split(" PV-1..4")[0]
    assert why and sum(why in i.detail for i in items) == 1, why
    assert all("could not be listed: see PV-list" in i.detail for i in items[1:5])


# --- keepalived (baremetal VIPs) ----------------------------------------------------------------

async def test_rst04f_moves_keepalived_and_drops_the_vips_only_where_it_exists(tmp_path):
    pods = {"/etc/kubernetes/manifests/etcd-pod.yaml",
            "/etc/kubernetes/manifests/kube-apiserver-pod.yaml", "/var/lib/etcd"}
    files = {"master-0": {"/etc/kubernetes/manifests/keepalived.yaml"} | pods,
             "master-1": {"/etc/kubernetes/manifests/keepalived.yaml"} | pods,
             "master-2": set(pods)}
    base = _host_files(files)

    def reply(host, script):
        if script.startswith("ip -o address"):
            return 0, "2: ens3    inet 192.168.111.5/32 scope global ens3\n", ""
        if script.startswith("ip address del"):
            return 0, "", ""
        return base(host, script)

    fleet = Fleet(["master-0", "master-1", "master-2"], reply)
    ctx = context(tmp_path, fleet, keepalived_hosts=["master-0", "master-1"],
                  vips=["192.168.111.5", "192.168.111.4"])
    await run_steps(ctx, "RST-04")
    sent = [(h, s) for h, s in fleet.sent if s.startswith(("mv", "ip"))]
    assert ("master-1", "mv -v /etc/kubernetes/manifests/keepalived.yaml /tmp") in sent
    assert ("master-1", "ip -o address | egrep '192\\.168\\.111\\.5|192\\.168\\.111\\.4'") in sent
    assert ("master-1", "ip address del 192.168.111.5/32 dev ens3") in sent
    assert not [s for h, s in sent if h == "master-2" and "keepalived" in s]
    assert not [h for h, s in fleet.sent if h == "master-0"]


async def test_rst06_checks_the_api_vip_on_the_recovery_host(tmp_path):
    def reply(host, script):
        return (0, "2: ens3    inet 192.168.111.5/32 scope global ens3\n", "") \
            if host == "master-0" else (1, "", "")

    ctx = context(tmp_path, Fleet(["master-0"], reply), keepalived_hosts=["master-0"],
                  vips=["192.168.111.5"])
    step = restore_runbook("4.12-4.13").step("RST-06")
    assert step.skip_if(ctx) is None
    verdict = await step.check(ctx, "master-0")
    assert verdict.ok and "192.168.111.5" in verdict.detail
    ctx.params["keepalived_hosts"] = []
    assert "no keepalived" in step.skip_if(ctx)


async def test_a_destructive_host_step_asks_with_the_commands_it_will_send(tmp_path):
    files = {h: {"/etc/kubernetes/manifests/etcd-pod.yaml",
                 "/etc/kubernetes/manifests/kube-apiserver-pod.yaml", "/var/lib/etcd"}
             for h in ("master-0", "master-1", "master-2")}
    op = Operator()
    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2"], _host_files(files)),
                  operator=op)
    await run_steps(ctx, "RST-04")
    request = op.requests[0]
    assert request.kind.value == "type the cluster name" and request.expected == "prod"
    assert "master-1: sudo -n sh -c 'mv -v /etc/kubernetes/manifests/etcd-pod.yaml /tmp'" \
        in request.commands
    assert not [c for c in request.commands if c.startswith("master-0")]


async def test_rst12_keeps_the_host_half_when_the_api_does_not_answer(tmp_path):
    from tui.runbooks.restore.nodes import check_single_member

    def reply(host, script):
        if "crictl ps" in script:
            return 0, "3f1c9a etcd-member Running etcd 0 abc\n", ""
        return 1, "", ""

    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2"], reply),
                  ops=Ops({}))  # every API read fails: the API is not back
    verdict = await check_single_member(ctx, "master-0")
    assert not verdict.ok
    assert verdict.detail.startswith("the etcd container runs on master-0; "
                                     "the API does not answer yet: ")


@pytest.mark.parametrize("path, acting", [
    ("4.12-4.13", ["master-0", "master-1"]),  # the databases live on the control plane
    ("4.14-4.17", ["master-0", "master-1", "worker-0"]),  # node by node, workers too
])
def test_rst15_lists_only_the_hosts_it_sends_commands_to(tmp_path, path, acting):
    ctx = context(tmp_path, Fleet(["master-0", "master-1", "master-2", "worker-0"],
                                  down=["master-2"]),
                  workers=1, path=path, lost_hosts=["master-2"])
    runbook = restore_runbook(path)
    planned = {p.step.id: p for p in Runner(runbook, ctx).plan()}
    assert planned["RST-15"].hosts == acting
    assert {h for h, _ in runbook.step("RST-15").preview(ctx) if h != "API"} == set(acting)
