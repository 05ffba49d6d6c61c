"""cluster-backup.sh on the drill's control-plane hosts, run through the real SSH path.

The script prints what the real one (cluster-etcd-operator bindata/etcd/cluster-backup.sh)
prints, on the same streams, and leaves snapshot_<ts>.db and static_kuberesources_<ts>.tar.gz
with one timestamp; it fails the way the real one does.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets

from tui.drill.backup_script import SnapshotLog, humanize_time
from tui.drill.model import SimClock
from tui.fleet.commands import Command

SCRIPT = "/usr/local/bin/cluster-backup.sh"
DIR = "/home/core/assets/backup"
START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
TS = "2026-01-05_100000"
SPR = "/etc/kubernetes/static-pod-resources"
CERT_LINES = [
    "Certificate /etc/kubernetes/static-pod-certs/configmaps/etcd-serving-ca/ca-bundle.crt is "
    "missing. Checking in different directory",
    f"Certificate {SPR}/etcd-certs/configmaps/etcd-serving-ca/ca-bundle.crt found!",
]
FOUND_LINES = [
    f"found latest kube-apiserver: {SPR}/kube-apiserver-pod-9",
    f"found latest kube-controller-manager: {SPR}/kube-controller-manager-pod-6",
    f"found latest kube-scheduler: {SPR}/kube-scheduler-pod-6",
    f"found latest etcd: {SPR}/etcd-pod-7",
]
CLOSING = re.compile(r'^\{"hash":\d+,"revision":\d+,"totalKey":\d+,"totalSize":\d+\}$')


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=START)) as start:
        yield start


def backup(*args: str, **kw) -> Command:
    return Command.of(SCRIPT, *args, privileged=True, timeout=60, **kw)


def root(*argv: str) -> Command:
    return Command.of(*argv, privileged=True, timeout=15)


async def test_backup_prints_the_real_lines_and_leaves_both_files(started):
    lab, fleet = await started()
    cluster = lab.cluster
    member = cluster.etcd.member_by_name("master-0")
    r = await fleet.run_one("master-0", backup(DIR))
    assert r.ok, r
    out = r.stdout.splitlines()
    assert out[:6] == CERT_LINES + FOUND_LINES
    assert re.fullmatch(r"[0-9a-f]{64}", out[6])  # podman rm prints the container ID
    assert out[7:9] == ["etcdctl version: 3.5.6", "API version: 3.5"]
    assert out[9] == f"Snapshot saved at {DIR}/snapshot_{TS}.db"
    assert CLOSING.match(out[10])
    assert out[11] == f"snapshot db and kube resources are successfully saved to {DIR}"
    assert len(out) == 12
    closing = json.loads(out[10])
    assert closing["revision"] == cluster.etcd.revision
    assert closing["totalSize"] % 4096 == 0
    assert member.db_size_in_use <= closing["totalSize"] < member.db_size_in_use + 4096

    # etcdctl's zap log on stderr, as etcd 3.5.6 words it, then snapshot status's warning
    err = r.stderr.splitlines()
    assert err[-2:] == ["Deprecated: Use `etcdutl snapshot status` instead.", ""]
    logs = [json.loads(line) for line in err[:-2]]
    assert [e["msg"] for e in logs] == [
        "created temporary db file", "opened snapshot stream; downloading", "fetching snapshot",
        "completed snapshot read; closing", "fetched snapshot", "saved"]
    assert logs[0] == {"level": "info", "ts": logs[0]["ts"],
                       "caller": "snapshot/v3_snapshot.go:65", "msg": "created temporary db file",
                       "path": f"{DIR}/snapshot_{TS}.db.part"}
    assert re.fullmatch(r"2026-01-05T10:00:0\d\.\d{3}Z", logs[0]["ts"])
    assert logs[1]["logger"] == "client" and logs[1]["caller"] == "v3/maintenance.go:211"
    assert logs[2]["endpoint"] == "https://127.0.3.1:2379"
    assert logs[4]["size"] == "127 MB" and logs[4]["took"] == "1 second ago"
    assert logs[5]["path"] == f"{DIR}/snapshot_{TS}.db"

    # both files, one timestamp, root-owned 0600, with sizes that make sense
    ls = await fleet.run_one("master-0", root("ls", "-l", DIR))
    assert ls.ok
    rows = [line.split() for line in ls.stdout.splitlines()[1:]]
    assert [row[-1] for row in rows] == [f"snapshot_{TS}.db",
                                         f"static_kuberesources_{TS}.tar.gz"]
    assert all(row[0].startswith("-rw-------") and row[2:4] == ["root", "root"] for row in rows)
    assert int(rows[0][4]) == closing["totalSize"] + 32  # etcd appends a sha256
    assert 40_000 < int(rows[1][4]) < 1_000_000
    sums = await fleet.run_one("master-0", root("sha256sum", f"{DIR}/snapshot_{TS}.db"))
    assert sums.ok and re.fullmatch(rf"[0-9a-f]{{64}}  {DIR}/snapshot_{TS}.db\n", sums.stdout)
    # the backup landed on master-0 only
    assert not any(p.startswith(DIR) for p in cluster.host("master-1").files)


async def test_second_run_on_412_uses_the_cached_etcdctl(started):
    lab, fleet = await started()
    assert (await fleet.run_one("master-1", backup(DIR))).ok
    lab.cluster.clock.advance(90)
    r = await fleet.run_one("master-1", backup(DIR))
    assert r.ok
    out = r.stdout.splitlines()
    assert out[6] == "etcdctl is already installed"
    assert out[7] == f"Snapshot saved at {DIR}/snapshot_2026-01-05_100130.db"
    ls = await fleet.run_one("master-1", root("ls", "-1", DIR))
    assert ls.stdout.split() == [
        "snapshot_2026-01-05_100000.db", "snapshot_2026-01-05_100130.db",
        "static_kuberesources_2026-01-05_100000.tar.gz",
        "static_kuberesources_2026-01-05_100130.tar.gz"]


async def test_output_streams_line_by_line(started):
    # a running clock: the script paces its lines (podman, the snapshot stream) with it
    lab, fleet = await started(clock=SimClock(speed=40, start=START))
    chunks = []
    fleet.subscribe(lambda e: chunks.append(e.lines) if e.kind == "output" else None)
    r = await fleet.run_one("master-2", backup(DIR))
    assert r.ok, r
    assert len(chunks) >= 6  # not one burst at the end
    assert [line for lines in chunks for line in lines
            if line.startswith("found latest")] == FOUND_LINES


async def test_proxy_variables_pass_through_sudo_e(started):
    lab, fleet = await started()
    cmd = backup(DIR, env=(("HTTP_PROXY", "http://proxy.example.com:8080"),
                           ("HTTPS_PROXY", "http://proxy.example.com:8080"),
                           ("NO_PROXY", ".cluster.local,.svc")))
    assert cmd.render(True).startswith("sudo -n -E sh -c 'export HTTP_PROXY=")
    r = await fleet.run_one("master-0", cmd)
    assert r.ok and r.stdout.splitlines()[-1].endswith(f"successfully saved to {DIR}")


async def test_usage_without_a_directory_or_with_a_file(started):
    lab, fleet = await started()
    usage = "Path to backup dir required: ./cluster-backup.sh [--force] <path-to-backup-dir>\n"
    r = await fleet.run_one("master-0", backup())
    assert (r.exit_status, r.stdout, r.stderr) == (1, usage, "")
    assert (await fleet.run_one("master-0", root("touch", "/tmp/not-a-dir"))).ok
    r = await fleet.run_one("master-0", backup("/tmp/not-a-dir"))
    assert (r.exit_status, r.stdout) == (1, usage)
    r = await fleet.run_one("master-0", backup("--force"))
    assert (r.exit_status, r.stdout) == (1, usage)


async def test_without_sudo_it_refuses_like_the_real_script(started):
    lab, fleet = await started()
    r = await fleet.run_one("master-0", Command.of(SCRIPT, DIR))
    assert (r.exit_status, r.stdout, r.stderr) == (1, "This script must be run as root\n", "")
    assert not any(p.startswith(DIR) for p in lab.cluster.host("master-0").dirs)


async def test_etcd_stopped_by_moving_its_manifest(started):
    lab, fleet = await started()
    moved = await fleet.run_one("master-0", root("mv", "/etc/kubernetes/manifests/etcd-pod.yaml",
                                                 "/root/etcd-pod.yaml"))
    assert moved.ok
    lab.cluster.clock.advance(30)  # kubelet stops the etcd containers
    r = await fleet.run_one("master-0", backup(DIR))
    assert r.exit_status == 1
    assert r.stdout.splitlines() == CERT_LINES + FOUND_LINES[:3] + [
        "error finding manifests for the etcd pod. please check if it is running."]
    ls = await fleet.run_one("master-0", root("ls", "-A", DIR))
    assert ls.ok and ls.stdout == ""  # the directory was made, nothing saved


async def test_a_member_that_does_not_answer_makes_it_wait(started):
    # etcdctl snapshot save has no timeout: against a dead member it waits (the .part file
    # stays) until the member answers again
    lab, fleet = await started()
    member = lab.cluster.etcd.member_by_name("master-2")
    member.running = False
    lab.cluster.changed()
    seen = asyncio.Event()

    def on_line(stream: str, text: str) -> None:
        if "created temporary db file" in text:
            seen.set()

    task = asyncio.create_task(fleet.run_one("master-2", backup(DIR), on_line=on_line))
    await asyncio.wait_for(seen.wait(), 10)
    await asyncio.sleep(0.3)
    assert not task.done()
    assert f"{DIR}/snapshot_{TS}.db.part" in lab.cluster.host("master-2").files
    member.running = True
    lab.cluster.changed()
    r = await asyncio.wait_for(task, 10)
    assert r.ok and r.stdout.splitlines()[-1].endswith(f"successfully saved to {DIR}")
    files = lab.cluster.host("master-2").files
    assert f"{DIR}/snapshot_{TS}.db" in files and f"{DIR}/snapshot_{TS}.db.part" not in files


async def test_rollout_in_progress_aborts_and_force_marks_the_backup_dirty(started):
    lab, fleet = await started()
    lab.cluster.api.rollout_in_progress = True
    r = await fleet.run_one("master-0", backup(DIR))
    assert r.exit_status == 1
    assert r.stdout.splitlines() == CERT_LINES + [
        "Currently the kube-apiserver operator is progressing. A reliable backup requires "
        "that a rollout is not in progress.  Aborting!"]
    r = await fleet.run_one("master-0", backup("--force", DIR))
    assert r.ok
    assert f"Snapshot saved at {DIR}/snapshot_{TS}__POSSIBLY_DIRTY__.db" in r.stdout
    ls = await fleet.run_one("master-0", root("ls", "-1", DIR))
    assert ls.stdout.split() == [f"snapshot_{TS}__POSSIBLY_DIRTY__.db",
                                 f"static_kuberesources_{TS}__POSSIBLY_DIRTY__.tar.gz"]


async def test_without_quorum_the_operator_check_times_out(started):
    lab, fleet = await started()
    for name in ("master-1", "master-2"):
        lab.cluster.etcd.member_by_name(name).running = False
    lab.cluster.changed()
    r = await fleet.run_one("master-0", backup(DIR))
    assert r.exit_status == 1
    assert r.stderr == (
        "Error from server (Timeout): the server was unable to return a response in the time "
        "allotted, but may still be processing the request (get "
        "clusteroperators.config.openshift.io kube-apiserver)\n")
    assert r.stdout.splitlines()[-1] == (
        "Could not find the status of the kube-apiserver. Check if the API server is running. "
        "Pass the --force flag to skip checks.")
    # a member serves a snapshot from its own database, quorum or not
    r = await fleet.run_one("master-0", backup("--force", DIR))
    assert r.ok and "__POSSIBLY_DIRTY__.db" in r.stdout


async def test_api_servers_down_connection_refused(started):
    lab, fleet = await started()
    lab.cluster.api.reachable = False
    r = await fleet.run_one("master-0", backup(DIR))
    assert r.exit_status == 1
    assert r.stderr == ("The connection to the server localhost:6443 was refused - did you "
                        "specify the right host or port?\n")
    assert "Could not find the status of the kube-apiserver." in r.stdout


async def test_missing_dependencies(started):
    lab, fleet = await started()
    assert (await fleet.run_one("master-0", root(
        "mv", f"{SPR}/etcd-certs/configmaps/etcd-scripts/etcd.env", "/root/"))).ok
    r = await fleet.run_one("master-0", backup(DIR))
    assert (r.exit_status, r.stdout) == (
        1, "required dependencies not found, please ensure this script is run on a node with "
           "a functional etcd static pod\n")


async def test_416_downloads_etcdctl_every_time_and_logs_as_etcd_3_5_16(started):
    lab, fleet = await started("""
