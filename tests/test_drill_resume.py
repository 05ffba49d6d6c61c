"""Drills do not resume (issue #12, part 5): a drill's simulated cluster lives in the drill's
process, so a drill killed with -9 takes its hosts, etcd and API with it. Run again with the
same --journal, it is refused (exit 2) instead of going on against a fresh cluster that never
saw the first half; the console does not offer another process's drill journal; and the
killed drill's temporary directory (its private key, its API token) is removed by the next
drill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from tests.cli_runner import run_cli
from tui.backend import Backend, BackendSpec
from tui.journal import JournalState, read_journal


def etcd_dr(*args, env=None, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = run_cli(*args, stdin=subprocess.DEVNULL, timeout=timeout, env=env)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def owned_by(tmp: Path, pid: int) -> list[Path]:
    out = []
    for d in tmp.glob("etcd-dr-drill-*"):
        try:
            if json.loads((d / "owner.json").read_text()).get("pid") == pid:
                out.append(d)
        except (OSError, ValueError):
            pass
    return out


def test_a_drill_killed_mid_run_is_refused_on_resume_and_its_keys_cleaned_up(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    journal = tmp_path / "j.jsonl"
    args = ["run", "backup", "--drill", "--yes", "--speed", "2", "--journal", journal]
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", *map(str, args)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill it while cluster-backup.sh runs
            if journal.exists() and any(r["step"] == "BAK-4" and r["event"] == "started"
                                        for r in read_journal(journal)):
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        else:
            raise AssertionError("the drill never reached BAK-4")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = owned_by(tmp, proc.pid)
    assert len(left) == 1 and (left[0] / "id_ed25519").exists()  # what kill -9 leaves
    state = JournalState.from_records(read_journal(journal))
    assert not state.finished and state.drill  # an unfinished drill run, stamped with its id
    before = journal.read_bytes()

    again = etcd_dr(*args, env=env)

    assert again.returncode == 2, again.stdout + again.stderr
    message = again.stderr.strip()
    assert message.startswith(f"etcd-dr: {journal}: the journal holds an unfinished drill "
                              f"run (backup): a drill's simulated cluster died with its "
                              f"process"), message
    assert "start a new drill" in message and "\n" not in message
    assert again.stdout == ""  # no new cluster, no step
    assert journal.read_bytes() == before  # not even a `resumed` line
    # the report still reads it
    report = etcd_dr("report", journal, "--format", "json", env=env)
    assert report.returncode == 0 and json.loads(report.stdout)["status"] == "unfinished"
    # a new drill starts: the dead one's directory, key and token with it, is gone
    status = etcd_dr("status", "--drill", env=env)
    assert status.returncode == 0, status.stderr
    assert not left[0].exists()


def test_a_real_clusters_unfinished_journal_is_not_resumed_by_a_drill(tmp_path):
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps({"time": "2026-01-01T00:00:00.000+00:00", "runbook": "backup",
                                   "step": "-", "event": "planned", "hosts": [],
                                   "params": {"host": "master-0"}}) + "\n")
    journal.chmod(0o600)
    proc = etcd_dr("run", "backup", "--drill", "--yes", "--journal", journal)
    assert proc.returncode == 2
    assert f"{journal}: the journal holds an unfinished run on a real cluster" in proc.stderr
    assert "--inventory" in proc.stderr


def state(**planned) -> JournalState:
    return JournalState.from_records([{"time": "t", "runbook": "backup", "step": "-",
                                       "event": "planned", "hosts": [], **planned}])


def test_the_console_offers_only_runs_it_can_continue():
    """What the console's resume dialog offers (tui.app: Backend.resumable): a real
    cluster's run on a real cluster; a drill's only on the drill it ran on."""
    real_run = state()
    old_drill_run = state(scenario="healthy", speed=1.0)  # a drill journal before the id
    this_drill_run = state(scenario="healthy", speed=1.0, drill="this")
    other_drill_run = state(scenario="healthy", speed=1.0, drill="other")
    assert (real_run.drill, old_drill_run.drill, this_drill_run.drill) == (None, "", "this")

    drill = Backend(BackendSpec(scenario="healthy"))
    drill.lab = SimpleNamespace(drill_id="this")
    assert drill.resumable(this_drill_run)
    assert not any(drill.resumable(s) for s in (real_run, old_drill_run, other_drill_run))

    real = Backend.__new__(Backend)
    real.lab = None
    assert real.resumable(real_run)
    assert not any(real.resumable(s) for s in (old_drill_run, this_drill_run))


def test_a_headless_drill_that_stops_on_a_failure_says_it_cannot_be_resumed(tmp_path):
    """nospace's busy disk makes the first defrag outlive its timeout; headless, the run stops
    there. A real cluster's run says to run again to resume; a drill's cannot be resumed, so
    it says to start a new drill or use the console's retry instead."""
    journal = tmp_path / "j.jsonl"
    proc = etcd_dr("run", "defrag", "--drill", "--scenario", "nospace", "--speed", "600",
                   "--yes", "--journal", str(journal))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "defrag of master-1 timed out after 194s" in proc.stderr, proc.stderr
    assert "run again to resume" not in proc.stderr, proc.stderr
    assert "This drill's simulated cluster ends with this run, so the run cannot be resumed: " \
           "start a new drill (the same command), or drill in the console (`etcd-dr drill`), " \
           "which offers a retry" in proc.stderr, proc.stderr
    again = etcd_dr("run", "defrag", "--drill", "--scenario", "nospace", "--journal",
                    str(journal), "--yes")
    assert again.returncode == 2 and "cannot be resumed" in again.stderr, again.stderr
