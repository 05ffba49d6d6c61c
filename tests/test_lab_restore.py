"""A restore on real etcd in the lab (issue #6): back up, write more, lose two hosts, restore.

A lab of three hosts of its own (each test: the restore leaves a new single-member cluster),
with the host pieces a restore needs (tests/lab/): a kubelet stand-in per host that starts
and stops that host's real etcd member as etcd-pod.yaml comes into or leaves its manifests
directory (and lists what runs to the host's `crictl` stand-in), and a stand-in of
/usr/local/bin/cluster-restore.sh that stops the static pods, moves /var/lib/etcd/member to
/var/lib/etcd-backup and puts the restore-etcd pod in place, whose restore the kubelet
stand-in runs (the real `etcdctl snapshot restore` (3.4) / `etcdutl snapshot restore` (3.5)
into a fresh data directory as a new single-member cluster) before it starts that member.

The story: 1,000 keys written; a backup by the backup runbook (`etcd-dr run backup`) on the
recovery host; 500 keys more; two hosts lost: master-1's member stopped (its disk died, the
host still answers SSH) and master-2 gone entirely (kubelet, sshd and member stopped); then
the restore runbook (tui/runbooks/restore.py) headless on master-0, for each procedure
(4.12-4.13, 4.14-4.17, 4.18+), the path and the lost host found by its preflight. The lab
has no OpenShift API: the steps that need it fail and the test's operator skips exactly
those (journaled overrides); every host step runs for real. Afterwards the 1,000 keys are
there, the 500 are not, etcd is one member, and the journal has each command's exit status.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from tests.cli_runner import run_cli
from tui.runbooks.attempts import UnknownOutcome

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

BACKUP = "/home/core/assets/backup"
OVERRIDE = "the lab has no API: no encryption migration can be under way"
BEFORE, AFTER = 1000, 500
PREFIX = "/lab-restore/"
# (etcd line, procedure, the lab's OpenShift release): the 4.18 case runs on 3.4 so that each
# etcd line stays well under a minute (a collect without quorum waits out etcdctl's timeouts);
# 3.5's case restores with etcdutl, 3.4's with etcdctl
# 4.21 (etcd 3.6 on real clusters) runs etcd 3.5 here: no 3.6 binary is installable; its
# scripts are the 4.21 ones (no etcd-backup-server wait, the closing banner)
CASES = [("3.4", "4.12-4.13", "4.13"), ("3.5", "4.14-4.17", "4.16"), ("3.4", "4.18+", "4.18"),
         ("3.5", "4.18+", "4.21")]


# --- etcd, directly (not through the console) ---------------------------------------------

def put_keys(member, start: int, count: int) -> None:
    """`count` puts over one keep-alive connection to the member's JSON gateway (a process
    per key would take seconds)."""
    host, port = member.address, 2379
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for i in range(start, start + count):
            body = json.dumps({"key": base64.b64encode(f"{PREFIX}{i:05d}".encode()).decode(),
                               "value": base64.b64encode(f"value-{i}".encode()).decode()})
            conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            assert response.status == 200, data
    finally:
        conn.close()


def keys(lab, host) -> list[str]:
    out = lab.etcdctl(host, "get", PREFIX, "--prefix", "--keys-only").stdout
    return [line for line in out.splitlines() if line.strip()]


def ssh(lab, host, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(lab.key_path), "-p", str(lab.port),
         "-o", f"UserKnownHostsFile={lab.known_hosts_path}", "-o", "BatchMode=yes",
         f"root@{host.address}", command], capture_output=True, text=True, timeout=timeout)


def etcd_dr(*args, timeout: float = 90) -> subprocess.CompletedProcess:
    proc = run_cli(*args, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def crictl_etcd(lab, host) -> str:
    """RST-04b / RST-12's check, on the host over SSH."""
    return ssh(lab, host, 'crictl ps | grep etcd | egrep -v "operator|etcd-guard"').stdout


# --- the story -----------------------------------------------------------------------------

@pytest.fixture(params=CASES, ids=[f"etcd{v}-{path}-{release}" for v, path, release in CASES])
def restore_lab(request, make_lab):
    etcd, path, openshift = request.param
    if shutil.which("ssh") is None:
        pytest.skip("no ssh client on this machine")
    lab = make_lab(hosts_count=3, etcd=etcd, kubelet=True, openshift=openshift,
                   label=f"restore{etcd.replace('.', '')}")
    lab.path_key = path
    lab.release = openshift
    return lab


