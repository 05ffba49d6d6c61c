"""RST-15 and admission webhooks (RUNBOOK RST-15's note): the webhooks with failurePolicy Fail
that can reject the OVN pods are listed, set to Ignore (confirmed with the exact commands, the
originals journaled as facts) before the OVN pods are deleted, and set back to Fail once they
run; a run stopped in between says loudly which are still Ignore, and a resume sets them back.
Also the operation itself (`oc patch ... --type=json`, a REST JSON patch) on the drill."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets
from tests.test_restore_steps import Fleet, Operator, Ops, context, journal, run_steps
from tui.backend import Backend, BackendSpec
from tui.cluster.api import ClusterApi
from tui.cluster.ops import ClusterOps, patch_webhook_op
from tui.drill import objects, rest
from tui.drill.model import SimClock
from tui.errors import EtcdDrError
from tui.fleet.commands import Command
from tui.journal import Journal, JournalState, read_journal
from tui.runbooks import registry, resolve_runbook
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.model import Confirm
from tui.runbooks.restore import WEBHOOK_FACT, RiskyWebhook, aftercare, ovn, risky_webhooks
from tui.runbooks.runner import RunAborted, Runner

SPEED = 300.0
NS = "openshift-ovn-kubernetes"
HOOKS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
GUARD_HOOK = f"{HOOKS}/policy-guard"
IGNORE = ("oc patch validatingwebhookconfiguration policy-guard --type=json -p "
          "'[{\"op\":\"replace\",\"path\":\"/webhooks/0/failurePolicy\",\"value\":\"Ignore\"}]'")
FAIL = IGNORE.replace('"Ignore"', '"Fail"')
RECOVERY_KUBECONFIG = ("/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/"
                       "node-kubeconfigs/localhost-recovery.kubeconfig")


# --- which webhooks can reject the OVN pods ---------------------------------------------------

def _hook(name="h.example.com", policy="Fail", selector=None, operations=("CREATE",),
          resources=("pods",), groups=("",), scope="*"):
    hook = {"name": name, "namespaceSelector": selector or {},
            "rules": [{"apiGroups": list(groups), "apiVersions": ["v1"],
                       "operations": list(operations), "resources": list(resources),
                       "scope": scope}]}
    if policy is not None:
        hook["failurePolicy"] = policy
    return hook


def _config(name, *hooks):
    return {"metadata": {"name": name}, "webhooks": list(hooks)}


def _names(found):
    return [(h.kind, h.name, h.index) for h in found]


def _by_name(metadata_name_op, values):
    return {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                  "operator": metadata_name_op, "values": values}]}


def test_only_fail_webhooks_on_pod_create_that_can_reach_the_ovn_namespace_are_risky():
    labels = {"kubernetes.io/metadata.name": NS}
    configs = {"validating": [
        _config("everywhere", _hook()),
        _config("unset-policy", _hook(policy=None)),  # v1 defaults to Fail
        _config("fails-open", _hook(policy="Ignore")),
        _config("updates-only", _hook(operations=("UPDATE",))),
        _config("any-operation", _hook(operations=("*",))),
        _config("deployments", _hook(resources=("deployments",), groups=("apps",))),
        _config("every-resource", _hook(resources=("*",), groups=("*",))),
        _config("exec-only", _hook(resources=("pods/exec",))),
        _config("cluster-scope", _hook(scope="Cluster")),
        _config("other-namespaces", _hook(selector=_by_name("In", ["payments"]))),
        _config("excludes-ovn", _hook(selector=_by_name("NotIn", [NS, "kube-system"]))),
        _config("names-ovn", _hook(selector=_by_name("In", [NS]))),
        _config("label-match-other", _hook(selector={"matchLabels": {
            "kubernetes.io/metadata.name": "payments"}})),
        _config("two", _hook("a.example.com", policy="Ignore"), _hook("b.example.com")),
    ], "mutating": [_config("injector", _hook())]}
    found = risky_webhooks(configs, labels)
    assert _names(found) == [
        ("validating", "everywhere", 0), ("validating", "unset-policy", 0),
        ("validating", "any-operation", 0), ("validating", "every-resource", 0),
        ("validating", "names-ovn", 0), ("validating", "two", 1), ("mutating", "injector", 0)]
    assert found[-2].webhook == "b.example.com"


def test_a_selector_on_labels_it_cannot_read_counts_as_matching():
    """Conservative: a namespaceSelector on a label the console does not know may match;
    with the namespace's labels read, it decides."""
    run_level = {"matchExpressions": [{"key": "openshift.io/run-level", "operator": "NotIn",
                                       "values": ["0", "1"]}]}
    configs = {"validating": [_config("policy", _hook(selector=run_level))]}
    assert _names(risky_webhooks(configs, {"kubernetes.io/metadata.name": NS})) == [
        ("validating", "policy", 0)]
    read = {"kubernetes.io/metadata.name": NS, "openshift.io/run-level": "0"}
    assert risky_webhooks(configs, read, known_all=True) == []
    unlabelled = {"kubernetes.io/metadata.name": NS}
    assert len(risky_webhooks(configs, unlabelled, known_all=True)) == 1  # NotIn: absent key
    exists = {"matchExpressions": [{"key": "policy", "operator": "Exists"}]}
    configs = {"validating": [_config("opt-in", _hook(selector=exists))]}
    assert len(risky_webhooks(configs, unlabelled)) == 1
    assert risky_webhooks(configs, unlabelled, known_all=True) == []


