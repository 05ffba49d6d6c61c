"""A console killed (SIGKILL) at any moment of a backup resumes from its journal and never acts
twice.

`etcd-dr run backup ... --yes --journal J` runs as a subprocess against the real lab (real
OpenSSH, real etcd, the lab's cluster-backup.sh). The test watches J grow and kills the
process right after its N-th line appears, for every N of a whole run, and at random moments
(several in the middle of BAK-4, while cluster-backup.sh runs on the host); then it runs the
same command again with the same journal and checks that it resumed, finished, and that
exactly one complete snapshot/tarball pair came out of it, with a manifest that matches it.

A line boundary that the watcher overshoots (two lines written closer together than it can
react) is taken again; if it is missed twice, that boundary is hit exactly by a console that
SIGKILLs itself right after its N-th journal write (same code, same signal).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest

from tests.cli_runner import run_cli
from tests.lab.lab import etcd_binaries
from tui.journal import JournalState, read_journal

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

BACKUP = "/home/core/assets/backup"
SCRIPT = "/usr/local/bin/cluster-backup.sh"
TS = r"\d{4}-\d{2}-\d{2}_\d{6}"
MUTATING = ("BAK-4", "BAK-5")
SEED = int(os.environ.get("ETCD_DR_RESUME_SEED", "0")) or random.randrange(1, 1 << 30)

# a console that SIGKILLs itself right after its N-th journal line is on disk
_SELF_KILL = r"""
import os, signal, sys
import tui.journal as journal
limit = int(sys.argv.pop(1))
write = journal.Journal.write
count = [0]
def write_then_die(self, *args, **kw):
    record = write(self, *args, **kw)
    count[0] += 1
    if count[0] >= limit:
        os.kill(os.getpid(), signal.SIGKILL)
    return record
journal.Journal.write = write_then_die
from tui.cli import main
sys.argv[0] = "etcd-dr"
main()
"""


class Scene:
    def __init__(self, lab, host, tmp_path):
        self.lab = lab
        self.host = host
        self.tmp = tmp_path
        self.runs = 0
        self.argv = ["run", "backup", "--inventory", str(lab.inventory_path), "--host",
                     host.name, "--yes", "--override", "the lab has no API"]

    @property
    def directory(self):
        return self.host.path(BACKUP)

    def journal(self):
        self.runs += 1
        return self.tmp / f"run-{self.runs:02d}.jsonl"

    def start(self, journal, self_kill_after: int | None = None) -> subprocess.Popen:
        prefix = [sys.executable, "-m", "tui.cli"] if self_kill_after is None else \
            [sys.executable, "-c", _SELF_KILL, str(self_kill_after)]
        log = open(f"{journal}.out", "ab")
        try:
            return subprocess.Popen([*prefix, *self.argv, "--journal", str(journal)],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()

    def complete(self, journal) -> subprocess.CompletedProcess:
        proc = run_cli(*self.argv, "--journal",
                       str(journal), stdin=subprocess.DEVNULL, timeout=60)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def kill_after_lines(self, journal, n: int, then: float = 0.0) -> int:
        """Start a run, SIGKILL it once the journal has n lines (and `then` seconds more);
        returns how many lines it had when it died."""
        proc = self.start(journal)
        fd = None
        try:
            while proc.poll() is None:
                _look_again()
                if fd is None:
                    try:
                        fd = os.open(journal, os.O_RDONLY)
                    except FileNotFoundError:
                        continue
                size = os.fstat(fd).st_size
                if size and os.pread(fd, size, 0).count(b"\n") >= n:
                    if then:
                        time.sleep(then)
                    proc.send_signal(signal.SIGKILL)
                    break
        finally:
            if fd is not None:
                os.close(fd)
            proc.wait(30)
        return lines(journal)

    def kill_after_seconds(self, journal, seconds: float) -> int:
        proc = self.start(journal)
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        return lines(journal)

    def kill_in_command(self, journal, seconds: float) -> int:
        """SIGKILL `seconds` after the console journaled that it sends cluster-backup.sh."""
        proc = self.start(journal)
        fd = None
        try:
            while proc.poll() is None:
                _look_again()
                if fd is None:
                    try:
                        fd = os.open(journal, os.O_RDONLY)
                    except FileNotFoundError:
                        continue
                size = os.fstat(fd).st_size
                if b'"command"' in os.pread(fd, size, 0):
                    time.sleep(seconds)
                    proc.send_signal(signal.SIGKILL)
                    break
        finally:
            if fd is not None:
                os.close(fd)
            proc.wait(30)
        return lines(journal)

    def kill_exactly(self, journal, n: int) -> int:
        proc = self.start(journal, self_kill_after=n)
        proc.wait(60)
        assert proc.returncode == -signal.SIGKILL, proc.returncode
        return lines(journal)

    def scripts_running(self) -> list[int]:
        """cluster-backup.sh processes (an orphan of a killed console, say) on this host."""
        mine = os.readlink(f"/proc/{self.host.sshd.proc.pid}/ns/mnt")
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/ns/mnt") != mine:
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if SCRIPT.encode() in f.read():
                        out.append(int(entry))
            except OSError:
                continue
        return out

    def reset(self) -> None:
        deadline = time.monotonic() + 20
        while self.scripts_running():
            assert time.monotonic() < deadline, "cluster-backup.sh never ended on the host"
            time.sleep(0.05)
        shutil.rmtree(self.host.path("/home/core/assets"), ignore_errors=True)


def _look_again() -> None:
    """Between two looks at a growing journal: 0.5 ms, under the time the console takes to
    write and fsync a line, so a kill still lands between any two lines. (The loops spun
    without pause: a whole core taken from the console they watch and the other tests.)
    Kills at an exact line are kill_exactly's (the console kills itself)."""
    time.sleep(0.0005)


