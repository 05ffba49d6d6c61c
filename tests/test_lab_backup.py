"""`etcd-dr run backup` against real OpenSSH and real etcd members (the lab).

Each lab host has its own /usr/local/bin/cluster-backup.sh (tests/lab/cluster-backup.sh, a
stand-in of the OpenShift script that snapshots that host's member), its own
/etc/kubernetes/static-pod-resources and its own /home/core; the test reads the files the run
left through the lab's view of that host's directories.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tarfile

import pytest

from tests.cli_runner import run_cli
from tests.lab.lab import etcd_binaries

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

BACKUP = "/home/core/assets/backup"
TS = r"\d{4}-\d{2}-\d{2}_\d{6}"
OVERRIDE = "the lab has no API: no encryption migration can be under way"
KEYS = {"time", "runbook", "step", "event", "hosts"}
EVENTS = {"planned", "started", "finished", "failed", "skipped", "already-done", "confirmed",
          "override", "resumed"}


def etcd_dr(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    proc = run_cli(*args, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def clear_backups(lab) -> None:
    for h in lab.hosts:
        shutil.rmtree(h.path("/home/core/assets"), ignore_errors=True)


def machine_snapshot_status(lab, path) -> dict:
    """`snapshot status -w json` by the machine's own etcd tools (etcdutl where the line has it)."""
    _, etcdctl = etcd_binaries(lab.etcd)
    etcdutl = os.path.join(os.path.dirname(etcdctl), "etcdutl")
    argv = [etcdutl] if os.access(etcdutl, os.X_OK) else [etcdctl]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ETCD")},
           "ETCDCTL_API": "3"}
    proc = subprocess.run([*argv, "snapshot", "status", str(path), "-w", "json"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_journal_lines(path) -> list[dict]:
    """Every line a complete JSON object with the keys of CONTRACTS.md; the file 0600."""
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    records = [json.loads(line) for line in raw.decode().splitlines()]
    for r in records:
        assert KEYS <= r.keys(), r
        assert r["event"] in EVENTS, r
        assert isinstance(r["hosts"], list)
        assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", r["time"])
        assert r["runbook"] == "backup"
        if "command" in r and r["event"] in ("finished", "failed"):
            assert "exit_status" in r, r
    return records


def test_backup_on_one_lab_host_makes_a_snapshot_etcd_accepts(etcd_lab, tmp_path):
    lab = etcd_lab
    clear_backups(lab)
    host = lab.hosts[1]
    for i in range(20):  # something in the keyspace, so the revision says which state it holds
        lab.etcdctl(host, "put", f"/lab-backup/{i:02d}", f"value-{i}")
    journal = tmp_path / "backup.jsonl"
    machine_backup = os.path.exists(BACKUP) and sorted(os.listdir(BACKUP))
    try:
        # the lab has no API: the console cannot tell whether encryption is migrating, and
        # refuses (BAK-0) until the operator says why it is safe
        refused = etcd_dr("run", "backup", "--inventory", lab.inventory_path, "--host",
                          host.name, "--yes", "--journal", tmp_path / "refused.jsonl")
        assert refused.returncode == 2, refused.stderr
        assert "encryption" in refused.stderr and "override" in refused.stderr
        assert not host.path(BACKUP).exists()

        run = etcd_dr("run", "backup", "--inventory", lab.inventory_path, "--host", host.name,
                      "--yes", "--journal", journal, "--override", OVERRIDE)
        assert run.returncode == 0, run.stdout + run.stderr
        for step in ("BAK-0", "BAK-1", "BAK-2", "BAK-3", "BAK-4", "BAK-5"):
            assert f"[{step}]" in run.stdout

        # the two files, with one timestamp, on THAT host only
        names = sorted(os.listdir(host.path(BACKUP)))
        snaps = [n for n in names if re.fullmatch(rf"snapshot_{TS}\.db", n)]
        tars = [n for n in names if re.fullmatch(rf"static_kuberesources_{TS}\.tar\.gz", n)]
        assert len(snaps) == 1 and len(tars) == 1, names
        ts = snaps[0][len("snapshot_"):-len(".db")]
        assert tars[0] == f"static_kuberesources_{ts}.tar.gz"
        assert names == sorted([snaps[0], tars[0], f"etcd-dr-manifest_{ts}.json"])
        for other in lab.hosts:
            if other is not host:
                assert not other.path("/home/core/assets").exists(), other.name
        assert (os.path.exists(BACKUP) and sorted(os.listdir(BACKUP))) == machine_backup
        directory = host.path(BACKUP)
        assert stat.S_IMODE(os.stat(directory / tars[0]).st_mode) == 0o600

        # the tarball holds the newest static pod resources of that host
        with tarfile.open(directory / tars[0]) as tar:
            members = tar.getnames()
        for newest in ("kube-apiserver-pod-3", "kube-controller-manager-pod-4",
                       "kube-scheduler-pod-5", "etcd-pod-3"):
            assert f"static-pod-resources/{newest}" in members
        assert not any("kube-apiserver-pod-2" in m for m in members)

        # real etcd tools accept the snapshot, and it is what the manifest says
        status = machine_snapshot_status(lab, directory / snaps[0])
        manifest = json.loads((directory / f"etcd-dr-manifest_{ts}.json").read_text())
        assert manifest["host"] == host.name and manifest["timestamp"] == ts
        assert manifest["snapshot"] == snaps[0] and manifest["static_kuberesources"] == tars[0]
        assert manifest["etcd"]["hash"] == status["hash"]
        assert manifest["etcd"]["revision"] == status["revision"] > 20
        assert manifest["etcd"]["totalKey"] == status["totalKey"]
        assert manifest["sizes"][snaps[0]] == os.path.getsize(directory / snaps[0])

        # the journal (CONTRACTS.md)
        records = check_journal_lines(journal)
        assert (records[0]["step"], records[0]["event"]) == ("-", "planned")
        assert records[0]["params"]["host"] == host.name
        assert any(r["event"] == "override" and r["reason"] == OVERRIDE for r in records)
        assert (records[-1]["step"], records[-1]["event"]) == ("-", "finished")
        steps = [(r["step"], r["event"]) for r in records if "command" not in r]
        for step in ("BAK-0", "BAK-1", "BAK-2", "BAK-4", "BAK-5"):
            assert (step, "finished") in steps, step
        assert ("BAK-3", "skipped") in steps and ("BAK-4", "confirmed") in steps
        commands = [r for r in records if "command" in r]
        assert [(r["event"], r["command"]) for r in commands] == [
            ("started", f"/usr/local/bin/cluster-backup.sh {BACKUP}"),
            ("finished", f"/usr/local/bin/cluster-backup.sh {BACKUP}")]
        assert commands[1]["exit_status"] == 0 and commands[1]["hosts"] == [host.name]
        bak4 = next(r for r in records if r["step"] == "BAK-4" and r["event"] == "finished"
                    and "command" not in r)
        assert bak4["facts"]["snapshot"]["hash"] == status["hash"]

        report = etcd_dr("report", journal)
        assert report.returncode == 0, report.stderr
        for step in ("BAK-0", "BAK-1", "BAK-2", "BAK-3", "BAK-4", "BAK-5"):
            assert step in report.stdout
        assert "cluster-backup.sh" in report.stdout and OVERRIDE in report.stdout
    finally:
        clear_backups(lab)
        for i in range(20):
            lab.etcdctl(host, "del", f"/lab-backup/{i:02d}", check=False)


def test_the_lab_script_answers_like_the_real_one(lab):
    """Usage, mkdir -p, and the closing lines, straight over SSH (no console)."""
    host = lab.hosts[0]
    clear_backups(lab)

    def ssh(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", str(lab.key_path), "-p", str(lab.port),
             "-o", f"UserKnownHostsFile={lab.known_hosts_path}", "-o", "BatchMode=yes",
             f"root@{host.address}", command], capture_output=True, text=True, timeout=60)

    if shutil.which("ssh") is None:
        pytest.skip("no ssh client on this machine")
    try:
        usage = ssh("/usr/local/bin/cluster-backup.sh")
        assert usage.returncode == 1
        assert usage.stdout.strip() == ("Path to backup dir required: ./cluster-backup.sh "
                                        "[--force] <path-to-backup-dir>")
        ok = ssh(f"/usr/local/bin/cluster-backup.sh {BACKUP}/deeper")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        lines = ok.stdout.strip().splitlines()
        assert lines[0] == ("found latest kube-apiserver: "
                            "/etc/kubernetes/static-pod-resources/kube-apiserver-pod-3")
        assert re.fullmatch(r'\{"hash":\d+,"revision":\d+,"totalKey":\d+,"totalSize":\d+\}',
                            lines[-2])
        assert lines[-1] == f"snapshot db and kube resources are successfully saved to " \
                            f"{BACKUP}/deeper"
        assert "created temporary db file" in ok.stderr  # etcdctl's own log, as on a node
        names = os.listdir(host.path(f"{BACKUP}/deeper"))
        assert len(names) == 2
        # a file where the directory should be: usage again
        assert ssh(f"/usr/local/bin/cluster-backup.sh {BACKUP}/deeper/{names[0]}"
                   ).returncode == 1
    finally:
        clear_backups(lab)
