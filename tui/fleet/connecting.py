"""Connecting and reconnecting: each host's task opens its SSH connection (through the jump
host when there is one, paced to sshd's MaxStartups), checks sudo, shows why an attempt failed,
and tries again with a backoff; host keys are checked and, when the operator says so, trusted.
Fleet gets these methods from HostConnections."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import asyncssh

from tui.errors import ReadOnlyRefused
from tui.fleet.events import EventSource
from tui.fleet.hoststate import (LOST_KINDS, SUDO_DENIED_MARKERS, HostState, JumpHostError,
                                 brief_error, failure_kind)
from tui.inventory import Host, Inventory

_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
            "aes128-ctr", "aes192-ctr", "aes256-ctr")


class HostConnections(EventSource):
    """The connecting half of the fleet: one task per host keeps its connection open."""

    inventory: Inventory
    reconnect: bool
    max_backoff: float
    _conns: dict[str, asyncssh.SSHClientConnection]
    _ready: dict[str, asyncio.Event]
    _kick: dict[str, asyncio.Event]
    _handshakes: asyncio.Semaphore | None
    _jump: asyncssh.SSHClientConnection | None
    _jump_lock: asyncio.Lock | None
    _closed: bool
    _known_hosts_cache: tuple[tuple, asyncssh.SSHKnownHosts] | None

    def retry_now(self, host: str) -> None:
        """Skip the backoff and try a host again (after trusting its key, say)."""
        if host in self._kick:
            self._kick[host].set()

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
                    f"{self.inventory.ssh.known_hosts} ({brief_error(e)}); check it and add it "
                    f"there, the hosts behind it are retried") from e
            except asyncssh.PermissionDenied as e:
                raise JumpHostError(f"jump host {jump}: {jump_host.user}@{address} refused "
                                    f"our keys") from e
            except (OSError, asyncio.TimeoutError, asyncssh.Error) as e:
                raise JumpHostError(f"jump host {jump}: {brief_error(e)}") from e
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
                    self._note(host.name, f"sshd refused the handshake ({brief_error(e)}); "
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
                            f"{host.address}:{host.port}: {brief_error(e)}")
        else:  # never let one host's task die silently
            self._set_state(name, HostState.UNREACHABLE, brief_error(e))
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
        """The keys known_hosts holds for the host, each once: a line matches the host both
        by name and by address (the inventory names a host by its address), and asyncssh
        returns it for each."""
        try:
            keys = self._known_hosts().match(host.address, host.address, host.port)[0]
        except (ValueError, TypeError, asyncssh.Error):
            return []
        return list({k.public_data: k for k in keys}.values())

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
            denied, why = True, [brief_error(e)]
        if denied:
            text = why[-1] if why else "sudo -n true failed"
            if any(m in text for m in SUDO_DENIED_MARKERS) or not why:
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