def run_over(journal) -> bool:
    """The journal's run has finished: what makes `etcd-dr run` refuse to resume it."""
    state = JournalState.from_records(read_journal(journal))
    return state.finished and not state.aborted


def lines(journal) -> int:
    try:
        return journal.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def records(journal) -> list[dict]:
    raw = journal.read_bytes()
    assert raw.endswith(b"\n"), "a torn last line"
    out = [json.loads(line) for line in raw.decode().splitlines()]
    for r in out:
        assert {"time", "runbook", "step", "event", "hosts"} <= r.keys(), r
        if "command" in r and r["event"] in ("finished", "failed"):
            assert "exit_status" in r, r
    return out


def snapshot_status(lab, path) -> dict:
    _, etcdctl = etcd_binaries(lab.etcd)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ETCD")},
           "ETCDCTL_API": "3"}
    proc = subprocess.run([etcdctl, "snapshot", "status", str(path), "-w", "json"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def backup_commands(rs: list[dict]) -> list[dict]:
    return [r for r in rs if r.get("command", "").startswith(SCRIPT)]


def check_resumed(scene: Scene, journal, killed_at: int, rerun) -> str:
    """The run after the kill(s): resumed, finished, nothing done twice; returns a summary."""
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    rs = records(journal)
    first_run = rs[:killed_at]
    after = rs[killed_at:]
    events = [(r["step"], r["event"]) for r in rs if "command" not in r]
    if killed_at:
        assert (after[0]["step"], after[0]["event"]) == ("-", "resumed"), after[0]
        assert "resuming" in rerun.stdout
    else:  # killed before its first line: the second run simply starts
        assert (after[0]["step"], after[0]["event"]) == ("-", "planned")
    assert events.count(("-", "planned")) == 1
    assert events[-1] == ("-", "finished") and events.count(("-", "finished")) == 1
    assert not any(e == "failed" for _, e in events)
    for step in MUTATING:
        assert events.count((step, "finished")) <= 1, (step, events)
    assert events.count(("BAK-4", "finished")) + events.count(("BAK-4", "already-done")) == 1
    assert ("BAK-5", "finished") in events

    # cluster-backup.sh: a completed one is never sent again
    sent_before = [r for r in backup_commands(first_run) if r["event"] == "started"]
    done_before = [r for r in backup_commands(first_run) if r["event"] == "finished"]
    sent_after = [r for r in backup_commands(after) if r["event"] == "started"]
    done_after = [r for r in backup_commands(after) if r["event"] == "finished"]
    assert len(done_before) + len(done_after) <= 1
    assert all(r["exit_status"] == 0 for r in done_before + done_after)
    if done_before:
        assert sent_after == [], "a completed cluster-backup.sh was sent again"
    if ("BAK-4", "finished") in [(r["step"], r["event"]) for r in first_run
                                 if "command" not in r]:
        assert not any(r["step"] == "BAK-4" for r in after if "command" not in r)

    # on the host: exactly one complete pair, and the manifest of it
    names = sorted(os.listdir(scene.directory))
    pairs = [m.group(1) for n in names if (m := re.fullmatch(rf"snapshot_({TS})\.db", n))
             and f"static_kuberesources_{m.group(1)}.tar.gz" in names]
    assert len(pairs) == 1, names
    ts = pairs[0]
    manifests = [n for n in names if n.startswith("etcd-dr-manifest_")]
    assert manifests == [f"etcd-dr-manifest_{ts}.json"], names
    leftovers = set(names) - {f"snapshot_{ts}.db", f"static_kuberesources_{ts}.tar.gz",
                              manifests[0]}
    # only the debris of a cluster-backup.sh cut short by the kill (its output pipe closed):
    # a .part of etcdctl, or a tarball made before the snapshot started
    assert sent_before and not done_before or not leftovers, names
    for name in leftovers:
        assert name.endswith(".db.part") or name.startswith("static_kuberesources_"), names
        assert ts not in name, names

    status = snapshot_status(scene.lab, scene.directory / f"snapshot_{ts}.db")
    manifest = json.loads((scene.directory / manifests[0]).read_text())
    assert manifest["timestamp"] == ts and manifest["host"] == scene.host.name
    assert manifest["etcd"]["hash"] == status["hash"]
    assert manifest["etcd"]["revision"] == status["revision"]
    if sent_before and not done_before and not sent_after:
        # the script finished on the host but the console died before it read the closing
        # {"hash":...} line: BAK-5 read them from the snapshot with the script's own etcdctl
        bak5 = next(r for r in after if (r["step"], r["event"]) == ("BAK-5", "finished"))
        assert "read from the snapshot itself" in bak5["detail"]
    resumed_as = "already-done" if ("BAK-4", "already-done") in events else \
        "ran" if sent_after else "kept"
    return f"{killed_at}:{resumed_as}"


# about 30 kills and as many resumed runs, each a whole CLI run over SSH: about 100 s on an
# idle 2-core machine, and up to twice that when the suite's other workers load it
@pytest.mark.timeout(300)
def test_a_killed_backup_resumes_at_every_line_and_never_acts_twice(lab, tmp_path):
    started = time.monotonic()
    rng = random.Random(SEED)
    host = lab.hosts[2]
    scene = Scene(lab, host, tmp_path)
    for h in lab.hosts:
        shutil.rmtree(h.path("/home/core/assets"), ignore_errors=True)
    for i in range(10):
        lab.etcdctl(host, "put", f"/resume/{i}", "x" * 200)

    # a whole run, to know its lines and how long cluster-backup.sh takes
    reference = scene.journal()
    t0 = time.monotonic()
    full = scene.complete(reference)
    run_seconds = time.monotonic() - t0
    assert full.returncode == 0, full.stdout + full.stderr
    whole = records(reference)
    total = len(whole)
    script = next(r for r in backup_commands(whole) if r["event"] == "finished")
    script_seconds = script["duration"]
    scene.reset()

    summary = []
    try:
        # every line boundary but the last (after it the run is over: nothing to resume)
        for n in range(1, total):
            killed_at = None
            for _ in range(2):
                journal = scene.journal()
                got = scene.kill_after_lines(journal, n)
                if got == n:
                    killed_at = got
                    break
                scene.reset()  # overshot: the next line came before the kill; again
            if killed_at is None:
                journal = scene.journal()
                killed_at = scene.kill_exactly(journal, n)
                assert killed_at == n
            rerun = scene.complete(journal)
            summary.append(check_resumed(scene, journal, killed_at, rerun))
            scene.reset()

        # random moments: anywhere from the start of the process, anywhere between the first
        # and the last line of the journal, and in the middle of cluster-backup.sh
        span = (datetime.fromisoformat(whole[-1]["time"])
                - datetime.fromisoformat(whole[0]["time"])).total_seconds()
        moments = [("s", rng.uniform(0.0, run_seconds))] + \
            [("j", rng.uniform(0.0, span)) for _ in range(3)]
        for kind, seconds in moments:
            journal = scene.journal()
            killed_at = scene.kill_after_seconds(journal, seconds) if kind == "s" else \
                scene.kill_after_lines(journal, 1, then=seconds)
            if killed_at >= total:
                scene.reset()
                continue  # it had finished
            summary.append(check_resumed(scene, journal, killed_at, scene.complete(journal)))
            scene.reset()
        for seconds in [0.0] + [rng.uniform(0.0, script_seconds * 0.9) for _ in range(4)]:
            journal = scene.journal()
            killed_at = scene.kill_in_command(journal, seconds)
            if killed_at >= total:  # on a slow machine the run can outpace the kill: no case
                scene.reset()
                continue
            summary.append("BAK-4+%.3fs/" % seconds
                           + check_resumed(scene, journal, killed_at, scene.complete(journal)))
            scene.reset()

        # killed, and the resumed run killed too: the third run finishes it
        for attempt in range(3):
            journal = scene.journal()
            first = scene.kill_in_command(journal, script_seconds / 2)
            if attempt < 2:
                proc = scene.start(journal)
                deadline = time.monotonic() + 30
                while lines(journal) < first + 2 and proc.poll() is None:
                    assert time.monotonic() < deadline
                    time.sleep(0.001)
                proc.send_signal(signal.SIGKILL)
            else:  # a loaded machine let it outpace the kill twice: it kills itself this time
                proc = scene.start(journal, self_kill_after=2)
            proc.wait(60)
            if not run_over(journal):
                break
            scene.reset()  # overshot: the resumed run ended before the kill came; again
        else:
            pytest.fail("the resumed run ended before its kill three times")
        third = scene.complete(journal)
        assert third.returncode == 0, third.stdout + third.stderr
        rs = records(journal)
        assert [(r["step"], r["event"]) for r in rs].count(("-", "resumed")) in (1, 2)
        summary.append("twice/" + check_resumed(scene, journal, first, third))
        scene.reset()
    finally:
        scene.reset()
        for i in range(10):
            lab.etcdctl(host, "del", f"/resume/{i}", check=False)
    print(f"seed {SEED}; {len(summary)} kills in {time.monotonic() - started:.1f}s: "
          + " ".join(summary))


def test_a_torn_last_line_is_cut_and_the_run_resumes(lab, tmp_path):
    """A crash in the middle of a journal write (a power cut: SIGKILL cannot tear a line)
    leaves a line without its newline; the resumed run must not glue its lines onto it."""
    host = lab.hosts[0]
    scene = Scene(lab, host, tmp_path)
    scene.reset()
    journal = scene.journal()
    try:
        killed_at = scene.kill_exactly(journal, 8)
        with open(journal, "ab") as f:
            f.write(b'{"time": "2026-01-01T00:00:00.000+00:00", "runbook": "backup", "st')
        rerun = scene.complete(journal)
        check_resumed(scene, journal, killed_at, rerun)
        report = run_cli("report", str(journal), timeout=60)
        assert report.returncode == 0, report.stderr
        for step in ("BAK-0", "BAK-1", "BAK-2", "BAK-3", "BAK-4", "BAK-5"):
            assert step in report.stdout
    finally:
        scene.reset()
