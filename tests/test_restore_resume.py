"""A restore killed at a step resumes from its journal on the same (drill) cluster: the
step under way re-checks before acting, nothing is done twice that must not be."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from tui.backend import Backend, BackendSpec
from tui.journal import Journal, JournalState, read_journal
from tui.runbooks import registry, resolve_runbook
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.restore import QUORUM_RESTORE, restore_runbook
from tui.runbooks.runner import Runner

SPEED = 300.0
ROLLBACK = """
name: rollback-4.12
description: all hosts up, a worker, a backup on master-0
version: "4.12.30"
control_plane: 3
workers: 1
etcd: {version: "3.5.6", leader: master-1, db_size_mb: 148, in_use_mb: 126}
api: {reachable: true, network_type: OVNKubernetes, platform: AWS, machines: true}
backup: {host: master-0, dir: /home/core/assets/backup, taken_minutes_ago: 90}
restore: {kubelet_certs_rotated: true}
"""


class Operator:
    def __init__(self):
        self.requests = []

    async def confirm(self, request):
        self.requests.append(request)
        return True

    async def on_failure(self, step, error):
        return Decision("abort")

    def show(self, event):
        pass


def commands(records, text, event="finished"):
    return [r for r in records if text in (r.get("command") or "") and r["event"] == event]


LIVE: dict = {}


async def kill_then_resume(tmp_path, scenario, name, kill, **params):
    if scenario.startswith("\n"):
        (tmp_path / "s.yaml").write_text(scenario)
        scenario = str(tmp_path / "s.yaml")
    backend = Backend(BackendSpec(scenario=scenario, speed=SPEED))
    await backend.start()
    LIVE["backend"] = backend  # for kill points that look at the drill's hosts
    path = tmp_path / "j.jsonl"
    try:
        ctx = RunContext(backend=backend, journal=Journal(path, name), operator=Operator(),
                         params={"backup_dir": "/home/core/assets/backup", **params},
                         time_scale=SPEED)
        runbook = await resolve_runbook(registry()[name], ctx)
        task = asyncio.ensure_future(Runner(runbook, ctx).run())
        killed = False
        while not task.done():
            if kill(read_journal(path)):
                killed = True
                break
            await asyncio.sleep(0.005)
        # Python 3.11's asyncio.wait_for can swallow a cancel that lands as its inner call
        # completes: cancel until the run has really stopped, as a kill would stop it
        while not task.done():
            task.cancel()
            await asyncio.sleep(0.001)
        with suppress(asyncio.CancelledError):
            await task
        ctx.journal.close()
        assert killed, "the run ended before the kill point"
        state = JournalState.from_records(read_journal(path))
        assert not state.finished
        operator = Operator()
        ctx2 = RunContext(backend=backend, journal=Journal(path, name), operator=operator,
                          params=dict(state.params), time_scale=SPEED)
        ctx2.facts.update(state.facts)
        again = QUORUM_RESTORE if name == "quorum-restore" else \
            restore_runbook(state.params["path"])
        await Runner(again, ctx2, resume=state).run()
        ctx2.journal.close()
        records = read_journal(path)
        assert records[-1]["step"] == "-" and records[-1]["event"] == "finished"
        assert any(r["event"] == "resumed" for r in records)
        return records, state, operator
    finally:
        await backend.close()


async def test_killed_mid_rst04_resumes_without_touching_the_recovery_host(tmp_path):
    def kill(records):
        return len(commands(records, "mv -v /etc/kubernetes/manifests/etcd-pod.yaml")) >= 1

    records, state, _ = await kill_then_resume(tmp_path, ROLLBACK, "restore", kill,
                                               recovery_host="master-0")
    assert state.in_flight == "RST-04"
    moves = commands(records, "mv -v")
    assert not [r for r in moves if r["hosts"] == ["master-0"]]
    for host in ("master-1", "master-2"):
        sent = [r["command"] for r in moves if r["hosts"] == [host]]
        assert len(sent) == len(set(sent)) == 3  # each move once, none repeated on resume


async def test_killed_mid_rst08_does_not_run_the_restore_script_again_unasked(tmp_path):
    def kill(records):
        return bool(commands(records, "cluster-restore.sh", event="started"))

    records, state, operator = await kill_then_resume(tmp_path, "lost-two-hosts", "restore",
                                                      kill)
    assert state.in_flight == "RST-08"
    sent = {r["attempt"] for r in commands(records, "cluster-restore.sh", event="started")}
    # an attempt is sent again only when the host's record shows it never started there
    never = {r["attempt"] for r in records if r.get("attempt") and
             "never started there" in (r.get("error") or "")}
    assert len(sent - never) == 1
    ended = [r for r in records if r.get("attempt") in sent - never and
             r["event"] == "finished" and r["exit_status"] == 0]
    assert ended and not [r for r in records if r["event"] == "confirmed"
                          and r.get("kind") == "assume-not-done"]


async def test_killed_mid_rst16_never_deletes_a_replacement(tmp_path):
    def kill(records):
        return len(commands(records, "oc delete machine")) >= 1

    records, state, _ = await kill_then_resume(tmp_path, "lost-two-hosts", "restore", kill)
    assert state.in_flight == "RST-16"
    deleted = [r["command"].rsplit(" ", 1)[1] for r in commands(records, "oc delete machine")]
    assert len(deleted) == len(set(deleted)) == 2
    assert all(d.endswith(("master-1", "master-2")) for d in deleted)


async def test_killed_mid_rst23_does_not_start_a_rollout_twice(tmp_path):
    def kill(records):
        return bool(commands(records, "oc patch kubeapiserver/cluster"))

    records, state, _ = await kill_then_resume(tmp_path, "lost-two-hosts", "restore", kill)
    assert state.in_flight == "RST-23"
    for resource in ("kubeapiserver", "kubecontrollermanager", "kubescheduler"):
        assert len(commands(records, f"oc patch {resource}/cluster")) == 1


async def test_killed_mid_qrs04_quorum_restore_resumes(tmp_path):
    def kill(records):
        return len(commands(records, "oc delete machine")) >= 1

    records, state, _ = await kill_then_resume(tmp_path, "quorum-lost-4.18", "quorum-restore",
                                               kill)
    assert state.in_flight == "QRS-04"
    assert len(commands(records, "quorum-restore.sh", event="started")) == 1
    deleted = [r["command"] for r in commands(records, "oc delete machine")]
    assert len(deleted) == len(set(deleted)) == 2


async def test_killed_while_the_4_18_restore_script_runs_waits_for_it_and_never_reruns(tmp_path):
    """Killed a moment after cluster-restore.sh was sent (it runs on the drill host, which
    keeps running it under the attempt record): the resume reads the host's record, waits
    for its end, and records it done; the script ran once."""
    def kill(records):
        # the moment the host has begun the attempt (its .start file is there), not a fixed
        # delay after the journal line: on a busy machine the script could end first
        sent = commands(records, "cluster-restore.sh", event="started")
        if not sent:
            return False
        host = LIVE["backend"].lab.cluster.host(sent[0]["hosts"][0])
        return any(p.endswith(f"/{sent[0]['attempt']}.start") for p in host.files)

    records, state, operator = await kill_then_resume(tmp_path, "lost-two-hosts-4.18",
                                                      "restore", kill)
    assert state.in_flight == "RSTN-04"
    sent = [r for r in commands(records, "cluster-restore.sh", event="started")]
    assert len(sent) == 1, sent  # never sent again
    [attempt] = {r["attempt"] for r in sent}
    ends = [r for r in records if r.get("attempt") == attempt and r["event"] == "finished"]
    assert ends and ends[-1]["exit_status"] == 0
    assert ends[-1].get("evidence") == "attempt record"  # the host said so, not the journal
    assert not [r for r in records if r["event"] in ("override", "confirmed")
                and r.get("kind") == "assume-not-done"]
