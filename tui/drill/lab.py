"""The drill lab: a scenario brought to life on loopback.

Starts one real SSH server per simulated host (each on its own 127.0.3.N address) and the
simulated API, and writes what a real cluster's operator would have: an inventory, a
known_hosts file, an SSH key and a kubeconfig. The console then connects to it through the
very same code paths as to a real cluster.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import socket
import stat
import tempfile
from pathlib import Path
from typing import Callable

import asyncssh
import yaml

from tui.drill.activity import activity_forever
from tui.drill.apiserver import DrillApiServer
from tui.drill.encryption import encryption_forever
from tui.drill.kubelet import reconcile_forever
from tui.drill.model import SimClock
from tui.drill.scenario import build_cluster
from tui.drill.sshserver import DrillSSHServer
from tui.errors import ConfigError
from tui.files import ensure_directory, os_problem, write_private_file
from tui.inventory import Inventory, load_inventory

WORKDIR_PREFIX = "etcd-dr-drill-"
OWNER_FILE = "owner.json"  # who made a temporary drill workdir: {pid, start, boot}
_HINT = "Give a writable directory (for `lab serve`: --inventory-out in one)"


def _write_private(path: Path, text: str) -> None:
    """0600, replacing what was there, never through a symbolic link."""
    write_private_file(path, text, what="a drill file", hint=_HINT)


def _process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, /proc/PID/stat field 22): with the
    pid, it names one process; a pid reused later has another start."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may itself hold spaces or ')'
    fields = data[data.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else None


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def _owner_record() -> dict:
    pid = os.getpid()
    return {"pid": pid, "start": _process_start(pid), "boot": _boot_id()}


def _owner_alive(record: dict) -> bool:
    """Whether the process that made a drill workdir still runs (same boot, same pid, same
    start time). Unsure means alive: a live drill's keys are never taken from under it."""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    boot = _boot_id()
    if record.get("boot") and boot and record["boot"] != boot:
        return False  # made before the last reboot
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # there, and another user's
    except OSError:
        return True
    start = _process_start(pid)
    if start is not None and record.get("start") and start != record["start"]:
        return False  # the pid was reused by a later process
    return True


