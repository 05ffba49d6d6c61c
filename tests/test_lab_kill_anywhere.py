"""Kill anywhere, on the lab (issue #11 item 6): the restore runbook in a process of its own
(tests/lab/restore_driver.py), SIGKILLed again and again, resumed each time with the same
journal, on real sshd and real etcd, finishes the restore as if nothing had happened.

The story is test_lab_restore's: 1,000 keys, a backup by `etcd-dr run backup` on master-0,
500 keys more, master-1's member stopped and master-2 gone. Then the restore runs in a
process of its own and is killed (os.kill(pid, SIGKILL)) at, in this order:

- every journal boundary of its destructive part, from the first line of RST-04 (4.16) /
  RSTN-02 (4.18) up to the restore script's started line: each run stops itself after each
  journal line (the driver's STOP_EACH_LINE), and is killed right after the first line of
  that window the journal did not have when it started, else let go on. "Did not have": a
  line's step, event, command and hosts; a resume that writes `confirmed` or `started`
  again is not progress, the first `finished` of a command is. Every run gets one line
  further, so the plan ends. The kill after a command's started line lands before it is
  sent: the resume must find that it never started on the host, and send it;
- three seeded random instants while cluster-restore.sh runs on the recovery host, each in
  a resumed run (the first sends the script again, the boundary kill having come before it
  was sent). The lab's script takes a second where the real one takes minutes, so once it
  runs the test holds it (SIGSTOP by pid, a process of the lab's own) at a random point, as
  a slow host would, and lets it go on after the third kill: every kill lands while it
  runs, and the script outlives each console (its attempt record's `tee -p`);
- after the script's end and its restore pod's deletion of /var/lib/etcd-backup/snapshot.db
  (4.14+), both with no console alive (the test waits for the attempt's exit status on the
  host and for snapshot.db to be gone before it resumes): the resume must judge the script
  from this run's attempt record, not from snapshot.db. Then, as boundaries again: right
  after the script command's finished line (written from the host's record), right after
  the script step's own end line, and once more in a run past the window.

After the last kill the run is resumed until it ends (the journal's last line: step "-",
event "finished"). Then: the backup's keys are back and the later ones gone
(check_restored); cluster-restore.sh started on the recovery host under exactly one of the
attempts the journal names for it and ran there once (one log with its output, exit 0); the
kubelet stand-in ran its restore pod once; every destructive command ran once, and what the
journal says of each attempt is what the host recorded; no step was journaled already-done
without the host's record of it; nothing went to the lost host; and every boundary of the
window was a kill point.

A resume that meets an unknown outcome stops with exit 2 (the driver answers it as
`etcd-dr run --yes` without --assume does): the test fails there, showing the run's output
and the journal's last lines.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest

from tests.test_lab_restore import BACKUP, NEEDS_API, backed_up_then_lost, check_restored
from tests.lab.lab import descendants
from tui.fleet.attempts import ATTEMPTS_DIR
from tui.journal import read_journal

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[1]
SEED = 11_6  # issue 11, item 6: the random instants are the same on every run
RANDOM_KILLS = 3
SCRIPT = f"/usr/local/bin/cluster-restore.sh {BACKUP}"
# (etcd line, procedure, the lab's release): 4.16 on 3.5 and 4.18 on 3.4, as test_lab_restore
CASES = [("3.5", "4.14-4.17", "4.16"), ("3.4", "4.18+", "4.18")]
# where the destructive window starts, and the restore script's step, per procedure
WINDOW_START = {"4.14-4.17": "RST-04", "4.18+": "RSTN-02"}
SCRIPT_STEP = {"4.14-4.17": "RST-08", "4.18+": "RSTN-04"}
RUN_TIMEOUT = 120.0  # one run, to its kill or its end
POLL = 0.01
# the destructive commands of each procedure, as (step, command, host) (recovery, failed)
DESTRUCTIVE = {
    "4.14-4.17": lambda rec, failed: [
        ("RST-04a", "mv -v /etc/kubernetes/manifests/etcd-pod.yaml /tmp", failed),
        ("RST-04c", "mv -v /etc/kubernetes/manifests/kube-apiserver-pod.yaml /tmp", failed),
        ("RST-04g", "mv -v /etc/kubernetes/manifests/kube-controller-manager-pod.yaml /tmp",
         failed),
        ("RST-04g", "mv -v /etc/kubernetes/manifests/kube-scheduler-pod.yaml /tmp", failed),
        ("RST-04e", "mv -v /var/lib/etcd/ /tmp", failed),
        ("RST-08", SCRIPT, rec)],
    "4.18+": lambda rec, failed: [
        ("RSTN-02", "/usr/local/bin/disable-etcd.sh", rec),
        ("RSTN-02", "/usr/local/bin/disable-etcd.sh", failed),
        ("RSTN-04", SCRIPT, rec)],
}


def signature(record: dict) -> tuple:
    """What makes a journal line progress: its step, event, command and hosts (not its time,
    its attempt id or its detail)."""
    return (record["step"], record["event"], record.get("command"),
            tuple(record.get("hosts") or ()))


def window(records: list[dict], path_key: str) -> list[dict]:
    """The journal's lines from the first line of the destructive part up to the restore
    script step's end (its step line `finished` or `already-done`), both included; not the
    resumes' own `resumed` lines."""
    start = next((i for i, r in enumerate(records) if r["step"] == WINDOW_START[path_key]),
                 None)
    if start is None:
        return []
    out = []
    for r in records[start:]:
        if r["step"] == "-" and r["event"] == "resumed":
            continue
        out.append(r)
        if script_step_ended([r], path_key):
            break
    return out


