"""A restore script that fails at one of its real failure points (UPSTREAM.md), run by the
restore runbook on the drill: the step fails (never already-done), says where the host stands
and what to do; once the operator has done it, Retry sends the script again and the restore
goes on. The first attempt stays in the journal as failed, with its exit status."""

from __future__ import annotations

from tui.backend import Backend, BackendSpec
from tui.journal import Journal, read_journal
from tui.runbooks import registry, resolve_runbook
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.runner import Runner

SPEED = 300.0


class Operator:
    """Confirms; on the first failure of `step` runs `fix` then retries; aborts otherwise."""

    def __init__(self, step: str, fix):
        self.step, self.fix = step, fix
        self.failures: list[tuple[str, str]] = []

    async def confirm(self, request):
        return True

    async def on_failure(self, step, error):
        self.failures.append((step.id, error))
        if step.id == self.step and len(self.failures) == 1:
            await self.fix()
            return Decision("retry")
        return Decision("abort")

    async def on_unknown(self, step, question):
        raise AssertionError(f"unexpected unknown: {question}")

    def show(self, event):
        pass


async def restore_with(tmp_path, scenario: str, step: str, before, fix):
    path = tmp_path / "s.yaml"
    path.write_text(scenario)
    backend = Backend(BackendSpec(scenario=str(path), speed=SPEED))
    await backend.start()
    try:
        cluster = backend.lab.cluster
        before(cluster)
        operator = Operator(step, lambda: fix(cluster))
        ctx = RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "restore"),
                         operator=operator,
                         params={"backup_dir": "/home/core/assets/backup"}, time_scale=SPEED)
        runbook = await resolve_runbook(registry()["restore"], ctx)
        await Runner(runbook, ctx).run()
        ctx.journal.close()
        return operator, read_journal(tmp_path / "j.jsonl"), cluster
    finally:
        await backend.close()


def script_lines(records):
    return [r for r in records if r.get("attempt") and
            "cluster-restore.sh" in (r.get("command") or "")]


LOST_416 = """
name: lost-416-damaged-backup
description: two hosts lost; the backup's static_kuberesources tarball is damaged
version: "4.16.20"
control_plane: 3
etcd: {version: "3.5.14", leader: master-0}
hosts: {master-1: {reachable: false}, master-2: {reachable: false}}
api: {reachable: false, network_type: OVNKubernetes, platform: AWS, machines: true}
backup: {host: master-0, dir: /home/core/assets/backup, taken_minutes_ago: 60}
restore: {corrupt_tarball: true}
"""


async def test_416_tar_fails_after_the_data_move_says_so_and_retry_finishes(tmp_path):
    async def fix(cluster):  # the operator copies an intact backup again (RST-03)
        cluster.options["corrupt_tarball"] = False

    operator, records, cluster = await restore_with(
        tmp_path, LOST_416, "RST-08", lambda cluster: None, fix)
    step, error = operator.failures[0]
    assert step == "RST-08"
    assert "had already moved etcd's data to /var/lib/etcd-backup/member" in error
    assert "/var/lib/etcd-backup: member" in error and "Retry" in error
    lines = script_lines(records)
    failed = [r for r in lines if r["event"] == "failed"]
    assert len(failed) == 1 and failed[0]["exit_status"] not in (0, None)
    assert len([r for r in lines if r["event"] == "started"]) == 2
    assert not [r for r in records if r["step"] == "RST-08" and r["event"] == "already-done"]
    assert records[-1]["step"] == "-" and records[-1]["event"] == "finished"


LOST_418 = """
name: lost-418-stray-file
description: two hosts lost; a stray file in the recovery host's /var/lib/etcd
version: "4.18.5"
control_plane: 3
etcd: {version: "3.5.18", leader: master-0}
hosts: {master-1: {reachable: false}, master-2: {reachable: false}}
api: {reachable: false, network_type: OVNKubernetes, platform: AWS, machines: true}
backup: {host: master-0, dir: /home/core/assets/backup, taken_minutes_ago: 60}
"""


async def test_418_empty_dir_check_fails_after_the_copy_says_so_and_retry_finishes(tmp_path):
    stray = "/var/lib/etcd/etcd-dr-stray.txt"

    def before(cluster):
        host = cluster.host("master-0")
        host.files[stray] = b"left by hand\n"

    async def fix(cluster):  # the operator moves the stray file aside
        cluster.host("master-0").files.pop(stray, None)

    operator, records, cluster = await restore_with(tmp_path, LOST_418, "RSTN-04", before,
                                                    fix)
    step, error = operator.failures[0]
    assert step == "RSTN-04"
    assert "folder /var/lib/etcd is not empty" in error
    assert "stopped at its empty-directory check" in error and "etcd-dr-stray.txt" in error
    lines = script_lines(records)
    assert [r["event"] for r in lines if r["event"] != "started"] == ["failed", "finished"]
    assert not [r for r in records if r["step"] == "RSTN-04" and r["event"] == "already-done"]
    assert records[-1]["step"] == "-" and records[-1]["event"] == "finished"
