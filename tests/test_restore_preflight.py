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
    report = await preflight_report(ctx_for(backend, tmp_path))
    assert report.green, [i for i in report.blocking_failures]
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
    ctx = ctx_for(backend, tmp_path, override="the backup is from the hotfix build we run")
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
    ctx = ctx_for(backend, tmp_path)
    report = await preflight_report(ctx, "quorum-restore")
    assert report.recovery_host == "master-0" and report.green
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
