"""Attempt records run on drill hosts as on real ones (tui.fleet.attempts): the wrapper's
`sh -c` with nested quoting, `2>&1 | tee -p -a LOG`, the rc file and `exit "$(cat ...)"`;
the probe's `pgrep -f` sees the wrapped command while it runs; and a client that goes away
mid-command leaves it running to its end under `tee -p`, while a command that writes to the
closed channel without it dies of SIGPIPE, as on a real host.
"""

from __future__ import annotations

import asyncio
import shlex
from datetime import datetime, timezone

import pytest

from tests.conftest import drill_fleets
from tests.test_drill_shell import make_cluster, sh

from tui.drill import processes
from tui.drill.shell import BufferWriter, ShellSession, SigPipe, default_env, run_script
from tui.drill.model import SimClock
from tui.fleet.attempts import ATTEMPTS_DIR, AttemptSeen, probe_script, wrap
from tui.fleet.commands import Command, Safety

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
BACKUP = "/home/core/assets/backup"


def recorded(attempt: str, *argv: str, timeout: float = 60) -> Command:
    return Command.of(*argv, privileged=True, safety=Safety.DESTRUCTIVE, timeout=timeout,
                      attempt=attempt)


def record(host, attempt: str, suffix: str) -> str | None:
    data = host.files.get(f"{ATTEMPTS_DIR}/{attempt}.{suffix}")
    return None if data is None else data.decode()


def probe(attempt: str) -> Command:
    return Command.of("sh", "-c", probe_script(attempt), privileged=True, timeout=20)


@pytest.fixture
async def started(tmp_path):
    async with drill_fleets(tmp_path, lambda: SimClock(frozen=True, start=START)) as start:
        yield start


async def test_the_wrapper_around_mv_records_start_output_and_status(started):
    lab, fleet = await started("healthy")
    host = lab.cluster.host("master-1")
    cmd = recorded("t1-mv", "mv", "-v", "/etc/kubernetes/manifests/etcd-pod.yaml", "/tmp")
    assert "tee -p -a" in cmd.render(True)  # what is sent is the wrapper
    r = await fleet.run_one("master-1", cmd)
    assert r.exit_status == 0, r
    line = "renamed '/etc/kubernetes/manifests/etcd-pod.yaml' -> '/tmp/etcd-pod.yaml'\n"
    assert r.stdout == line and r.stderr == ""
    assert record(host, "t1-mv", "start") == "t1-mv\n"
    assert record(host, "t1-mv", "rc") == "0\n"
    assert record(host, "t1-mv", "log") == line
    assert "/tmp/etcd-pod.yaml" in host.files
    seen = await fleet.run_one("master-1", probe("t1-mv"))
    assert AttemptSeen.parse("t1-mv", seen.stdout) == AttemptSeen(True, 0, False)
    # what ran on the host: the wrapper's sh -c, and inside it the mv itself
    assert [p.argv for p in processes.ran(host, "mv")] == [
        ("mv", "-v", "/etc/kubernetes/manifests/etcd-pod.yaml", "/tmp")]


async def test_a_failing_command_leaves_its_status_and_the_wrapper_exits_with_it(started):
    lab, fleet = await started("healthy")
    host = lab.cluster.host("master-0")
    r = await fleet.run_one("master-0", recorded("t2-ls", "ls", "/no/such/dir"))
    assert r.exit_status == 2, r
    message = "ls: cannot access '/no/such/dir': No such file or directory\n"
    assert r.stdout == message  # 2>&1 into tee: stderr arrives on stdout, as on a host
    assert record(host, "t2-ls", "rc") == "2\n"
    assert record(host, "t2-ls", "log") == message
    seen = await fleet.run_one("master-0", probe("t2-ls"))
    assert AttemptSeen.parse("t2-ls", seen.stdout) == AttemptSeen(True, 2, False)
    never = await fleet.run_one("master-0", probe("t3-never"))
    assert never.stdout == "rc=\n"
    assert AttemptSeen.parse("t3-never", never.stdout) == AttemptSeen(False, None, False)


