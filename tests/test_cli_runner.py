"""The way the tests run the CLI (tests/cli_runner.py) is the way an operator's shell does.

Most runs are forked from a zygote that imported the console once (tests/cli_zygote.py).
A forked run must be indistinguishable from `python -m tui.cli` in a fresh interpreter:
the same exit code, stdout and stderr for the same command, the environment and working
directory of the call, and the hang dump when a run overruns.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.cli_runner import run_cli


@pytest.mark.parametrize("args", [
    ("--help",),
    ("scenarios",),
    ("no-such-command",),
    ("status", "--drill", "--scenario", "no-such-scenario"),
    ("run", "backup", "--drill", "--scenario", "healthy", "--dry-run"),
    ("report", "/nonexistent/journal.jsonl"),
], ids=lambda args: " ".join(args))
def test_a_forked_run_prints_and_exits_as_a_fresh_interpreter(args):
    fresh = run_cli(*args, fork=False)
    forked = run_cli(*args, fork=True)
    assert "Traceback" not in fresh.stderr + forked.stderr
    assert (forked.returncode, forked.stdout, forked.stderr) == \
        (fresh.returncode, fresh.stdout, fresh.stderr)


def test_a_forked_drill_status_is_the_fresh_ones_contract():
    """A whole drill (SSH servers, API server, collector) in the forked child: the status
    JSON has the contract's keys and the exit code says healthy, as in a fresh one."""
    fresh = run_cli("status", "--drill", "--scenario", "nospace", "--json", fork=False)
    forked = run_cli("status", "--drill", "--scenario", "nospace", "--json", fork=True)
    assert forked.returncode == fresh.returncode == 1
    assert json.loads(forked.stdout).keys() == json.loads(fresh.stdout).keys()
    assert json.loads(forked.stdout)["alarms"] == json.loads(fresh.stdout)["alarms"]


def test_the_child_gets_the_calls_environment_and_directory(tmp_path, monkeypatch):
    """XDG_STATE_HOME from `env` is where the run's journal goes, and the working
    directory is the caller's: a relative journal path is read from there."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    r = run_cli("run", "backup", "--drill", "--scenario", "healthy", "--speed", "300",
                "--yes", env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    [journal] = (tmp_path / "state" / "etcd-dr" / "journals").iterdir()
    (tmp_path / "j.jsonl").write_bytes(journal.read_bytes())
    monkeypatch.chdir(tmp_path)
    r = run_cli("report", "j.jsonl", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["runbook"] == "backup"


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fresh"])
def test_a_run_that_overruns_is_dumped_and_stopped(fork, tmp_path):
    """`lab serve` runs until stopped: past the timeout the runner asks the child for its
    asyncio tasks (SIGUSR2), stops it, and fails with the dump, forked or fresh."""
    # 10 s: long enough for `lab serve` to reach its event loop (where the dump is answered)
    # on a CI machine whose disk a gigabyte lab is busy with
    with pytest.raises(AssertionError) as failed:
        run_cli("lab", "serve", "--inventory-out", tmp_path / "inv.yaml", timeout=10,
                stdin=subprocess.DEVNULL, fork=fork)
    text = str(failed.value)
    assert "did not end in 10 s" in text
    assert "--- task dump" in text
