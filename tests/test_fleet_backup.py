"""`etcd-dr run backup --inventory-dir DIR --keep N`: the nightly backup of several clusters.

Three drill clusters, each a `lab serve` child process on its own loopback addresses, backed
up three times through the command line; the tests read what is left on the hosts over the
same SSH path the console uses, and each cluster's journal.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.cli_runner import run_cli
from tui.errors import ConfigError
from tui.fleet.commands import Command
from tui.fleet.readonly import refusal
from tui.runbooks.backup import backup_sets, prune_plan
from tui.runbooks.fleet_backup import inventory_files, run_fleet_backup
from tui.runbooks.runner import Refused, RunAborted

DIR = "/home/core/assets/backup"
# scenario -> loopback address base: three clusters side by side, each its own addresses
CLUSTERS = {"healthy": "127.0.41", "healthy-4.20": "127.0.42", "host-down": "127.0.43"}
LONE = "snapshot_2020-01-01_000000.db"  # a failed backup's lone file: never removed


def etcd_dr(*args, timeout: float = 150, **kw) -> subprocess.CompletedProcess:
    proc = run_cli(*args, stdin=subprocess.DEVNULL, timeout=timeout, **kw)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def start_lab(directory: Path, scenario: str, base: str) -> subprocess.Popen:
    inventory = directory / f"{scenario}.yaml"
    with open(directory.parent / f"{scenario}.serve.err", "w") as err:
        return subprocess.Popen([sys.executable, "-m", "tui.cli", "lab", "serve", "--scenario",
                                 scenario, "--address-base", base, "--inventory-out",
                                 str(inventory)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)


def wait_up(directory: Path, labs: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + 60
    for scenario, proc in labs.items():
        err = directory.parent / f"{scenario}.serve.err"
        while "Press Ctrl-C" not in err.read_text():
            assert proc.poll() is None, err.read_text()
            assert time.monotonic() < deadline, f"lab serve {scenario}: {err.read_text()}"
            time.sleep(0.1)


def stop_lab(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # by its pid, nothing else
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def fleet_dir(tmp_path):
    """DIR with one inventory per drill cluster, each served by its own `lab serve`."""
    directory = tmp_path / "inventories"
    directory.mkdir()
    labs = {s: start_lab(directory, s, base) for s, base in CLUSTERS.items()}
    try:
        wait_up(directory, labs)
        yield directory, labs
    finally:
        for proc in labs.values():
            stop_lab(proc)


def ssh(inventory: Path, host: str, *argv: str) -> subprocess.CompletedProcess:
    """One privileged command on a drill host, through the console's own SSH path."""
    from tui.fleet.fleet import Fleet
    from tui.inventory import load_inventory

    async def once():
        fleet = Fleet(load_inventory(str(inventory)))
        await fleet.start()
        try:
            return await fleet.run_one(host, Command.of(*argv, privileged=True, timeout=15))
        finally:
            await fleet.close()

    return asyncio.run(once())


def pairs_on(inventory: Path, host: str) -> tuple[list[str], list[str]]:
    """(complete pairs' timestamps, every name) in the host's backup directory."""
    r = ssh(inventory, host, "ls", "-1", DIR)
    assert r.ok, r
    sets = backup_sets(r.stdout)
    return (sorted(ts for ts, e in sets.items() if "snapshot" in e
                   and "static_kuberesources" in e), r.stdout.split())


def journal_records(path: str) -> list[dict]:
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def tokens(directory: Path) -> list[str]:
    """The drill clusters' API tokens (in each lab's kubeconfig): never printed."""
    out = []
    for scenario in CLUSTERS:
        kubeconfig = yaml.safe_load((directory / f"{scenario}.d" / "kubeconfig").read_text())
        out.append(kubeconfig["users"][0]["user"]["token"])
    assert all(len(t) > 20 for t in out)
    return out