name: backup-416
description: 4.16 with etcd 3.5.16
version: "4.16.20"
control_plane: 3
etcd: {version: "3.5.16", leader: master-0}
""")
    for _ in range(2):
        r = await fleet.run_one("master-0", backup(DIR))
        assert r.ok
        out = r.stdout.splitlines()
        assert re.fullmatch(r"[0-9a-f]{64}", out[6])
        assert out[7] == "etcdctl version: 3.5.16"
        lab.cluster.clock.advance(60)
    logs = [json.loads(line) for line in r.stderr.splitlines()]  # 4.16: etcdutl, no warning
    assert logs[0]["caller"] == "snapshot/v3_snapshot.go:65"
    assert logs[1]["caller"] == "v3@v3.5.16/maintenance.go:212"
    assert re.fullmatch(r"2026-01-05T10:01:0\d(\.\d{1,6})?Z", logs[0]["ts"])


def test_snapshot_log_flavors_and_humanized_durations():
    t = START.timestamp() + 0.25
    early = SnapshotLog("3.5.3").created(t, "/b/s.db.part")
    assert early == ('{"level":"info","ts":1767607200.25,"caller":"snapshot/v3_snapshot.go:68",'
                     '"msg":"created temporary db file","path":"/b/s.db.part"}\n')
    old = SnapshotLog("3.4.14")
    assert '"ts":"2026-01-05T10:00:00.250Z","caller":"clientv3/maintenance.go:200"' in \
        old.opened(t)
    assert '"took":1.584090459' in old.fetched(t, "https://10.0.0.5:2379", 114446368, 1.584090459)
    assert [humanize_time(s) for s in (0.4, 1.5, 3.7, 61, 3000)] == [
        "now", "1 second ago", "3 seconds ago", "1 minute ago", "50 minutes ago"]


def test_snapshot_status_json_follows_the_clusters_etcd_line():
    """etcd 3.6 (4.21+) prints the snapshot's storage version after totalSize; 3.5 does not
    (the shapes of tests/fixtures/etcdctl/3.6 and the 3.5 captures)."""
    import json

    from tui.drill.backup_script import json_line

    status = {"hash": 1, "revision": 2, "totalKey": 3, "totalSize": 4}
    assert list(json.loads(json_line(status, "3.5.21"))) == ["hash", "revision", "totalKey",
                                                              "totalSize"]
    six = json.loads(json_line(status, "3.6.5"))
    assert list(six)[-1] == "version" and six["version"] == "3.6.0"


@pytest.mark.parametrize("baseline, ok, said", [
    ("", True, "snapshot_2026-01-05_100000.db"),  # the first backup on the host
    ("2026-01-05_095959", True, "snapshot_2026-01-05_100000.db"),  # a second later: new
    # the same second as the pair before it: cluster-backup.sh wrote the same names again,
    # and nothing tells this pair from that one: not a new backup, and the check says why
    ("2026-01-05_100000", False, "a backup started in the same second as that one"),
])
async def test_bak4_finds_a_new_pair_only_by_a_later_timestamp(baseline, ok, said):
    from types import SimpleNamespace

    from tui.runbooks.backup import _check_backup_made

    listing = f"snapshot_{TS}.db\nstatic_kuberesources_{TS}.tar.gz\n"

    class Fleet:
        async def run_one(self, host, command, quiet=False):
            assert command.stages[0][-1] == DIR
            return SimpleNamespace(ok=True, stdout=listing)

    ctx = SimpleNamespace(fleet=Fleet(), params={"backup_dir": DIR, "baseline": baseline},
                          facts={})
    result = await _check_backup_made(ctx, "master-1")
    assert result.ok is ok and said in result.detail, result
    assert ("backup_ts" in ctx.facts) is ok