def test_the_operation_is_the_exact_oc_command_and_refuses_nonsense():
    op = patch_webhook_op("validating", "policy-guard", 0, "Ignore")
    assert op.oc == IGNORE and op.mutating
    assert patch_webhook_op("mutating", "x", 2, "Fail").oc == (
        "oc patch mutatingwebhookconfiguration x --type=json -p "
        "'[{\"op\":\"replace\",\"path\":\"/webhooks/2/failurePolicy\",\"value\":\"Fail\"}]'")
    for args in (("admission", "x", 0, "Fail"), ("validating", "x", 0, "Sometimes"),
                 ("validating", "x", -1, "Fail")):
        with pytest.raises(ValueError):
            patch_webhook_op(*args)
    assert RiskyWebhook("validating", "policy-guard", 0, "policy-guard.example.com") \
        .patch_oc("Fail") == FAIL


# --- the drill: JSON patches in the API, `oc patch --type=json`, both transports ---------------

WEBHOOK_SCENARIO = """
name: webhook
version: "4.12.30"
control_plane: 3
api:
  webhooks:
  - {name: policy-guard, kind: validating, failure_policy: Fail}
"""


def _policy(cluster, name="policy-guard"):
    return next(w for w in cluster.api.webhooks if w["name"] == name)["failure_policy"]


def test_the_drill_api_applies_json_patches_to_webhooks():
    from tui.drill.scenario import build_cluster

    cluster = build_cluster("webhook-blocks-ovn")
    patch = json.loads(IGNORE.split("-p ", 1)[1].strip("'"))
    got = rest.patch(cluster, GUARD_HOOK, patch, rest.JSON_PATCH)
    assert got["webhooks"][0]["failurePolicy"] == "Ignore" and _policy(cluster) == "Ignore"
    assert objects.pods_blocked(cluster, NS) is None
    rest.patch(cluster, GUARD_HOOK, [{"op": "test", "path": "/webhooks/0/name",
                                         "value": "policy-guard.example.com"},
                                        {"op": "replace", "path": "/webhooks/0/failurePolicy",
                                         "value": "Fail"}], rest.JSON_PATCH)
    assert _policy(cluster) == "Fail" and objects.pods_blocked(cluster, NS) == "policy-guard"
    cases = [([{"op": "replace", "path": "/webhooks/1/failurePolicy", "value": "Ignore"}], 422),
             ([{"op": "test", "path": "/webhooks/0/name", "value": "other"}], 422),
             ([{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Sometimes"}],
              422),
             ({"webhooks": []}, 400)]
    for body, code in cases:
        with pytest.raises(rest.ApiError) as e:
            rest.patch(cluster, GUARD_HOOK, body, rest.JSON_PATCH)
        assert e.value.code == code, body
    assert _policy(cluster) == "Fail"
    with pytest.raises(rest.ApiError) as e:
        rest.patch(cluster, f"{HOOKS}/nope", patch, rest.JSON_PATCH)
    assert e.value.code == 404


def test_json_patch_follows_rfc_6902():
    doc = {"a": [1, 2], "b": {"c~/d": 1}}
    assert rest.apply_json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3},
                                          {"op": "remove", "path": "/b/c~0~1d"},
                                          {"op": "copy", "from": "/a/0", "path": "/e"},
                                          {"op": "move", "from": "/a/1", "path": "/b/f"}]) == \
        {"a": [1, 3], "b": {"f": 2}, "e": 1}
    assert doc == {"a": [1, 2], "b": {"c~/d": 1}}  # on a copy
    assert rest.merge_diff({"a": 1, "b": {"c": 1, "d": 2}}, {"b": {"c": 1, "d": 3}}) == \
        {"a": None, "b": {"d": 3}}