def backed_up_then_lost(lab, tmp_path):
    """1,000 keys, the backup runbook on master-0, 500 keys more, two hosts lost."""
    recovery, failed, gone = lab.hosts
    put_keys(recovery.etcd, 0, BEFORE)
    run = etcd_dr("run", "backup", "--inventory", lab.inventory_path, "--host", recovery.name,
                  "--yes", "--journal", tmp_path / "backup.jsonl", "--override", OVERRIDE)
    assert run.returncode == 0, run.stdout + run.stderr
    names = sorted(os.listdir(recovery.path(BACKUP)))
    assert [n for n in names if n.endswith(".db")] and \
        [n for n in names if n.endswith(".tar.gz")], names
    put_keys(recovery.etcd, BEFORE, AFTER)
    assert len(keys(lab, recovery)) == BEFORE + AFTER

    failed.etcd.stop()  # by pid; the kubelet stand-in shows its container Exited
    lab.lose_host(gone)  # kubelet stand-in, sshd and member, by pid
    wait_for(lambda: "etcd" not in failed.kubelet.running_containers(), 10,
             "master-1's etcd container to show it stopped")
    # no quorum: the survivor does not answer a linearizable read
    assert lab.etcdctl(recovery, "get", PREFIX + "00000", "--command-timeout=1s",
                       check=False).returncode != 0
    return recovery, failed, gone


def check_restored(lab, recovery, failed) -> None:
    wait_for(lambda: lab.etcdctl(recovery, "endpoint", "health", check=False).returncode == 0,
             30, "the restored member to answer")
    status = lab.endpoint_status(recovery)
    assert len(status) == 1, status  # `endpoint status --cluster`: one member
    members = json.loads(lab.etcdctl(recovery, "member", "list", "-w", "json").stdout)
    assert [m["name"] for m in members["members"]] == [recovery.name]
    got = keys(lab, recovery)
    assert got == [f"{PREFIX}{i:05d}" for i in range(BEFORE)]  # the 1,000, not the 500
    assert lab.etcdctl(recovery, "get", f"{PREFIX}00999", "--print-value-only"
                       ).stdout.strip() == "value-999"
    # the old data was moved aside, not lost
    assert recovery.path("/var/lib/etcd-backup/member/snap/db").exists()
    # the restore pod deletes snapshot.db once its restore succeeded from 4.14 on
    # (../shared/reference/UPSTREAM.md); the 4.12-4.13 pod leaves it
    assert recovery.path("/var/lib/etcd-backup/snapshot.db").exists() == \
        (int(lab.openshift.split(".")[1]) < 14)
    # RST-12: one etcd container runs on the recovery host, none on the failed host
    assert re.search(r"\bRunning\s+etcd\s", crictl_etcd(lab, recovery))
    assert crictl_etcd(lab, failed).strip() == ""



# --- the restore runbook, headless, on the recovery host -----------------------------------

# The lab has no OpenShift API (no kubeconfig in the inventory, no `oc` on the hosts): every
# API operation fails both ways (REST and `oc` over SSH, tui/cluster/ops.py) with this text
API_GONE = "failed both ways: the API: no kubeconfig in the inventory"
# the runbook's waits for that API (20 minutes for it to come back, an hour for rollouts) are
# divided by this, as a drill's --speed does; the real programs (sshd, etcd, the scripts and
# their `sleep 1`) are not sped up
TIME_SCALE = 10000.0
# steps that need the API, per procedure: they fail for want of it and are skipped
NEEDS_API = {
    "4.12-4.13": ["RST-09", "RST-12", "RST-13", "RST-14", "RST-15", "RST-16", "RST-17",
                  "RST-18", "RST-19", "RST-20", "RST-21", "RST-22", "RST-23", "RST-24"],
    "4.14-4.17": ["RST-09", "RST-12", "RST-15", "RST-16", "RST-17", "RST-18", "RST-19",
                  "RST-20", "RST-21", "RST-22", "RST-23", "RST-24"],
    "4.18+": ["RSTN-05", "RST-16", "RSTN-06", "RSTN-07", "RSTN-08"],
}


class LabOperator:
    """--yes, and on a failed step: skip it (journaled as an override) only when it failed
    for want of the OpenShift API; abort on anything else."""

    def __init__(self):
        self.events: list = []
        self.confirmed: list[tuple[str, str]] = []
        self.skipped: dict[str, str] = {}
        self.aborted: list[tuple[str, str]] = []

    def show(self, event) -> None:
        self.events.append(event)

    async def confirm(self, request) -> bool:
        # a phase's question confirms every step it covers
        for step_id in request.covers or (request.step.id,):
            self.confirmed.append((step_id, request.kind.value))
        return True

    async def on_failure(self, step, error: str):
        from tui.runbooks.context import Decision

        if API_GONE in error:
            self.skipped[step.id] = error
            return Decision("skip", "lab: no OpenShift API")
        self.aborted.append((step.id, error))
        return Decision("abort")

    async def on_unknown(self, step, question):
        """Whether a command was done is unknown (its attempt record says so): stop, as
        headless does without --assume, with what was seen, so the test fails saying why."""
        raise UnknownOutcome(f"{step.id}: unknown whether `{question.command}` was done on "
                             f"{question.host}: {question.detail}; seen: {list(question.seen)}")

    def output(self, step: str, host: str) -> list[str]:
        return [e.text for e in self.events if e.kind == "output" and e.step == step
                and e.hosts == (host,)]


