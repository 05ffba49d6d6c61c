"""The restore's preflight on the drill: what blocks the start, what only warns, overrides,
the version and its source, the recovery host."""

from __future__ import annotations

import json

import pytest

from tui.backend import Backend, BackendSpec
from tui.fleet.fleet import HostState
from tui.journal import Journal, read_journal
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.restore import (QUORUM_RESTORE, RESTORE, detect_version, preflight_report,
                                  restore_runbook)
from tui.runbooks.runner import Refused, Runner

DIR = "/home/core/assets/backup"
ROLLBACK = """
name: rollback-4.12
description: all hosts up, a backup on master-0
version: "4.12.30"
control_plane: 3
workers: 0
etcd: {version: "3.5.6", leader: master-1, db_size_mb: 148, in_use_mb: 126}
api: {reachable: true, network_type: OVNKubernetes, platform: AWS, machines: true}
backup: {host: master-0, dir: /home/core/assets/backup, taken_minutes_ago: 90}
"""


class Operator:
    def __init__(self):
        self.events = []

    async def confirm(self, request):
        return True

    async def on_failure(self, step, error):
        return Decision("abort")

    def show(self, event):
        self.events.append(event)


@pytest.fixture
async def drill(tmp_path):
    backends = []

    async def start(scenario):
        if scenario.startswith("\n"):
            path = tmp_path / f"s{len(backends)}.yaml"
            path.write_text(scenario)
            scenario = str(path)
        backend = Backend(BackendSpec(scenario=scenario))
        await backend.start()
        backends.append(backend)
        return backend

    yield start
    for b in backends:
        await b.close()


def ctx_for(backend, tmp_path, **params):
    return RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "restore"),
                      operator=Operator(), params={"backup_dir": DIR, **params})


def items(report):
    return {i.key: i for i in report.items}


def backup_files(host):
    return sorted(p for p in host.files if p.startswith(DIR + "/"))


async def test_lost_hosts_only_warn_and_the_survivor_is_recommended(drill, tmp_path):
    backend = await drill("lost-two-hosts")
    # refused for a moment is not lost (issue 12): the preflight blocks and says to wait
    report = await preflight_report(ctx_for(backend, tmp_path))
    assert report.lost_hosts == [] and not items(report)["ssh"].ok
    assert "connection refused" in items(report)["ssh"].detail and report.lost_wait > 0
    # refused on every attempt for longer than the threshold: lost, on that evidence
    for name in ("master-1", "master-2"):
        backend.fleet.status[name].lost_signal_since -= 61
    report = await preflight_report(ctx_for(backend, tmp_path))
    assert report.green, [i for i in report.blocking_failures]
    assert "connection refused on every SSH connection" in report.lost_evidence["master-1"]
    assert report.recovery_host == "master-0" and report.lost_hosts == ["master-1", "master-2"]
    assert not items(report)["lost"].ok and not items(report)["lost"].blocking
    assert report.path.key == "4.12-4.13"
    assert (report.version, report.version_source) == ("4.12.30",
                                                       "the inventory's cluster.version")
    assert "raft index" in ", ".join(report.candidates[0].reasons)


@pytest.mark.parametrize("extra, needle", [
    ({"snapshot_2026-11-28_084040.db": b"x", "static_kuberesources_2026-11-28_084040.tar.gz":
      b"x"}, "leave exactly one backup there"),
    ({"mismatch": None}, "different backups"),
])
async def test_a_backup_directory_the_script_could_misread_blocks(drill, tmp_path, extra, needle):
    backend = await drill("lost-two-hosts")
    host = backend.lab.cluster.host("master-0")
    if "mismatch" in extra:
        tarball = next(p for p in backup_files(host) if "static_kuberesources" in p)
        host.files[DIR + "/static_kuberesources_2026-11-28_090000.tar.gz"] = host.files.pop(tarball)
    else:
        for name, content in extra.items():
            host.files[f"{DIR}/{name}"] = content
    ctx = ctx_for(backend, tmp_path)
    report = await preflight_report(ctx)
    backup = items(report)["backup"]
    assert not backup.ok and backup.blocking and needle in backup.detail
    with pytest.raises(Refused, match=needle):
        await Runner(restore_runbook("4.12-4.13"), ctx).preflight()


