"""The fleet: one SSH connection per host, opened in parallel and kept alive.

Each host has a small state machine (HostState) that the status view shows. Commands run
on many hosts at once and return one RunResult per host; a slow or dead host never blocks
the others (every command has its own timeout). Output streams line by line to listeners
(the host panes) as it arrives.

The fleet is built from parts, each in its module: hoststate (a host's state and what a failed
connection says), events (results, events and listeners), connecting (opening, keeping and
reopening the connections; host keys) and running (commands). This module ties them together
and closes them; the names other modules import from here are re-exported.
"""

from __future__ import annotations

import asyncio

import asyncssh

from tui.fleet.connecting import HostConnections
from tui.fleet.events import FleetEvent, FleetEventKind, Listener, RunResult, Subscription
from tui.fleet.hoststate import LOST_KINDS, HostState, HostStatus, JumpHostError, failure_kind
from tui.fleet.running import CommandRunner
from tui.inventory import Inventory
from tui.quiet import skip_disabled_ssh_logs

__all__ = ["LOST_KINDS", "Fleet", "FleetEvent", "FleetEventKind", "HostState", "HostStatus",
           "JumpHostError", "Listener", "RunResult", "failure_kind"]


class Fleet(HostConnections, CommandRunner):
    """SSH sessions to every host of an inventory."""

    def __init__(self, inventory: Inventory, *, read_only: bool = False,
                 reconnect: bool = True, max_backoff: float = 30.0):
        self.inventory = inventory
        self.read_only = read_only
        self.reconnect = reconnect
        self.max_backoff = max_backoff
        self.status: dict[str, HostStatus] = {h.name: HostStatus() for h in inventory.hosts}
        self._conns: dict[str, asyncssh.SSHClientConnection] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._kick: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._listeners: list[Subscription] = []
        self._handshakes: asyncio.Semaphore | None = None
        self._jump: asyncssh.SSHClientConnection | None = None
        self._jump_lock: asyncio.Lock | None = None
        self._closed = False
        self._known_hosts_cache: tuple[tuple, asyncssh.SSHKnownHosts] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, wait: bool = True, timeout: float | None = None) -> None:
        """Open every connection in parallel; with wait, return once each host settled."""
        skip_disabled_ssh_logs()
        self._handshakes = asyncio.Semaphore(self.inventory.ssh.max_handshakes)
        self._jump_lock = asyncio.Lock()
        for host in self.inventory.hosts:
            self._ready[host.name] = asyncio.Event()
            self._kick[host.name] = asyncio.Event()
            self._tasks[host.name] = asyncio.create_task(self._maintain(host),
                                                         name=f"ssh:{host.name}")
        if wait:
            await self.wait_settled(timeout)

    async def wait_settled(self, timeout: float | None = None) -> None:
        """Wait until every host has had its first connection attempt decided."""
        limit = timeout if timeout is not None else self.inventory.ssh.connect_timeout + 5
        try:
            async with asyncio.timeout(limit):  # not wait_for: see close()
                await asyncio.gather(*(e.wait() for e in self._ready.values()))
        except TimeoutError:
            pass

    async def close(self) -> None:
        # Every timeout in the fleet is asyncio.timeout, not wait_for: on 3.11 wait_for loses
        # a cancellation that arrives as its inner await completes (gh-86296), and a close
        # at the moment a handshake finished then waited forever on the live connection
        # (seen in CI: `etcd-dr run` said done and never exited). Libraries have their own
        # wait_for, so the connections close with the cancellations (a task parked on
        # wait_closed() ends with them), and a task that lost its cancellation anyway is
        # cancelled again, a few times, rather than waited for without end.
        self._closed = True
        pending = set(self._tasks.values())
        for _attempt in range(5):
            for task in pending:
                task.cancel()
            for conn in list(self._conns.values()):
                conn.close()
            if not pending:
                break
            done, pending = await asyncio.wait(pending, timeout=1.0)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: a failure here changes nothing now
        if self._jump is not None:
            self._jump.close()
        self._conns.clear()

    def connection(self, name: str) -> asyncssh.SSHClientConnection | None:
        """The host's open SSH connection (for SFTP and the like), or None when not usable."""
        status = self.status.get(name)
        if status is None:
            self.inventory.host(name)  # raises a clear ConfigError
        if not status.state.usable:
            return None
        conn = self._conns.get(name)
        return None if conn is None or conn.is_closed() else conn

    def connected_hosts(self, role: str | None = None) -> list[str]:
        return [h.name for h in self.inventory.hosts
                if self.status[h.name].state.usable and (role is None or h.role == role)]
