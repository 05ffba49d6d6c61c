"""BAK-6: `etcd-dr run backup --fetch-to DIR` streams the verified pair and its manifest to
the operator's machine (issue #13 item 1), on the drill through the real SSH path. The lab
test of the stream itself (resume, damage, symlinks, memory) is in test_lab_stream_copy.py."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess

from click.testing import CliRunner

from tests.cli_runner import run_cli
from tui.cli import main


def etcd_dr(*args, timeout: float = 180) -> subprocess.CompletedProcess:
    proc = run_cli(*args, timeout=timeout)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def test_a_drill_backup_is_fetched_here_with_the_hosts_sha256(tmp_path):
    safe, journal = tmp_path / "safe", tmp_path / "backup.jsonl"
    run = etcd_dr("run", "backup", "--drill", "--speed", "60", "--host", "master-1", "--yes",
                  "--journal", journal, "--fetch-to", safe)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "[BAK-6] Fetch the backup to this machine [master-1]" in run.stdout
    lines = [json.loads(l) for l in journal.read_text().splitlines()]
    assert lines[0]["params"]["fetch_to"] == str(safe)
    [fetched] = [l for l in lines if l["step"] == "BAK-6" and l.get("command", "").startswith(
        "(fetch)")]
    directory = safe / "drill-healthy"
    names = sorted(os.listdir(directory))
    assert sorted(fetched["sha256"]) == names and len(names) == 3
    assert [n.split("_")[0] for n in names] == ["etcd-dr-manifest", "snapshot",
                                                "static"]
    for name in names:  # what arrived is what the host's sha256sum said, 0600
        path = directory / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == fetched["sha256"][name]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert not [n for n in names if n.endswith(".etcd-dr-part")]
    manifest = json.loads((directory / names[0]).read_text())
    assert manifest["snapshot"] in names and manifest["static_kuberesources"] in names
    assert (lines[-1]["step"], lines[-1]["event"]) == ("-", "finished")
    # what BAK-6 sent is what its plan shows: the size, the host's sha256, the bytes
    sent = {l["command"].replace("sudo -n sh -c '", "").split()[0] for l in lines
            if l["step"] == "BAK-6" and l.get("command") and l["event"] == "finished"
            and not l["command"].startswith("(fetch)")}
    assert sent == {"stat", "sha256sum", "cat"}, sent


def test_without_fetch_to_bak6_is_skipped_and_the_plan_says_what_it_would_read():
    r = CliRunner().invoke(main, ["run", "backup", "--drill", "--dry-run", "--host",
                                  "master-1", "--fetch-to", "/tmp/etcd-dr-nowhere"])
    assert r.exit_code == 0, r.output
    assert "BAK-6" in r.output
    bak6 = r.output[r.output.index("BAK-6"):]
    for shown in ("stat -c %s --", "sha256sum --", "cat --"):  # in the order it sends them
        assert shown in bak6, r.output
    assert bak6.index("stat -c") < bak6.index("sha256sum --") < bak6.index("cat --")
    assert not os.path.exists("/tmp/etcd-dr-nowhere")  # a plan writes nothing
    r = CliRunner().invoke(main, ["run", "backup", "--drill", "--dry-run", "--host",
                                  "master-1"])
    assert r.exit_code == 0, r.output
    assert "no --fetch-to" in r.output


def test_fetch_to_goes_with_backup_only():
    r = CliRunner().invoke(main, ["run", "defrag", "--drill", "--fetch-to", "/tmp/x"])
    assert r.exit_code == 2 and "--fetch-to goes with backup" in r.output
    r = CliRunner().invoke(main, ["run", "backup", "--drill", "--fetch-to", " "])
    assert r.exit_code == 2 and "--fetch-to needs a directory" in r.output