async def test_a_manifest_from_another_z_stream_blocks_and_an_override_is_journaled(drill,
                                                                                    tmp_path):
    backend = await drill("lost-two-hosts")
    host = backend.lab.cluster.host("master-0")
    ts = next(p for p in backup_files(host) if "snapshot_" in p).split("snapshot_")[1][:-3]
    host.files[f"{DIR}/etcd-dr-manifest_{ts}.json"] = json.dumps(
        {"version": "4.12.29", "encryption": "identity"}).encode()
    ctx = ctx_for(backend, tmp_path)
    assert await detect_version(ctx) == ("4.12.29", "the backup manifest")
    report = await preflight_report(ctx)
    zstream = items(report)["zstream"]
    assert not zstream.ok and zstream.blocking and "4.12.29" in zstream.detail
    with pytest.raises(Refused, match="same z-stream"):
        await Runner(restore_runbook("4.12-4.13"), ctx).preflight()
    # with a typed reason the run may start; the reason is journaled
    # (the refusing hosts are confirmed lost: else the run waits until they are lost on
    # their refusals alone, a minute at this speed)
    ctx = ctx_for(backend, tmp_path, override="the backup is from the hotfix build we run",
                  confirmed_lost={"master-1": "gone", "master-2": "gone"})
    runner = Runner(restore_runbook("4.12-4.13"), ctx)
    await runner.preflight()
    runner._journal("-", "planned", params=ctx.params)
    if ctx.params.get("override"):
        runner._journal("-", "override", reason=ctx.params["override"])
    records = read_journal(tmp_path / "j.jsonl")
    assert any(r["event"] == "override" and "hotfix" in r["reason"] for r in records)


async def test_a_host_that_answers_but_refuses_ssh_blocks(drill, tmp_path):
    backend = await drill(ROLLBACK)
    backend.fleet._set_state("master-2", HostState.AUTH_FAILED, "Permission denied (publickey)")
    report = await preflight_report(ctx_for(backend, tmp_path))
    ssh = items(report)["ssh"]
    assert not ssh.ok and ssh.blocking and "master-2: auth-failed" in ssh.detail


async def test_with_the_api_up_the_version_is_clusterversions_and_the_backup_host_ranks_first(
        drill, tmp_path):
    backend = await drill(ROLLBACK)
    ctx = ctx_for(backend, tmp_path)
    version, source = await detect_version(ctx)
    assert source == "the API's ClusterVersion" and version == "4.12.30"
    report = await preflight_report(ctx)
    assert report.recovery_host == "master-0"  # holds the backup, though not the highest index
    assert "holds the backup" in ", ".join(report.candidates[0].reasons)
    assert report.api_reachable and report.green


async def test_quorum_restore_refuses_before_4_18_even_with_an_override(drill, tmp_path):
    backend = await drill("lost-two-hosts")
    ctx = ctx_for(backend, tmp_path, override="I know")
    with pytest.raises(Refused, match="4.18 or later"):
        await Runner(QUORUM_RESTORE, ctx).preflight()


async def test_quorum_restore_insists_on_the_highest_raft_index(drill, tmp_path):
    backend = await drill("quorum-lost-4.18")
    # the two hosts that refuse SSH are lost on the operator's word (--lost)
    lost = {"master-1": "--lost", "master-2": "--lost"}
    ctx = ctx_for(backend, tmp_path, confirmed_lost=lost)
    report = await preflight_report(ctx, "quorum-restore")
    assert report.recovery_host == "master-0" and report.green
    assert report.lost_evidence["master-2"] == "confirmed lost by the operator: --lost"
    # a host with less data: blocked unless overridden
    backend.fleet._set_state("master-0", HostState.CONNECTED)
    ctx = ctx_for(backend, tmp_path, recovery_host="master-1")
    report = await preflight_report(ctx, "quorum-restore")
    assert not items(report)["recovery"].ok and items(report)["recovery"].blocking


