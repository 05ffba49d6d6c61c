"""Live fault injection (issue #7): each action as the console sees it, the scenario fault
schedule, and `etcd-dr lab inject` / typed keys against a `lab serve` subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import signal
import stat
import subprocess
import sys
import time

import pytest

from tests.cli_runner import run_cli
from tui.backend import Backend, BackendSpec
from tui.drill import inject, kubelet
from tui.drill.control import control_path
from tui.drill.inject import FaultSchedule, InjectError, apply
from tui.errors import ConfigError
from tui.fleet.commands import Command
from tui.journal import Journal, read_journal

GIB = 1024 ** 3


# --- each action, in-process: what the status collector (the console) shows -------------

@pytest.fixture
async def drill(tmp_path):
    backend = Backend(BackendSpec(scenario="healthy", frozen_clock=True))
    await backend.start(wait=True)
    try:
        yield backend
    finally:
        await backend.close()


async def collect(backend):
    return (await backend.collector.collect()).to_json()


def ssh_state(snap, name):
    return next(h["ssh"]["state"] for h in snap["hosts"] if h["name"] == name)


GONE = ("disconnected", "unreachable")  # the session dropped / a reconnect was refused


def alarms_of(snap):
    names = {m["member_id"]: m["name"] for m in snap["members"]}
    return sorted((names.get(a["member_id"], a["member_id"]), a["alarm"]) for a in snap["alarms"])


async def until(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_drop_host_and_restore_host(drill):
    lab = drill.lab
    text = apply(lab.cluster, lab, "drop-host", host="master-1")
    assert text.startswith("master-1 is down")
    await until(lambda: _async(not lab.servers["master-1"].listening), what="SSH to stop")
    snap = await collect(drill)
    assert ssh_state(snap, "master-1") in GONE
    assert ssh_state(snap, "master-0") == "connected"
    assert apply(lab.cluster, lab, "drop-host", host="master-1") == "master-1 is already down"

    assert "is back" in apply(lab.cluster, lab, "restore-host", host="master-1")
    await until(lambda: _async(lab.servers["master-1"].listening), what="SSH to listen")

    async def connected():
        drill.fleet.retry_now("master-1")
        return ssh_state(await collect(drill), "master-1") == "connected"

    await until(connected, what="master-1 connected again")


async def _async(value):
    return value


async def test_fill_db_raises_nospace_at_the_quota(drill):
    lab = drill.lab
    text = apply(lab.cluster, lab, "fill-db", host="master-2")
    assert "NOSPACE raised" in text
    snap = await collect(drill)
    member = next(m for m in snap["members"] if m["name"] == "master-2")
    assert member["db_size"] >= lab.cluster.etcd.quota_backend_bytes == 8 * GIB
    assert alarms_of(snap) == [("master-2", "NOSPACE")]


async def test_alarm_and_disarm(drill):
    lab = drill.lab
    apply(lab.cluster, lab, "alarm", host="master-0", alarm="CORRUPT")
    apply(lab.cluster, lab, "alarm", host="master-1", alarm="nospace")
    assert alarms_of(await collect(drill)) == [("master-0", "CORRUPT"), ("master-1", "NOSPACE")]
    text = apply(lab.cluster, lab, "disarm")
    assert text == "disarmed CORRUPT on master-0, NOSPACE on master-1"
    assert alarms_of(await collect(drill)) == []
    assert apply(lab.cluster, lab, "disarm") == "no alarm was raised"


async def test_a_stalled_static_pod_neither_stops_nor_starts_until_released(drill):
    lab, cluster = drill.lab, drill.lab.cluster
    host = cluster.host("master-1")
    apply(cluster, lab, "stall-pod", host="master-1", manifest="etcd")
    # RST-04's move of the manifest: kubelet would stop etcd within 5 s; stuck, it does not
    result = await drill.fleet.run_one("master-1", Command.of(
        "mv", "/etc/kubernetes/manifests/etcd-pod.yaml", "/home/core/", privileged=True))
    assert result.ok, result.stderr

    async def etcd_containers():
        r = await drill.fleet.run_one("master-1", Command.of(
            "crictl", "ps", "--name", "^etcd$", "-q", privileged=True))
        return r.stdout.split()

    cluster.clock.advance(120)
    kubelet.sync_cluster(cluster)
    assert len(await etcd_containers()) == 1
    assert cluster.member_of(host).running

    text = apply(cluster, lab, "release-pod", host="master-1", manifest="etcd-pod.yaml")
    assert "gets on with etcd-pod.yaml" in text
    kubelet.sync_cluster(cluster)  # noticed now; its 5 s count from the release
    assert len(await etcd_containers()) == 1
    cluster.clock.advance(kubelet.STOP_DELAY + 1)
    assert await etcd_containers() == []
    assert not cluster.member_of(host).running
    snap = await collect(drill)
    assert next(m for m in snap["members"] if m["name"] == "master-1")["errors"]


async def test_drop_ssh_refuses_connections_for_a_while_and_keeps_etcd_running(drill):
    lab, cluster = drill.lab, drill.lab.cluster
    text = apply(cluster, lab, "drop-ssh", host="master-2", seconds=60)
    assert "refused for 60 s of drill time" in text
    # at once: the very next command over the open session fails
    result = await drill.fleet.run_one("master-2", Command.of("hostname"))
    assert not result.ok
    await until(lambda: _async(not lab.servers["master-2"].listening), what="SSH to stop")
    snap = await collect(drill)
    assert ssh_state(snap, "master-2") in GONE
    # the machine is up: its member still answers the others (etcdctl over master-0)
    assert next(m for m in snap["members"] if m["name"] == "master-2")["errors"] == []
    assert "SSH refused for 60 more s" in apply(cluster, lab, "list")

    cluster.clock.advance(61)
    await until(lambda: _async(lab.servers["master-2"].listening), what="SSH back")
    assert lab.ssh_blocked == {}

    async def connected():
        drill.fleet.retry_now("master-2")
        return ssh_state(await collect(drill), "master-2") == "connected"

    await until(connected, what="master-2 connected again")


@pytest.mark.parametrize("words, message", [
    (["frob"], "unknown action 'frob'"),
    (["drop"], "drop-host takes 1 or 2 argument(s), 0 given"),
    (["alarm", "master-0"], "alarm takes 2 argument(s), 1 given"),
    (["drop", "master-9"], "no host 'master-9' in this drill"),
    (["alarm", "master-0", "full"], "unknown alarm 'FULL'"),
    (["ssh", "master-0", "soon"], "'soon' is not a number of seconds"),
    (["stall", "master-0", "nginx"], "no static pod 'nginx'"),
])
def test_bad_injections_say_what_is_wrong(words, message):
    from tui.drill.scenario import build_cluster

    cluster = build_cluster("healthy")
    with pytest.raises(InjectError) as e:
        inject.execute(cluster, None, words)
    assert message in e.value.message


async def test_a_fault_for_a_while_undoes_itself_on_the_drill_clock(drill):
    lab, cluster = drill.lab, drill.lab.cluster
    text = inject.execute(cluster, lab, ["drop", "master-1", "90"])
    assert "back after 90 s of drill time" in text
    # a scenario's names for the arguments: member, pod, for_seconds; alarm's default
    apply(cluster, lab, "stall-pod", host="master-2", pod="kube-apiserver", for_seconds=30)
    apply(cluster, lab, "alarm", member="master-0")
    assert cluster.etcd.alarms == [(cluster.etcd.member_by_name("master-0").member_id,
                                    "NOSPACE")]
    assert cluster.host("master-2").stalled_pods == {"kube-apiserver-pod.yaml"}
    cluster.clock.advance(31)
    await until(lambda: _async(not cluster.host("master-2").stalled_pods), what="release")
    assert not cluster.host("master-1").up
    cluster.clock.advance(60)
    await until(lambda: _async(cluster.host("master-1").up), what="master-1 back")
    await until(lambda: _async(lab.servers["master-1"].listening), what="SSH to listen")
    assert cluster.member_of(cluster.host("master-1")).running


def test_drop_ssh_needs_the_lab():
    from tui.drill.scenario import build_cluster

    with pytest.raises(InjectError, match="needs the lab"):
        apply(build_cluster("healthy"), None, "drop-ssh", host="master-0", seconds=5)


# --- FaultSchedule: a scenario's faults on journal events and drill time ------------------

async def test_a_fault_fires_when_its_step_starts_and_is_journaled(drill, tmp_path):
    lab, cluster = drill.lab, drill.lab.cluster
    seen = []
    schedule = FaultSchedule(cluster, lab, [
        {"at": {"step": "RST-08", "event": "started"}, "action": "drop-ssh", "host": "master-1",
         "for_seconds": 60},
        {"at": {"step": "RST-09", "event": "finished"}, "action": "alarm", "host": "master-0",
         "alarm": "NOSPACE"},
    ], on_fault=seen.append)
    schedule.start()
    try:
        path = tmp_path / "restore.jsonl"
        with Journal(path, "restore") as journal:
            journal.write("-", "planned", params={})
            journal.write("RST-07", "started", ["master-0"])
            journal.write("RST-08", "finished", ["master-0"])  # not the event asked for
            assert seen == [] and not lab.ssh_blocked
            journal.write("RST-08", "started", ["master-0"])
            assert [f["action"] for f in seen] == ["drop-ssh"]
            assert "master-1" in lab.ssh_blocked
            journal.write("RST-08", "finished", ["master-0"])
        records = read_journal(path)
    finally:
        schedule.stop()
    faults = [r for r in records if r["event"] == "fault"]
    assert len(faults) == 1
    fault = faults[0]
    assert fault["step"] == "-" and fault["action"] == "drop-ssh"
    assert fault["host"] == "master-1" and fault["hosts"] == ["master-1"]
    assert "SSH connections refused for 60 s" in fault["detail"]
    assert fault["trigger"] == {"step": "RST-08", "event": "started"} and fault["ok"]
    # right after the step's started line, before anything the step sends
    assert [r["event"] for r in records][records.index(fault) - 1] == "started"
    assert schedule.pending and schedule.pending[0]["at"]["step"] == "RST-09"
    # stopped: a later journal line fires nothing
    with Journal(path, "restore") as journal:
        journal.write("RST-09", "finished", ["master-0"])
    assert cluster.etcd.alarms == []


async def test_a_fault_fires_after_drill_seconds(drill, tmp_path):
    lab, cluster = drill.lab, drill.lab.cluster
    journal = Journal(tmp_path / "s.jsonl", "session")
    schedule = FaultSchedule(cluster, lab, [
        {"at": {"after_seconds": 300}, "action": "fill-db", "host": "master-0"}],
        journal=journal)
    schedule.start()
    try:
        await asyncio.sleep(0.2)
        assert schedule.fired == [] and cluster.etcd.alarms == []
        cluster.clock.advance(301)
        await until(lambda: _async(bool(schedule.fired)), what="the timed fault")
    finally:
        schedule.stop()
        journal.close()
    assert schedule.fired[0]["ok"] and schedule.fired[0]["action"] == "fill-db"
    assert alarms_of(await collect(drill)) == [("master-0", "NOSPACE")]
    (line,) = read_journal(tmp_path / "s.jsonl")
    assert line["event"] == "fault" and line["host"] == "master-0"


async def test_scenario_style_faults_fire_on_a_failed_step_with_their_own_key_names(drill):
    lab, cluster = drill.lab, drill.lab.cluster
    schedule = FaultSchedule(cluster, lab, [
        {"at": {"step": "DEF-MAN-2", "event": "failed"}, "action": "fill-db",
         "member": "master-1"},
        {"at": {"step": "DEF-MAN-2", "event": "failed"}, "action": "alarm",
         "member": "master-2"},
        {"at": {"step": "DEF-MAN-3", "event": "started"}, "action": "drop-ssh",
         "host": "master-2", "for_seconds": 5}])
    schedule.on_record({"step": "DEF-MAN-2", "event": "failed", "runbook": "defrag"})
    assert [f["action"] for f in schedule.fired] == ["fill-db", "alarm"]
    assert all(f["ok"] for f in schedule.fired)
    assert alarms_of(await collect(drill)) == [("master-1", "NOSPACE"), ("master-2", "NOSPACE")]
    # a per-command line of the step is not the step's own event
    schedule.on_record({"step": "DEF-MAN-3", "event": "started", "command": "etcdctl ..."})
    assert len(schedule.fired) == 2


def test_a_fault_schedule_with_a_bad_entry_is_refused_naming_it():
    from tui.drill.scenario import build_cluster

    with pytest.raises(ConfigError) as e:
        FaultSchedule(build_cluster("healthy"), None, [
            {"at": {"step": "RST-08"}, "action": "drop-host", "host": "master-1"},
            {"at": {"when": 3}, "action": "explode"}])
    assert "faults[1]" in e.value.message and "explode" in e.value.message
    assert "faults[0]" not in e.value.message


# --- lab serve + lab inject: a trainer's injection reaches `etcd-dr status` --------------

def etcd_dr(*args, timeout=60):
    proc = run_cli(*args, stdin=subprocess.DEVNULL, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def status(inventory):
    proc = etcd_dr("status", "--inventory", inventory, "--json")
    return json.loads(proc.stdout)


class Served:
    def __init__(self, proc, inventory, stderr_path, tty=None):
        self.proc, self.inventory, self.stderr_path, self.tty = proc, inventory, stderr_path, tty

    def stderr(self):
        return self.stderr_path.read_text()


def serve(tmp_path, *, tty=False, scenario="healthy"):
    inventory = tmp_path / "lab.yaml"
    err = tmp_path / "serve.err"
    master = None
    if tty:
        master, slave = pty.openpty()
        stdin = slave
    else:
        stdin = subprocess.DEVNULL
    with open(err, "w") as errf:
        proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "lab", "serve", "--scenario",
                                 scenario, "--inventory-out", str(inventory)],
                                stdin=stdin, stdout=subprocess.DEVNULL, stderr=errf)
    if tty:
        os.close(slave)
    deadline = time.monotonic() + 30
    control = control_path(inventory)
    while not (control.exists() and "Press Ctrl-C" in err.read_text()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"lab serve did not come up: {err.read_text()}")
        time.sleep(0.1)
    return Served(proc, inventory, err, master)


def stop(served):
    served.proc.send_signal(signal.SIGTERM)  # by its pid, nothing else
    try:
        served.proc.wait(timeout=20)
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
        if served.tty is not None:
            os.close(served.tty)


@pytest.fixture
def lab_serve(tmp_path):
    started = []

    def start(**kw):
        s = serve(tmp_path, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            stop(s)


def test_lab_inject_changes_what_status_shows(lab_serve):
    served = lab_serve()
    control = control_path(served.inventory)
    assert stat.S_IMODE(control.stat().st_mode) == 0o600
    assert json.loads(control.read_text())["address"].startswith("127.0.3.")
    before = status(served.inventory)
    assert before["healthy"] and ssh_state(before, "master-1") == "connected"

    proc = etcd_dr("lab", "inject", "--inventory", served.inventory, "drop-host", "master-1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("master-1 is down")
    proc = etcd_dr("lab", "inject", "--inventory", served.inventory, "fill-db", "master-0")
    assert proc.returncode == 0, proc.stderr

    after = status(served.inventory)  # the very next snapshot
    assert ssh_state(after, "master-1") == "unreachable"
    assert alarms_of(after) == [("master-0", "NOSPACE")]
    assert not after["healthy"]

    proc = etcd_dr("lab", "inject", "--inventory", served.inventory, "list")
    assert proc.returncode == 0
    assert "master-1: down" in proc.stdout and "master-0: db 8.0 GiB at the quota" in proc.stdout

    # refused injections: exit 2, one paragraph, nothing changed
    proc = etcd_dr("lab", "inject", "--inventory", served.inventory, "drop-host", "master-7")
    assert proc.returncode == 2 and "no host 'master-7'" in proc.stderr
    proc = etcd_dr("lab", "inject", "--inventory", served.inventory, "explode")
    assert proc.returncode == 2 and "unknown action 'explode'" in proc.stderr

    # lab serve printed every injection with its time, not the list query
    lines = [l for l in served.stderr().splitlines() if "lab inject:" in l]
    assert len(lines) == 3, lines
    assert lines[0].split()[0].count(":") == 2  # HH:MM:SS
    assert "drop-host master-1: master-1 is down" in lines[0]
    assert "NOT injected: no host 'master-7'" in lines[2]


def test_lab_inject_with_a_wrong_token_or_no_lab_is_refused(lab_serve, tmp_path):
    proc = etcd_dr("lab", "inject", "--inventory", tmp_path / "none.yaml", "list")
    assert proc.returncode == 2 and "no lab serves this inventory" in proc.stderr
    served = lab_serve()
    control = control_path(served.inventory)
    data = json.loads(control.read_text())
    data["token"] = "not-the-token"
    control.write_text(json.dumps(data))
    proc = etcd_dr("lab", "inject", "--inventory", served.inventory, "drop-host", "master-1")
    assert proc.returncode == 2 and "wrong token" in proc.stderr
    assert ssh_state(status(served.inventory), "master-1") == "connected"
    stop(served)
    assert not control.exists()  # the lab takes its control file with it


def test_keys_typed_in_the_lab_serve_terminal_inject(lab_serve):
    served = lab_serve(tty=True)
    assert "or type here" in served.stderr()
    os.write(served.tty, b"drop master-2\nalarm master-0 corrupt\nfrob\n")
    deadline = time.monotonic() + 15
    while served.stderr().count("keyboard:") < 3:
        assert time.monotonic() < deadline, served.stderr()
        time.sleep(0.1)
    snap = status(served.inventory)
    assert ssh_state(snap, "master-2") == "unreachable"
    assert alarms_of(snap) == [("master-0", "CORRUPT")]
    text = served.stderr()
    assert "keyboard: drop master-2: master-2 is down" in text
    assert "keyboard: frob: NOT injected: unknown action 'frob'" in text


# --- the console: an injection shows on the status screen within one refresh -------------

async def test_the_console_shows_an_injection_within_one_refresh(drill_app):
    from tests.conftest import populated, wait_until
    from tui.widgets.panel import InfoPanel

    refresh = 1.0
    app = drill_app("healthy", refresh_interval=refresh)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="status")
        alarms = app.screen.query_one("#alarms", InfoPanel)
        await wait_until(pilot, lambda: str(alarms.content) == "none", what="no alarms")
        lab = app.backend.lab
        apply(lab.cluster, lab, "alarm", host="master-2", alarm="CORRUPT")
        apply(lab.cluster, lab, "drop-host", host="master-1")
        t0 = time.monotonic()
        await wait_until(pilot, lambda: "CORRUPT on master-2" in str(alarms.content),
                         timeout=refresh + 5, what="the alarm on screen")
        await wait_until(pilot, lambda: next(h.state for h in app.snapshot.hosts
                                             if h.name == "master-1") in GONE,
                         timeout=refresh + 5, what="master-1 gone")
        # one refresh interval, plus the collection's own time
        assert time.monotonic() - t0 < refresh + 3
