"""Commands are quoted, and read-only mode refuses everything that is not on the allowlist."""

from __future__ import annotations

import shlex

import pytest

from tui.etcd import etcdctl
from tui.fleet.commands import Command, Safety, expand_prefix
from tui.fleet.readonly import refusal
from tui.inventory import parse_inventory

INV = parse_inventory("cluster: {name: c}\nhosts:\n  - {name: m0, address: 10.0.0.5}\n")


def test_arguments_are_quoted_and_survive_a_shell_round_trip():
    nasty = "a b; rm -rf / $(reboot) 'q' \"d\""
    cmd = Command.of("echo", nasty)
    assert shlex.split(cmd.render(use_sudo=True)) == ["echo", nasty]


def test_privileged_commands_use_sudo_n_and_one_quoted_script():
    cmd = Command.of("mv", "-v", "/etc/kubernetes/manifests/etcd-pod.yaml", "/tmp",
                     privileged=True)
    sent = cmd.render(use_sudo=True)
    assert sent.startswith("sudo -n sh -c ")
    assert shlex.split(sent)[4] == "mv -v /etc/kubernetes/manifests/etcd-pod.yaml /tmp"
    assert cmd.render(use_sudo=False) == "mv -v /etc/kubernetes/manifests/etcd-pod.yaml /tmp"


def test_prefix_values_from_the_inventory_are_quoted():
    assert expand_prefix("etcdctl --endpoints=https://{address}:2379",
                         address="10.0.0.5") == "etcdctl --endpoints=https://10.0.0.5:2379"
    evil = expand_prefix("x {name}", name="m0; reboot")
    assert evil == "x 'm0; reboot'"


def test_secrets_are_redacted_in_what_is_shown():
    cmd = Command.of("curl", "-H", "Authorization: Bearer s3cr3t", secrets=("s3cr3t",))
    assert "s3cr3t" not in cmd.redacted(True)
    assert "s3cr3t" not in cmd.display()


@pytest.mark.parametrize("cmd", [
    etcdctl.endpoint_status_cluster(INV, INV.hosts[0]),
    etcdctl.member_list(INV, INV.hosts[0]),
    etcdctl.alarm_list(INV, INV.hosts[0]),
    Command.of("crictl", "ps", "--name", "etcd", privileged=True).pipe("grep", "-v", "operator"),
    Command.of("ip", "-o", "address"),
    Command.of("systemctl", "is-active", "kubelet"),
])
def test_read_only_allows_reads(cmd):
    assert refusal(cmd) is None


@pytest.mark.parametrize("cmd", [
    etcdctl.etcdctl(INV, INV.hosts[0], "defrag", "--command-timeout=30s"),
    etcdctl.etcdctl(INV, INV.hosts[0], "alarm", "disarm"),
    etcdctl.etcdctl(INV, INV.hosts[0], "-w", "json", "member", "remove", "abc"),
    etcdctl.etcdctl(INV, INV.hosts[0], "put", "k", "v"),
    etcdctl.etcdctl(INV, INV.hosts[0], "snapshot", "save", "/tmp/x.db"),
    Command.of("mv", "-v", "/etc/kubernetes/manifests/etcd-pod.yaml", "/tmp", privileged=True),
    Command.of("rm", "-f", "/var/lib/ovn/etc/a.db"),
    Command.of("systemctl", "restart", "kubelet.service"),
    Command.of("ip", "address", "del", "10.0.0.100", "dev", "br-ex"),
    Command.of("/usr/local/bin/cluster-backup.sh", "/home/core/assets/backup"),
    Command.of("crictl", "stop", "abc"),
    Command.of("ls").pipe("xargs", "rm"),
    Command.of("sh", "-c", "rm -rf /"),
    # a screen that mislabels a mutating command as read-only is still refused
    Command.of("mv", "a", "b", safety=Safety.READ),
    Command(stages=(("status",),), prefix="etcdctl", prefix_program=""),
])
def test_read_only_refuses_everything_else(cmd):
    assert refusal(cmd) is not None


@pytest.mark.parametrize("cmd", [
    Command.of("printenv", "AS_ROOT", privileged=True),
    # a pipeline: sudo must run every stage, not only the first
    Command.of("printenv", "AS_ROOT", privileged=True).pipe("sh", "-c",
                                                            "printenv AS_ROOT; cat"),
    # exports before the command: `sudo -E`, as the procedure does it
    Command.of("printenv", "AS_ROOT", "HTTPS_PROXY", privileged=True,
               env=(("HTTPS_PROXY", "http://proxy.example.com:3128"),)),
])
def test_the_short_form_a_pane_shows_does_what_was_sent_when_pasted(cmd, tmp_path):
    """A pane shows `$ <display()>`; an operator may paste it into a root-capable shell.
    Run by bash with a stand-in sudo (it marks what runs under it with AS_ROOT=1), it must
    print what the command sent (render) prints."""
    import os
    import subprocess

    fake = tmp_path / "sudo"
    fake.write_text('#!/bin/sh\nwhile [ "${1#-}" != "$1" ]; do shift; done\n'
                    'AS_ROOT=1 exec "$@"\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}")
    env.pop("AS_ROOT", None)
    env.pop("HTTPS_PROXY", None)

    def run(text: str) -> str:
        return subprocess.run(["bash", "-c", text], env=env, capture_output=True, text=True,
                              timeout=10).stdout

    sent = run(cmd.render(use_sudo=True, recorded=False))
    assert "1" in sent  # the stand-in ran it as "root"
    assert run(cmd.display(use_sudo=True)) == sent, cmd.display(use_sudo=True)


def test_a_prefixed_command_is_shown_as_the_sh_c_sudo_runs():
    """The inventory's etcdctl prefix finds the etcdctl container with `$(crictl ps ...)`:
    under a bare `sudo` that lookup would run as the operator."""
    cmd = etcdctl.etcdctl(INV, INV.hosts[0], "endpoint", "health")  # the default prefix
    assert cmd.privileged and cmd.prefix is not None, cmd
    shown = cmd.display(use_sudo=True)
    assert shlex.split(shown) == ["sudo", "sh", "-c", cmd.plain_script()], shown
    assert "$(crictl ps" in cmd.plain_script()