async def test_an_unknown_version_needs_the_operator_to_choose(drill, tmp_path):
    backend = await drill("lost-two-hosts")
    object.__setattr__(backend.inventory, "cluster_version", None)
    ctx = ctx_for(backend, tmp_path)
    with pytest.raises(Refused, match="--path"):
        await RESTORE.resolve(ctx)
    ctx = ctx_for(backend, tmp_path, path="4.12-4.13", path_reason="the runbook on the wall")
    runbook = await RESTORE.resolve(ctx)
    assert runbook.path_key == "4.12-4.13"


async def test_the_slow_read_of_a_cluster_without_quorum_is_announced_before_it(drill, tmp_path,
                                                                              monkeypatch):
    backend = await drill("quorum-lost-4.18")
    ctx = ctx_for(backend, tmp_path)
    seen_before_collect = []
    collect = backend.collector.collect

    async def watched_collect(*args, **kwargs):
        seen_before_collect.extend((e.kind, e.text) for e in ctx.operator.events)
        return await collect(*args, **kwargs)

    monkeypatch.setattr(backend.collector, "collect", watched_collect)
    await preflight_report(ctx, "quorum-restore")
    assert ("note", "reading the cluster (etcd without quorum answers slowly)...") in \
        seen_before_collect


async def test_rst03_copies_a_backup_from_another_cluster_host_and_checks_it(drill, tmp_path):
    from tui.runbooks.model import Runbook

    backend = await drill("healthy")
    cluster = backend.lab.cluster
    source, target = cluster.host("master-1"), cluster.host("master-0")
    ts = "2026-11-20_101010"
    files = {f"snapshot_{ts}.db": b"etcd snapshot stand-in\n" * 50,
             f"static_kuberesources_{ts}.tar.gz": b"static resources stand-in\n" * 20}
    for name, content in files.items():
        source.files[f"/home/core/elsewhere/{name}"] = content
    restored = "/home/core/assets/restored"
    ctx = ctx_for(backend, tmp_path, recovery_host="master-0", backup_dir=restored,
                  backup_source="master-1:/home/core/elsewhere", lost_hosts=[],
                  path="4.12-4.13")
    step = restore_runbook("4.12-4.13").step("RST-03")
    await Runner(Runbook(name="restore", title="t", steps=(step,)), ctx).run()
    for name, content in files.items():
        assert target.files[f"{restored}/{name}"] == content
    records = read_journal(tmp_path / "j.jsonl")
    done = [r for r in records if r["step"] == "RST-03" and r["event"] == "finished"
            and "detail" in r]
    assert any("copied 2 file(s)" in e.text and "sha256 verified on both hosts" in e.text
               for e in ctx.operator.events)
    assert any("snapshot_2026-11-20_101010.db and static_kuberesources" in r["detail"]
               for r in done)  # the check on the recovery host holds afterwards
    sums = [r for r in records if "sha256sum" in (r.get("command") or "")
            and r["event"] == "finished"]
    assert {tuple(r["hosts"]) for r in sums} == {("master-0",), ("master-1",)}


# --- 4.18+: stopped members, learners, two-node with fencing -----------------------------------

STOPPED_418 = """
name: stopped-4.18
description: 4.18, all hosts answer over SSH, etcd stopped on master-1 and master-2
version: "4.18.5"
control_plane: 3
workers: 0
etcd: {version: "3.5.16", leader: master-0}
members:
  master-0: {raft_index: 2000000}
  master-1: {raft_index: 2000100, running: false}
  master-2: {raft_index: 1999000, running: false}
api: {reachable: false, network_type: OVNKubernetes, platform: AWS, machines: true}
"""