@pytest.fixture
async def started(tmp_path):
    start_time = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=start_time)) as start:
        yield start


def _oc(*args):
    return Command.of("oc", *args, privileged=True, env=(("KUBECONFIG", RECOVERY_KUBECONFIG),),
                      timeout=30)


async def test_drill_oc_patches_a_webhook_with_a_json_patch(started):
    lab, fleet = await started(WEBHOOK_SCENARIO)
    body = '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]'
    args = ("patch", "validatingwebhookconfiguration", "policy-guard", "--type=json", "-p", body)
    r = await fleet.run_one("master-0", _oc(*args))
    assert r.ok and r.stdout == ("validatingwebhookconfiguration.admissionregistration.k8s.io/"
                                 "policy-guard patched\n"), r
    assert _policy(lab.cluster) == "Ignore"
    r = await fleet.run_one("master-0", _oc(*args))
    assert r.ok and r.stdout.endswith("policy-guard patched (no change)\n")
    r = await fleet.run_one("master-0", _oc(*args[:-1], body.replace("/0/", "/3/")))
    assert r.exit_status == 1 and r.stderr.startswith("Error from server (Invalid): ")
    r = await fleet.run_one("master-0", _oc(*args[:3], "--type=strategic", "-p", body))
    assert r.exit_status == 1 and "UnsupportedMediaType" in r.stderr
    assert _policy(lab.cluster) == "Ignore"


async def test_cluster_ops_patch_a_webhook_over_rest_and_over_ssh(started):
    lab, fleet = await started(WEBHOOK_SCENARIO)
    api = ClusterApi(str(lab.kubeconfig_path), "admin")
    try:
        rest = ClusterOps(api, fleet, recovery_host="master-0")
        result = await rest.patch_webhook("validating", "policy-guard", 0, "Ignore")
        assert result.transport == "API" and _policy(lab.cluster) == "Ignore"
        assert result.output == ("validatingwebhookconfiguration.admissionregistration.k8s.io/"
                                 "policy-guard patched")
        with pytest.raises(EtcdDrError) as e:
            await rest.patch_webhook("validating", "policy-guard", 4, "Fail")
        assert "422" in e.value.message
    finally:
        await api.close()
    ssh = ClusterOps(None, fleet, recovery_host="master-0")
    result = await ssh.patch_webhook("validating", "policy-guard", 0, "Fail")
    assert result.transport == "SSH on master-0" and _policy(lab.cluster) == "Fail"


# --- RST-15 on the drill: Ignore during, Fail after -------------------------------------------

def _about_webhooks(request) -> bool:
    return "admission webhook(s) with failurePolicy Fail" in request.text


