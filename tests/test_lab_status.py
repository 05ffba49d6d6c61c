"""Status over SSH against real etcd members (3.4 and 3.5), compared with etcdctl run directly."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from tests.cli_runner import run_cli
from tui.backend import Backend, BackendSpec

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

HEX16 = re.compile(r"^[0-9a-f]{16}$")


async def collect(inventory_path) -> dict:
    backend = Backend(BackendSpec(inventory_path=str(inventory_path), read_only=True))
    await backend.start()
    try:
        return (await backend.collector.collect()).to_json()
    finally:
        await backend.close()


def status_cli(inventory_path) -> tuple[int, dict, str]:
    proc = run_cli("status", "--inventory",
                   str(inventory_path), "--json", timeout=90)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {format(r["Status"]["header"]["member_id"], "016x"): r["Status"] for r in rows}


async def test_status_over_ssh_matches_etcdctl_run_directly(etcd_lab):
    lab = etcd_lab
    settled = by_id(await asyncio.to_thread(lab.settle))
    names = await asyncio.to_thread(lab.member_ids)  # name -> id, from `member list`

    status = await collect(lab.inventory_path)
    direct = by_id(await asyncio.to_thread(lab.endpoint_status))

    assert status["healthy"], status["problems"]
    assert [h["ssh"]["state"] for h in status["hosts"]] == ["connected"] * 3
    assert status["etcd"]["source"].startswith("ssh:") and not status["etcd"]["stale"]
    members = {m["member_id"]: m for m in status["members"]}
    assert all(HEX16.match(i) for i in members)
    assert set(members) == set(direct) == set(names.values())
    for name, member_id in names.items():
        m = members[member_id]
        assert m["name"] == name and m["host"] == name
        assert m["endpoint"] == f"http://{lab.host(name).address}:2379"
        assert m["version"] == direct[member_id]["version"]
        assert m["version"].startswith(lab.etcd + ".")
        assert m["db_size"] == direct[member_id]["dbSize"] == settled[member_id]["dbSize"]
        assert m["db_size_in_use"] == direct[member_id]["dbSizeInUse"]
        assert m["raft_term"] == direct[member_id]["raftTerm"]
        assert m["errors"] == []
    leader_ids = {format(s["leader"], "016x") for s in direct.values()}
    assert len(leader_ids) == 1
    leader_id = leader_ids.pop()
    assert [m["member_id"] for m in status["members"] if m["is_leader"]] == [leader_id]
    assert status["leader"] == {v: k for k, v in names.items()}[leader_id]
    assert status["alarms"] == []


async def test_status_cli_is_healthy_then_a_stopped_member_is_an_error_row_and_exit_1(lab):
    code, healthy, _ = await asyncio.to_thread(status_cli, lab.inventory_path)
    assert code == 0 and healthy["healthy"] and healthy["leader"]

    # a follower: stopping the leader would also test an election, which is not the point
    ids = await asyncio.to_thread(lab.member_ids)
    victim = next(h for h in reversed(lab.hosts) if h.name != healthy["leader"])
    victim_id = ids[victim.name]
    await asyncio.to_thread(victim.etcd.kill)
    try:
        code, status, stderr = await asyncio.to_thread(status_cli, lab.inventory_path)
        assert code == 1, stderr
        assert status["healthy"] is False
        rows = {m["member_id"]: m for m in status["members"]}
        assert set(rows) == set(m["member_id"] for m in healthy["members"])
        row = rows[victim_id]
        assert row["name"] == victim.name and row["errors"], row
        assert row["db_size"] is None  # no numbers were made up for it
        assert any(f"member {victim.name}" in p for p in status["problems"])
        # the other two still answer, with a leader between them
        assert all(not m["errors"] for i, m in rows.items() if i != victim_id)
        assert status["leader"] == healthy["leader"]
        # SSH to the host itself is fine: it is the member that is down
        assert all(h["ssh"]["state"] == "connected" for h in status["hosts"])
    finally:
        await asyncio.to_thread(lab.heal)
    code, _, _ = await asyncio.to_thread(status_cli, lab.inventory_path)
    assert code == 0


async def test_a_nospace_alarm_raised_on_a_real_member_shows_in_status(make_lab):
    lab = await asyncio.to_thread(make_lab, hosts_count=1, quota_backend_bytes=1024 * 1024,
                                  label="nospace")
    member = lab.hosts[0]
    value = "x" * (64 * 1024)

    def fill() -> str:
        for i in range(200):
            put = lab.etcdctl(member, "put", f"/fill/{i:04d}", value, check=False)
            if put.returncode:
                return put.stderr
        raise AssertionError("the member never ran out of space")

    error = await asyncio.to_thread(fill)
    assert "database space exceeded" in error
    member_id = (await asyncio.to_thread(lab.member_ids))[member.name]
    assert "alarm:NOSPACE" in (await asyncio.to_thread(lab.etcdctl, member, "alarm",
                                                       "list")).stdout

    status = await collect(lab.inventory_path)
    assert status["healthy"] is False
    assert status["alarms"] == [{"member_id": member_id, "alarm": "NOSPACE",
                                 "member": member.name}]
    assert f"alarm NOSPACE on member {member.name}" in status["problems"]
    [row] = status["members"]
    assert row["member_id"] == member_id and row["db_size"] > 1024 * 1024 * 0.9