LEARNER_418 = """
name: learner-4.18
description: 4.18, master-0 is a learner with the highest index
version: "4.18.5"
control_plane: 3
workers: 0
etcd: {version: "3.5.16", leader: master-1}
members:
  master-0: {raft_index: 9000000, is_learner: true}
  master-1: {raft_index: 2000000}
  master-2: {raft_index: 1999000}
api: {reachable: false, network_type: OVNKubernetes, platform: AWS, machines: true}
"""


def revision_json(max_raft_index: int) -> bytes:
    # clusterId as OpenShift writes it: a JSON number, uint64 (here above 2**63)
    return (b'{"clusterId":17293822569102704642,"raftIndex":{},"maxRaftIndex":%d,'
            b'"created":"2026-12-01T02:59:00Z"}\n' % max_raft_index)


async def test_quorum_restore_ranks_stopped_members_by_revision_json(drill, tmp_path):
    backend = await drill(STOPPED_418)
    cluster = backend.lab.cluster
    cluster.host("master-1").files["/var/lib/etcd/revision.json"] = revision_json(2000100)
    cluster.host("master-2").files["/var/lib/etcd/revision.json"] = revision_json(1999000)
    report = await preflight_report(ctx_for(backend, tmp_path), "quorum-restore")
    assert [c.host for c in report.candidates] == ["master-1", "master-0", "master-2"]
    assert report.recovery_host == "master-1"
    reasons = {c.host: " ".join(c.reasons) for c in report.candidates}
    assert "raft index 2000100: maxRaftIndex in /var/lib/etcd/revision.json" in reasons["master-1"]
    assert "raft index 2000000 (etcdctl endpoint status)" in reasons["master-0"]
    # the operator's choice of the answering member, which has less data, is refused
    report = await preflight_report(ctx_for(backend, tmp_path, recovery_host="master-0"),
                                    "quorum-restore")
    recovery = items(report)["recovery"]
    assert not recovery.ok and recovery.blocking and "master-1" in recovery.detail


async def test_a_stopped_member_without_revision_json_says_why(drill, tmp_path):
    backend = await drill(STOPPED_418)
    for name in ("master-1", "master-2"):
        backend.lab.cluster.host(name).files.pop("/var/lib/etcd/revision.json", None)
    report = await preflight_report(ctx_for(backend, tmp_path), "quorum-restore")
    assert report.recovery_host == "master-0"
    reasons = {c.host: " ".join(c.reasons) for c in report.candidates}
    assert "no /var/lib/etcd/revision.json (OpenShift writes it from 4.18 on)" in \
        reasons["master-1"]


async def test_a_learner_is_never_proposed_and_refused_when_chosen(drill, tmp_path):
    backend = await drill(LEARNER_418)
    report = await preflight_report(ctx_for(backend, tmp_path), "quorum-restore")
    assert report.recovery_host == "master-1"
    assert report.candidates[-1].host == "master-0" and not report.candidates[-1].eligible
    ctx = ctx_for(backend, tmp_path, recovery_host="master-0", override="I know better")
    report = await preflight_report(ctx, "quorum-restore")
    recovery = items(report)["recovery"]
    assert not recovery.ok and not recovery.overridable and "learner" in recovery.detail
    with pytest.raises(Refused, match="learner"):
        await Runner(QUORUM_RESTORE, ctx).preflight()


FENCING_DOC_TITLE = '"Installing a Two Node OpenShift Cluster"'