class Watcher:
    """Confirms (or declines the webhook question); records events, requests, and the
    webhook's failurePolicy whenever RST-15 waits for the OVN pods."""

    def __init__(self, cluster, webhooks=True):
        self.cluster, self.webhooks = cluster, webhooks
        self.events, self.requests, self.seen = [], [], []
        self.failures = []

    async def confirm(self, request):
        self.requests.append(request)
        return self.webhooks or not _about_webhooks(request)

    async def on_failure(self, step, error):
        self.failures.append((step.id, error))
        return Decision("abort")

    def show(self, event):
        self.events.append(event)
        if event.kind == "waiting" and event.step in ("RST-15c", "RST-15e") and \
                self.cluster.api.webhooks:
            self.seen.append((event.step, _policy(self.cluster)))

    def warnings(self):
        return [e.text for e in self.events if e.kind == "warning"]


async def _drill(tmp_path, operator_for, scenario="webhook-blocks-ovn", path=None):
    backend = Backend(BackendSpec(scenario=scenario, speed=SPEED))
    await backend.start()
    operator = operator_for(backend.lab.cluster)
    ctx = RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "restore"),
                     operator=operator, params={"backup_dir": "/home/core/assets/backup",
                                                **({"path": path} if path else {})},
                     time_scale=SPEED)
    runbook = await resolve_runbook(registry()["restore"], ctx)
    return backend, ctx, runbook, operator


def _commands(records, text, event="finished"):
    return [r for r in records if text in (r.get("command") or "") and r["event"] == event]


async def test_rst15_sets_the_webhook_to_ignore_for_the_ovn_restart_and_back_to_fail(tmp_path):
    backend, ctx, runbook, op = await _drill(tmp_path, Watcher)
    try:
        assert _policy(backend.lab.cluster) == "Fail"
        await Runner(runbook, ctx).run()
        cluster = backend.lab.cluster
        assert _policy(cluster) == "Fail" and _policy(cluster, "image-signature") == "Ignore"
    finally:
        ctx.journal.close()
        await backend.close()
    # Ignore while the OVN pods come back (RST-15c/e), Fail after
    assert {s for s, _ in op.seen} == {"RST-15c", "RST-15e"}
    assert {p for _, p in op.seen} == {"Ignore"}
    # the question lists the exact commands, and only policy-guard (image-signature fails open)
    asked = [r for r in op.requests if _about_webhooks(r)]
    assert len(asked) == 1 and asked[0].kind == Confirm.YES_NO and asked[0].step.id == "RST-15"
    assert asked[0].commands[0] == f"API: {IGNORE}" and FAIL in asked[0].commands[1]
    assert "image-signature" not in " ".join(asked[0].commands)
    records = read_journal(tmp_path / "j.jsonl")
    assert records[-1]["event"] == "finished"
    lines = [r for r in records if r["step"] == "RST-15"]
    kinds = [(r["event"], r.get("command", "")[:20]) for r in lines]
    confirmed = next(r for r in lines if r.get("kind") == "webhooks-ignore")
    assert confirmed["commands"] == [f"API: {IGNORE}"]
    noted = [r for r in lines if WEBHOOK_FACT in r.get("command", "")]
    assert noted[0]["facts"][WEBHOOK_FACT] == [{
        "kind": "validating", "name": "policy-guard", "index": 0,
        "webhook": "policy-guard.example.com", "failurePolicy": "Fail"}]
    assert noted[-1]["facts"][WEBHOOK_FACT] == []
    ignore, fail = _commands(lines, IGNORE), _commands(lines, FAIL)
    assert len(ignore) == 1 and len(fail) == 1, kinds
    # Ignore before the first OVN pod is deleted; Fail after the last one runs again
    order = [r["command"] for r in records if r.get("command") and r["event"] == "finished"]
    deletes = [i for i, c in enumerate(order) if "delete pod" in c and "ovnkube" in c]
    assert order.index(IGNORE) < deletes[0] and order.index(FAIL) > deletes[-1]
    finished = next(r for r in lines if r["event"] == "finished" and "detail" in r)
    assert "policy-guard: Fail again" in finished["detail"]
    assert not op.warnings()
    assert not [r for r in records if r.get("warning")]


