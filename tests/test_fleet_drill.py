"""The fleet and the status collector against the drill's real SSH servers."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import drill_fleets

from tui.backend import Backend, BackendSpec
from tui.cluster.api import ClusterApi
from tui.fleet.commands import Command
from tui.inventory import load_inventory


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path) as start:
        yield start


async def test_commands_run_in_parallel_and_a_hung_host_is_cut_at_its_timeout(started):
    lab, fleet = await started()
    # master-1 "hangs": its command sleeps far beyond the timeout, the others answer at once
    cmds = {"master-0": Command.of("hostname"), "master-1": Command.of("sleep", "60"),
            "master-2": Command.of("hostname")}
    t0 = time.monotonic()
    results = await asyncio.gather(*(fleet.run_one(h, c, timeout=1.0) for h, c in cmds.items()))
    elapsed = time.monotonic() - t0
    by_host = {r.host: r for r in results}
    assert by_host["master-0"].ok and by_host["master-0"].stdout == "master-0\n"
    assert by_host["master-2"].ok
    assert by_host["master-1"].timed_out and "timed out after 1s" in by_host["master-1"].error
    assert elapsed < 3
    # the connection survives a timed-out command
    assert (await fleet.run_one("master-1", Command.of("true"))).ok


async def test_output_streams_line_by_line_to_listeners(started):
    lab, fleet = await started()
    seen = []
    fleet.subscribe(lambda e: seen.append(e))
    result = await fleet.run_one("master-0", Command.of("seq", "3"))
    lines = [l for e in seen if e.kind == "output" for l in e.lines]
    assert lines == ["1", "2", "3"] and result.stdout == "1\n2\n3\n"
    kinds = [e.kind for e in seen]
    assert kinds[0] == "command" and kinds[-1] == "result"


async def test_missing_nopasswd_rule_is_sudo_denied_not_a_generic_failure(started):
    lab, fleet = await started("""
name: nosudo
description: master-0 has no NOPASSWD sudo rule
control_plane: 3
etcd: {leader: master-1}
hosts:
  master-0: {sudo_nopasswd: false}
""")
    status = fleet.status["master-0"]
    assert status.state.value == "sudo-denied"
    assert "a password is required" in status.error
    assert fleet.status["master-1"].state.value == "connected"
    assert (await fleet.run_one("master-0", Command.of("hostname"))).ok  # unprivileged works
    r = await fleet.run_one("master-0", Command.of("crictl", "ps", privileged=True))
    assert not r.ok and r.error.startswith("sudo-denied")


async def test_when_no_host_answers_the_last_member_data_stays_marked_stale(tmp_path):
    backend = Backend(BackendSpec(scenario="healthy"))
    await backend.start()
    try:
        first = await backend.collector.collect()
        assert first.members and not first.etcd_stale
        for host in ("master-0", "master-1", "master-2"):
            await backend.lab.take_down(host)
        await asyncio.sleep(0.2)
        snap = await backend.collector.collect()
        assert snap.etcd_stale
        assert [m.name for m in snap.members] == [m.name for m in first.members]
        assert snap.etcd_collected_at == first.etcd_collected_at
        assert not snap.healthy
        assert any("no member data" in p for p in snap.problems)
        assert {h.state for h in snap.hosts} <= {"unreachable", "disconnected", "connecting"}
    finally:
        await backend.close()


async def test_kubeconfig_comes_from_the_inventory_or_KUBECONFIG_else_the_api_is_off(
        started, monkeypatch, tmp_path):
    lab, fleet = await started()
    inventory = load_inventory(lab.inventory_path)
    text = lab.inventory_path.read_text().replace(f"kubeconfig: {lab.kubeconfig_path}\n", "")
    bare = tmp_path / "no-kubeconfig.yaml"
    bare.write_text(text)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    off = await ClusterApi.from_inventory(load_inventory(bare)).snapshot()
    assert not off.reachable and not off.configured and "API views are off" in off.error
    monkeypatch.setenv("KUBECONFIG", str(lab.kubeconfig_path))
    api = ClusterApi.from_inventory(load_inventory(bare))
    try:
        snap = await api.snapshot()
        assert snap.reachable and snap.version == "4.12.30"
    finally:
        await api.close()
    assert inventory.kubeconfig == str(lab.kubeconfig_path)


async def test_api_down_is_said_plainly_and_ssh_views_keep_working(started):
    lab, fleet = await started()
    backend_api = ClusterApi.from_inventory(fleet.inventory)
    try:
        lab.cluster.api.reachable = False
        lab.cluster.changed()
        await asyncio.sleep(0.1)
        snap = await backend_api.snapshot()
        assert not snap.reachable and "refuses connections" in snap.error
        assert (await fleet.run_one("master-0", Command.of("hostname"))).ok
    finally:
        await backend_api.close()


async def test_cancelling_a_running_command_cancels_promptly_and_the_host_stays_usable(
        started):
    lab, fleet = await started()
    seen = []
    fleet.subscribe(lambda e: seen.append(e))
    task = asyncio.create_task(fleet.run_one("master-0", Command.of("sleep", "60")))
    await asyncio.sleep(0.3)  # the command is under way on the host
    assert not task.done() and any(e.kind == "command" for e in seen)
    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled() and time.monotonic() - t0 < 1
    # the panes hear it was cancelled (not a result: it has none)
    assert [e.text for e in seen if e.kind in ("note", "result")] == ["cancelled"]
    assert (await fleet.run_one("master-0", Command.of("true"))).ok


async def test_a_cancelled_run_one_never_returns_a_result_instead(started):
    """Cancelled at any point of a short command (also just as its output ends, where
    asyncio.wait_for on 3.11 returns the result and drops the cancellation), run_one raises
    CancelledError: a cancelled runbook must not go on as if its command had finished."""
    lab, fleet = await started()
    for spins in range(0, 60):
        task = asyncio.create_task(fleet.run_one("master-0", Command.of("true")))
        for _ in range(spins):
            await asyncio.sleep(0)
        if task.done():
            break
        task.cancel()
        try:
            result = await task
        except asyncio.CancelledError:
            continue
        raise AssertionError(f"cancelled after {spins} spins, run_one returned {result}")
    assert (await fleet.run_one("master-0", Command.of("true"))).ok


async def test_close_returns_even_when_a_host_task_lost_its_cancellation(tmp_path, monkeypatch):
    """asyncio.wait_for on 3.11 drops a cancellation that meets its inner result (gh-86296).
    Seen in CI: `etcd-dr run` printed "done" and never exited, its fleet's close() waiting
    on a host task parked on a live connection's wait_closed(). A task that loses its
    cancellation while the connection comes up still ends, because close() closes the
    connections before it waits for the tasks."""
    from tui.drill.lab import DrillLab
    from tui.fleet.fleet import Fleet

    lab = DrillLab("healthy", workdir=tmp_path / "lab")
    inventory = await lab.start()
    entered, never = asyncio.Event(), asyncio.Event()
    plain = Fleet._after_connect

    async def after_connect(self, host, conn):
        entered.set()
        await plain(self, host, conn)  # the sudo check, done
        try:
            await never.wait()
        except asyncio.CancelledError:
            pass  # the cancellation lost, as wait_for loses it when its result is in

    monkeypatch.setattr(Fleet, "_after_connect", after_connect)
    fleet = Fleet(inventory)
    try:
        await fleet.start(wait=False)
        async with asyncio.timeout(20):
            await entered.wait()
        async with asyncio.timeout(15):
            await fleet.close()
    finally:
        await lab.stop()