def remove_stale_workdirs(base: str | os.PathLike | None = None) -> list[Path]:
    """Remove the temporary workdirs of drills that died without cleaning up (kill -9): each
    holds that drill's private SSH key and API token. Only directories of this user's with an
    owner record whose process is gone; never a link, never another user's, never a live
    drill's, never one without a record (one being made right now has none yet). Returns
    what was removed."""
    root = Path(base or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(WORKDIR_PREFIX):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            continue
        path = Path(entry.path)
        try:
            fd = os.open(path / OWNER_FILE, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                record = json.loads(f.read(4096))
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or _owner_alive(record):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


class DrillLab:
    def __init__(self, scenario: str = "healthy", *, speed: float = 1.0,
                 workdir: str | os.PathLike | None = None, address_base: str = "127.0.3",
                 clock: SimClock | None = None):
        self.cluster = build_cluster(scenario, speed=speed, address_base=address_base,
                                     clock=clock)
        self._own_workdir = workdir is None
        # which simulated cluster a journal's run was on (journal lines' `drill`): this one
        # lives in this process only (tui.backend.Backend.resumable)
        self.drill_id = secrets.token_hex(8)
        if workdir is None:
            # a drill killed with -9 left its keys behind: its directory goes now
            remove_stale_workdirs()
            self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))  # 0700
            _write_private(self.workdir / OWNER_FILE, json.dumps(_owner_record()))
        else:
            self.workdir = Path(workdir)
        self.address_base = address_base
        self.servers: dict[str, DrillSSHServer] = {}
        self._following: set[str] = set()  # hosts whose SSH server is being started/stopped
        # the ports of hosts whose SSH server is down, held bound (see _hold_port)
        self._held_ports: dict[str, socket.socket] = {}
        # SSH refused on these hosts until that simulated time (tui.drill.inject drop-ssh);
        # the host itself, and its etcd, keep running
        self.ssh_blocked: dict[str, float] = {}
        # things to do at a simulated time (a fault injected for a while ends): (when, fn)
        self._timed: list[tuple[float, Callable[[], object]]] = []
        self._timer: asyncio.Task | None = None
        self._kubelet: asyncio.Task | None = None
        self._activity: asyncio.Task | None = None
        self._encryption: asyncio.Task | None = None
        self.api = DrillApiServer(self.cluster, address=f"{address_base}.250")
        self.inventory_path = self.workdir / "inventory.yaml"
        self.known_hosts_path = self.workdir / "known_hosts"
        self.key_path = self.workdir / "id_ed25519"
        self.kubeconfig_path = self.workdir / "kubeconfig"
        self.ssh_config_path = self.workdir / "ssh_config"

    async def start(self, inventory_path: str | os.PathLike | None = None) -> Inventory:
        ensure_directory(self.workdir, what="the drill's directory", hint=_HINT)
        try:
            st = os.lstat(self.workdir)
            if st.st_uid == os.geteuid() and st.st_mode & 0o077:
                os.chmod(self.workdir, 0o700)  # its keys are for this user's eyes only
        except OSError as e:
            raise ConfigError(f"cannot use the drill's directory ({os_problem(e)})",
                              where=str(self.workdir), hint=_HINT) from None
        client_key = asyncssh.generate_private_key("ssh-ed25519", comment="etcd-dr drill")
        _write_private(self.key_path, client_key.export_private_key().decode())
        public = client_key.export_public_key().decode()
        _write_private(self.workdir / "id_ed25519.pub", public)
        known_lines = []
        for host in self.cluster.hosts:
            host_key = asyncssh.generate_private_key("ssh-ed25519")
            server = DrillSSHServer(self.cluster, host, host_key, public)
            self.servers[host.name] = server
            if self._should_listen(host):
                await server.start()
            else:
                self._hold_port(host)
            known_lines.append(f"[{host.address}]:{host.ssh_port} "
                               f"{host_key.export_public_key().decode().strip()}")
        _write_private(self.known_hosts_path, "\n".join(known_lines) + "\n")
        # an empty ssh_config keeps the operator's own ~/.ssh/config out of drills
        _write_private(self.ssh_config_path, "# etcd-dr drill: no ssh_config settings\n")

        # kubelet keeps working between commands, so the API sees pods stop on their own
        self._kubelet = asyncio.create_task(reconcile_forever(self.cluster), name="drill-kubelet")
        self._activity = asyncio.create_task(activity_forever(self.cluster), name="drill-writes")
        # the operators' encryption migrations move on with the clock, as the writes do
        self._encryption = asyncio.create_task(encryption_forever(self.cluster),
                                               name="drill-encryption")
        # a machine re-provisioned by the drill's machine API comes back with its SSH server
        self.cluster.host_hooks.append(self._follow_host)
        self.cluster.api.token = "sha256~" + secrets.token_urlsafe(32)
        await self.api.start()
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": self.cluster.name, "cluster": {"server": self.api.url}}],
            "users": [{"name": "admin", "user": {"token": self.cluster.api.token}}],
            "contexts": [{"name": "admin", "context": {"cluster": self.cluster.name,
                                                       "user": "admin"}}],
            "current-context": "admin",
        }
        _write_private(self.kubeconfig_path, yaml.safe_dump(kubeconfig, sort_keys=False))

        inventory = {
            "cluster": {"name": self.cluster.name, "version": self.cluster.api.version},
            "drill": True,
            "kubeconfig": str(self.kubeconfig_path),
            "context": "admin",
            "ssh": {"user": "core", "identity_file": str(self.key_path),
                    "known_hosts": str(self.known_hosts_path), "sudo": True,
                    "connect_timeout": "5s", "config": str(self.ssh_config_path)},
            "hosts": [{"name": h.name, "address": h.address, "role": h.role,
                       "port": h.ssh_port} for h in self.cluster.hosts],
        }
        text = (f"# Drill cluster {self.cluster.name} (scenario {self.cluster.scenario}).\n"
                + yaml.safe_dump(inventory, sort_keys=False))
        _write_private(self.inventory_path, text)
        if inventory_path is not None:
            write_private_file(inventory_path, text, what="the inventory",
                               hint="Give --inventory-out a new or existing regular file in "
                                    "a writable directory")
        return load_inventory(self.inventory_path)

    async def take_down(self, host_name: str) -> None:
        """The host's machine goes away: SSH refused, its etcd member gone."""
        host = self.cluster.host(host_name)
        if host is None:
            raise KeyError(host_name)
        host.up = False
        member = self.cluster.member_of(host)
        if member:
            member.running = False
        await self.servers[host_name].stop()
        self._hold_port(host)
        self.cluster.changed()

    async def bring_up(self, host_name: str) -> None:
        host = self.cluster.host(host_name)
        if host is None:
            raise KeyError(host_name)
        host.up = True
        member = self.cluster.member_of(host)
        if member and host.container("etcd") is not None:
            member.running = True
        if self._should_listen(host):
            self._release_port(host)
            await self.servers[host_name].start(host.ssh_port)
        self.cluster.changed()

    def block_ssh(self, host_name: str, seconds: float) -> float:
        """Refuse SSH connections to the host for `seconds` of simulated time (open sessions
        drop), then listen again; returns the simulated time it comes back. The machine
        stays up: its etcd member and containers go on."""
        host = self.cluster.host(host_name)
        if host is None:
            raise KeyError(host_name)
        until = max(self.ssh_blocked.get(host_name, 0.0), self.cluster.clock.now() + seconds)
        self.ssh_blocked[host_name] = until
        self._follow_host(host)

        def unblock() -> None:
            if self.ssh_blocked.get(host_name, until) <= until:  # not extended meanwhile
                self.ssh_blocked.pop(host_name, None)
                self._follow_host(host)

        self.call_at(until, unblock)
        return until

    def call_at(self, when: float, fn: Callable[[], object]) -> None:
        """Call `fn` once the simulated clock reaches `when` (needs the running loop)."""
        self._timed.append((when, fn))
        if self._timer is None or self._timer.done():
            self._timer = asyncio.get_running_loop().create_task(self._run_timed(),
                                                                 name="drill-timed")

    async def _run_timed(self) -> None:
        clock = self.cluster.clock
        while self._timed:
            now = clock.now()
            due = [item for item in self._timed if item[0] <= now]
            for item in sorted(due, key=lambda i: i[0]):
                self._timed.remove(item)
                try:
                    item[1]()
                except Exception:  # one broken undo must not stop the others
                    logging.getLogger(__name__).exception("drill timer %r failed", item[1])
            if not self._timed:
                return
            real = clock.real_seconds(min(w for w, _ in self._timed) - clock.now())
            # a frozen clock moves only when a test advances it: look again shortly
            await asyncio.sleep(min(0.1, real) if real > 0 else 0.05)

    def _hold_port(self, host) -> None:
        """While a host's SSH server is down, its port stays bound but not listening (a
        connection is refused, as by a machine that is off). Every drill server picks its
        port as "any free port" (port 0), and the kernel never picks a bound one: so no
        other drill on this machine (another test worker's, on the same 127.0.3.x) takes
        the port this host must come back on. A host that never listened gets its port here."""
        if host.name in self._held_ports:
            return
        sock = socket.socket()
        # SO_REUSEADDR as the server itself sets it: the port's closed sessions (TIME_WAIT)
        # do not keep it from being held
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.address, host.ssh_port or 0))
        except OSError:  # cannot be held: the port stays as the server left it
            sock.close()
            if not host.ssh_port:
                host.ssh_port = _free_port(host.address)
            return
        host.ssh_port = sock.getsockname()[1]
        self._held_ports[host.name] = sock

    def _release_port(self, host) -> None:
        sock = self._held_ports.pop(host.name, None)
        if sock is not None:
            sock.close()

    def _should_listen(self, host) -> bool:
        return host.up and host.name not in self.ssh_blocked

    def _follow_host(self, host) -> None:
        """A host's machine went away or came back (tui.drill.controllers): its SSH server
        follows."""
        server = self.servers.get(host.name)
        if server is None:
            return
        if not self._should_listen(host):
            server.drop_sessions()  # at once: the next command must not get through
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if host.name in self._following:
            return  # a start or stop is under way; it re-checks when done
        if self._should_listen(host) != server.listening:
            self._following.add(host.name)
            loop.create_task(self._sync_server(host, server))

    async def _sync_server(self, host, server) -> None:
        try:
            while self._should_listen(host) != server.listening:
                if self._should_listen(host):
                    self._release_port(host)
                    await server.start(host.ssh_port)
                else:
                    await server.stop()
                    self._hold_port(host)
        finally:
            self._following.discard(host.name)

    def stop_background_writes(self) -> None:
        """No more writes from the cluster's background activity (tui.drill.activity): for
        a test that checks an exact revision while simulated time jumps."""
        if self._activity is not None:
            self._activity.cancel()
            self._activity = None

    async def stop(self) -> None:
        if self._follow_host in self.cluster.host_hooks:
            self.cluster.host_hooks.remove(self._follow_host)
        for task in (self._kubelet, self._activity, self._encryption, self._timer):
            if task is not None:
                task.cancel()
        self._kubelet = self._activity = self._encryption = self._timer = None
        self._timed.clear()
        for server in self.servers.values():
            await server.stop()
        for sock in self._held_ports.values():
            sock.close()
        self._held_ports.clear()
        await self.api.stop()
        if self._own_workdir:  # a temporary lab leaves nothing behind (keys included)
            shutil.rmtree(self.workdir, ignore_errors=True)


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]
