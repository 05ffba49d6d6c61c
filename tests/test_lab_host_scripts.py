"""The lab's host scripts behave as OpenShift's real ones do, release by release (issue #11,
item 4; ../shared/reference/UPSTREAM.md).

Run straight over SSH (no console) on one-host labs with the kubelet stand-in, one lab per
release line, each reused for every check of that release:

- 4.16: a truncated static_kuberesources tarball fails cluster-restore.sh after the data
  move (tar's own message, exit 2, manifests stopped, nothing restored); with a good backup
  the script ends, the restore pod restores and then deletes snapshot.db; cluster-backup.sh
  pulls etcdctl first, and with neither pull secret nor cache aborts and leaves its tarball;
  the console's attempt-record wrapper runs there, and outlives its SSH session;
- 4.18: revision.json is kept current; a stray file in /var/lib/etcd fails the script at
  the empty-dir check after snapshot.db was copied; the restore pod's revision bump is
  maxRaftIndex * 1.2; quorum-restore.sh restores the host's own data with a bump of
  maxRaftIndex * 0.2;
- 4.21: a stray file goes to extra-data-dir-contents and the banner ends the output.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lab.lab import etcd_binaries

from tests.test_lab_restore import wait_for  # one copy of the polling helper

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

BACKUP = "/home/core/assets/backup"
STOPPED = "/home/core/assets/manifests-stopped"
AUX = ("kube-apiserver-pod.yaml", "kube-controller-manager-pod.yaml", "kube-scheduler-pod.yaml")
NOT_EMPTY = "folder /var/lib/etcd is not empty, please review and remove all files in it"


@pytest.fixture(autouse=True)
def _ssh_client():
    if shutil.which("ssh") is None:
        pytest.skip("no ssh client on this machine")


def ssh(lab, host, command: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(lab.key_path), "-p", str(lab.port),
         "-o", f"UserKnownHostsFile={lab.known_hosts_path}", "-o", "BatchMode=yes",
         f"root@{host.address}", command], capture_output=True, text=True, timeout=timeout)


def put(member, items: dict[str, str]) -> None:
    conn = http.client.HTTPConnection(member.address, 2379, timeout=10)
    try:
        for key, value in items.items():
            body = json.dumps({"key": base64.b64encode(key.encode()).decode(),
                               "value": base64.b64encode(value.encode()).decode()})
            conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 200, response.read()
            response.read()
    finally:
        conn.close()


def get(lab, host, key: str) -> str | None:
    proc = lab.etcdctl(host, "get", key, "--print-value-only")
    return proc.stdout.strip() or None


def healthy(lab, host) -> bool:
    return lab.etcdctl(host, "endpoint", "health", check=False).returncode == 0


def status(lab, host) -> dict:
    [row] = json.loads(lab.etcdctl(host, "endpoint", "status", "-w", "json").stdout)
    return row["Status"]


def backup(lab, host, directory: str = BACKUP) -> subprocess.CompletedProcess:
    run = ssh(lab, host, f"/usr/local/bin/cluster-backup.sh {shlex.quote(directory)}")
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def backup_pair(host, directory: str = BACKUP) -> tuple[Path, Path]:
    names = sorted(os.listdir(host.path(directory)))
    [db] = [n for n in names if n.startswith("snapshot_") and n.endswith(".db")]
    [tar] = [n for n in names if n.startswith("static_kuberesources_")]
    return host.path(f"{directory}/{db}"), host.path(f"{directory}/{tar}")


def manifests(host) -> set[str]:
    return set(os.listdir(host.path("/etc/kubernetes/manifests")))


def pod_log(host, kind: str = "restore") -> str:
    return host.path(f"/var/lib/kubelet/etcd-dr-lab/{kind}-etcd-pod.log").read_text()


def snapshot_revision(lab, path: Path) -> int:
    _, etcdctl = etcd_binaries(lab.etcd)
    etcdutl = Path(etcdctl).with_name("etcdutl")
    tool = [str(etcdutl)] if etcdutl.exists() else [etcdctl]
    out = subprocess.run([*tool, "snapshot", "status", str(path), "-w", "json"],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "ETCDCTL_API": "3"}).stdout
    return json.loads(out)["revision"]


def wait_restored(lab, host, what: str) -> None:
    """The restore pod ran (snapshot.db gone, 4.14+) and its member answers."""
    wait_for(lambda: healthy(lab, host), 30, f"{what}: the restored member to answer")


# --- 4.16 -----------------------------------------------------------------------------------

def test_4_16_restore_fails_after_the_data_move_then_restores_and_the_pod_deletes_the_snapshot(
        make_lab):
    lab = make_lab(hosts_count=1, etcd="3.4", kubelet=True, openshift="4.16", label="hs416")
    [host] = lab.hosts
    put(host.etcd, {"/hs/before": "kept"})
    run = backup(lab, host)
    # 4.14+: etcdctl pulled out of the etcd image first (podman's container ID, its version)
    lines = run.stdout.splitlines()
    assert any(re.fullmatch(r"[0-9a-f]{64}", line) for line in lines), lines
    assert any(line.startswith("etcdctl version: 3.4.") for line in lines), lines
    assert "etcdctl is already installed" not in lines
    put(host.etcd, {"/hs/after": "gone"})
    db, tar = backup_pair(host)

    # a truncated tarball beside a good snapshot: the script fails at tar, after the move
    bad = host.path("/home/core/assets/bad")
    bad.mkdir()
    shutil.copy2(db, bad / db.name)
    (bad / tar.name).write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    failed = ssh(lab, host, "/usr/local/bin/cluster-restore.sh /home/core/assets/bad")
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup" in \
        failed.stdout.splitlines()
    assert "starting restore-etcd static pod" not in failed.stdout
    assert "unexpected end of file" in failed.stderr or "Unexpected EOF" in failed.stderr, \
        failed.stderr
    assert "tar: " in failed.stderr
    # the member moved, nothing restored, every static pod stopped and none put back
    assert host.path("/var/lib/etcd-backup/member/snap/db").is_file()
    assert not host.path("/var/lib/etcd/member").exists()
    assert not host.path("/var/lib/etcd-backup/snapshot.db").exists()  # cp comes after tar
    assert manifests(host) == set()
    assert set(os.listdir(host.path(STOPPED))) == {"etcd-pod.yaml", *AUX}
    assert not host.etcd.running and "etcd" not in host.kubelet.running_containers()

    # the good backup: the script ends with the restore pod's manifest in place; the pod
    # restores a second later and then deletes snapshot.db
    ok = ssh(lab, host, f"/usr/local/bin/cluster-restore.sh {BACKUP}")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "starting restore-etcd static pod" in ok.stdout.splitlines()
    assert manifests(host) == {"etcd-pod.yaml", *AUX}
    wait_for(lambda: not host.path("/var/lib/etcd-backup/snapshot.db").exists(), 10,
             "the restore pod to delete snapshot.db")
    assert ssh(lab, host, "test -e /var/lib/etcd-backup/snapshot.db").returncode == 1
    wait_restored(lab, host, "4.16")
    assert get(lab, host, "/hs/before") == "kept"
    assert get(lab, host, "/hs/after") is None
    assert "removed /var/lib/etcd-backup/snapshot.db" in pod_log(host)
    assert host.path("/var/lib/etcd-backup/member/snap/db").is_file()  # the old data kept

    # cluster-backup.sh with neither the pull secret nor a cached etcdctl: a plain exit 1
    # that leaves the tarball it had made
    gone = ssh(lab, host, "rm /var/lib/kubelet/config.json "
                          "/etc/kubernetes/static-pod-resources/bin/etcdctl && "
                          "/usr/local/bin/cluster-backup.sh /home/core/assets/orphan")
    assert gone.returncode == 1, gone.stdout + gone.stderr
    assert gone.stdout.splitlines()[-1] == \
        "Could neither pull etcdctl nor find it locally in cache. Aborting!"
    left = os.listdir(host.path("/home/core/assets/orphan"))
    assert len(left) == 1 and re.fullmatch(r"static_kuberesources_[0-9_-]+\.tar\.gz", left[0]), \
        left

    # the console's attempt records, on the same host
    check_attempt_records(lab, host)


# --- the console's attempt records (the lead's wrapper, run verbatim) ----------------------

ROOT = "/var/lib/etcd-dr/attempts"

try:  # what the console sends (tui/fleet/attempts.py), when this checkout has it
    from tui.fleet.attempts import probe_script as _probe_text, wrap as _wrap_text
except ImportError:  # the attempt-record contract's text, as the lead wrote it down
    def _wrap_text(attempt: str, inner: str) -> str:
        rc = f"{ROOT}/{attempt}.rc"
        return (f"mkdir -p {ROOT} && echo {attempt} > {ROOT}/{attempt}.start && "
                f"sh -c {shlex.quote(f'{inner}; echo $? > {rc}')} 2>&1 | "
                f"tee -p -a {ROOT}/{attempt}.log; "
                f'exit "$(cat {rc} 2>/dev/null || echo 125)"')

    def _probe_text(attempt: str) -> str:
        # the wrapper's own `echo $? > .../A.rc`, the id's first character bracketed: the
        # probe's shell names A.rc too (in its `cat`), so a pattern of the path alone would
        # match the probe itself and always say "running"
        pattern = f"echo .. > [^ ]*attempts/[{attempt[0]}]{attempt[1:]}\\.rc"
        return (f"cat {ROOT}/{attempt}.start 2>/dev/null; "
                f'echo "rc=$(cat {ROOT}/{attempt}.rc 2>/dev/null)"; '
                f"pgrep -f {shlex.quote(pattern)} >/dev/null && echo running")


def wrapped(attempt: str, inner: str) -> str:
    """As sent without sudo: `sh -c '<the wrapper>'`."""
    return f"sh -c {shlex.quote(_wrap_text(attempt, inner))}"


def probe(attempt: str) -> str:
    return _probe_text(attempt)


def check_attempt_records(lab, host) -> None:
    # a command with a quote in it, and its own exit status (a program's: an INNER that
    # ends in the shell's own `exit` would skip the wrapper's `echo $?`)
    run = ssh(lab, host, wrapped("rst04-a1",
                                 "echo \"it's\" here; echo oops >&2; sh -c 'exit 3'"))
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["it's here", "oops"]
    assert host.path(f"{ROOT}/rst04-a1.log").read_text() == "it's here\noops\n"
    assert host.path(f"{ROOT}/rst04-a1.rc").read_text() == "3\n"
    assert ssh(lab, host, probe("rst04-a1")).stdout.splitlines() == ["rst04-a1", "rc=3"]
    # never run: no start line, no rc, not running
    assert ssh(lab, host, probe("rst04-zz")).stdout.splitlines() == ["rc="]
    # the host's own /var/lib/etcd-dr, not the machine's
    assert not os.path.exists(f"{ROOT}/rst04-a1.start")

    # the console dies mid-command: the command runs to its end all the same
    client = subprocess.Popen(
        ["ssh", "-F", "/dev/null", "-i", str(lab.key_path), "-p", str(lab.port),
         "-o", f"UserKnownHostsFile={lab.known_hosts_path}", "-o", "BatchMode=yes",
         f"root@{host.address}", wrapped("rst08-b2", "echo begun; sleep 2; echo ended")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: host.path(f"{ROOT}/rst08-b2.log").exists() and
                 "begun" in host.path(f"{ROOT}/rst08-b2.log").read_text(), 10,
                 "the wrapped command to start")
        assert ssh(lab, host, probe("rst08-b2")).stdout.splitlines() == \
            ["rst08-b2", "rc=", "running"]
    finally:
        client.kill()  # by pid: the console is gone
        client.communicate(timeout=10)
    wait_for(lambda: ssh(lab, host, probe("rst08-b2")).stdout.splitlines() ==
             ["rst08-b2", "rc=0"], 10, "the wrapped command to end without its console")
    assert host.path(f"{ROOT}/rst08-b2.log").read_text() == "begun\nended\n"


# --- 4.18 -----------------------------------------------------------------------------------

def revision_json(host, path: str = "/var/lib/etcd/revision.json") -> dict:
    return json.loads(host.path(path).read_text())


def test_4_18_revision_json_empty_dir_check_bump_and_quorum_restore(make_lab):
    lab = make_lab(hosts_count=1, etcd="3.5", kubelet=True, openshift="4.18", label="hs418")
    [host] = lab.hosts
    # revision.json: written while the member runs, clusterId a JSON number, kept current
    first = wait_for(lambda: host.path("/var/lib/etcd/revision.json").exists() and
                     revision_json(host), 10, "revision.json")
    assert isinstance(first["clusterId"], int) and isinstance(first["maxRaftIndex"], int)
    assert format(first["clusterId"], "x") == format(
        int(status(lab, host)["header"]["cluster_id"]), "x")
    put(host.etcd, {f"/hs/{i:03d}": "before" for i in range(50)})
    wait_for(lambda: revision_json(host)["maxRaftIndex"] >= first["maxRaftIndex"] + 50, 10,
             "revision.json to follow the raft index")
    # the 4.18-4.20 etcd pod has an etcd-backup-server container
    listed = ssh(lab, host, "crictl ps --name etcd-backup-server").stdout
    assert re.search(r"\bRunning\s+etcd-backup-server\s", listed), listed

    backup(lab, host)
    put(host.etcd, {"/hs/after": "gone"})
    db, _ = backup_pair(host)
    snap_rev = snapshot_revision(lab, db)

    # a stray file: the script fails at the empty-dir check, after snapshot.db was copied
    host.path("/var/lib/etcd/stray.txt").write_text("left by someone\n")
    failed = ssh(lab, host, f"/usr/local/bin/cluster-restore.sh {BACKUP}")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    out = failed.stdout.splitlines()
    assert out[-1] == NOT_EMPTY
    assert "Waiting for container etcd-backup-server to stop" in out
    assert "...stopping kube-apiserver-pod.yaml" not in out  # 4.18 stops etcd only
    assert host.path("/var/lib/etcd-backup/snapshot.db").is_file()
    assert host.path("/var/lib/etcd-backup/member/snap/db").is_file()
    assert not host.path("/var/lib/etcd/revision.json").exists()
    moved = revision_json(host, "/var/lib/etcd-backup/revision.json")
    assert moved["maxRaftIndex"] >= first["maxRaftIndex"] + 50
    assert manifests(host) == set(AUX)
    assert os.listdir(host.path("/var/lib/etcd")) == ["stray.txt"]
    assert not host.etcd.running

    # removed, the script runs to its end; the pod restores with maxRaftIndex * 1.2
    host.path("/var/lib/etcd/stray.txt").unlink()
    ok = ssh(lab, host, f"/usr/local/bin/cluster-restore.sh {BACKUP}")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1] == "starting restore-etcd static pod"
    wait_for(lambda: not host.path("/var/lib/etcd-backup/snapshot.db").exists(), 10,
             "the restore pod to delete snapshot.db")
    wait_restored(lab, host, "4.18")
    assert get(lab, host, "/hs/000") == "before" and get(lab, host, "/hs/after") is None
    bump = moved["maxRaftIndex"] * 12 // 10
    log = pod_log(host)
    revision = int(status(lab, host)["header"]["revision"])
    if "has no --bump-revision" in log:  # this etcdutl cannot bump (etcd 3.5.1)
        assert f"would bump the revision by {bump} (maxRaftIndex {moved['maxRaftIndex']} " \
               f"* 1.2)" in log, log
        assert revision == snap_rev
    else:
        assert f"bumping the revision by {bump} " in log, log
        assert revision == snap_rev + bump
    restored_id = int(status(lab, host)["header"]["cluster_id"])
    assert restored_id != first["clusterId"]

    # quorum-restore.sh: this host's own data, a new single-member cluster, bump * 0.2
    put(host.etcd, {"/hs/quorum": "kept"})
    current = wait_for(lambda: host.path("/var/lib/etcd/revision.json").exists() and
                       revision_json(host)["clusterId"] == restored_id and
                       revision_json(host), 10, "revision.json of the restored member")
    not_root = ssh(lab, host, "su -s /bin/sh etcddr-nosudo -c /usr/local/bin/quorum-restore.sh")
    assert not_root.returncode == 1 and not_root.stdout.strip() == \
        "This script must be run as root", not_root.stdout + not_root.stderr
    quorum = ssh(lab, host, "/usr/local/bin/quorum-restore.sh")
    assert quorum.returncode == 0, quorum.stdout + quorum.stderr
    assert quorum.stdout.splitlines()[0] == "...stopping etcd-pod.yaml"
    assert quorum.stdout.splitlines()[-1] == "starting restore-etcd static pod"
    wait_for(lambda: host.path("/var/lib/kubelet/etcd-dr-lab/quorum-restore-etcd-pod.log")
             .exists(), 10, "the quorum restore pod")
    wait_restored(lab, host, "quorum restore")
    assert get(lab, host, "/hs/quorum") == "kept" and get(lab, host, "/hs/001") == "before"
    log = pod_log(host, "quorum-restore")
    # the index etcd-rev last wrote before the script stopped etcd: at least the one read
    # before the script ran
    m = re.search(r"revision by (\d+) \(maxRaftIndex (\d+) \* 0\.2\)", log)
    assert m, log
    assert int(m.group(1)) == int(m.group(2)) * 2 // 10
    assert int(m.group(2)) >= current["maxRaftIndex"]
    assert "moved /var/lib/etcd/member to /var/lib/etcd-backup/member" in log
    assert int(status(lab, host)["header"]["cluster_id"]) != restored_id
    members = json.loads(lab.etcdctl(host, "member", "list", "-w", "json").stdout)["members"]
    assert [m["name"] for m in members] == [host.name]


# --- 4.21 -----------------------------------------------------------------------------------

def test_4_21_moves_stray_files_aside_and_prints_the_banner(make_lab):
    lab = make_lab(hosts_count=1, etcd="3.5", kubelet=True, openshift="4.21", label="hs421")
    [host] = lab.hosts
    put(host.etcd, {"/hs/before": "kept"})
    backup(lab, host)
    assert "etcd-backup-server" not in host.kubelet.running_containers()
    host.path("/var/lib/etcd/stray.txt").write_text("left by someone\n")
    ok = ssh(lab, host, f"/usr/local/bin/cluster-restore.sh {BACKUP}")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    out = ok.stdout.splitlines()
    assert NOT_EMPTY not in out
    assert not [line for line in out if "etcd-backup-server" in line]
    assert any("SNAPSHOT RESTORE COMPLETED" in line for line in out[-4:]), out
    extra = host.path("/var/lib/etcd-backup/extra-data-dir-contents")
    assert (extra / "stray.txt").read_text() == "left by someone\n"
    # revision.json went aside on its own, not with the stray files
    assert sorted(os.listdir(extra)) == ["stray.txt"]
    assert host.path("/var/lib/etcd-backup/revision.json").exists()
    wait_for(lambda: not host.path("/var/lib/etcd-backup/snapshot.db").exists(), 10,
             "the restore pod to delete snapshot.db")
    wait_restored(lab, host, "4.21")
    assert get(lab, host, "/hs/before") == "kept"