async def test_rst15_on_the_interconnect_path_does_the_same(tmp_path):
    scenario = tmp_path / "ic.yaml"
    scenario.write_text("""
name: webhook-ic
version: "4.16.20"
control_plane: 3
workers: 0
etcd: {version: "3.5.14", leader: master-0, db_size_mb: 148, in_use_mb: 126}
hosts:
  master-1: {up: false}
  master-2: {up: false}
api:
  reachable: false
  network_type: OVNKubernetes
  platform: AWS
  machines: true
  webhooks:
    - {name: policy-guard, kind: validating, failure_policy: Fail}
backup: {host: master-0, dir: /home/core/assets/backup, taken_minutes_ago: 90}
""")
    seen = []

    def watcher(cluster):
        w = Watcher(cluster)
        show = w.show

        def spy(event):
            show(event)
            if event.kind == "waiting" and "ovnkube" in event.text:
                seen.append(_policy(cluster))
        w.show = spy
        return w

    backend, ctx, runbook, op = await _drill(tmp_path, watcher, scenario=str(scenario))
    try:
        await Runner(runbook, ctx).run()
        assert ctx.params["path"] == "4.14-4.17"
        assert _policy(backend.lab.cluster) == "Fail"
    finally:
        ctx.journal.close()
        await backend.close()
    assert seen and set(seen) == {"Ignore"}
    records = read_journal(tmp_path / "j.jsonl")
    assert len(_commands(records, IGNORE)) == 1 and len(_commands(records, FAIL)) == 1


async def test_declining_leaves_the_webhook_alone_and_deletes_no_ovn_pod(tmp_path):
    backend, ctx, runbook, op = await _drill(
        tmp_path, lambda cluster: Watcher(cluster, webhooks=False))
    try:
        with pytest.raises(RunAborted, match="RST-15"):
            await Runner(runbook, ctx).run()
        assert _policy(backend.lab.cluster) == "Fail"
    finally:
        ctx.journal.close()
        await backend.close()
    records = read_journal(tmp_path / "j.jsonl")
    assert not _commands(records, "oc patch validatingwebhookconfiguration", "started")
    assert not _commands(records, "delete pod", "started")
    assert "left at failurePolicy Fail" in op.failures[0][1]
    assert not op.warnings()  # nothing was set to Ignore


async def test_stopped_between_ignore_and_fail_it_warns_and_a_resume_sets_it_back(
        tmp_path, monkeypatch):
    real = ovn._restart_ovn_pods

    async def broken(ctx, run):
        run.fail("the OVN pods did not come back (the test says so)")

    monkeypatch.setattr(ovn, "_restart_ovn_pods", broken)
    backend, ctx, runbook, op = await _drill(tmp_path, Watcher)
    path = tmp_path / "j.jsonl"
    try:
        with pytest.raises(RunAborted, match="RST-15"):
            await Runner(runbook, ctx).run()
        ctx.journal.close()
        cluster = backend.lab.cluster
        assert _policy(cluster) == "Ignore"
        # loud: a warning event and a journal line, naming it and the command that sets it back
        assert len(op.warnings()) == 1
        text = op.warnings()[0]
        assert "STILL failurePolicy Ignore" in text and "policy-guard" in text and FAIL in text
        warned = [r for r in read_journal(path) if r.get("for_step") == "RST-15"
                  and r.get("warning")]
        assert len(warned) == 1 and warned[0]["step"] == "-" and warned[0]["warning"] == text
        assert "Ignore" in warned[0]["reason"]
        # the resume: the fact brings the original back, RST-15 runs again and sets it to Fail
        monkeypatch.setattr(ovn, "_restart_ovn_pods", real)
        state = JournalState.from_records(read_journal(path))
        assert state.failed == "RST-15" and "RST-15" not in state.done
        assert [h["name"] for h in state.facts[WEBHOOK_FACT]] == ["policy-guard"]
        op2 = Watcher(cluster)
        ctx2 = RunContext(backend=backend, journal=Journal(path, "restore"), operator=op2,
                          params=dict(state.params), time_scale=SPEED)
        ctx2.facts.update(state.facts)
        await Runner(runbook, ctx2, resume=state).run()
        ctx2.journal.close()
        assert _policy(cluster) == "Fail"
    finally:
        await backend.close()
    assert not [r for r in op2.requests if _about_webhooks(r)]  # already Ignore: not asked
    assert {p for _, p in op2.seen} == {"Ignore"}
    records = read_journal(path)
    resumed = records[next(i for i, r in enumerate(records) if r["event"] == "resumed"):]
    assert len(_commands(resumed, FAIL)) == 1 and not _commands(resumed, IGNORE)
    assert not op2.warnings()


