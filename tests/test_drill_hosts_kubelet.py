"""Kubelet's certificates on the drill's hosts (RST-09, RST-10), through the real SSH path:
/var/lib/kubelet/pki holds kubelet-client-<date>.pem, kubelet-server-<date>.pem and the
-current.pem links; removing them and restarting kubelet makes it bootstrap (new CSRs), and
tui.drill.hostfiles.write_kubelet_pems is what issuing new certificates writes."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets

from tui.drill import hostfiles
from tui.drill.model import SimClock
from tui.fleet.commands import Command

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
PKI = "/var/lib/kubelet/pki"
PEM = re.compile(r"kubelet-(client|server)-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.pem")

WORKERS_414 = """
name: workers-414
version: "4.14.12"
control_plane: 3
workers: 2
"""


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=START)) as start:
        yield start


def shell(text: str) -> Command:
    return Command.of("sh", "-c", text, timeout=30)


async def test_every_host_has_kubelet_pems_and_current_links(started):
    lab, fleet = await started(WORKERS_414)
    for host in lab.cluster.hosts:
        assert host.kubelet_certs == "valid"
        r = await fleet.run_one(host.name, shell(f"sudo ls {PKI}"))
        assert r.ok, r
        names = r.stdout.split()
        assert len(names) == 4, names
        dated = [n for n in names if PEM.fullmatch(n)]
        assert sorted(n.split("-")[1] for n in dated) == ["client", "server"]
        assert {"kubelet-client-current.pem", "kubelet-server-current.pem"} <= set(names)
        for kind in ("client", "server"):
            link = await fleet.run_one(host.name, shell(
                f"sudo readlink {PKI}/kubelet-{kind}-current.pem"))
            target = link.stdout.strip()
            assert re.fullmatch(re.escape(PKI) + r"/kubelet-" + kind + r"-[\d-]+\.pem", target)
            head = await fleet.run_one(host.name, shell(
                f"sudo head -1 {PKI}/kubelet-{kind}-current.pem"))
            assert head.stdout == "-----BEGIN CERTIFICATE-----\n"
        # the private keys are root's
        r = await fleet.run_one(host.name, shell(f"cat {PKI}/kubelet-client-current.pem"))
        assert r.exit_status == 1 and "Permission denied" in r.stderr


async def test_rm_pems_and_restart_kubelet_bootstraps(started):
    lab, fleet = await started(WORKERS_414)
    host = lab.cluster.host("master-1")
    host.kubelet_certs = "stale"  # what a restore leaves when the certificates were rotated
    # RST-09: the glob takes the links as well as the files
    r = await fleet.run_one("master-1", shell(f"sudo rm -f {PKI}/*.pem"))
    assert r.ok, r
    r = await fleet.run_one("master-1", shell(f"sudo ls -A {PKI}"))
    assert r.ok and r.stdout == ""
    assert not any(p.startswith(PKI + "/") for p in (*host.files, *host.links))
    # RST-10
    r = await fleet.run_one("master-1", shell("sudo systemctl restart kubelet.service"))
    assert r.ok, r
    assert host.kubelet_certs == "bootstrapping" and host.kubelet_running
    r = await fleet.run_one("master-1", shell("systemctl is-active kubelet"))
    assert r.stdout == "active\n"
    log = await fleet.run_one("master-1", shell("journalctl -u kubelet"))
    assert "Started Kubernetes Kubelet." in log.stdout
    assert "Waiting for client certificate to be issued" in log.stdout
    assert "kubenswrapper[" in log.stdout
    # the other hosts are untouched
    assert lab.cluster.host("master-0").kubelet_certs == "valid"

    # the CSRs are approved (the drill API does this): new PEMs dated now
    hostfiles.write_kubelet_pems(lab.cluster, host)
    assert host.kubelet_certs == "valid"
    stamp = lab.cluster.clock.now_dt().strftime("%Y-%m-%d-%H-%M-%S")
    r = await fleet.run_one("master-1", shell(f"sudo ls {PKI}"))
    assert r.stdout.split() == [f"kubelet-client-{stamp}.pem", "kubelet-client-current.pem",
                                f"kubelet-server-{stamp}.pem", "kubelet-server-current.pem"]
    link = await fleet.run_one("master-1", shell(f"sudo readlink {PKI}/kubelet-server-current.pem"))
    assert link.stdout.strip() == f"{PKI}/kubelet-server-{stamp}.pem"


async def test_restart_with_pems_in_place_keeps_the_certificate_state(started):
    lab, fleet = await started(WORKERS_414)
    host = lab.cluster.host("worker-0")
    host.kubelet_certs = "stale"
    r = await fleet.run_one("worker-0", shell("sudo systemctl restart kubelet"))
    assert r.ok, r
    assert host.kubelet_certs == "stale"  # the old certificates are still what it presents
    # a dangling -current link does not count as a certificate
    assert (await fleet.run_one("worker-0", shell(
        f"sudo rm -f {PKI}/kubelet-client-2*.pem {PKI}/kubelet-server-*.pem"))).ok
    assert (await fleet.run_one("worker-0", shell("sudo systemctl restart kubelet"))).ok
    assert host.kubelet_certs == "bootstrapping"
    # and the glob still takes the dangling link
    r = await fleet.run_one("worker-0", shell(f"sudo rm -fv {PKI}/*.pem"))
    assert r.ok and r.stdout == f"removed '{PKI}/kubelet-client-current.pem'\n"
    assert f"{PKI}/kubelet-client-current.pem" not in host.links


async def test_restart_kubelet_needs_root(started):
    lab, fleet = await started(WORKERS_414)
    host = lab.cluster.host("master-0")
    assert (await fleet.run_one("master-0", shell(f"sudo rm -f {PKI}/*.pem"))).ok
    r = await fleet.run_one("master-0", shell("systemctl restart kubelet.service"))
    assert r.exit_status == 1 and "Interactive authentication required" in r.stderr
    assert host.kubelet_certs == "valid"


async def test_write_kubelet_pems_twice_in_one_second_keeps_one_pair(started):
    lab, _ = await started(WORKERS_414)
    host = lab.cluster.host("master-2")
    hostfiles.write_kubelet_pems(lab.cluster, host)
    hostfiles.write_kubelet_pems(lab.cluster, host)
    stamp = lab.cluster.clock.now_dt().strftime("%Y-%m-%d-%H-%M-%S")
    assert host.links[f"{PKI}/kubelet-client-current.pem"] == f"{PKI}/kubelet-client-{stamp}.pem"
    dated = [p for p in host.files if p.startswith(PKI + "/")]
    assert len(dated) == 4  # the two installed ones and the new pair