def script_step_ended(records: list[dict], path_key: str) -> bool:
    return any(r["step"] == SCRIPT_STEP[path_key] and "command" not in r
               and r["event"] in ("finished", "already-done") for r in records)


def script_attempts(records: list[dict]) -> list[str]:
    """The attempts the journal names for the restore script, first sent first."""
    out = []
    for r in records:
        if r.get("command") == SCRIPT and r.get("attempt") and r["attempt"] not in out:
            out.append(r["attempt"])
    return out


class HostRecords:
    """A lab host's attempt records (tui/fleet/attempts.py), read where the lab keeps them."""

    def __init__(self, host):
        self.dir = host.path(ATTEMPTS_DIR)

    def started(self, attempt: str) -> bool:
        return (self.dir / f"{attempt}.start").exists()

    def exit_status(self, attempt: str) -> int | None:
        try:
            return int((self.dir / f"{attempt}.rc").read_text().strip())
        except (OSError, ValueError):
            return None

    def log(self, attempt: str) -> str:
        try:
            return (self.dir / f"{attempt}.log").read_text()
        except OSError:
            return ""

    def running(self, attempts: list[str]) -> bool:
        return any(self.started(a) and self.exit_status(a) is None for a in attempts)


class Driver:
    """Runs of tests/lab/restore_driver.py on one journal, started, killed and resumed by
    the test. Each run is a process of its own, forked by the driver's server (`--serve`:
    a Python start with these imports takes a second, a fork a few milliseconds)."""

    def __init__(self, lab, recovery, path_key: str, journal: Path, logs: Path):
        self.argv = [str(lab.inventory_path), str(journal), recovery.name, path_key]
        self.journal = journal
        self.logs = logs
        self.runs = 0
        self.pid: int | None = None
        self.rc: int | None = None
        self.kills: list[str] = []  # why each run was killed
        self.killed_after: set[tuple] = set()  # window lines a run was killed right after
        self.unwatched: set[tuple] = set()  # window lines first written by a random-kill run
        self.held: list[int] = []  # the restore script's pid while the test holds it
        self.server = subprocess.Popen(
            [sys.executable, "-m", "tests.lab.restore_driver", "--serve"], cwd=REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def _ask(self, request: str) -> str:
        self.server.stdin.write(request + "\n")
        self.server.stdin.flush()
        answer = self.server.stdout.readline().strip()
        assert answer and not answer.startswith("error"), (request, answer)
        return answer

    def close(self) -> None:
        self.server.stdin.close()  # the server kills a run still going, and ends
        self.server.wait(30)

    def start(self, stepping: bool = False) -> None:
        """A run (the first, or a resume); stepping: it stops itself after each journal
        line (restore_driver's STOP_EACH_LINE) until `go_on` or `kill`."""
        self.runs += 1
        request = {"argv": self.argv, "log": str(self.logs / f"run-{self.runs:02d}.log"),
                   "stop_each_line": stepping}
        self.pid = int(self._ask("run " + json.dumps(request)).split()[1])
        self.rc = None

    def _reap(self) -> int:
        self.rc = int(self._ask("reap").split()[1])
        return self.rc

    def records(self) -> list[dict]:
        return read_journal(self.journal) if self.journal.exists() else []

    def _state(self) -> str:
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                stat = f.read()
        except OSError:
            return "?"
        return stat[stat.rfind(")") + 2]

    def stopped(self) -> bool:
        return self._state() == "T"

    def go_on(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self, why: str) -> None:
        os.kill(self.pid, signal.SIGKILL)  # a zombie until reaped: the pid stays the run's
        self._reap()
        self.kills.append(why)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"run {self.runs} did not end within {timeout:g}s")
            time.sleep(0.05)
        return self.rc

    def poll(self) -> int | None:
        if self.rc is None and self._state() in ("Z", "?"):
            self._reap()
        return self.rc

    def log_text(self, run: int | None = None) -> str:
        return (self.logs / f"run-{run or self.runs:02d}.log").read_text()

    def ended(self) -> int | None:
        """The run's exit status when it ended by itself; a failure says why."""
        rc = self.poll()
        if rc is not None and rc != 0:
            raise AssertionError(
                f"run {self.runs} stopped by itself with exit {rc} after kills "
                f"{self.kills}:\n{self.log_text()[-3000:]}\njournal:\n" + "\n".join(
                    json.dumps(r) for r in self.records()[-25:]))
        return rc

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not condition():
            if self.ended() is not None:
                raise AssertionError(f"run {self.runs} ended before {what}; kills so far: "
                                     f"{self.kills}")
            if time.monotonic() > deadline:
                raise AssertionError(f"run {self.runs}: timed out waiting for {what}")
            time.sleep(POLL)

    def next_line(self) -> list[dict]:
        """Stepping: wait until the run stopped after its next journal line; the journal."""
        self.wait_for(self.stopped, "its next journal line")
        return self.records()