async def run_restore(lab, recovery, path_key: str, journal_path) -> LabOperator:
    from tui.backend import Backend, BackendSpec
    from tui.journal import Journal
    from tui.runbooks.context import RunContext
    from tui.runbooks.restore import restore_runbook
    from tui.runbooks.runner import Runner

    operator = LabOperator()
    backend = Backend(BackendSpec(inventory_path=str(lab.inventory_path)))
    await backend.start(wait=True)
    journal = Journal(journal_path, "restore")
    try:
        # no path, no lost hosts: the preflight reads them (the inventory's cluster.version;
        # the host that does not answer SSH)
        ctx = RunContext(backend=backend, journal=journal, operator=operator,
                         params={"recovery_host": recovery.name, "backup_dir": BACKUP},
                         time_scale=TIME_SCALE)
        await Runner(restore_runbook(path_key), ctx).run()
    finally:
        journal.close()
        await backend.close()
    return operator


def read_journal(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_the_restore_runbook_on_real_etcd_keeps_the_backup_and_drops_later_writes(
        restore_lab, tmp_path):
    lab, path_key = restore_lab, restore_lab.path_key
    recovery, failed, gone = await asyncio.to_thread(backed_up_then_lost, lab, tmp_path)
    journal = tmp_path / "restore.jsonl"
    started = time.monotonic()
    operator = await run_restore(lab, recovery, path_key, journal)
    took = time.monotonic() - started
    await asyncio.to_thread(check_restored, lab, recovery, failed)

    # API steps failed for want of the API and were skipped; nothing else failed
    assert operator.aborted == []
    assert sorted(operator.skipped) == sorted(NEEDS_API[path_key])
    lines = read_journal(journal)
    planned = lines[0]
    assert (planned["step"], planned["event"]) == ("-", "planned")
    assert planned["params"]["path"] == path_key  # from the inventory's cluster.version
    assert planned["params"]["lost_hosts"] == [gone.name]  # master-2 did not answer SSH
    assert (lines[-1]["step"], lines[-1]["event"]) == ("-", "finished")
    overrides = [l["step"] for l in lines if l["event"] == "override"]
    assert sorted(overrides) == sorted(NEEDS_API[path_key])
    assert all(l["reason"] == "lab: no OpenShift API" for l in lines
               if l["event"] == "override")
    commands = [l for l in lines if "command" in l and l["event"] in ("finished", "failed")
                and not l["command"].startswith("oc ") and l["command"] != "(noted)"
                and "detail" not in l]
    for l in commands:
        assert l["exit_status"] == 0 and l["event"] == "finished", l
    # the waits' last listings (`crictl ps | grep | egrep -v`, empty: exit 1) are checks
    checks = [l for l in lines if "command" in l and "detail" in l]
    for l in checks:
        assert l["event"] == "finished" and l["detail"].startswith("no ") and \
            l["detail"].endswith(" containers running"), l
    if path_key != "4.18+":
        assert {l["step"] for l in checks} >= {"RST-04b", "RST-04d"}
    # nothing was sent to the lost host; its skips are journaled
    assert not [l for l in lines if "command" in l and gone.name in l["hosts"]]
    assert [l for l in lines if l["event"] == "skipped" and l["hosts"] == [gone.name]]

    script = f"/usr/local/bin/cluster-restore.sh {BACKUP}"
    if path_key == "4.18+":
        # RSTN-02 on the recovery host and the failed one, RSTN-04 on the recovery host
        disabled = [(l["hosts"], l["exit_status"]) for l in commands if l["step"] == "RSTN-02"]
        assert disabled == [([recovery.name], 0), ([failed.name], 0)]
        [restore] = [l for l in commands if l["step"] == "RSTN-04"]
        printed = operator.output("RSTN-04", recovery.name)
        assert "...stopping kube-apiserver-pod.yaml" not in printed  # 4.18 stops etcd only
        assert "starting restore-etcd static pod" in printed
        assert "Waiting for container etcd-rev to stop" in printed
        if lab.release == "4.21":  # no etcd-backup-server wait; a closing banner
            assert "Waiting for container etcd-backup-server to stop" not in printed
            assert any("SNAPSHOT RESTORE COMPLETED" in line for line in printed[-3:])
        else:
            assert printed[-1] == "starting restore-etcd static pod"
            assert "Waiting for container etcd-backup-server to stop" in printed
    else:
        # RST-04 on the failed host only (never the recovery host), each command with its
        # exit status; then RST-08 on the recovery host
        rst04 = [l for l in commands if l["step"].startswith("RST-04")]
        assert {tuple(l["hosts"]) for l in rst04} == {(failed.name,)}
        sent = [l["command"] for l in rst04]
        assert sent[0] == "mv -v /etc/kubernetes/manifests/etcd-pod.yaml /tmp"
        assert "mv -v /etc/kubernetes/manifests/kube-apiserver-pod.yaml /tmp" in sent
        assert sent[-1] == "mv -v /var/lib/etcd/ /tmp"
        assert ("mv -v /etc/kubernetes/manifests/kube-scheduler-pod.yaml /tmp" in sent) == \
            (path_key == "4.14-4.17")  # RST-04g
        assert {l["step"] for l in rst04} >= {"RST-04a", "RST-04c", "RST-04e"}
        assert not failed.path("/var/lib/etcd").exists()
        assert failed.path("/tmp/etcd/member/snap/db").exists()
        assert not failed.path("/etc/kubernetes/manifests/kube-apiserver-pod.yaml").exists()
        [restore] = [l for l in commands if l["step"] == "RST-08"]
        printed = operator.output("RST-08", recovery.name)
        for line in ("...stopping kube-apiserver-pod.yaml", "...stopping etcd-pod.yaml",
                     "Waiting for container etcd to stop",
                     "Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup",
                     "starting restore-etcd static pod", "starting kube-scheduler-pod.yaml"):
            assert line in printed, (line, printed)
        # RST-10: kubelet restarted on the reachable hosts, the recovery host first
        restarts = [l["hosts"] for l in commands if l["step"] == "RST-10"
                    and "restart" in l["command"]]
        assert restarts == [[recovery.name], [failed.name]]
        assert recovery.kubelet.restarts == failed.kubelet.restarts == 1
    assert restore["command"] == script and restore["hosts"] == [recovery.name]
    assert restore["exit_status"] == 0
    # asked once, with a typed name: the host's alone, or the cluster's for its phase
    script_step = "RSTN-04" if path_key == "4.18+" else "RST-08"
    assert [k for s, k in operator.confirmed if s == script_step] in (
        ["type the host name"], ["type the cluster name"]), operator.confirmed
    # the kubelet stand-in stopped the recovery host's member when the script moved its
    # manifest, and started it from the restore pod's manifest: a single-member cluster
    assert any(e.startswith(f"stopped etcd {recovery.name} (pid ")
               for e in recovery.kubelet.events), recovery.kubelet.events
    last_start = [e for e in recovery.kubelet.events if e.startswith("started etcd")][-1]
    assert last_start.endswith(f"initial cluster {recovery.name}=http://{recovery.address}"
                               f":2380)"), last_start
    assert "etcd" in recovery.kubelet.running_containers()
    assert "etcd" not in failed.kubelet.running_containers()
    print(f"restore runbook ({path_key}, etcd {lab.etcd}): {took:.1f}s")


def test_the_lab_restore_script_refuses_like_the_real_one_and_stops_nothing(make_lab):
    """Usage without a directory, no snapshot in it: exit 1 with the real script's lines, and
    etcd still runs (it stops static pods only once it has a snapshot to restore)."""
    if shutil.which("ssh") is None:
        pytest.skip("no ssh client on this machine")
    lab = make_lab(hosts_count=1, etcd="3.4", kubelet=True, openshift="4.16",
                   label="restorescript")
    host = lab.hosts[0]
    usage = ssh(lab, host, "/usr/local/bin/cluster-restore.sh")
    assert usage.returncode == 1
    assert usage.stdout.splitlines() == [
        "Path to the directory containing backup files is required: ./cluster-restore.sh "
        "<path-to-backup>",
        "The backup directory is expected to be contain two files:",
        "        1. etcd snapshot",
        "        2. A copy of the Static POD resources at the time of backup"]
    empty = ssh(lab, host, "mkdir -p /home/core/empty && /usr/local/bin/cluster-restore.sh "
                           "/home/core/empty")
    assert empty.returncode == 1
    assert empty.stdout.strip() == "etcd snapshot  does not exist"
    assert "cannot access '/home/core/empty/snapshot*.db'" in empty.stderr
    assert host.etcd.running and "etcd-pod.yaml" in os.listdir(
        host.path("/etc/kubernetes/manifests"))
    assert re.search(r"\bRunning\s+etcd\s", crictl_etcd(lab, host))
    # a stopped member shows Exited in `crictl ps -a`, and is not restarted
    host.etcd.stop()
    wait_for(lambda: "etcd" not in host.kubelet.running_containers(), 10, "etcd Exited")
    listing = ssh(lab, host, "crictl ps -a --name '^etcd$'").stdout
    assert re.search(r"\bExited\s+etcd\s", listing), listing
    assert ssh(lab, host, "crictl ps --name '^etcd$' -q").stdout == ""
    assert not host.etcd.running
