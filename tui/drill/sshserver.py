"""A real SSH server per simulated host (asyncssh server side).

The console reaches drill hosts through exactly the same client code as real ones: host key
checking against known_hosts, public key authentication, exec requests. Each exec request's
command line is interpreted by the drill shell against that host's state.
"""

from __future__ import annotations

import asyncio

import asyncssh

from tui.drill.model import DrillCluster, DrillHost


class _ChannelWriter:
    """Hands shell output to the SSH channel as it is produced."""

    def __init__(self, stream: asyncssh.SSHWriter):
        self._stream = stream

    def write(self, text: str) -> None:
        try:
            self._stream.write(text)
        except (BrokenPipeError, asyncssh.Error, OSError):
            pass  # the client went away; the command still finishes against the state


class _Server(asyncssh.SSHServer):
    def __init__(self, drill_host: DrillHost, user: str, client_keys: asyncssh.SSHAuthorizedKeys,
                 connections: set):
        self._host = drill_host
        self._user = user
        self._keys = client_keys
        self._connections = connections
        self._conn = None

    def connection_made(self, conn) -> None:
        self._conn = conn
        self._connections.add(conn)

    def connection_lost(self, exc) -> None:
        self._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if username != self._user:
            return False
        # validate() returns the key's options ({} when it has none) or None
        return self._keys.validate(key, "", "") is not None


class DrillSSHServer:
    """Listens for one drill host on its own loopback address."""

    def __init__(self, cluster: DrillCluster, host: DrillHost, host_key: asyncssh.SSHKey,
                 client_public_key: str, user: str = "core"):
        self.cluster = cluster
        self.host = host
        self.host_key = host_key
        self.user = user
        self._authorized = asyncssh.import_authorized_keys(client_public_key)
        self._server: asyncssh.SSHAcceptor | None = None
        self._connections: set = set()

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self, port: int = 0) -> int:
        """Listen (port 0 = any free port, kept for restarts); returns the port."""
        self._server = await asyncssh.create_server(
            lambda: _Server(self.host, self.user, self._authorized, self._connections),
            self.host.address, port or self.host.ssh_port,
            server_host_keys=[self.host_key],
            process_factory=self._handle,
            encoding="utf-8",
            # drill hosts answer at once: no need for a slow login grace
            login_timeout=30,
            keepalive_interval=0,
        )
        self.host.ssh_port = self._server.sockets[0].getsockname()[1]
        return self.host.ssh_port

    async def stop(self) -> None:
        """The machine goes away: stop listening and drop every session."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.drop_sessions()

    def drop_sessions(self) -> None:
        """Cut every open session now (a dropped host or network): a command in flight
        fails on the client at once, not after the listener has closed."""
        for conn in list(self._connections):
            conn.abort()
        self._connections.clear()

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        from tui.drill.shell import ShellSession, default_env, run_script

        command = process.command
        if command is None:
            process.stderr.write("This drill host offers no interactive shell: run one command "
                                 "at a time (ssh host 'command').\n")
            process.exit(1)
            return
        session = ShellSession(
            cluster=self.cluster, host=self.host,
            stdout=_ChannelWriter(process.stdout), stderr=_ChannelWriter(process.stderr),
            env=default_env(self.host, self.user), user=self.user,
            tty=process.get_terminal_type() is not None,
        )
        try:
            stdin = await _read_stdin(process)
            status = await run_script(command, session, stdin=stdin)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a drill bug must look like a failed command, not a hang
            process.stderr.write(f"drill: internal error running this command: {e}\n")
            status = 1
        try:
            process.exit(status)
        except (asyncssh.Error, OSError):
            pass


async def _read_stdin(process: asyncssh.SSHServerProcess) -> str:
    """What the client sends before closing its input. The console always closes it at once
    (with or without data); a person's `ssh host cmd` keeps it open, so do not wait long."""
    try:
        return await asyncio.wait_for(process.stdin.read(), 0.3)
    except asyncio.TimeoutError:
        return ""
