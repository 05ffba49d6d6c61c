"""`etcd-dr run`'s interlocks: what is refused before anything is sent, and how.

Each case runs the real command line (`python -m tui.cli run ...`) as a subprocess, with the
drill cluster in that process (or, for the dry run, the real-programs lab, whose hosts' files
the test can look at afterwards). Refusals are exit 2 with one plain paragraph on stderr and
no journal line; a dry run prints the plan and changes nothing.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess

import pytest

from tests.cli_runner import run_cli

pytest_plugins = ["tests.lab.fixtures"]

BACKUP = "/home/core/assets/backup"
SCRIPT_LINE = f"/usr/local/bin/cluster-backup.sh {BACKUP}"
KEYS = {"time", "runbook", "step", "event", "hosts"}
EVENTS = {"planned", "started", "finished", "failed", "skipped", "already-done", "confirmed",
          "override", "resumed"}
FAST = ("--speed", "30")  # the drill's cluster-backup.sh paces itself by the simulated clock


def etcd_dr(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = run_cli(*args, stdin=subprocess.DEVNULL, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def journal_lines(path) -> list[dict]:
    if not os.path.exists(path):
        return []
    return [json.loads(line) for line in open(path, encoding="utf-8").read().splitlines()]


def assert_refused(proc, *words) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stderr.strip()
    assert message.startswith("etcd-dr: ") and "\n\n" not in message
    for word in words:
        assert word in message, message
    return message


def assert_contract_journal(path, runbook: str) -> list[dict]:
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    records = journal_lines(path)
    for r in records:
        assert KEYS <= r.keys() and r["event"] in EVENTS and isinstance(r["hosts"], list), r
        assert r["runbook"] == runbook
        if "command" in r and r["event"] in ("finished", "failed"):
            assert isinstance(r["exit_status"], int), r
    assert (records[0]["step"], records[0]["event"]) == ("-", "planned")
    assert (records[-1]["step"], records[-1]["event"]) == ("-", "finished")
    return records


# --- refusals ------------------------------------------------------------------------------

def test_read_only_refuses_a_mutating_runbook_before_it_starts(tmp_path):
    journal = tmp_path / "j.jsonl"
    proc = etcd_dr("run", "backup", "--drill", "--read-only", "--yes", "--journal", journal)
    assert_refused(proc, "read-only")
    assert journal_lines(journal) == []
    assert "[BAK-" not in proc.stdout


def test_read_only_refuses_to_resume_an_unfinished_journal_too(tmp_path):
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps({"time": "2026-01-01T00:00:00.000+00:00", "runbook": "backup",
                                   "step": "-", "event": "planned", "hosts": [],
                                   "params": {"host": "master-0", "backup_dir": BACKUP,
                                              "baseline": ""}}) + "\n")
    journal.chmod(0o600)
    before = journal.read_bytes()
    proc = etcd_dr("run", "backup", "--drill", "--read-only", "--yes", "--journal", journal)
    assert_refused(proc, "read-only")
    assert journal.read_bytes() == before  # not even a "resumed" line


@pytest.mark.parametrize("host", ["worker-0", "master-9"])
def test_a_backup_host_that_is_not_a_control_plane_host_is_refused(tmp_path, host):
    journal = tmp_path / "j.jsonl"
    proc = etcd_dr("run", "backup", "--drill", "--host", host, "--yes", "--journal", journal)
    message = assert_refused(proc, repr(host), "control-plane")
    assert "master-0" in message  # and says which hosts would do
    assert journal_lines(journal) == []


def test_a_mutating_run_without_yes_and_without_a_terminal_is_refused(tmp_path):
    journal = tmp_path / "j.jsonl"
    proc = etcd_dr("run", "backup", "--drill", "--journal", journal)  # stdin: /dev/null
    assert_refused(proc, "--yes", "terminal")
    assert journal_lines(journal) == []
    assert "[BAK-" not in proc.stdout


def test_a_backup_during_an_encryption_migration_is_refused_unless_overridden(tmp_path):
    refused = tmp_path / "refused.jsonl"
    proc = etcd_dr("run", "backup", "--drill", "--scenario", "encryption-in-progress", "--yes",
                   "--journal", refused, *FAST)
    assert_refused(proc, "encryption", "in progress", "override")
    assert journal_lines(refused) == []

    journal = tmp_path / "j.jsonl"
    reason = "change window ends in 10 minutes; second backup after the migration"
    proc = etcd_dr("run", "backup", "--drill", "--scenario", "encryption-in-progress", "--yes",
                   "--override", reason, "--journal", journal, *FAST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = assert_contract_journal(journal, "backup")
    overrides = [r for r in records if r["event"] == "override"]
    assert [(r["step"], r["reason"]) for r in overrides] == [("-", reason)]
    assert records[0]["params"]["override"] == reason
    bak0 = next(r for r in records if r["step"] == "BAK-0" and r["event"] == "finished")
    assert reason in bak0["detail"] and "no encryption migration" not in bak0["detail"]
    assert reason in etcd_dr("report", journal).stdout


# --- runs that go through --------------------------------------------------------------------

def test_a_drill_backup_completes_with_a_contract_journal(tmp_path):
    journal = tmp_path / "j.jsonl"
    proc = etcd_dr("run", "backup", "--drill", "--host", "master-1", "--yes", "--journal",
                   journal, *FAST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = assert_contract_journal(journal, "backup")
    steps = [(r["step"], r["event"]) for r in records if "command" not in r]
    for step in ("BAK-0", "BAK-1", "BAK-2", "BAK-4", "BAK-5"):
        assert (step, "finished") in steps
    assert ("BAK-3", "skipped") in steps and ("BAK-4", "confirmed") in steps
    commands = [r for r in records if "command" in r]
    # as sent: the drill's inventory runs privileged commands under sudo -n
    sent = f"sudo -n sh -c '{SCRIPT_LINE}'"
    assert [(r["event"], r["command"], r["hosts"]) for r in commands] == [
        ("started", sent, ["master-1"]), ("finished", sent, ["master-1"])]
    assert commands[1]["exit_status"] == 0
    facts = next(r for r in records if r["step"] == "BAK-5" and r["event"] == "finished")["facts"]
    manifest = facts["manifest"]
    assert manifest["host"] == "master-1"
    assert manifest["etcd"]["hash"] == facts["snapshot"]["hash"] is not None
    assert manifest["snapshot"] == f"snapshot_{manifest['timestamp']}.db"


def test_encryption_on_completes_on_a_fast_drill(tmp_path):
    journal = tmp_path / "j.jsonl"
    proc = etcd_dr("run", "encryption-on", "--drill", "--speed", "600", "--yes", "--journal",
                   journal)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = assert_contract_journal(journal, "encryption-on")
    finished = {r["step"] for r in records if r["event"] == "finished" and r["step"] != "-"}
    assert {s for s in records[0]["steps"]} <= finished | {
        r["step"] for r in records if r["event"] in ("skipped", "already-done")}


# --- the dry run ---------------------------------------------------------------------------

def test_a_dry_run_prints_every_step_and_the_exact_commands_and_sends_nothing(tmp_path):
    journal = tmp_path / "j.jsonl"
    proc = etcd_dr("run", "backup", "--drill", "--host", "master-2", "--dry-run", "--journal",
                   journal)
    assert proc.returncode == 0, proc.stderr
    for step in ("BAK-0", "BAK-1", "BAK-2", "BAK-3", "BAK-4", "BAK-5"):
        assert any(line.startswith(f"{step}  ") for line in proc.stdout.splitlines()), step
    assert f"master-2$ sudo -n sh -c '{SCRIPT_LINE}'" in proc.stdout
    assert "dry run" in proc.stdout and "nothing" in proc.stdout
    assert not journal.exists()
    # a step that will be skipped lists no command: none of them would be sent
    after = proc.stdout[proc.stdout.index("BAK-6  "):].splitlines()
    bak6 = after[:1] + list(itertools.takewhile(lambda line: line.startswith("    "),
                                                after[1:]))
    assert bak6[2].strip() == "SKIPPED: no --fetch-to", bak6
    assert not any("$ " in line for line in bak6[1:]), bak6


@pytest.mark.lab
def test_a_dry_run_on_real_hosts_leaves_no_file_and_no_journal(lab, tmp_path):
    for h in lab.hosts:
        shutil.rmtree(h.path("/home/core/assets"), ignore_errors=True)
    journal = tmp_path / "j.jsonl"
    host = lab.hosts[0]
    proc = etcd_dr("run", "backup", "--inventory", lab.inventory_path, "--host", host.name,
                   "--override", "the lab has no API", "--dry-run", "--journal", journal)
    assert proc.returncode == 0, proc.stderr
    for step in ("BAK-0", "BAK-1", "BAK-2", "BAK-3", "BAK-4", "BAK-5"):
        assert any(line.startswith(f"{step}  ") for line in proc.stdout.splitlines()), step
    # the lab's inventory logs in as root without sudo: the command exactly as it is sent
    assert f"{host.name}$ {SCRIPT_LINE}" in proc.stdout
    assert not journal.exists()
    for h in lab.hosts:
        assert not h.path("/home/core/assets").exists(), h.name
