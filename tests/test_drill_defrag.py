"""Defragmentation on the drill, through the real SSH path (DrillLab + Fleet) where it counts.

A defrag takes simulated time in proportion to the file and blocks its member meanwhile; a
too-short --command-timeout gives real etcdctl's failure while the defrag goes on; a leader
whose defrag outlasts the election timeout loses the leadership; a NOSPACE alarm stops writes
until it is disarmed, and comes back if a file is still over the quota; writes slowly
fragment the files (tui.drill.faults, tui.drill.activity).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets

from tui.drill import activity, faults
from tui.drill.model import SimClock
from tui.drill.scenario import build_cluster
from tui.errors import ConfigError
from tui.etcd.etcdctl import endpoint_status_cluster, etcdctl
from tui.etcd.parse import parse_alarm_list, parse_defrag, parse_endpoint_status
from tui.fleet.commands import Safety
from tui.fleet.fleet import Fleet

MB = 1024 * 1024
GB = 1024 * MB
START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
SPEED = 20.0  # a 2 GiB defrag (~20.5 simulated s) takes about a second


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path) as start_lab:
        async def start(scenario="healthy", *, speed=SPEED, clock=None):
            return await start_lab(scenario, clock=clock or SimClock(speed, start=START))

        yield start


def ctl(fleet: Fleet, host: str, *args: str):
    """etcdctl ARGS in `host`'s etcd pod against its own member, as the console runs it."""
    inv = fleet.inventory
    command = etcdctl(inv, inv.host(host), *args, safety=Safety.MUTATING, timeout=60)
    return fleet.run_one(host, command)


async def status_from(fleet: Fleet, host: str):
    inv = fleet.inventory
    r = await fleet.run_one(host, endpoint_status_cluster(inv, inv.host(host)))
    return r, parse_endpoint_status(r.stdout, r.stderr, r.exit_status or 0)


