"""A drill host whose machine is down keeps its SSH port: nothing else on this machine (another
test worker's drill on the same 127.0.3.x, say) can listen there before the host comes back."""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest

from tests.conftest import drill_fleets
from tui.fleet.commands import Command


def bind(address: str, port: int) -> None:
    """Bind the port as a plain socket would; raises OSError while anything holds it."""
    with socket.socket() as s:
        s.bind((address, port))


async def refused(address: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(address, port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def test_a_host_taken_down_keeps_its_port_and_comes_back_on_it(tmp_path):
    async with drill_fleets(tmp_path) as start:
        lab, fleet = await start("healthy")
        host = lab.cluster.host("master-1")
        port = host.ssh_port
        await lab.take_down("master-1")
        assert await refused(host.address, port)  # a machine that is off
        await lab.bring_up("master-1")
        assert host.ssh_port == port and lab.servers["master-1"].listening
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while fleet.status["master-1"].state.value != "connected":  # the fleet reconnects
            assert loop.time() < deadline, fleet.status["master-1"]
            await asyncio.sleep(0.05)
        result = await fleet.run_one("master-1", Command.of("hostname"), timeout=10)
        assert result.ok and result.stdout == "master-1\n"


async def test_a_host_down_from_the_start_has_a_port_nobody_else_takes(tmp_path):
    async with drill_fleets(tmp_path) as start:
        lab, _ = await start("host-down")
        down = [h for h in lab.cluster.hosts if not h.up]
        assert down, "the host-down scenario has a host down"
        for host in down:
            assert host.ssh_port and not lab.servers[host.name].listening
            assert await refused(host.address, host.ssh_port)
            with pytest.raises(OSError) as taken:  # held: no other drill can get it
                bind(host.address, host.ssh_port)
            assert taken.value.errno == errno.EADDRINUSE
        await lab.bring_up(down[0].name)
        assert lab.servers[down[0].name].listening


async def test_a_stopped_lab_lets_go_of_the_ports_it_held(tmp_path):
    async with drill_fleets(tmp_path) as start:
        lab, _ = await start("host-down")
        down = next(h for h in lab.cluster.hosts if not h.up)
    bind(down.address, down.ssh_port)  # free again once the lab stopped
