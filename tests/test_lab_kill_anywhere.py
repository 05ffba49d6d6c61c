"""Kill anywhere, on the lab (issue #11 item 6): the restore runbook in a process of its own
(tests/lab/restore_driver.py), SIGKILLed again and again, resumed each time with the same
journal, on real sshd and real etcd, finishes the restore as if nothing had happened.

The story is test_lab_restore's: 1,000 keys, a backup by `etcd-dr run backup` on master-0,
500 keys more, master-1's member stopped and master-2 gone. Then the restore runs in a
subprocess and is killed (os.kill(pid, SIGKILL)) at:

- every journal boundary of its destructive part: from the first line of RST-04 (4.16) /
  RSTN-02 (4.18) to the restore-script step's end, each run is killed as soon as the journal
  has a line of that window it did not have when the run started (a line's step, event,
  command and hosts: a resume that writes `confirmed` or `started` again is not progress,
  the first `finished` of a command is). Every run gets one line further, so it ends;
- three seeded random instants while cluster-restore.sh runs on the recovery host (its
  attempt started there and has no exit status yet): the recovery host's kubelet stand-in
  is paused meanwhile, so the script waits in its "Waiting for container ... to stop" loop
  as it does behind a slow pod, each of those runs is a resumed one watching it, and the
  script outlives every console killed meanwhile (the attempt record's `tee -p`);
- the script's end and its restore pod's deletion of /var/lib/etcd-backup/snapshot.db
  (4.14+), with no console alive: the kubelet stand-in is let go, the test waits until the
  attempt's exit status is on the host and snapshot.db is gone, then resumes; the resumed
  run must judge the script from this run's attempt record, not from snapshot.db;
- right after the script command's finished line and the script step's own end line (the
  last two boundaries), and once more after snapshot.db is gone, in a run past the window.

After the last kill the run is resumed until it ends (the journal's last line: step "-",
event "finished"). Then: the backup's keys are back and the later ones gone
(check_restored), cluster-restore.sh started on the recovery host under exactly one of the
attempts the journal names for it and ran there once (one log with its output, exit 0), the
kubelet stand-in ran its restore pod once, every destructive command ran once, no step was
journaled already-done without the host's record of it, and nothing went to the lost host.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_lab_restore import BACKUP, NEEDS_API, backed_up_then_lost, check_restored
from tests.lab.lab import descendants
from tests.lab.restore_driver import STOP_EACH_LINE
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
    """tests/lab/restore_driver.py on one journal: started, killed and resumed by the test."""

    def __init__(self, lab, recovery, path_key: str, journal: Path, logs: Path):
        self.argv = [sys.executable, "-m", "tests.lab.restore_driver", str(lab.inventory_path),
                     str(journal), recovery.name, path_key]
        self.journal = journal
        self.logs = logs
        self.runs = 0
        self.proc: subprocess.Popen | None = None
        self.kills: list[str] = []  # why each run was killed

    def start(self, stepping: bool = False) -> None:
        """A run (the first, or a resume); stepping: it stops itself after each journal
        line (restore_driver's STOP_EACH_LINE) until `go_on` or `kill`."""
        self.runs += 1
        env = {**os.environ, STOP_EACH_LINE: "1" if stepping else "0"}
        with open(self.logs / f"run-{self.runs:02d}.log", "w") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=REPO, env=env)

    def records(self) -> list[dict]:
        return read_journal(self.journal) if self.journal.exists() else []

    def stopped(self) -> bool:
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                stat = f.read()
        except OSError:
            return False
        return stat[stat.rfind(")") + 2] == "T"

    def go_on(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self, why: str) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.kills.append(why)

    def log_text(self, run: int | None = None) -> str:
        return (self.logs / f"run-{run or self.runs:02d}.log").read_text()

    def ended(self) -> int | None:
        """The run's exit status when it ended by itself; a failure says why."""
        rc = self.proc.poll()
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
    host = HostRecords(recovery)
    snapshot = recovery.path("/var/lib/etcd-backup/snapshot.db")
    random_left = RANDOM_KILLS
    held: list[int] = []  # the script's pids while the test holds it

    while not script_step_ended(recs := driver.records(), path_key):
        if script_attempts(recs) and random_left:
            # the script was sent: resumed runs killed at random instants while it runs
            held += random_kill(driver, recovery, rng, held)
            random_left -= 1
            if random_left == 0:
                # no console alive: the script goes on to its end, and its restore pod
                # restores and deletes snapshot.db
                for pid in held:
                    os.kill(pid, signal.SIGCONT)
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
    driver.proc.wait(RUN_TIMEOUT)
    assert driver.ended() == 0
    return driver


