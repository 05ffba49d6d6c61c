"""The command line as scripts use it: exit codes, JSON keys, plain errors, no tracebacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_runner import run_cli

CONTRACT_KEYS = {"collected_at", "healthy", "cluster", "hosts", "members", "leader", "alarms",
                 "api"}


def etcd_dr(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=timeout)


def test_status_drill_json_healthy_has_the_contract_keys_and_exits_0():
    r = etcd_dr("status", "--drill", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert CONTRACT_KEYS <= doc.keys()
    assert doc["healthy"] is True
    assert doc["cluster"] == {"name": "drill-healthy", "version": "4.12.30"}
    assert [h["ssh"]["state"] for h in doc["hosts"]] == ["connected"] * 3
    assert doc["leader"] == "master-1"
    assert sum(m["is_leader"] for m in doc["members"]) == 1
    for m in doc["members"]:
        assert len(m["member_id"]) == 16 and int(m["member_id"], 16) >= 0
        assert m["member_id"] == m["member_id"].lower()
        assert 0 <= m["fragmentation"] <= 1
        assert m["errors"] == []
        assert {"endpoint", "version", "is_learner", "db_size", "db_size_in_use", "raft_term",
                "raft_index", "raft_applied_index"} <= m.keys()
    assert doc["alarms"] == []
    enc = doc["api"]["encryption"]
    assert doc["api"]["reachable"] is True and doc["api"]["error"] is None
    assert enc["type"] == "identity"
    assert set(enc["conditions"]) == {"openshiftapiserver", "kubeapiserver", "authentication"}
    assert enc["conditions"]["kubeapiserver"]["status"] == "False"


def test_status_drill_nospace_exits_1_and_names_the_alarm():
    r = etcd_dr("status", "--drill", "--scenario", "nospace", "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["healthy"] is False
    assert [a["alarm"] for a in doc["alarms"]] == ["NOSPACE"]
    assert any("NOSPACE" in p for p in doc["problems"])


def test_status_drill_host_down_exits_1_with_the_host_unreachable():
    r = etcd_dr("status", "--drill", "--scenario", "host-down", "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    states = {h["name"]: h["ssh"]["state"] for h in doc["hosts"]}
    assert states == {"master-0": "connected", "master-1": "connected",
                      "master-2": "unreachable"}
    m2 = next(m for m in doc["members"] if m["name"] == "master-2")
    assert m2["errors"]
    assert doc["leader"] in ("master-0", "master-1")


@pytest.mark.parametrize("args, needle", [
    (["status"], "exactly one of --inventory FILE or --drill"),
    (["status", "--drill", "--scenario", "nope"], "unknown scenario 'nope'"),
    (["status", "--inventory", "/nonexistent/inv.yaml"], "/nonexistent/inv.yaml"),
    (["drill", "--speed", "0"], "must be greater than 0"),
])
def test_bad_input_exits_2_with_a_message_and_no_traceback(args, needle):
    r = etcd_dr(*args)
    assert r.returncode == 2
    assert needle in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_inventory_names_file_key_and_line(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text("cluster:\n  name: x\nhosts:\n  - name: m0\n    adress: 10.0.0.5\n")
    r = etcd_dr("status", "--inventory", str(inv))
    assert r.returncode == 2
    assert f"{inv}, line 5: hosts[0].adress: is not a known key" in r.stderr
    assert "Traceback" not in r.stderr


def test_scenarios_lists_the_contract_names_with_descriptions():
    r = etcd_dr("scenarios")
    assert r.returncode == 0
    names = {line.split()[0] for line in r.stdout.splitlines()}
    assert {"healthy", "nospace", "host-down"} <= names
    assert all(len(line.split(None, 1)) == 2 for line in r.stdout.splitlines())


def test_lab_serve_runs_a_drill_cluster_that_status_reaches_by_inventory(tmp_path):
    out = tmp_path / "class.yaml"
    lab = subprocess.Popen([sys.executable, "-m", "tui.cli", "lab", "serve", "--scenario",
                            "nospace", "--inventory-out", str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not out.exists():
            assert lab.poll() is None, lab.stderr.read()
            assert time.monotonic() < deadline, "lab serve wrote no inventory"
            time.sleep(0.05)
        r = etcd_dr("status", "--inventory", str(out), "--json")
        doc = json.loads(r.stdout)
        assert r.returncode == 1 and doc["drill"] is True
        assert [a["alarm"] for a in doc["alarms"]] == ["NOSPACE"]
        assert oct(os.stat(tmp_path / "class.d" / "id_ed25519").st_mode & 0o777) == "0o600"
        assert oct(os.stat(tmp_path / "class.d" / "kubeconfig").st_mode & 0o777) == "0o600"
    finally:
        lab.send_signal(signal.SIGINT)
        lab.wait(timeout=20)
    assert lab.returncode == 0


def test_tests_never_use_the_operators_state_directory(private_state_home):
    """The suite runs with a temporary XDG_STATE_HOME: journals land there, not in ~."""

    from tui.journal import default_journal_dir

    home_state = Path.home() / ".local" / "state"
    assert default_journal_dir().is_relative_to(private_state_home)
    assert not default_journal_dir().is_relative_to(home_state)
