"""The fleet against real sshds: dropped connections, hung commands, a jump host, pacing."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from tests.lab.lab import eventually
from tui.fleet.commands import Command
from tui.fleet.fleet import Fleet, HostState
from tui.inventory import load_inventory

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab


async def test_sshd_killed_mid_command_fails_the_command_and_the_host_reconnects(lab):
    victim = lab.hosts[2]
    fleet = Fleet(load_inventory(lab.inventory_path))
    states = []
    fleet.subscribe(lambda e: states.append(e.state) if e.kind == "state" and
                    e.host == victim.name else None)
    await fleet.start()
    try:
        assert fleet.status[victim.name].state == HostState.CONNECTED
        long = asyncio.create_task(fleet.run_one(victim.name, Command.of("sleep", "30"),
                                                 timeout=60))
        await asyncio.sleep(0.5)
        assert not long.done()

        await asyncio.to_thread(victim.sshd.kill)  # listener and its sessions, by pid
        result = await asyncio.wait_for(long, 10)
        assert not result.ok and result.exit_status is None
        assert result.error and "connection lost" in result.error
        assert result.duration < 10

        def dropped() -> bool:
            st = fleet.status[victim.name]
            return st.state in (HostState.DISCONNECTED, HostState.UNREACHABLE) \
                and st.reconnecting
        await eventually(dropped, 10, f"{victim.name} to show as dropped, reconnecting")
        assert HostState.DISCONNECTED in states
        # the other hosts never noticed
        others = [h.name for h in lab.hosts[:2]]
        assert all(fleet.status[n].state == HostState.CONNECTED for n in others)
        assert all(r.ok for r in (await fleet.run(others, Command.of("true"))).values())
        # a command for the dropped host fails at once, it is not queued
        refused = await fleet.run_one(victim.name, Command.of("true"))
        assert refused.error and refused.error.startswith("not connected")

        await asyncio.to_thread(victim.sshd.start)  # same address, same port
        await eventually(lambda: fleet.status[victim.name].state == HostState.CONNECTED, 20,
                         f"{victim.name} to reconnect")
        assert not fleet.status[victim.name].reconnecting
        again = await fleet.run_one(victim.name, Command.of("cat",
                                                            "/etc/kubernetes/manifests/etcd-pod.yaml"))
        assert again.ok and f"nodeName: {victim.name}" in again.stdout
    finally:
        await fleet.close()
        await asyncio.to_thread(lab.heal)


async def test_a_hung_command_is_cut_at_its_timeout_while_the_others_finish(lab):
    hung = lab.hosts[0]
    marker = hung.path("/etc/kubernetes/lab-hang")
    marker.write_text("this host's command hangs\n")
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    try:
        command = Command.of("sh", "-c", "if [ -e /etc/kubernetes/lab-hang ]; then sleep 60; "
                                         "fi; echo finished")
        started = time.monotonic()
        results = await fleet.run([h.name for h in lab.hosts], command, timeout=2)
        elapsed = time.monotonic() - started
        assert results[hung.name].timed_out and not results[hung.name].ok
        assert "timed out after 2s" in results[hung.name].error
        assert 1.9 <= results[hung.name].duration < 4
        for h in lab.hosts[1:]:
            assert results[h.name].ok and results[h.name].stdout == "finished\n"
            assert results[h.name].duration < 2
        assert elapsed < 4
        # the hung command took nothing else down with it
        assert fleet.status[hung.name].state == HostState.CONNECTED
        assert (await fleet.run_one(hung.name, Command.of("true"))).ok
    finally:
        marker.unlink()
        await fleet.close()


async def test_hosts_behind_a_jump_host_are_reached_through_it_only(make_lab):
    lab = await asyncio.to_thread(make_lab, hosts_count=3, etcd=None, namespaces=False,
                                  bastion=True, label="jump")
    # a direct connection to a host's sshd is refused: it listens in the lab's network
    # namespace, which only the bastion's sessions live in
    for h in lab.hosts:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((h.address, h.port), timeout=2).close()
    direct = Fleet(load_inventory(lab.write_inventory()), reconnect=False)
    await direct.start()
    try:
        for h in lab.hosts:
            assert direct.status[h.name].state == HostState.UNREACHABLE
            assert "refused" in direct.status[h.name].error
    finally:
        await direct.close()

    bastion_log = lab.bastion_host.sshd.log
    accepted_before = bastion_log.read_text().count("Accepted publickey")
    fleet = Fleet(load_inventory(lab.write_inventory(jump=lab.jump)))
    await fleet.start()
    try:
        assert {n: s.state for n, s in fleet.status.items()} == \
            {h.name: HostState.CONNECTED for h in lab.hosts}
        results = await fleet.run([h.name for h in lab.hosts],
                                  Command.of("sh", "-c", 'echo "$SSH_CONNECTION"'))
        for h in lab.hosts:
            # client address, client port, server address, server port, as sshd saw them
            _, _, server, port = results[h.name].stdout.split()
            assert (server, int(port)) == (h.address, h.port)
        # one shared connection to the bastion carried all three
        await eventually(lambda: bastion_log.read_text().count("Accepted publickey")
                         >= accepted_before + 1, 5, "the bastion's log")
        assert bastion_log.read_text().count("Accepted publickey") == accepted_before + 1
    finally:
        await fleet.close()


async def test_a_jump_host_failure_is_reported_as_the_jump_hosts(make_lab):
    lab = await asyncio.to_thread(make_lab, hosts_count=2, etcd=None, namespaces=False,
                                  bastion=True, label="jumpfail")
    bastion = lab.bastion_host
    # the bastion's key is not in known_hosts: the hosts are not "mismatched", the jump is
    hosts_only = lab.workdir / "known_hosts_without_bastion"
    hosts_only.write_text("".join(line + "\n" for line in lab.known_hosts_lines()
                                  if f"[{bastion.address}]" not in line))
    fleet = Fleet(load_inventory(lab.write_inventory(jump=lab.jump, known_hosts=hosts_only)),
                  reconnect=False)
    await fleet.start()
    try:
        for h in lab.hosts:
            status = fleet.status[h.name]
            assert status.state == HostState.UNREACHABLE
            assert status.error.startswith(f"jump host {lab.jump}: its host key "
                                           f"({bastion.sshd.fingerprint})")
    finally:
        await fleet.close()

    # the bastion is down: unreachable, and the message names the bastion
    await asyncio.to_thread(bastion.stop)
    fleet = Fleet(load_inventory(lab.write_inventory(jump=lab.jump)), reconnect=False)
    await fleet.start()
    try:
        for h in lab.hosts:
            assert fleet.status[h.name].state == HostState.UNREACHABLE
            assert fleet.status[h.name].error == f"jump host {lab.jump}: connection refused"
    finally:
        await fleet.close()


async def test_handshakes_beyond_maxstartups_are_retried_until_all_connect(make_lab):
    # 16 addresses: as many as one sshd listens on (OpenSSH's MAX_LISTEN_SOCKS)
    lab = await asyncio.to_thread(make_lab, hosts_count=16, etcd=None, namespaces=True,
                                  shared_sshd=True, sshd_options=["MaxStartups 2:100:2"],
                                  name_prefix="node-", label="pacing")
    assert len(lab.sshds) == 1
    log = lab.sshds[0].log

    async def connect_all(max_handshakes: int) -> tuple[list[str], int]:
        drops_before = log.read_text().count("beginning MaxStartups throttling")
        fleet = Fleet(load_inventory(lab.write_inventory(max_handshakes=max_handshakes)))
        notes = []
        fleet.subscribe(lambda e: notes.append(e.text) if e.kind == "note" else None)
        await fleet.start(timeout=60)
        try:
            states = {n: s.state for n, s in fleet.status.items()}
            assert states == {h.name: HostState.CONNECTED for h in lab.hosts}, states
            results = await fleet.run([h.name for h in lab.hosts], Command.of("true"))
            assert all(r.ok for r in results.values())
        finally:
            await fleet.close()
        return notes, log.read_text().count("beginning MaxStartups throttling") - drops_before

    # 16 handshakes at once against MaxStartups 2:100:2: sshd drops most of them...
    notes, drops = await connect_all(16)
    assert drops > 0
    assert notes and all("sshd refused the handshake" in n and "retrying" in n for n in notes)
    # ... and with the fleet's pacing at sshd's limit, none
    notes, drops = await connect_all(2)
    assert (notes, drops) == ([], 0)