async def until(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def warn_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


async def test_a_defrag_blocks_its_member_then_shrinks_the_file(started):
    lab, fleet = await started()
    cluster = lab.cluster
    m1 = cluster.etcd.member_by_name("master-1")
    m1.db_size = 2 * GB  # ~20.5 simulated seconds of defrag, about a second at speed 20
    in_use = m1.db_size_in_use
    ep = m1.client_url

    t0 = time.monotonic()
    defrag = asyncio.create_task(ctl(fleet, "master-1", "--command-timeout=30s", "defrag"))
    await until(lambda: m1.defragging, what="the defrag to start")
    # another host's status: the busy member is a dead endpoint (after the 5 s timeout)
    r, st = await status_from(fleet, "master-0")
    assert r.exit_status == 1 and set(st.failed_endpoints) == {ep}
    assert {row.endpoint for row in st.rows} == {cluster.etcd.member_by_name(n).client_url
                                               for n in ("master-0", "master-2")}
    assert f"Failed to get the status of endpoint {ep} (context deadline exceeded)" in r.stderr
    [warning] = warn_lines(r.stderr)
    assert warning["msg"] == "retrying of unary invoker failed"
    assert warning["error"] == "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    assert r.duration >= 5 / SPEED * 0.9  # it waited for its 5 s --command-timeout
    assert m1.defragging  # still at it: the status gave up first

    # a request to the member itself waits until the defrag is over, then is answered
    r = await ctl(fleet, "master-1", "--command-timeout=60s", "endpoint", "status", "-w", "json")
    assert r.ok, r
    assert not m1.defragging
    [row] = parse_endpoint_status(r.stdout, r.stderr, 0).rows
    assert row.db_size < in_use + MB

    r = await defrag
    elapsed = time.monotonic() - t0
    assert r.ok and r.stdout == f"Finished defragmenting etcd member[{ep}]\n" and r.stderr == ""
    assert parse_defrag(r.stdout, r.stderr, 0).finished == (ep,)
    assert elapsed >= faults.defrag_seconds(2 * GB) / SPEED * 0.9  # it really waited
    assert in_use <= m1.db_size < in_use + MB
    r, st = await status_from(fleet, "master-0")
    assert r.ok and not st.failed_endpoints and len(st.rows) == 3
    assert {row.endpoint: row.db_size for row in st.rows}[ep] == m1.db_size


async def test_a_too_short_command_timeout_fails_as_etcdctl_does_and_the_defrag_goes_on(started):
    lab, fleet = await started()
    cluster = lab.cluster
    m1 = cluster.etcd.member_by_name("master-1")
    m1.db_size = 2 * GB
    ep = m1.client_url

    r = await ctl(fleet, "master-1", "--command-timeout=5s", "defrag")
    assert r.exit_status == 1 and r.stdout == ""
    # etcdctl's own lines, then crictl's note that the exec'd command failed
    *warnings, last, crictl = r.stderr.splitlines(keepends=True)
    assert last == f"Failed to defragment etcd member[{ep}] (context deadline exceeded)\n"
    assert "command terminated with exit code 1" in crictl
    [warning] = [json.loads(w) for w in warnings]
    assert warning["level"] == "warn" and warning["msg"] == "retrying of unary invoker failed"
    assert warning["error"] == "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    result = parse_defrag(r.stdout, r.stderr, 1)
    assert result.finished == () and result.failed == {ep: "context deadline exceeded"}
    assert 0.2 <= r.duration < 1.0  # 5 simulated seconds, not the whole defrag
    assert m1.defragging and m1.db_size == 2 * GB  # still rewriting its file

    await until(lambda: not m1.defragging, what="the defrag to finish in the background")
    assert m1.db_size < m1.db_size_in_use + MB
    # a retry with a longer timeout is quick now: the file is small
    r = await ctl(fleet, "master-1", "--command-timeout=30s", "defrag")
    assert r.ok and r.stdout == f"Finished defragmenting etcd member[{ep}]\n"


async def test_a_retry_while_the_first_defrag_runs_waits_for_it(started):
    lab, fleet = await started()
    m1 = lab.cluster.etcd.member_by_name("master-1")
    m1.db_size = 2 * GB
    r = await ctl(fleet, "master-1", "--command-timeout=5s", "defrag")
    assert r.exit_status == 1 and m1.defragging
    # the runbook's advice on a timeout: raise --command-timeout and retry
    r = await ctl(fleet, "master-1", "--command-timeout=60s", "defrag")
    assert r.ok and "Finished defragmenting" in r.stdout
    assert not m1.defragging and m1.db_size < m1.db_size_in_use + MB


async def test_the_leader_moves_when_its_defrag_outlasts_the_election_timeout(started):
    lab, fleet = await started()
    cluster = lab.cluster
    etcd = cluster.etcd
    m0 = etcd.leader()  # master-1 in the healthy scenario
    follower = next(m for m in etcd.members if m is not m0)
    term = etcd.raft_term

    # a small leader (142 MB: ~1.4 s) keeps the leadership
    r = await ctl(fleet, m0.name, "--command-timeout=30s", "defrag")
    assert r.ok and etcd.leader_id == m0.member_id and etcd.raft_term == term

    m0.db_size = 2 * GB  # ~20.5 s: longer than the 5 s election timeout
    defrag = asyncio.create_task(ctl(fleet, m0.name, "--command-timeout=30s", "defrag"))
    await until(lambda: m0.defragging, what="the defrag to start")
    await until(lambda: etcd.leader_id != m0.member_id, what="an election")
    assert etcd.raft_term == term + 1 and m0.defragging
    new_leader = etcd.member(etcd.leader_id)
    assert new_leader is not m0
    r = await defrag
    assert r.ok
    raft = follower.raft_index
    await until(lambda: follower.raft_index > raft, what="writes under the new leader")
    r, st = await status_from(fleet, follower.name)
    assert r.ok and len(st.rows) == 3
    leaders = [row.endpoint for row in st.rows if row.is_leader]
    assert leaders == [new_leader.client_url]  # the defragmented member is a follower now
    assert all(row.raft_term == term + 1 for row in st.rows)


def test_writes_wait_for_a_defragmenting_leader_until_the_election():
    clock = SimClock(frozen=True, start=START)
    cluster = build_cluster("healthy", clock=clock)
    etcd = cluster.etcd
    leader = etcd.leader()
    follower = next(m for m in etcd.members if m is not leader)
    leader.db_size = 2 * GB  # ~20.5 s
    plan = faults.schedule_defrag(cluster, leader, clock.now(), timeout=30)
    assert plan.finished and plan.end - plan.start == pytest.approx(20.48)
    faults.tick(cluster)
    assert leader.defragging and etcd.leader() is leader
    raft, term = follower.raft_index, etcd.raft_term

    def idle(seconds: float) -> None:
        clock.advance(seconds)
        activity.advance(cluster, seconds)

    idle(4)  # under the election timeout: proposals wait for the silent leader
    assert follower.raft_index == raft and etcd.leader_id == leader.member_id
    idle(2)  # past it: the followers elect one of themselves, writes resume
    assert etcd.leader_id != leader.member_id and etcd.raft_term == term + 1
    raft = follower.raft_index
    idle(5)
    assert follower.raft_index == raft + 200 and leader.raft_index < raft
    idle(10)  # done: the old leader is a follower, caught up, with a small file
    assert not leader.defragging and leader.db_size < leader.db_size_in_use + MB
    assert leader.raft_index == etcd.leader().raft_index
    assert etcd.raft_term == term + 1


def test_move_leader_picks_another_answering_voter():
    cluster = build_cluster("healthy", clock=SimClock(frozen=True, start=START))
    etcd = cluster.etcd
    m0, m1, m2 = etcd.members
    term = etcd.raft_term
    assert faults.move_leader(cluster, to="master-2") is m2
    assert etcd.leader_id == m2.member_id and etcd.raft_term == term + 1
    m1.defragging = True  # answers nothing: cannot win
    assert faults.move_leader(cluster) is m0 and etcd.raft_term == term + 2
    with pytest.raises(ValueError):
        faults.move_leader(cluster, to="master-1")
    m2.running = False  # one of three answers: no election can succeed
    cluster.changed()
    assert faults.move_leader(cluster) is None and etcd.leader_id == m0.member_id


def test_a_scenario_can_move_the_leader_after_some_time(tmp_path):
    path = tmp_path / "moves.yaml"
    path.write_text("name: moves\ncontrol_plane: 3\n"
                    "etcd: {leader: master-1, leader_moves_after_seconds: 90}\n")
    clock = SimClock(frozen=True, start=START)
    cluster = build_cluster(str(path), clock=clock)
    etcd = cluster.etcd
    leader, term = etcd.leader_id, etcd.raft_term
    clock.advance(89)
    activity.advance(cluster, 89)
    assert etcd.leader_id == leader
    clock.advance(2)
    activity.advance(cluster, 2)
    assert etcd.leader_id != leader and etcd.raft_term == term + 1
    moved = etcd.leader_id
    clock.advance(600)
    activity.advance(cluster, 600)
    assert etcd.leader_id == moved  # once


@pytest.mark.parametrize("value,control_plane,message", [
    ("soon", 3, "must be a number of simulated seconds more than 0, not 'soon'"),
    (-5, 3, "more than 0, not -5"),
    (0, 3, "more than 0, not 0"),
    ("true", 3, "not True"),
    (60, 1, "needs control_plane: 3 or 5"),
])
def test_leader_moves_after_seconds_is_checked(tmp_path, value, control_plane, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\ncontrol_plane: {control_plane}\n"
                    f"etcd: {{leader_moves_after_seconds: {value}}}\n")
    with pytest.raises(ConfigError, match="etcd.leader_moves_after_seconds") as info:
        build_cluster(str(path))
    assert message in str(info.value)


async def test_nospace_refuses_writes_until_disarmed_and_comes_back_while_over_quota(started):
    clock = SimClock(frozen=True, start=START)  # time moves only when the test says so
    lab, fleet = await started("nospace", clock=clock)
    # and the writes only when idle() says so: the lab's background writer (every 0.5 s of
    # real time) would apply the clock's jumps a second time, all at once whenever it woke
    # (a loaded CI run: 390 s of writes right after the disarm, 400 expected)
    lab.stop_background_writes()
    cluster = lab.cluster
    etcd = cluster.etcd
    m0, m1, m2 = etcd.members
    assert etcd.alarms == [(m0.member_id, "NOSPACE")]

    def idle(seconds: float) -> None:
        clock.advance(seconds)
        activity.advance(cluster, seconds)

    raft, revision = m1.raft_index, etcd.revision
    idle(60)
    assert (m1.raft_index, etcd.revision) == (raft, revision)  # maintenance mode
    r = await ctl(fleet, "master-1", "put", "/drill/key", "x")
    assert r.exit_status == 1
    assert "\nError: etcdserver: mvcc: database space exceeded\n" in r.stderr

    # disarming first does not help: two files are still over the 8 GiB quota
    r = await ctl(fleet, "master-1", "alarm", "disarm")
    assert r.ok and r.stdout == f"memberID:{m0.member_id} alarm:NOSPACE \n"
    assert etcd.alarms == []
    idle(10)
    assert (m1.raft_index, etcd.revision) == (raft, revision)
    r = await ctl(fleet, "master-1", "alarm", "list")
    assert {(a.member_id, a.alarm) for a in parse_alarm_list(r.stdout)} == {
        (m0.member_id, "NOSPACE"), (m2.member_id, "NOSPACE")}

    # the scenario's busy disk (etcd.defrag_mb_per_s: 30) rewrites an 8 GB file in ~274
    # simulated seconds: a 30 s timeout is far too short
    assert etcd.defrag_bytes_per_second == 30 * MB
    assert 270 < faults.defrag_seconds(m1.db_size, etcd.defrag_bytes_per_second) < 280
    r = await ctl(fleet, "master-1", "--command-timeout=30s", "defrag")
    assert r.exit_status == 1 and "(context deadline exceeded)" in r.stderr
    assert m1.defragging
    idle(200)  # the defrag goes on ...
    assert m1.defragging and m1.db_size > 8 * GB - 8 * MB
    idle(100)  # ... and finishes
    assert not m1.defragging and m1.db_size < m1.db_size_in_use + MB
    for name in ("master-2", "master-0"):  # followers first, the leader last
        r = await ctl(fleet, name, "--command-timeout=300s", "defrag")
        assert r.ok, r
    assert all(m.db_size < m.db_size_in_use + MB for m in etcd.members)
    # the leader's ~274 s defrag outlasted the election timeout: another member leads now
    assert etcd.leader_id in (m1.member_id, m2.member_id)

    raft, revision = m1.raft_index, etcd.revision
    idle(10)
    assert (m1.raft_index, etcd.revision) == (raft, revision)  # the alarm stays till disarmed
    r = await ctl(fleet, "master-1", "alarm", "disarm")
    assert r.ok and {(a.member_id, a.alarm) for a in parse_alarm_list(r.stdout)} == {
        (m0.member_id, "NOSPACE"), (m2.member_id, "NOSPACE")}
    idle(10)
    assert etcd.alarms == [] and m1.raft_index == raft + 400
    r = await ctl(fleet, "master-1", "put", "/drill/key", "x")
    assert r.ok and r.stdout == "OK\n"


async def test_under_nospace_a_compaction_frees_pages_that_still_read_as_in_use(started):
    """As real etcd 3.4 and 3.5 do (bbolt): the pages a compaction frees are released at the
    next write, and under NOSPACE none comes, so dbSizeInUse does not drop until a defrag
    (which rewrites the file) or the disarm (writes resume). Real etcd keeps only its last
    compaction batch's pages so; the drill keeps them all (tui/drill/model.py)."""
    lab, fleet = await started("nospace", speed=600)  # its 8 GB defrag: ~0.5 s
    lab.stop_background_writes()
    etcd = lab.cluster.etcd
    m1 = etcd.member_by_name("master-1")
    names = {m.client_url: m.name for m in etcd.members}

    async def readings() -> dict[str, tuple[int, int | None]]:
        r, st = await status_from(fleet, "master-1")
        assert r.ok, r
        return {names[row.endpoint]: (row.db_size, row.db_size_in_use) for row in st.rows}

    assert etcd.alarms
    before = await readings()
    r = await ctl(fleet, "master-1", "compaction", str(etcd.revision))
    assert r.ok and r.stdout == f"compacted revision {etcd.revision}\n"
    assert await readings() == before
    assert all(m.db_size_in_use < before[m.name][1] for m in etcd.members)  # really freed

    r = await ctl(fleet, "master-1", "--command-timeout=600s", "defrag")
    assert r.ok, r
    now = await readings()
    assert now["master-1"][1] == m1.db_size_in_use < before["master-1"][1]
    assert now["master-1"][0] < m1.db_size_in_use + MB  # the file is what is in use
    assert now["master-2"] == before["master-2"]  # still unreleased

    r = await ctl(fleet, "master-1", "alarm", "disarm")
    assert r.ok
    now = await readings()
    assert {name: in_use for name, (_, in_use) in now.items()} == \
        {m.name: m.db_size_in_use for m in etcd.members}


def test_churn_fragments_the_files_slowly():
    clock = SimClock(frozen=True, start=START)
    cluster = build_cluster("healthy", clock=clock)
    m0 = cluster.etcd.members[0]
    in_use, size = m0.db_size_in_use, m0.db_size

    def frag() -> float:
        return 1 - m0.db_size_in_use / m0.db_size

    start = frag()
    for _ in range(60):  # an hour, a minute at a time
        clock.advance(60)
        activity.advance(cluster, 60)
    assert m0.db_size_in_use == in_use
    grown = m0.db_size - size
    assert grown == 3600 * activity.WRITES_PER_SECOND * activity.FREE_BYTES_PER_WRITE
    assert 15 * MB < grown < 25 * MB
    assert frag() > start + 0.05
    clock.advance(3 * 3600)
    activity.advance(cluster, 3 * 3600)
    # four hours on, still short of the 45% that calls for a defrag, far from the quota
    assert frag() < 0.45 and m0.db_size < 0.05 * cluster.etcd.quota_backend_bytes
    assert cluster.etcd.alarms == []


async def test_a_frozen_clock_changes_nothing():
    cluster = build_cluster("healthy", clock=SimClock(frozen=True, start=START))
    before = [(m.db_size, m.raft_index) for m in cluster.etcd.members]
    task = asyncio.create_task(activity.activity_forever(cluster, interval=0.01))
    await asyncio.sleep(0.1)
    task.cancel()
    assert [(m.db_size, m.raft_index) for m in cluster.etcd.members] == before


async def test_a_wait_that_ends_between_two_readings_of_the_clock_applies_the_defrags_end():
    """faults.wait_until under a busy machine: the clock passes the defrag's end just after
    a tick. The wait must not return with the member still defragmenting (the request that
    waited for it then failed: seen once in a full run at speed 20)."""

    class Stepping(SimClock):
        """Frozen, except that every reading moves time 0.3 simulated s on."""

        def now(self) -> float:
            self.advance(0.3)
            return super().now()

        def real_seconds(self, sim_seconds: float) -> float:
            return 0.001

    cluster = build_cluster("healthy", clock=Stepping(frozen=True, start=START))
    m1 = cluster.etcd.member_by_name("master-1")
    at = cluster.clock.now()
    m1.defrag_window = (at, at + 1.0)
    m1.defragging = True
    await faults.wait_until(cluster, at + 1.0)
    assert not m1.defragging and m1.defrag_window is None