async def test_killed_after_ignore_a_resume_sets_the_webhook_back(tmp_path):
    backend, ctx, runbook, op = await _drill(tmp_path, Watcher)
    path = tmp_path / "j.jsonl"
    try:
        task = asyncio.ensure_future(Runner(runbook, ctx).run())
        while not task.done() and not _commands(read_journal(path), IGNORE):
            await asyncio.sleep(0.005)
        while not task.done():
            task.cancel()
            await asyncio.sleep(0.001)
        with suppress(asyncio.CancelledError):
            await task
        ctx.journal.close()
        cluster = backend.lab.cluster
        assert _policy(cluster) == "Ignore"
        assert not op.warnings()  # a kill says nothing: the journal keeps the original
        state = JournalState.from_records(read_journal(path))
        assert state.in_flight == "RST-15" and state.facts[WEBHOOK_FACT]
        ctx2 = RunContext(backend=backend, journal=Journal(path, "restore"),
                          operator=Watcher(cluster), params=dict(state.params),
                          time_scale=SPEED)
        ctx2.facts.update(state.facts)
        await Runner(runbook, ctx2, resume=state).run()
        ctx2.journal.close()
        assert _policy(cluster) == "Fail"
    finally:
        await backend.close()
    assert len(_commands(read_journal(path), FAIL)) == 1


# --- RST-25 warns about a webhook RST-15 left at Ignore ---------------------------------------

async def test_the_end_warns_loudly_when_a_webhook_is_still_ignore(tmp_path):
    config = {"metadata": {"name": "policy-guard"},
              "webhooks": [_hook("policy-guard.example.com", policy="Ignore")]}
    ops = Ops({GUARD_HOOK: config, "/api/v1/persistentvolumes": {"items": []},
               "/apis/operator.openshift.io/v1/etcds/cluster": {"spec": {}}})
    op = Operator()
    ctx = context(tmp_path, Fleet(["master-0"]), ops=ops, operator=op)
    ctx.facts[WEBHOOK_FACT] = [RiskyWebhook("validating", "policy-guard", 0,
                                            "policy-guard.example.com").fact()]
    await run_steps(ctx, "RST-25")
    warnings = [e.text for e in op.events if e.kind == "warning"]
    assert len(warnings) == 1 and "policy-guard" in warnings[0] and FAIL in warnings[0]
    assert [r for r in journal(ctx) if r.get("for_step") == "RST-15" and r.get("warning")]
    items = await aftercare(ctx)
    assert items[-1].key == "RST-15" and FAIL in items[-1].detail
    # set back (by hand): no warning any more
    config["webhooks"][0]["failurePolicy"] = "Fail"
    assert (await aftercare(ctx))[-1].key != "RST-15"


async def test_rst15_with_no_risky_webhook_asks_nothing_and_patches_nothing(tmp_path):
    backend, ctx, runbook, op = await _drill(tmp_path, Watcher, scenario="lost-two-hosts")
    try:
        await Runner(runbook, ctx).run()
    finally:
        ctx.journal.close()
        await backend.close()
    records = read_journal(tmp_path / "j.jsonl")
    assert not [r for r in op.requests if _about_webhooks(r)]
    assert not _commands(records, "webhookconfiguration", "started")
    assert not [r for r in records if WEBHOOK_FACT in (r.get("command") or "")]
