"""The fleet: one SSH connection per host, opened in parallel and kept alive.

Each host has a small state machine (HostState) that the status view shows. Commands run
on many hosts at once and return one RunResult per host; a slow or dead host never blocks
the others (every command has its own timeout). Output streams line by line to listeners
(the host panes) as it arrives.
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import re
import time
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Callable, Iterable

import asyncssh

from tui.errors import ReadOnlyRefused
from tui.fleet.commands import Command
from tui.fleet.output import OUTPUT_CAP, Capture, LineSplitter, open_output_file, over_cap_error
from tui.fleet.readonly import refusal
from tui.inventory import Host, Inventory


class JumpHostError(OSError):
    """The jump host (ssh.jump) could not be reached or refused us, so no host behind it is
    reachable; the message names the jump host, not the host being connected."""


class HostState(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth-failed"
    HOST_KEY_UNKNOWN = "host-key-unknown"
    HOST_KEY_MISMATCH = "host-key-mismatch"
    SUDO_DENIED = "sudo-denied"
    DISCONNECTED = "disconnected"

    @property
    def usable(self) -> bool:
        """Commands can be sent (sudo-denied hosts still run unprivileged commands)."""
        return self in (HostState.CONNECTED, HostState.SUDO_DENIED)


@dataclass
class HostStatus:
    state: HostState = HostState.CONNECTING
    error: str | None = None
    since: float = field(default_factory=time.time)
    reconnecting: bool = False
    fingerprint: str | None = None  # the key a host presented when it is not trusted yet
    # why the last connection attempt failed (failure_kind: refused, no-route, timeout, ...),
    # and since when (time.monotonic()) every attempt failed with a kind that says the machine
    # is not there (LOST_KINDS); None once any attempt gets further than that
    failure: str | None = None
    lost_signal_since: float | None = None
    server_key: str | None = None  # fingerprint of the host key of the last good connection


@dataclass(frozen=True)
class RunResult:
    host: str
    exit_status: int | None  # None: the command did not complete (see error)
    stdout: str
    stderr: str
    duration: float
    error: str | None = None  # connection lost, timeout, host not connected, sudo denied,
    # output over its cap
    timed_out: bool = False
    # bytes of output each stream sent (stdout/stderr hold at most the command's cap of it);
    # over_cap: a stream went over its cap and was cut (error says so; never ok)
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    over_cap: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and self.error is None


class FleetEventKind(StrEnum):
    """What a FleetEvent says about one host (a kind not listed is refused)."""

    STATE = "state"  # the connection's state changed (state, and text: why)
    COMMAND = "command"  # a command was sent (text: as the panes show it)
    OUTPUT = "output"  # complete lines a command printed (lines, stream)
    RESULT = "result"  # a command ended (result, and text: its exit in words)
    NOTE = "note"  # anything else (a command cancelled, a key trusted)


@dataclass(frozen=True)
class FleetEvent:
    """What listeners (host panes, journal, status) hear from the fleet."""

    kind: FleetEventKind  # a plain string is accepted and made a FleetEventKind (or refused)
    host: str
    text: str = ""
    stream: str = "stdout"  # for "output": stdout | stderr
    lines: tuple[str, ...] = ()  # for "output": the complete lines that just arrived
    state: HostState | None = None
    result: RunResult | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FleetEventKind(self.kind))


Listener = Callable[[FleetEvent], None]

_SUDO_DENIED_MARKERS = ("a password is required", "may not run sudo", "not in the sudoers",
                        "is not allowed to run sudo", "a terminal is required")
_OUTPUT_LIMIT = OUTPUT_CAP  # the default cap of one stream kept in memory (tui/fleet/output.py)
_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
            "aes128-ctr", "aes192-ctr", "aes256-ctr")

# Connection failures that say the machine (or its network) is not there: the kernel or a
# router answered "refused" / "no route" / "network unreachable". A timeout says nothing
# (a slow network, a firewall dropping packets, a host busy booting); an auth failure, a host
# key problem or sudo denied are a host that answers.
LOST_KINDS = ("refused", "no-route", "network-unreachable")
_ERRNO_KINDS = {errno.ECONNREFUSED: "refused", errno.EHOSTUNREACH: "no-route",
                errno.ENETUNREACH: "network-unreachable"}
_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\]")


def failure_kind(exc: BaseException) -> str:
    """The class of a failed connection attempt: one of LOST_KINDS, "timeout", "jump-host",
    "host-key", "auth" or "other"."""
    if isinstance(exc, JumpHostError):
        return "jump-host"  # the jump host's failure says nothing about this host
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return "host-key"
    if isinstance(exc, asyncssh.KeyExchangeFailed) and "host key" in str(exc).lower():
        return "host-key"
    if isinstance(exc, asyncssh.PermissionDenied):
        return "auth"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, OSError):
        if exc.errno in _ERRNO_KINDS:
            return _ERRNO_KINDS[exc.errno]
        if exc.errno == errno.ETIMEDOUT:
            return "timeout"
        # asyncio joins the failures of every address of a name into one OSError without an
        # errno ("Multiple exceptions: [Errno 111] ..., [Errno 113] ..."): lost only if each is
        kinds = [_ERRNO_KINDS.get(int(n)) for n in _ERRNO_IN_TEXT.findall(str(exc))]
        if kinds and None not in kinds:
            return next(k for k in LOST_KINDS if k in kinds)
    return "other"


class Fleet:
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
        self._listeners: list[Listener] = []
        self._handshakes: asyncio.Semaphore | None = None
        self._jump: asyncssh.SSHClientConnection | None = None
        self._jump_lock: asyncio.Lock | None = None
        self._closed = False
        self._known_hosts_cache: tuple[tuple, asyncssh.SSHKnownHosts] | None = None

    # --- listeners ----------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: FleetEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken pane must not break the fleet
                pass

    def _set_state(self, host: str, state: HostState, error: str | None = None, **kw) -> None:
        st = self.status[host]
        changed = st.state != state or st.error != error
        st.state, st.error = state, error
        st.reconnecting = kw.get("reconnecting", False)
        st.fingerprint = kw.get("fingerprint", st.fingerprint if state.name.startswith("HOST_KEY")
                                else None)
        if changed:
            st.since = time.time()
            text = state.value + (f": {error}" if error else "")
            self._emit(FleetEvent(FleetEventKind.STATE, host, text=text, state=state))

    def _note(self, host: str, text: str) -> None:
        self._emit(FleetEvent(FleetEventKind.NOTE, host, text=text))

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, wait: bool = True, timeout: float | None = None) -> None:
        """Open every connection in parallel; with wait, return once each host settled."""
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

    def retry_now(self, host: str) -> None:
        """Skip the backoff and try a host again (after trusting its key, say)."""
        if host in self._kick:
            self._kick[host].set()

    # --- connecting ---------------------------------------------------------------------

    def _known_hosts(self) -> asyncssh.SSHKnownHosts:
        # parsed once and shared by every host (re-parsing a long known_hosts for each of
        # 50 hosts was a tenth of the fleet's start-up); read again when the file changes
        path = self.inventory.ssh.known_hosts
        try:
            st = os.stat(path) if path else None
        except OSError:
            st = None
        if st is None:
            return asyncssh.import_known_hosts("")
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._known_hosts_cache is None or self._known_hosts_cache[0] != stamp:
            self._known_hosts_cache = (stamp, asyncssh.read_known_hosts(path))
        return self._known_hosts_cache[1]

    def _options(self, host: Host) -> dict:
        ssh = self.inventory.ssh
        opts: dict = dict(
            username=host.user,
            port=host.port,
            known_hosts=self._known_hosts(),
            connect_timeout=ssh.connect_timeout,
            keepalive_interval=ssh.keepalive_interval,
            keepalive_count_max=3,
            # AES-GCM first: with AES-NI it moves a snapshot about twice as fast as asyncssh's
            # default first choice, chacha20-poly1305 (bench/copy_bench.py), and FIPS-mode
            # hosts accept only AES; the rest of asyncssh's defaults follow
            encryption_algs=_CIPHERS,
        )
        if host.identity_file:
            opts["client_keys"] = [host.identity_file]
        if ssh.config:
            opts["config"] = [ssh.config]
        return opts

    async def _tunnel(self) -> asyncssh.SSHClientConnection | None:
        jump = self.inventory.ssh.jump
        if not jump:
            return None
        assert self._jump_lock is not None
        async with self._jump_lock:
            if self._jump is not None and not self._jump.is_closed():
                return self._jump
            user, _, rest = jump.rpartition("@")
            address, _, port = rest.partition(":")
            if rest.startswith("["):  # [v6]:port
                address, _, port = rest[1:].partition("]:")
            jump_host = Host(name="jump", address=address, port=int(port) if port else 22,
                             user=user or self.inventory.ssh.user,
                             identity_file=self.inventory.ssh.identity_file)
            try:
                self._jump = await asyncssh.connect(address, **self._options(jump_host))
            except (asyncssh.ConnectionLost, ConnectionResetError):
                raise  # MaxStartups pacing on the jump host: _connect retries
            except asyncssh.HostKeyNotVerifiable as e:
                try:
                    key = await asyncssh.get_server_host_key(address, jump_host.port)
                    seen = key.get_fingerprint() if key else "no key"
                except (OSError, asyncssh.Error, asyncio.TimeoutError):
                    seen = "a key we could not read again"
                raise JumpHostError(
                    f"jump host {jump}: its host key ({seen}) is not trusted by "
                    f"{self.inventory.ssh.known_hosts} ({_brief(e)}); check it and add it "
                    f"there, the hosts behind it are retried") from e
            except asyncssh.PermissionDenied as e:
                raise JumpHostError(f"jump host {jump}: {jump_host.user}@{address} refused "
                                    f"our keys") from e
            except (OSError, asyncio.TimeoutError, asyncssh.Error) as e:
                raise JumpHostError(f"jump host {jump}: {_brief(e)}") from e
            return self._jump

    async def _connect(self, host: Host) -> asyncssh.SSHClientConnection:
        assert self._handshakes is not None
        tries = 0
        while True:
            async with self._handshakes:
                try:
                    tunnel = await self._tunnel()
                    opts = self._options(host)
                    if tunnel is not None:
                        opts["tunnel"] = tunnel
                    conn = await asyncssh.connect(host.address, **opts)
                    await _handshake_done(conn)
                    return conn
                except (asyncssh.ConnectionLost, ConnectionResetError) as e:
                    # sshd drops handshakes beyond MaxStartups with a reset before the
                    # banner: that is pacing, not an unreachable host
                    tries += 1
                    if tries > 6:
                        raise
                    delay = min(5.0, 0.2 * 2 ** tries) * random.uniform(0.5, 1.5)
                    self._note(host.name, f"sshd refused the handshake ({_brief(e)}); "
                                          f"retrying in {delay:.1f}s")
            await asyncio.sleep(delay)

    async def _maintain(self, host: Host) -> None:
        backoff = 1.0
        name = host.name
        first = True
        while not self._closed:
            if first or self.status[name].state == HostState.DISCONNECTED:
                # later attempts keep showing why the last one failed (unreachable, ...)
                # rather than flickering to "connecting" every few seconds
                self._set_state(name, HostState.CONNECTING,
                                reconnecting=self.status[name].reconnecting)
            first = False
            retry = True
            try:
                conn = await self._connect(host)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._record_failure(name, e)
                retry = await self._connect_failed(host, e)
            else:
                connected_at = time.monotonic()
                self._record_success(name, conn)
                self._conns[name] = conn
                await self._after_connect(host, conn)
                self._ready[name].set()
                if self._closed:  # closed while this connection came up: nobody waits for it
                    conn.close()
                    self._conns.pop(name, None)
                    return
                await conn.wait_closed()
                self._conns.pop(name, None)
                if self._closed:
                    return
                self._set_state(name, HostState.DISCONNECTED, "connection lost; reconnecting",
                                reconnecting=True)
                if time.monotonic() - connected_at > 30:
                    backoff = 1.0  # it was a good connection: try again at once
                    continue
                # a connection that keeps dropping at once must not become a busy loop
            self._ready[name].set()
            if not self.reconnect:
                return
            if not retry:
                # needs the operator (trust a key, fix a key): wait to be told to retry
                await self._kick[name].wait()
                self._kick[name].clear()
                continue
            delay = backoff * random.uniform(0.8, 1.2)
            backoff = min(self.max_backoff, backoff * 2)
            self.status[name].reconnecting = True
            try:
                async with asyncio.timeout(delay):
                    await self._kick[name].wait()
            except TimeoutError:
                pass
            self._kick[name].clear()

    async def _connect_failed(self, host: Host, e: Exception) -> bool:
        """Show why a connection attempt failed; False when retrying cannot help (the
        operator must trust or fix a key, or fix the user's keys)."""
        name = host.name
        kind = failure_kind(e)
        if isinstance(e, JumpHostError):  # not this host's fault: say which machine failed
            self._set_state(name, HostState.UNREACHABLE, str(e))
        elif kind == "host-key" and (isinstance(e, asyncssh.HostKeyNotVerifiable)
                                     or self._known_keys(host)):
            # a key of another type than known_hosts has for the host fails the key
            # exchange itself ("Unable to find compatible server host key"): that is a
            # changed key, not an unreachable host
            await self._host_key_problem(host, e)
            return False
        elif kind == "auth":
            self._set_state(name, HostState.AUTH_FAILED,
                            f"{host.user}@{host.address} refused our keys",)
            return False
        elif isinstance(e, (OSError, asyncio.TimeoutError, asyncssh.Error)):
            self._set_state(name, HostState.UNREACHABLE,
                            f"{host.address}:{host.port}: {_brief(e)}")
        else:  # never let one host's task die silently
            self._set_state(name, HostState.UNREACHABLE, _brief(e))
        return True

    def _record_failure(self, name: str, exc: BaseException) -> None:
        st = self.status[name]
        kind = failure_kind(exc)
        if kind in LOST_KINDS:
            if st.lost_signal_since is None:
                st.lost_signal_since = time.monotonic()  # the run of refusals begins
        else:
            st.lost_signal_since = None  # anything else breaks the run
        st.failure = kind

    def _record_success(self, name: str, conn: asyncssh.SSHClientConnection) -> None:
        st = self.status[name]
        st.failure, st.lost_signal_since = None, None
        try:
            key = conn.get_server_host_key()
        except (AttributeError, asyncssh.Error):
            key = None
        if key is not None:
            st.server_key = key.get_fingerprint()

    def unreachable_for(self, name: str) -> tuple[str, float] | None:
        """(failure kind, seconds) when every connection attempt to the host has failed with
        one of LOST_KINDS (refused, no route, network unreachable) for that long and it is
        still unreachable; None otherwise (connected, a timeout, a key or auth problem...)."""
        st = self.status[name]
        if st.state != HostState.UNREACHABLE or st.lost_signal_since is None or \
                st.failure not in LOST_KINDS:
            return None
        return st.failure, max(0.0, time.monotonic() - st.lost_signal_since)

    def _known_keys(self, host: Host) -> list:
        try:
            return list(self._known_hosts().match(host.address, host.address, host.port)[0])
        except (ValueError, TypeError, asyncssh.Error):
            return []

    async def _after_connect(self, host: Host, conn: asyncssh.SSHClientConnection) -> None:
        if not self.inventory.ssh.sudo:
            self._set_state(host.name, HostState.CONNECTED)
            return
        try:
            async with asyncio.timeout(15):
                proc = await conn.run("sudo -n true", check=False, stdin=asyncssh.DEVNULL)
            denied = proc.exit_status != 0
            why = str(proc.stderr or "").strip().splitlines()
        except (asyncssh.Error, OSError, asyncio.TimeoutError) as e:
            denied, why = True, [_brief(e)]
        if denied:
            text = why[-1] if why else "sudo -n true failed"
            if any(m in text for m in _SUDO_DENIED_MARKERS) or not why:
                text = f"{text} (add a NOPASSWD sudo rule for {host.user}, or set ssh.sudo: false)"
            self._set_state(host.name, HostState.SUDO_DENIED, text)
        else:
            self._set_state(host.name, HostState.CONNECTED)

    async def _host_key_problem(self, host: Host, exc: Exception) -> None:
        keys = self._known_keys(host)
        fingerprint, algorithm = None, None
        try:
            key = await asyncssh.get_server_host_key(host.address, host.port,
                                                     tunnel=await self._tunnel() or ())
            if key is not None:
                fingerprint, algorithm = key.get_fingerprint(), key.get_algorithm()
        except (OSError, asyncssh.Error, asyncio.TimeoutError):
            pass
        where = self.inventory.ssh.known_hosts
        if keys:
            known = ", ".join(f"{_algorithm(k)} {k.get_fingerprint()}" for k in keys)
            presented = f"{algorithm} {fingerprint}" if fingerprint else "another key"
            kinds = {_algorithm(k) for k in keys}
            changed = (f"the host key type changed ({', '.join(sorted(kinds))} -> "
                       f"{algorithm}): " if algorithm and algorithm not in kinds else "")
            self._set_state(host.name, HostState.HOST_KEY_MISMATCH,
                            f"{host.address} presented {presented}, which does not match "
                            f"{where} ({known}); {changed}if the host was reinstalled, remove "
                            f"its old line with ssh-keygen -R, otherwise do not connect",
                            fingerprint=fingerprint)
        else:
            self._set_state(host.name, HostState.HOST_KEY_UNKNOWN,
                            f"{host.address} is not in {where}; its key is "
                            f"{fingerprint or 'unknown'}: check it, then trust it",
                            fingerprint=fingerprint)

    async def trust_host_key(self, name: str, expected_fingerprint: str) -> None:
        """Append the host's current key to known_hosts, if it still has that fingerprint."""
        host = self.inventory.host(name)
        key = await asyncssh.get_server_host_key(host.address, host.port,
                                                 tunnel=await self._tunnel() or ())
        if key is None or key.get_fingerprint() != expected_fingerprint:
            raise ReadOnlyRefused(
                f"{name} now presents a different key than the one shown "
                f"({key.get_fingerprint() if key else 'none'})", where=name,
                hint="Nothing was trusted; check the host before trying again")
        pattern = host.address if host.port == 22 else f"[{host.address}]:{host.port}"
        line = f"{pattern} {key.export_public_key('openssh').decode().strip()}\n"
        path = Path(self.inventory.ssh.known_hosts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
        self.retry_now(name)

    # --- running commands ---------------------------------------------------------------

    def check_allowed(self, command: Command) -> None:
        if self.read_only:
            why = refusal(command)
            if why:
                raise ReadOnlyRefused(f"refused in read-only mode: {why}",
                                      where=command.display(self.inventory.ssh.sudo),
                                      hint="Start the console without --read-only to change hosts")

    async def run(self, hosts: Iterable[str], command: Command,
                  timeout: float | None = None) -> dict[str, RunResult]:
        """Run one command on many hosts in parallel; one result per host."""
        self.check_allowed(command)
        names = list(hosts)
        results = await asyncio.gather(*(self.run_one(n, command, timeout) for n in names))
        return dict(zip(names, results))

    async def run_one(self, name: str, command: Command, timeout: float | None = None,
                      on_line: Callable[[str, str], None] | None = None,
                      quiet: bool = False) -> RunResult:
        """Run on one host. quiet: do not echo to the host's pane (routine status polls,
        which would otherwise bury what a runbook does under a refresh every 2 s)."""
        self.check_allowed(command)
        emit = (lambda event: None) if quiet else self._emit
        started = time.monotonic()
        limit = timeout if timeout is not None else command.timeout
        use_sudo = self.inventory.ssh.sudo
        status = self.status.get(name)
        if status is None:
            self.inventory.host(name)  # raises a clear ConfigError
        if status.state == HostState.SUDO_DENIED and command.privileged and use_sudo:
            return self._finish(name, RunResult(
                name, None, "", "", 0.0, error=f"sudo-denied: {status.error}"), emit)
        conn = self._conns.get(name)
        if conn is None or not status.state.usable:
            return self._finish(name, RunResult(
                name, None, "", "", 0.0,
                error=f"not connected ({status.state.value}"
                      f"{': ' + status.error if status.error else ''})"), emit)
        cap = command.max_output if command.max_output is not None else _OUTPUT_LIMIT
        sink = None
        if command.output_to is not None:
            try:
                sink = open_output_file(command.output_to)
            except OSError as e:
                return self._finish(name, RunResult(
                    name, None, "", "", 0.0,
                    error=f"cannot write the command's output to {command.output_to}: "
                          f"{e.strerror or e}; nothing was run"), emit)
        out, err = Capture(cap, sink), Capture(cap)
        emit(FleetEvent(FleetEventKind.COMMAND, name, text=command.display(use_sudo)))

        async def pump(reader, kept: Capture, stream: str) -> None:
            # read whatever has arrived (up to 64 KiB): one await per chunk rather than per
            # line keeps a flood of output from starving the UI. The lines are split in time
            # linear in the output's size, each cut at its cap (LineSplitter); what the
            # result keeps is capped too (Capture). Reading goes on to the end either way,
            # so the remote command is never left blocked on a full pipe.
            lines = LineSplitter()

            def deliver(complete: list[str]) -> None:
                # one event per chunk, not per line: a flood costs the UI one call
                emit(FleetEvent(FleetEventKind.OUTPUT, name, stream=stream, lines=tuple(complete)))
                if on_line:
                    for text in complete:
                        on_line(stream, text)

            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                kept.add(chunk)
                complete = lines.feed(chunk)
                if complete:
                    deliver(complete)
                await asyncio.sleep(0)  # let keys and repaints through between chunks
            rest = lines.finish()
            if rest:
                deliver(rest)

        def result(exit_status: int | None, error: str | None = None,
                   timed_out: bool = False) -> RunResult:
            over = [(s, c) for s, c in (("stdout", out), ("stderr", err)) if c.over_cap]
            if over and error is None:
                error = "; ".join(over_cap_error(s, c, exit_status) for s, c in over)
            return RunResult(name, exit_status, out.text, err.text,
                             time.monotonic() - started, error=error, timed_out=timed_out,
                             stdout_bytes=out.size, stderr_bytes=err.size,
                             over_cap=bool(over))

        proc = None
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for returns the result of an inner
            # await that completes as the task is cancelled, and the cancellation is lost
            # (gh-86296, fixed in 3.12): a cancelled run_one must raise CancelledError.
            # Opening the session counts against the timeout too: a connection whose peer
            # stopped answering must not hold a command past its limit.
            async with asyncio.timeout(limit):
                if command.stdin is None:
                    proc = await conn.create_process(command.render(use_sudo),
                                                     stdin=asyncssh.DEVNULL)
                else:
                    proc = await conn.create_process(command.render(use_sudo))
                    proc.stdin.write(command.stdin)
                    proc.stdin.write_eof()
                await asyncio.gather(pump(proc.stdout, out, "stdout"),
                                     pump(proc.stderr, err, "stderr"))
            async with asyncio.timeout(5):
                completed = await proc.wait(check=False)
            status_code = completed.exit_status
            if status_code is None or status_code < 0:
                signal = completed.exit_signal[0] if completed.exit_signal else "unknown"
                return self._finish(name, result(None, f"killed by signal {signal}"), emit)
            outcome = result(status_code)
            if status_code != 0 and command.privileged and use_sudo and \
                    any(m in outcome.stderr for m in _SUDO_DENIED_MARKERS):
                self._set_state(name, HostState.SUDO_DENIED,
                                outcome.stderr.strip().splitlines()[-1])
                outcome = result(status_code, "sudo-denied")
            return self._finish(name, outcome, emit)
        except asyncio.CancelledError:
            # the caller gave up (a runbook aborted, the console closing): stop the remote
            # command too, and let the cancellation through
            if proc is not None:
                proc.close()
            emit(FleetEvent(FleetEventKind.NOTE, name, text="cancelled"))
            raise
        except asyncio.TimeoutError:
            if proc is not None:
                proc.close()
            return self._finish(name, result(None, f"timed out after {limit:g}s", True), emit)
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError) as e:
            return self._finish(name, result(None, f"connection lost: {_brief(e)}"), emit)
        finally:
            if sink is not None:
                sink.close()

    @staticmethod
    def _finish(name: str, result: RunResult, emit: Listener) -> RunResult:
        emit(FleetEvent(FleetEventKind.RESULT, name, text=_describe(result), result=result))
        return result

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


async def _handshake_done(conn: asyncssh.SSHClientConnection) -> None:
    """One round trip with sshd's post-authentication process before the handshake slot goes
    to the next host. sshd counts a connection against MaxStartups until its monitor has
    finished authentication, which can be just after our side saw the success: without this
    wait, pacing at sshd's own limit still trips it now and then."""
    request = getattr(conn, "_make_global_request", None)  # what asyncssh's keepalive sends
    if request is None:
        return
    try:
        async with asyncio.timeout(5):
            await request(b"keepalive@openssh.com")
    except (asyncssh.Error, OSError, TimeoutError, TypeError):
        pass  # a dead connection shows up on its own, in _maintain


def _algorithm(key) -> str:
    try:
        return key.get_algorithm()
    except (AttributeError, asyncssh.Error):
        return "?"


def _describe(result: RunResult) -> str:
    if result.error:
        return f"failed: {result.error} ({result.duration:.1f}s)"
    return f"exit {result.exit_status} ({result.duration:.1f}s)"


def _brief(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return text.splitlines()[0]