async def test_inner_quoting_survives_the_two_nested_shells():
    cluster = make_cluster()
    inner = "echo 'it'\"'\"'s' \"$HOME\" | tr a-z A-Z; printf '%s\\n' \"a  b\""
    text = "sudo -n sh -c " + shlex.quote(wrap("q1-quote", inner))
    r = await sh(cluster, text)
    assert r.status == 0, r
    assert r.out == "IT'S /ROOT\na  b\n"
    assert cluster.hosts[0].files[f"{ATTEMPTS_DIR}/q1-quote.log"].decode() == r.out
    # the drill sees through the wrapper: the inner command is what was run
    assert processes.attempt_inner(text) == ("q1-quote", inner)
    assert processes.attempt_inner(wrap("q1-quote", inner)) == ("q1-quote", inner)
    assert processes.attempt_inner("sudo -n sh -c 'mv -v a b'") is None


async def test_the_wrapper_around_cluster_restore_sh(started):
    lab, fleet = await started("lost-two-hosts-4.18")
    cluster = lab.cluster
    host = cluster.host("master-0")
    assert (await fleet.run_one("master-0", recorded("r1-dis", "/usr/local/bin/disable-etcd.sh",
                                                     timeout=120))).ok
    r = await fleet.run_one("master-0", recorded("r1-restore",
                                                 "/usr/local/bin/cluster-restore.sh", BACKUP,
                                                 timeout=120))
    assert r.exit_status == 0, r
    assert r.stdout.splitlines()[-1] == "starting restore-etcd static pod"
    assert record(host, "r1-restore", "rc") == "0\n"
    assert record(host, "r1-restore", "log") == r.stdout
    assert cluster.restored_at is not None
    assert len(processes.ran(host, "/usr/local/bin/cluster-restore.sh")) == 1


async def test_the_probe_says_running_while_the_command_runs_then_its_status(tmp_path):
    async with drill_fleets(tmp_path) as start:
        lab, fleet = await start("healthy", SimClock(speed=20, start=START))
        task = asyncio.create_task(fleet.run_one("master-0", recorded("p1-sleep", "sleep",
                                                                      "30")))
        host = lab.cluster.host("master-0")
        for _ in range(100):
            if record(host, "p1-sleep", "start"):
                break
            await asyncio.sleep(0.02)
        during = await fleet.run_one("master-0", probe("p1-sleep"))
        assert during.stdout == "p1-sleep\nrc=\nrunning\n", during
        assert AttemptSeen.parse("p1-sleep", during.stdout) == AttemptSeen(True, None, True)
        pg = await fleet.run_one("master-0", Command.of("pgrep", "-a", "-f", "p1-[s]leep"))
        assert pg.exit_status == 0 and pg.stdout.count("\n") >= 3  # bash, sudo, the sh -c
        assert any(line.split(" ", 1)[1].startswith("sh -c sleep 30; echo $? > ")
                   for line in pg.stdout.splitlines())
        assert (await task).exit_status == 0
        after = await fleet.run_one("master-0", probe("p1-sleep"))
        assert after.stdout == "p1-sleep\nrc=0\n"
        assert after.exit_status == 1  # pgrep found nothing: `&& echo running` did not run