def script_processes(recovery) -> list[int]:
    """The pid of cluster-restore.sh running on the recovery host: among its sshd's
    descendants (processes this lab started), the one that runs the script itself (not its
    subshells, which have its command line too)."""
    def argv(pid: int) -> list[bytes]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read().split(b"\0")
        except OSError:
            return []

    def parent(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            return 0
        return int(stat[stat.rfind(")") + 2:].split()[1])

    script = SCRIPT.split()[0].encode()
    return [pid for pid in descendants(recovery.sshd.proc.pid)
            if script in argv(pid) and script not in argv(parent(pid))]


def random_kill(driver: Driver, recovery, rng: random.Random, held: list[int]) -> list[int]:
    """A resumed run killed at a random instant while the restore script runs. The first
    such run finds the script not started (the boundary kill came before it was sent) and
    sends it; the test then holds the script (SIGSTOP by pid) at a random point of its run,
    as a slow host holds it (the real one takes minutes, the lab's a second), until the
    last random kill: every kill lands while it runs. held: its pids when it is held
    already (by pid: the script outlives the console's SSH session, and its sshd); returns
    the pids it held now."""
    host = HostRecords(recovery)
    lines = len(driver.records())
    driver.start()
    driver.wait_for(lambda: len(driver.records()) > lines, "the resumed run's first line")
    pids = []
    if not held:
        driver.wait_for(lambda: host.running(script_attempts(driver.records())),
                        "the script running on the host")
        time.sleep(rng.uniform(0.0, 0.5))
        pids = script_processes(recovery)
        assert pids and host.running(script_attempts(driver.records())), \
            "the script ended before it could be held"
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
    delay = rng.uniform(0.0, 1.5)
    time.sleep(delay)
    driver.ended()
    assert host.running(script_attempts(driver.records()))
    driver.kill(f"+{delay:.2f}s into a resume while the script runs")
    return pids


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(POLL)


@pytest.fixture(params=CASES, ids=[f"etcd{v}-{path}" for v, path, _ in CASES])
def kill_lab(request, make_lab):
    etcd, path, openshift = request.param
    lab = make_lab(hosts_count=3, etcd=etcd, kubelet=True, openshift=openshift,
                   label=f"kill{etcd.replace('.', '')}")
    lab.path_key = path
    return lab


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
    # started there, and it exited 0
    by_command: dict[tuple, list[str]] = {}
    for l in lines:
        if l.get("attempt"):
            key = (l["step"], l["command"], l["hosts"][0])
            by_command.setdefault(key, [])
            if l["attempt"] not in by_command[key]:
                by_command[key].append(l["attempt"])
    assert by_command
    for (step, command, host), ids in by_command.items():
        host_rec = HostRecords(lab.host(host))
        started_there = [a for a in ids if host_rec.started(a)]
        assert len(started_there) == 1, (step, command, host, ids)
        assert host_rec.exit_status(started_there[0]) == 0, (step, command, host)

    # no step journaled already-done that did not happen: a destructive step's commands
    # each have an attempt the host recorded with exit 0 (above); the backup's step is done
    # when the backup is on the recovery host
    for l in lines:
        if l["event"] != "already-done":
            continue
        mine = [k for k in by_command if k[0].startswith(l["step"])]
        if l["step"] in ("RST-03", "RSTN-03"):
            names = os.listdir(recovery.path(BACKUP))
            assert any(n.endswith(".db") for n in names), names
        else:
            assert mine, f"{l['step']} journaled already-done with nothing sent for it: {l}"

    # nothing was sent to the lost host
    assert not [l for l in lines if "command" in l and gone.name in l["hosts"]]
    print(f"kill anywhere ({path_key}, etcd {lab.etcd}): {len(driver.kills)} kills, "
          f"{driver.runs} runs, {took:.1f}s; kills: {driver.kills}")
