"""Through the lab's real sshds: each host's own files, host keys, user keys and sudo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.lab.lab import NOSUDO_USER, eventually
from tui.fleet.commands import Command, Safety
from tui.fleet.fleet import Fleet, HostState
from tui.inventory import load_inventory

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

MANIFEST = "/etc/kubernetes/manifests/etcd-pod.yaml"


def _tree(path: str) -> list[tuple[str, int]] | None:
    """What the machine itself has at path (None: nothing), to prove it is left alone."""
    if not os.path.exists(path):
        return None
    out = []
    for root, dirs, files in os.walk(path):
        for name in sorted(dirs + files):
            full = os.path.join(root, name)
            out.append((full, os.lstat(full).st_mtime_ns))
    return out


def _ssh_keygen_fingerprint(public_key_file: str) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", public_key_file],
                         capture_output=True, text=True, check=True).stdout
    return out.split()[1]  # "256 SHA256:... comment (ED25519)"


async def test_a_command_acts_on_that_hosts_files_alone(lab):
    machine_kubernetes = _tree("/etc/kubernetes")
    machine_tmp_manifest = os.path.exists("/tmp/etcd-pod.yaml")
    a, b, c = lab.hosts
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    try:
        moved = await fleet.run_one(a.name, Command.of("mv", MANIFEST, "/tmp", privileged=True,
                                                       safety=Safety.MUTATING))
        assert moved.ok, moved
        # on host A the file moved into A's own /tmp ...
        assert not a.path(MANIFEST).exists()
        assert f"nodeName: {a.name}" in a.path("/tmp/etcd-pod.yaml").read_text()
        # ... the others still have theirs, and the machine's own directories are untouched
        assert b.path(MANIFEST).exists() and c.path(MANIFEST).exists()
        assert _tree("/etc/kubernetes") == machine_kubernetes
        assert os.path.exists("/tmp/etcd-pod.yaml") == machine_tmp_manifest

        # and over SSH each host sees its own state
        listing = await fleet.run(fleet.connected_hosts(),
                                  Command.of("ls", "/etc/kubernetes/manifests", "/tmp"))
        assert "etcd-pod.yaml" not in listing[a.name].stdout.split("/tmp:")[0]
        assert "etcd-pod.yaml" in listing[a.name].stdout.split("/tmp:")[1]
        for other in (b, c):
            head, tmp = listing[other.name].stdout.split("/tmp:")
            assert "etcd-pod.yaml" in head and "etcd-pod.yaml" not in tmp
    finally:
        await fleet.run_one(a.name, Command.of("sh", "-c", f"test -e {MANIFEST} || "
                                                          f"mv /tmp/etcd-pod.yaml {MANIFEST}",
                                               privileged=True, safety=Safety.MUTATING))
        await fleet.close()
    assert a.path(MANIFEST).exists()


async def test_an_unknown_host_key_is_refused_and_its_fingerprint_shown(lab, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    inventory = load_inventory(lab.write_inventory(tmp_path / "inv.yaml",
                                                   known_hosts=known_hosts))
    fleet = Fleet(inventory)
    await fleet.start()
    try:
        for host in lab.hosts:
            status = fleet.status[host.name]
            assert status.state == HostState.HOST_KEY_UNKNOWN, (host.name, status)
            real = _ssh_keygen_fingerprint(f"{host.sshd.host_key}.pub")
            assert real.startswith("SHA256:")
            assert status.fingerprint == real
            assert real in status.error
        assert fleet.connected_hosts() == []

        # trusting the shown key (as the operator does after checking it) connects
        a = lab.hosts[0]
        await fleet.trust_host_key(a.name, fleet.status[a.name].fingerprint)
        await eventually(lambda: fleet.status[a.name].state == HostState.CONNECTED, 15,
                         f"{a.name} to connect after its key was trusted")
        assert f"[{a.address}]:{a.port} ssh-ed25519 " in known_hosts.read_text()
        result = await fleet.run_one(a.name, Command.of("cat", MANIFEST))
        assert f"nodeName: {a.name}" in result.stdout
    finally:
        await fleet.close()


async def test_a_changed_host_key_is_a_mismatch_not_a_connection(lab, tmp_path):
    a, b = lab.hosts[0], lab.hosts[1]
    # a known_hosts that lists B's key under A's address: A "was reinstalled"
    b_key = Path(f"{b.sshd.host_key}.pub").read_text().split()[:2]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[{a.address}]:{a.port} {' '.join(b_key)}\n")
    fleet = Fleet(load_inventory(lab.write_inventory(tmp_path / "inv.yaml",
                                                     known_hosts=known_hosts,
                                                     hosts=[a.name])))
    await fleet.start()
    try:
        status = fleet.status[a.name]
        assert status.state == HostState.HOST_KEY_MISMATCH
        assert status.fingerprint == _ssh_keygen_fingerprint(f"{a.sshd.host_key}.pub")
        assert "ssh-keygen -R" in status.error
    finally:
        await fleet.close()


async def test_a_key_the_hosts_do_not_accept_is_auth_failed(lab, tmp_path):
    wrong = lab.new_user_key("an operator key no host knows")
    fleet = Fleet(load_inventory(lab.write_inventory(tmp_path / "inv.yaml",
                                                     identity_file=wrong)))
    await fleet.start()
    try:
        for host in lab.hosts:
            status = fleet.status[host.name]
            assert status.state == HostState.AUTH_FAILED, (host.name, status)
            assert f"root@{host.address}" in status.error
    finally:
        await fleet.close()


async def test_sudo_without_a_nopasswd_rule_is_sudo_denied(lab, tmp_path):
    # etcddr-nosudo exists only inside the lab hosts' namespaces, with the lab's authorized
    # key and no sudoers rule: the machine's real sudo answers for it
    fleet = Fleet(load_inventory(lab.write_inventory(tmp_path / "inv.yaml", user=NOSUDO_USER,
                                                     sudo=True)))
    await fleet.start()
    try:
        for host in lab.hosts:
            status = fleet.status[host.name]
            assert status.state == HostState.SUDO_DENIED, (host.name, status)
            assert "sudo: a password is required" in status.error
            assert "NOPASSWD" in status.error
        a = lab.hosts[0].name
        # unprivileged commands still run ...
        who = await fleet.run_one(a, Command.of("id", "-un"))
        assert who.ok and who.stdout.strip() == NOSUDO_USER
        # ... privileged ones are refused without being sent
        sent = []
        fleet.subscribe(lambda e: sent.append(e) if e.kind == "command" else None)
        denied = await fleet.run_one(a, Command.of("cat", MANIFEST, privileged=True))
        assert denied.error and denied.error.startswith("sudo-denied")
        assert sent == []
    finally:
        await fleet.close()

    # root with sudo on: the same hosts, and sudo lets it through
    fleet = Fleet(load_inventory(lab.write_inventory(tmp_path / "root.yaml", sudo=True)))
    await fleet.start()
    try:
        assert all(fleet.status[h.name].state == HostState.CONNECTED for h in lab.hosts)
        result = await fleet.run_one(lab.hosts[0].name, Command.of("id", "-u", privileged=True))
        assert result.ok and result.stdout.strip() == "0"
    finally:
        await fleet.close()


async def test_a_batch_over_sudo_on_a_real_host_cut_by_its_timeout_in_the_middle(lab):
    """A batch (tui/fleet/batch.py) through the real sshd, sudo and sh: each command's output
    and exit status come back apart, root's own view included; a command still running when
    the batch's time is up carries the timeout, what it printed so far, and no exit status,
    and the one after it never ran (its file is not there)."""
    from tui.fleet.batch import Batch

    a = lab.hosts[0]
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    after = "/tmp/etcd-dr-batch-after"
    try:
        whole = await fleet.run_batch(a.name, Batch((
            Command.of("id", "-u", privileged=True),
            Command.of("sh", "-c", "printf 'no newline'; echo oops >&2; exit 7",
                       privileged=True),
            Command.of("cat", MANIFEST, privileged=True))))
        assert [(r.stdout, r.stderr, r.exit_status) for r in whole[:2]] == \
            [("0\n", "", 0), ("no newline", "oops\n", 7)]
        assert whole[2].ok and "etcd" in whole[2].stdout

        cut = await fleet.run_batch(a.name, Batch((
            Command.of("echo", "first", privileged=True, timeout=2),
            Command.of("sh", "-c", "echo started; sleep 30", privileged=True, timeout=2),
            Command.of("touch", after, privileged=True, timeout=2))))
        assert (cut[0].stdout, cut[0].exit_status, cut[0].error) == ("first\n", 0, None)
        assert cut[1].exit_status is None and cut[1].timed_out
        assert cut[1].error == "timed out after 2s"
        # what it printed so far (its last newline cannot be told from a marker's first byte)
        assert cut[1].stdout.rstrip("\n") == "started"
        assert cut[2].exit_status is None and cut[2].error == cut[1].error
        assert not a.path(after).exists()
    finally:
        await fleet.close()