@pytest.mark.parametrize("procedure", ["restore", "quorum-restore"])
async def test_two_node_with_fencing_is_refused_with_the_docs_name(drill, tmp_path, procedure):
    backend = await drill("two-node-fencing-4.22")
    ctx = ctx_for(backend, tmp_path, override="we need it back now")
    report = await preflight_report(ctx, procedure)
    topology = items(report)["topology"]
    assert not topology.ok and topology.blocking and not topology.overridable
    assert "master-0 has Pacemaker's /usr/sbin/pcs" in topology.detail
    assert FENCING_DOC_TITLE in topology.detail and "Two-node with Fencing" in topology.detail
    # nothing concludes "etcd stopped" from the static-pod view of a Pacemaker host
    assert not any("revision.json" in r for c in report.candidates for r in c.reasons)
    runbook = QUORUM_RESTORE if procedure == "quorum-restore" else restore_runbook("4.18+")
    with pytest.raises(Refused, match="two-node OpenShift cluster with fencing"):
        await Runner(runbook, ctx).preflight()


async def test_fencing_is_detected_from_the_api_alone(drill, tmp_path, monkeypatch):
    backend = await drill(ROLLBACK)
    ctx = ctx_for(backend, tmp_path)
    real_get = ctx.api.get_json

    async def get_json(path, query=None):
        obj = await real_get(path, query)
        if path.endswith("/infrastructures/cluster"):
            obj = {**obj, "status": {**obj["status"], "controlPlaneTopology": "DualReplica"}}
        return obj

    monkeypatch.setattr(ctx.api, "get_json", get_json)
    topology = items(await preflight_report(ctx))["topology"]
    assert not topology.ok and "controlPlaneTopology is DualReplica" in topology.detail


async def test_fencing_is_detected_from_a_host_alone(drill, tmp_path):
    backend = await drill(STOPPED_418)  # API down: only the hosts can tell
    backend.lab.cluster.host("master-2").files["/usr/sbin/pcs"] = b"pcs\n"
    topology = items(await preflight_report(ctx_for(backend, tmp_path), "quorum-restore"))[
        "topology"]
    assert not topology.ok and "master-2 has Pacemaker's /usr/sbin/pcs" in topology.detail


async def test_a_three_node_cluster_has_no_topology_item(drill, tmp_path):
    backend = await drill(ROLLBACK)
    report = await preflight_report(ctx_for(backend, tmp_path))
    assert "topology" not in items(report) and report.green


def test_the_fencing_probes_are_allowed_in_read_only_mode():
    from tui.fleet.readonly import refusal
    from tui.runbooks.restore.common import priv
    from tui.fleet.commands import Command

    for command in (priv("test", "-e", "/usr/sbin/pcs"),
                    Command.of("systemctl", "is-active", "pacemaker"),
                    priv("cat", "/var/lib/etcd/revision.json")):
        assert refusal(command) is None, command


# --- one recovery-host choice for both front ends (issue #14 item 3) --------------------------

def _restore_scenarios() -> list[str]:
    from tui.drill.scenario import list_scenarios
    from tui.drill.scenario import load_drill

    return [s.name for s in list_scenarios()
            if (d := load_drill(s.name)) is not None and d.runbook == "restore"]


@pytest.mark.parametrize("name", _restore_scenarios())
async def test_the_wizard_and_run_restore_choose_the_same_recovery_host(drill, tmp_path, name):
    """`run restore` names no host; the wizard names the raft-index favourite (and its own
    directory as the source) before its first check, then follows the report's best
    candidate. Both must come to the same host: the one holding the backup first."""
    from tui.runbooks.restore_checks import rank_recovery_hosts

    backend = await drill(name)
    await backend.collector.collect()
    headless = await preflight_report(ctx_for(backend, tmp_path))
    first = rank_recovery_hosts(backend.collector.last)[0].host
    wizard = await preflight_report(ctx_for(backend, tmp_path, recovery_host=first,
                                            backup_source=f"{first}:{DIR}"))
    assert wizard.candidates[0].host == headless.recovery_host, (
        [(c.host, c.reasons) for c in wizard.candidates], headless.recovery_host)
    holders = [c.host for c in headless.candidates
               if any("holds the backup" in r for r in c.reasons)]
    if holders:  # the host that holds the backup and answers comes first
        assert headless.recovery_host == holders[0]