@pytest.mark.timeout(400)
def test_three_nightly_runs_keep_two_pairs_per_cluster_and_a_broken_cluster_fails_alone(
        fleet_dir, private_state_home):
    directory, labs = fleet_dir
    secrets = tokens(directory)
    args = ("run", "backup", "--inventory-dir", directory, "--keep", "2", "--yes")
    outputs = []

    # night 1: the summary table, every cluster ok
    first = etcd_dr(*args)
    outputs.append(first.stdout + first.stderr)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split() == ["CLUSTER", "HOST", "SNAPSHOT", "SIZE", "VERIFIED", "PRUNED",
                                "JOURNAL", "RESULT"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert set(rows) == {f"drill-{s}" for s in CLUSTERS}
    for row in rows.values():
        assert re.fullmatch(r"snapshot_\d{4}-\d{2}-\d{2}_\d{6}\.db", row[2]), row
        assert row[-1] == "ok" and "yes" in row and row[-2].endswith(".jsonl")
    assert lines[-1] == ("3 of 3 cluster(s) backed up and verified, older pairs pruned to the "
                         "newest 2.")
    # each cluster's progress on stderr, prefixed with its name
    for scenario in CLUSTERS:
        assert f"drill-{scenario}: [BAK-4] done:" in first.stderr

    # night 2: --json
    second = etcd_dr(*args, "--json")
    outputs.append(second.stdout + second.stderr)
    assert second.returncode == 0, second.stdout + second.stderr
    doc = json.loads(second.stdout)
    assert doc["succeeded"] == 3 and doc["failed"] == 0
    night2 = {c["cluster"]: c for c in doc["clusters"]}
    for c in night2.values():
        assert c["result"] == "ok" and c["verified"] is True and c["pruned"] == []
        assert isinstance(c["etcd"]["hash"], int) and c["etcd"]["revision"] > 0
        assert c["size"] > 0 and c["manifest"] == c["snapshot"].replace(
            "snapshot_", "etcd-dr-manifest_").replace(".db", ".json")
        assert len(pairs_on(directory / f"{c['cluster'][6:]}.yaml", c["host"])[0]) == 2

    # before night 3: a lone file (a failed backup's) on one host, one cluster gone (its lab
    # stopped), one inventory that does not load
    healthy = directory / "healthy.yaml"
    host = night2["drill-healthy"]["host"]
    assert ssh(healthy, host, "touch", f"{DIR}/{LONE}").ok
    stop_lab(labs["host-down"])
    (directory / "typo.yaml").write_text("cluster:\n  name: typo\nhosts:\n"
                                         "  - name: m0\n    adress: 10.0.0.5\n")
    third = etcd_dr(*args, "--json")
    outputs.append(third.stdout + third.stderr)
    assert third.returncode == 1, third.stdout + third.stderr
    doc = json.loads(third.stdout)
    assert doc["succeeded"] == 2 and doc["failed"] == 2
    night3 = {c["cluster"] or Path(c["inventory"]).name: c for c in doc["clusters"]}
    bad = night3["typo.yaml"]
    assert bad["result"] == "failed" and bad["journal"] is None
    assert "typo.yaml, line 5: hosts[0].adress: is not a known key" in bad["error"]
    down = night3["drill-host-down"]
    assert down["result"] == "failed" and down["snapshot"] is None and down["error"]
    down_journal = journal_records(down["journal"])
    assert down_journal[-1]["step"] == "-" and down_journal[-1]["event"] == "failed"

    for scenario in ("healthy", "healthy-4.20"):
        c = night3[f"drill-{scenario}"]
        assert c["result"] == "ok", c
        assert c["host"] == night2[c["cluster"]]["host"]  # the same host, night after night
        kept, names = pairs_on(directory / f"{scenario}.yaml", c["host"])
        night2_ts = night2[c["cluster"]]["snapshot"][len("snapshot_"):-len(".db")]
        night3_ts = c["snapshot"][len("snapshot_"):-len(".db")]
        # exactly two pairs: night 2's and night 3's, each with its manifest; night 1's gone
        assert kept == sorted([night2_ts, night3_ts]) == c["kept"], names
        assert len(c["pruned"]) == 1 and c["pruned"][0] < night2_ts
        assert not any(c["pruned"][0] in n for n in names)
        assert {f"etcd-dr-manifest_{ts}.json" for ts in kept} <= set(names)
        if scenario == "healthy":
            assert LONE in names and c["left_alone"] == [LONE]
        else:
            assert c["left_alone"] == []

        # three journals, one per night, each named after the cluster, with the BAK lines
        journals = sorted(Path(private_state_home, "etcd-dr", "journals").glob(
            f"drill-{scenario}-backup-*.jsonl"))
        assert len(journals) == 3
        records = journal_records(c["journal"])
        assert all(r["runbook"] == "backup" for r in records)
        events = {(r["step"], r["event"]) for r in records if "command" not in r}
        for step in ("BAK-0", "BAK-1", "BAK-2", "BAK-4", "BAK-5", "BAK-KEEP"):
            assert (step, "finished") in events, step
        assert ("-", "finished") in events and records[0]["params"]["keep"] == 2
        rm = [r for r in records if r["step"] == "BAK-KEEP" and "'rm -- " in
              r.get("command", "") and r["event"] == "finished"]
        assert len(rm) == 1 and rm[0]["exit_status"] == 0, rm
        assert c["pruned"][0] in rm[0]["command"] and LONE not in rm[0]["command"]
        if scenario == "healthy":  # the report names the step and says what it removed
            report = etcd_dr("report", c["journal"])
            assert report.returncode == 0, report.stderr
            keep_row = next(line for line in report.stdout.splitlines()
                            if line.startswith("| BAK-KEEP | Keep the newest backups"))
            assert f"removed 1 older pair(s) ({c['pruned'][0]})" in keep_row

    # nothing secret in any output or journal
    journals_text = "".join(p.read_text() for p in
                            Path(private_state_home, "etcd-dr", "journals").glob("*.jsonl"))
    for secret in secrets:
        assert secret not in journals_text
        assert all(secret not in text for text in outputs)


def test_read_only_and_no_terminal_are_refused_before_anything(tmp_path, private_state_home):
    directory = tmp_path / "inventories"
    directory.mkdir()
    (directory / "a.yaml").write_text("cluster:\n  name: a\nhosts:\n"
                                      "  - name: m0\n    address: 127.0.44.1\n")
    journals = Path(private_state_home, "etcd-dr", "journals")
    r = etcd_dr("run", "backup", "--inventory-dir", directory, "--yes", "--read-only")
    assert r.returncode == 2 and "read-only" in r.stderr and r.stdout == ""
    r = etcd_dr("run", "backup", "--inventory-dir", directory, "--keep", "2")  # no --yes
    assert r.returncode == 2 and "no terminal" in r.stderr and "--yes" in r.stderr
    assert not journals.exists() or not list(journals.iterdir())


@pytest.mark.parametrize("extra, says", [
    (("--drill",), "--drill goes with one cluster"),
    (("--host", "master-0"), "--host goes with one cluster"),
    (("--journal", "j.jsonl"), "--journal goes with one cluster"),
    (("--dry-run",), "--dry-run goes with one cluster"),
    (("--keep", "0"), "0 is not in the range"),
    (("--parallel", "0"), "0 is not in the range"),
])
def test_bad_fleet_input_is_exit_2(tmp_path, extra, says):
    (tmp_path / "a.yaml").write_text("cluster:\n  name: a\nhosts:\n"
                                     "  - name: m0\n    address: 127.0.44.1\n")
    r = etcd_dr("run", "backup", "--inventory-dir", tmp_path, "--yes", *extra)
    assert r.returncode == 2 and says in r.stderr, r.stderr


def test_inventory_dir_must_hold_inventories_and_goes_with_backup(tmp_path):
    r = etcd_dr("run", "backup", "--inventory-dir", tmp_path / "none", "--yes")
    assert r.returncode == 2 and "is not a directory" in r.stderr
    r = etcd_dr("run", "backup", "--inventory-dir", tmp_path, "--yes")
    assert r.returncode == 2 and "no inventory" in r.stderr
    r = etcd_dr("run", "defrag", "--inventory-dir", tmp_path, "--yes")
    assert r.returncode == 2 and "go with the backup runbook" in r.stderr
    r = etcd_dr("lab", "serve", "--address-base", "10.0.0", "--inventory-out",
                tmp_path / "x.yaml")
    assert r.returncode == 2 and "loopback" in r.stderr


def test_inventory_files_takes_yaml_of_the_directory_once_each(tmp_path):
    for name in ("b.yaml", "a.yml", "notes.txt", ".hidden.yaml"):
        (tmp_path / name).write_text("x")
    (tmp_path / "a.d").mkdir()
    (tmp_path / "a.d" / "inner.yaml").write_text("x")
    files = inventory_files(str(tmp_path), (str(tmp_path / "b.yaml"),))
    assert [p.name for p in files] == ["a.yml", "b.yaml"]
    with pytest.raises(ConfigError):
        inventory_files(str(tmp_path / "a.d" / "inner.yaml"))


async def test_one_typed_confirmation_for_the_fleet_and_a_wrong_answer_sends_nothing(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"cluster:\n  name: {name}\nhosts:\n  - name: m0\n    address: 127.0.44.1\n")
    asked = []

    def ask(prompt):
        asked.append(prompt)
        return "yes\n"

    with pytest.raises(RunAborted, match="nothing was sent"):
        await run_fleet_backup(inventory_files(str(tmp_path)), {"backup_dir": DIR}, keep=2,
                               parallel=4, yes=False, read_only=False, as_json=False,
                               interactive=True, ask=ask, err=io.StringIO())
    assert asked == ["Type backup 2 clusters to go ahead: "]
    with pytest.raises(Refused, match="no terminal"):
        await run_fleet_backup(inventory_files(str(tmp_path)), {"backup_dir": DIR}, keep=2,
                               parallel=4, yes=False, read_only=False, as_json=False,
                               interactive=False)


async def test_two_inventories_of_one_cluster_name_are_both_refused(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            "cluster:\n  name: same\nhosts:\n  - name: m0\n    address: 127.0.44.1\n")
    out = io.StringIO()
    code = await run_fleet_backup(inventory_files(str(tmp_path)), {"backup_dir": DIR},
                                  keep=None, parallel=2, yes=True, read_only=False,
                                  as_json=True, out=out, err=io.StringIO())
    doc = json.loads(out.getvalue())
    assert code == 1 and doc["failed"] == 2
    assert all("named by 2 inventories" in c["error"] for c in doc["clusters"])


def test_prune_plan_keeps_the_newest_pairs_and_this_runs_and_never_a_lone_file():
    names = [
        "snapshot_2026-01-01_000000.db", "static_kuberesources_2026-01-01_000000.tar.gz",
        "etcd-dr-manifest_2026-01-01_000000.json",
        "snapshot_2026-01-02_000000.db", "static_kuberesources_2026-01-02_000000.tar.gz",
        "snapshot_2026-01-03_000000.db",  # lone: its tarball is missing
        "static_kuberesources_2026-01-04_000000.tar.gz",  # lone
        "snapshot_2026-01-05_000000.db", "static_kuberesources_2026-01-05_000000.tar.gz",
    ]
    sets = backup_sets("\n".join(names))
    plan = prune_plan(sets, 2, "2026-01-05_000000")
    assert plan["kept"] == ["2026-01-02_000000", "2026-01-05_000000"]
    assert plan["remove"] == ["2026-01-01_000000"]
    assert plan["lone"] == ["snapshot_2026-01-03_000000.db",
                            "static_kuberesources_2026-01-04_000000.tar.gz"]
    # this run's pair stays even when clocks put it behind the newest N
    plan = prune_plan(sets, 1, "2026-01-01_000000")
    assert plan["kept"] == ["2026-01-01_000000", "2026-01-05_000000"]
    assert plan["remove"] == ["2026-01-02_000000"]


def test_the_prune_command_is_refused_in_read_only_mode():
    rm = Command.of("rm", "--", f"{DIR}/snapshot_2026-01-01_000000.db", privileged=True)
    assert refusal(rm) is not None
    assert refusal(Command.of("ls", "-1", DIR, privileged=True)) is None


async def test_at_most_parallel_clusters_at_a_time_after_one_typed_confirmation(
        tmp_path, monkeypatch):
    from tui.runbooks import fleet_backup

    for i in range(5):
        (tmp_path / f"c{i}.yaml").write_text(
            f"cluster:\n  name: c{i}\nhosts:\n  - name: m0\n    address: 127.0.44.{i + 1}\n")
    running, most, seen = 0, 0, []

    async def fake_backup_one(row, params, *, journal_path, log):
        nonlocal running, most
        running += 1
        most = max(most, running)
        seen.append((row.cluster, params, journal_path.name))
        await asyncio.sleep(0.05)
        running -= 1
        row.ok, row.verified, row.journal = True, "yes", str(journal_path)
        return row

    monkeypatch.setattr(fleet_backup, "backup_one", fake_backup_one)
    err = io.StringIO()
    out = io.StringIO()
    code = await run_fleet_backup(inventory_files(str(tmp_path)), {"backup_dir": DIR}, keep=3,
                                  parallel=2, yes=False, read_only=False, as_json=False,
                                  interactive=True, ask=lambda prompt: "backup 5 clusters\n",
                                  out=out, err=err)
    assert code == 0 and most == 2 and len(seen) == 5
    assert all(p == {"backup_dir": DIR, "keep": 3} for _, p, _ in seen)
    assert len({name for _, _, name in seen}) == 5  # a journal of its own each
    assert "c0  (" in err.getvalue() and "newest 3 are removed" in err.getvalue()
    assert out.getvalue().splitlines()[-1] == ("5 of 5 cluster(s) backed up and verified, "
                                               "older pairs pruned to the newest 3.")


def test_on_a_terminal_a_wrong_answer_sends_nothing(tmp_path, private_state_home):
    import pty

    (tmp_path / "a.yaml").write_text("cluster:\n  name: a\nhosts:\n"
                                     "  - name: m0\n    address: 127.0.44.1\n")
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", "backup",
                                 "--inventory-dir", str(tmp_path), "--keep", "2"],
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        os.write(master, b"yes\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 1, err
    assert "Type backup 1 cluster to go ahead" in err and "nothing was sent" in err
    assert out == "" and "Traceback" not in err
    assert not Path(private_state_home, "etcd-dr", "journals").exists()