def kill_anywhere(lab, recovery, path_key: str, journal: Path, logs: Path) -> Driver:
    """The kill plan of the module docstring; returns the driver after the run's end."""
    rng = random.Random(f"{SEED}-{path_key}")
    driver = Driver(lab, recovery, path_key, journal, logs)
    try:
        return _kill_anywhere(driver, lab, recovery, path_key, rng)
    finally:
        driver.close()
        # a script still held (the test failed while holding it) is no descendant of the
        # lab's sshd any more, which Lab.stop ends: end it here, by pid
        for pid in driver.held:
            if SCRIPT.split()[0].encode() in _argv(pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # stopped or not


def _kill_anywhere(driver: Driver, lab, recovery, path_key: str, rng) -> Driver:
    host = HostRecords(recovery)
    snapshot = recovery.path("/var/lib/etcd-backup/snapshot.db")
    random_left = RANDOM_KILLS

    while not script_step_ended(recs := driver.records(), path_key):
        if script_attempts(recs) and random_left:
            # the script was sent: resumed runs killed at random instants while it runs
            before = {signature(r) for r in window(recs, path_key)}
            random_kill(driver, recovery, rng)
            driver.unwatched |= {signature(r) for r in window(driver.records(), path_key)
                                 } - before
            random_left -= 1
            if random_left == 0:
                # no console alive: the script goes on to its end, and its restore pod
                # restores and deletes snapshot.db
                for pid in driver.held:
                    os.kill(pid, signal.SIGCONT)
                driver.held.clear()
                wait_until(lambda: not host.running(script_attempts(driver.records()))
                           and not snapshot.exists(), 60,
                           "the script's end and the restore pod's deletion of snapshot.db")
            continue
        # a journal boundary: the run stops after each line; killed after the first line of
        # the window this journal did not have yet
        seen = {signature(r) for r in window(recs, path_key)}
        driver.start(stepping=True)
        while True:
            new = [r for r in window(driver.next_line(), path_key)
                   if signature(r) not in seen]
            if new:
                r = new[0]
                driver.killed_after.add(signature(r))
                driver.kill(f"after {r['step']} {r['event']} {r.get('command') or ''}".strip())
                break
            driver.go_on()

    # past the window: once snapshot.db is gone (it is by now), one more run killed at its
    # first line, then the last run, to the end
    assert not snapshot.exists()
    driver.start(stepping=True)
    driver.next_line()
    driver.kill("after the restore pod deleted snapshot.db")
    driver.start()
    driver.wait(RUN_TIMEOUT)
    assert driver.ended() == 0
    return driver


def _argv(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0
    return int(stat[stat.rfind(")") + 2:].split()[1])


def script_processes(recovery) -> list[int]:
    """The pid of cluster-restore.sh running on the recovery host: among its sshd's
    descendants (processes this lab started), the one that runs the script itself (not its
    subshells, which have its command line too)."""
    script = SCRIPT.split()[0].encode()
    return [pid for pid in descendants(recovery.sshd.proc.pid)
            if script in _argv(pid) and script not in _argv(_parent(pid))]


def random_kill(driver: Driver, recovery, rng: random.Random) -> None:
    """A resumed run killed at a random instant while the restore script runs. The first
    such run finds the script not started (the boundary kill came before it was sent) and
    sends it; the test then holds the script (SIGSTOP by pid, kept in driver.held: the
    script outlives the console's SSH session, and so is no descendant of its sshd any
    more) at a random point of its run, as a slow host holds it (the real one takes
    minutes, the lab's a second), until after the last random kill: every kill lands while
    it runs."""
    host = HostRecords(recovery)
    lines = len(driver.records())
    driver.start()
    driver.wait_for(lambda: len(driver.records()) > lines, "the resumed run's first line")
    if not driver.held:
        driver.wait_for(lambda: host.running(script_attempts(driver.records())),
                        "the script running on the host")
        time.sleep(rng.uniform(0.0, 0.3))
        pids = script_processes(recovery)
        assert pids and host.running(script_attempts(driver.records())), \
            "the script ended before it could be held"
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            driver.held.append(pid)
    delay = rng.uniform(0.0, 1.5)
    time.sleep(delay)
    driver.ended()
    assert host.running(script_attempts(driver.records()))
    driver.kill(f"+{delay:.2f}s into a resume while the script runs")


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(POLL)


@pytest.fixture(params=CASES, ids=[f"etcd{v}-{path}" for v, path, _ in CASES])
def kill_lab(request, make_lab):
    etcd, path, openshift = request.param
    if shutil.which("ssh") is None:  # check_restored looks at crictl over SSH
        pytest.skip("no ssh client on this machine")
    lab = make_lab(hosts_count=3, etcd=etcd, kubelet=True, openshift=openshift,
                   label=f"kill{etcd.replace('.', '')}")
    lab.path_key = path
    return lab


@pytest.mark.timeout(300)  # ~80 s (4.16) and ~55 s (4.18) on an idle 2-core machine
def test_a_restore_killed_anywhere_resumes_to_the_backup_and_runs_its_script_once(
        kill_lab, tmp_path):
    lab, path_key = kill_lab, kill_lab.path_key
    recovery, failed, gone = backed_up_then_lost(lab, tmp_path)
    journal, logs = tmp_path / "restore.jsonl", tmp_path / "runs"
    logs.mkdir()
    started = time.monotonic()
    driver = kill_anywhere(lab, recovery, path_key, journal, logs)
    took = time.monotonic() - started
    check_restored(lab, recovery, failed)

    lines = read_journal(journal)
    assert (lines[-1]["step"], lines[-1]["event"]) == ("-", "finished")
    assert len(driver.kills) >= 10 + RANDOM_KILLS, driver.kills
    assert sum(1 for l in lines if l["step"] == "-" and l["event"] == "resumed") == \
        len(driver.kills)
    # only the API-less steps were skipped; no unknown was answered for the run
    overrides = {l["step"] for l in lines if l["event"] == "override"}
    assert overrides == set(NEEDS_API[path_key])
    assert not [l for l in lines if l["event"] == "confirmed" and l.get("kind") ==
                "assume-not-done"]

    # the restore script: started on the recovery host under exactly one of its attempts,
    # and that one ran it to its end, exit 0; the kubelet stand-in ran its pod once
    host_records = HostRecords(recovery)
    attempts = script_attempts(lines)
    assert all(l["hosts"] == [recovery.name] for l in lines if l.get("command") == SCRIPT)
    on_host = [a for a in attempts if host_records.started(a)]
    assert len(on_host) == 1, (attempts, on_host)
    ran = [a for a in attempts if host_records.log(a).strip()]
    assert ran == on_host
    assert host_records.exit_status(ran[0]) == 0
    assert "starting restore-etcd static pod" in host_records.log(ran[0]).splitlines()
    pod_runs = [e for e in recovery.kubelet.events if e == "started the snapshot restore pod"]
    restores = [e for e in recovery.kubelet.events
                if e.startswith("the snapshot restore pod restored etcd")]
    assert len(pod_runs) == len(restores) == 1, recovery.kubelet.events

    # every destructive command ran once on its host: of its attempts in the journal, one
    # started there, and it exited 0; they are exactly the procedure's destructive commands
    by_command: dict[tuple, list[str]] = {}
    for l in lines:
        if l.get("attempt"):
            key = (l["step"], l["command"], l["hosts"][0])
            by_command.setdefault(key, [])
            if l["attempt"] not in by_command[key]:
                by_command[key].append(l["attempt"])
    assert sorted(by_command) == sorted(DESTRUCTIVE[path_key](recovery.name, failed.name))
    for (step, command, host), ids in by_command.items():
        host_rec = HostRecords(lab.host(host))
        started_there = [a for a in ids if host_rec.started(a)]
        assert len(started_there) == 1, (step, command, host, ids)
        assert host_rec.exit_status(started_there[0]) == 0, (step, command, host)
    # and what the journal says of each attempt is what its host recorded
    for l in lines:
        if not l.get("attempt") or l["event"] not in ("finished", "failed"):
            continue
        host_rec = HostRecords(lab.host(l["hosts"][0]))
        if l["event"] == "finished":
            assert l["exit_status"] == host_rec.exit_status(l["attempt"]) == 0, l
        else:
            assert "never started there" in l.get("error", ""), l
            assert not host_rec.started(l["attempt"]), l

    # no step journaled already-done that did not happen: a destructive step is so only
    # when each of its commands has this run's attempt that the host recorded with exit 0
    # (above); the backup's step when the backup is on the recovery host
    for l in lines:
        if l["event"] != "already-done":
            continue
        if l["step"] in ("RST-03", "RSTN-03"):
            names = os.listdir(recovery.path(BACKUP))
            assert any(n.endswith(".db") for n in names), names
            continue
        mine = [k for k in by_command if k[0].startswith(l["step"])]
        assert mine, f"{l['step']} journaled already-done with nothing sent for it: {l}"
    if path_key == "4.18+":
        assert "etcd-pod.yaml" not in os.listdir(failed.path("/etc/kubernetes/manifests"))
    else:
        assert not failed.path("/var/lib/etcd").exists()
        assert failed.path("/tmp/etcd/member/snap/db").exists()
        for manifest in ("etcd-pod.yaml", "kube-apiserver-pod.yaml",
                         "kube-controller-manager-pod.yaml", "kube-scheduler-pod.yaml"):
            assert failed.path(f"/tmp/{manifest}").exists(), manifest

    # every boundary of the window was a kill point: the run was killed right after each of
    # its lines, but for those a random-kill run wrote while the test was not stepping
    boundaries = {signature(l) for l in window(lines, path_key)}
    assert boundaries - driver.unwatched <= driver.killed_after, \
        sorted(boundaries - driver.unwatched - driver.killed_after)

    # nothing was sent to the lost host, and it keeps no attempt record
    assert not [l for l in lines if "command" in l and gone.name in l["hosts"]]
    assert not HostRecords(gone).dir.exists() or not os.listdir(HostRecords(gone).dir)
    print(f"kill anywhere ({path_key}, etcd {lab.etcd}): {len(driver.kills)} kills, "
          f"{driver.runs} runs, {took:.1f}s; kills: {driver.kills}")
