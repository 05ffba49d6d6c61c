"""A real SSH server per simulated host (asyncssh server side).

The console reaches drill hosts through exactly the same client code as real ones: host key
checking against known_hosts, public key authentication, exec requests. Each exec request's
command line is interpreted by the drill shell against that host's state.
"""

from __future__ import annotations

import asyncio

import asyncssh

from tui.drill.model import DrillCluster, DrillHost
from tui.drill.programs import SigPipe
from tui.drill.shell import ShellSession, default_env, run_script
from tui.quiet import skip_disabled_ssh_logs


class _ChannelWriter:
    """Hands shell output to the SSH channel as it is produced. Once the client has gone
    (channel closed, connection dropped), a write raises SigPipe: the writing program dies
    as a real one does of SIGPIPE, and a program that does not write runs on (no pty, so
    no SIGHUP)."""

    def __init__(self, stream: asyncssh.SSHWriter):
        self._stream = stream
        self.closed = False

    def write(self, text: str) -> None:
        if not text:
            return
        if not self.closed and self._stream.channel.is_closing():
            self.closed = True
        if not self.closed:
            try:
                self._stream.write(text)
                return
            except (BrokenPipeError, asyncssh.Error, OSError):
                self.closed = True
        raise SigPipe()


class _Server(asyncssh.SSHServer):
    def __init__(self, drill_host: DrillHost, user: str, client_keys: asyncssh.SSHAuthorizedKeys,
                 connections: set, on_lost=None):
        self._host = drill_host
        self._on_lost = on_lost
        self._user = user
        self._keys = client_keys
        self._connections = connections
        self._conn = None

    def connection_made(self, conn) -> None:
        self._conn = conn
        self._connections.add(conn)

    def connection_lost(self, exc) -> None:
        self._connections.discard(self._conn)
        if self._on_lost is not None:
            self._on_lost(self._conn)

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
        self._running: set[asyncio.Future] = set()  # commands still running (see _handle)
        self._hangups: dict[asyncio.Future, asyncssh.SSHServerProcess] = {}  # with a pty

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self, port: int = 0) -> int:
        """Listen (port 0 = any free port, kept for restarts); returns the port."""
        skip_disabled_ssh_logs()
        self._server = await asyncssh.create_server(
            lambda: _Server(self.host, self.user, self._authorized, self._connections,
                            self.hang_up),
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
        for task in list(self._running):  # the machine's processes die with it
            task.cancel()

    def drop_sessions(self) -> None:
        """Cut every open session now (a dropped host or network): a command in flight
        fails on the client at once, not after the listener has closed."""
        for conn in list(self._connections):
            conn.abort()
        self._connections.clear()

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
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
        # a command runs to its end even when its client goes away, unless it writes to the
        # closed channel (SIGPIPE) or has a pty (the hangup kills it): it lives in a task of
        # its own that outlives this handler
        runner = asyncio.ensure_future(self._run(process, command, session))
        self._running.add(runner)
        runner.add_done_callback(self._running.discard)
        if session.tty:
            self._hangups[runner] = process
        try:
            await asyncio.shield(runner)
        except asyncio.CancelledError:
            if session.tty and not runner.done():
                runner.cancel()  # SIGHUP: the terminal is gone
            raise

    async def _run(self, process: asyncssh.SSHServerProcess, command: str, session) -> None:
        try:
            stdin = await _read_stdin(process)
            status = await run_script(command, session, stdin=stdin)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a drill bug must look like a failed command, not a hang
            try:
                process.stderr.write(f"drill: internal error running this command: {e}\n")
            except (asyncssh.Error, OSError):
                pass
            status = 1
        finally:
            self._hangups.pop(asyncio.current_task(), None)
        try:
            process.exit(status)
        except (asyncssh.Error, OSError):
            pass

    def hang_up(self, conn) -> None:
        """The client's connection is gone: commands with a pty get SIGHUP (they end); the
        others run on."""
        for task, process in list(self._hangups.items()):
            try:
                mine = process.channel.get_connection() is conn
            except Exception:
                mine = True
            if mine and not task.done():
                task.cancel()


async def _read_stdin(process: asyncssh.SSHServerProcess) -> str:
    """What the client sends before closing its input. The console always closes it at once
    (with or without data); a person's `ssh host cmd` keeps it open, so do not wait long."""
    try:
        return await asyncio.wait_for(process.stdin.read(), 0.3)
    except asyncio.TimeoutError:
        return ""