async def _wait_for(predicate, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_a_disconnect_mid_script_leaves_the_script_finishing_with_rc_0(tmp_path):
    async with drill_fleets(tmp_path) as start:
        lab, fleet = await start("lost-two-hosts-4.18", SimClock(speed=20, start=START))
        cluster = lab.cluster
        host = cluster.host("master-0")
        task = asyncio.create_task(fleet.run_one("master-0", recorded(
            "d1-restore", "/usr/local/bin/cluster-restore.sh", BACKUP, timeout=120)))
        # the script waits for kubelet to stop etcd: the console dies meanwhile
        await _wait_for(lambda: "Waiting for container etcd to stop" in
                        (record(host, "d1-restore", "log") or ""))
        assert cluster.restored_at is None
        fleet.connection("master-0").abort()
        result = await task
        assert result.exit_status is None  # the client saw no end
        await _wait_for(lambda: record(host, "d1-restore", "rc") is not None)
        assert record(host, "d1-restore", "rc") == "0\n"
        log = record(host, "d1-restore", "log")
        assert log.splitlines()[-1] == "starting restore-etcd static pod"
        assert cluster.restored_at is not None
        assert b"restore-etcd pod" in host.files["/etc/kubernetes/manifests/etcd-pod.yaml"]
        procs = processes.ran(host, "/usr/local/bin/cluster-restore.sh")
        assert [p.status for p in procs] == [0]


async def test_without_tee_p_the_script_dies_of_sigpipe_at_its_next_line(tmp_path):
    async with drill_fleets(tmp_path) as start:
        lab, fleet = await start("lost-two-hosts-4.18", SimClock(speed=20, start=START))
        cluster = lab.cluster
        host = cluster.host("master-0")
        task = asyncio.create_task(fleet.run_one("master-0", Command.of(
            "/usr/local/bin/cluster-restore.sh", BACKUP, privileged=True, timeout=120)))
        await _wait_for(lambda: any(p.argv[:1] == ("/usr/local/bin/cluster-restore.sh",)
                                    for p in processes.table(host).running.values()))
        await asyncio.sleep(0.05)
        fleet.connection("master-0").abort()
        await task
        await _wait_for(lambda: processes.ran(host, "/usr/local/bin/cluster-restore.sh")[-1]
                        .status is not None)
        assert processes.ran(host, "/usr/local/bin/cluster-restore.sh")[-1].status == 141
        assert cluster.restored_at is None  # it died before it put the restore pod down


async def test_sigpipe_kills_the_writer_and_tee_p_keeps_going():
    cluster = make_cluster()
    host = cluster.hosts[0]

    class Gone:
        def write(self, text: str) -> None:
            if text:
                raise SigPipe()

    async def run(script: str) -> int:
        session = ShellSession(cluster=cluster, host=host, stdout=Gone(), stderr=Gone(),
                               env=default_env(host))
        return await run_script(script, session)

    # bash's own echo dies with the shell: nothing after it runs
    assert await run("echo hi; touch /tmp/a") == 141
    assert "/tmp/a" not in host.files
    # a child that writes dies; the shell goes on
    assert await run("ls /; touch /tmp/b") == 0
    assert "/tmp/b" in host.files
    assert processes.ran(host, "ls")[-1].status == 141
    # under tee -p the writer runs to its end; tee keeps the file
    assert await run("sh -c 'echo one; echo two; touch /tmp/c' 2>&1 | tee -p -a /tmp/log") == 0
    assert host.files["/tmp/log"] == b"one\ntwo\n" and "/tmp/c" in host.files
    # plain tee dies at its first write, and the writer at its next
    assert await run("sh -c 'echo one; touch /tmp/d' | tee /tmp/log2") == 141
    assert "/tmp/d" not in host.files


async def test_tee_options_and_pgrep_usage():
    cluster = make_cluster()
    r = await sh(cluster, "echo a | tee --output-error=warn-nopipe /tmp/x >/dev/null; cat /tmp/x")
    assert (r.status, r.out) == (0, "a\n")
    r = await sh(cluster, "echo a | tee --output-error=sometimes /tmp/x")
    assert r.status == 1 and "tee: invalid argument 'sometimes' for '--output-error'" in r.err
    r = await sh(cluster, "pgrep")
    assert r.status == 2 and r.err.startswith("pgrep: no matching criteria specified")
    r = await sh(cluster, "pgrep -f 'no such [p]rocess'")
    assert (r.status, r.out) == (1, "")
    out = BufferWriter()
    session = ShellSession(cluster=cluster, host=cluster.hosts[1], stdout=out,
                           stderr=BufferWriter(), env=default_env(cluster.hosts[1]))
    assert await run_script("pgrep -f -l 'bash -c pgrep'", session) == 0
    assert out.getvalue().split()[1] == "bash"
