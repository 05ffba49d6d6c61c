"""`etcd-dr run defrag` (DEF-MAN) against real OpenSSH and real etcd members (the lab).

The members are fragmented the way a real cluster gets there: tens of MB written in large
values, most keys deleted, the history compacted to the current revision, so the db files
keep their size with most pages free. The machine's own etcdctl, run directly against the
members (not through the console), sets that up and reads the sizes, the leader and the
alarms before and after; the console runs headless as an operator would run it:
`etcd-dr run defrag --inventory ... --yes --wait 2s --journal J`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.cli_runner import run_cli

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

MB = 1024 * 1024


def etcd_dr(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = run_cli(*args, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def defrag_argv(lab, journal, wait: str) -> list[str]:
    return [sys.executable, "-m", "tui.cli", "run", "defrag", "--inventory",
            str(lab.inventory_path), "--yes", "--wait", wait, "--journal", str(journal)]


# --- etcd, directly ------------------------------------------------------------------------

def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "ETCDCTL_"))}
    env["ETCDCTL_API"] = "3"
    return env


def put(lab, host, key: str, value: str, check: bool = True) -> subprocess.CompletedProcess:
    """etcdctl put with the value on stdin (a value of a MB is over the argv limit)."""
    h = lab.host(host) if isinstance(host, str) else host
    proc = subprocess.run([h.etcd.etcdctl_binary, f"--endpoints={h.etcd.client_url}", "put",
                           key], input=value, capture_output=True, text=True, env=_env(),
                          timeout=30)
    if check:
        assert proc.returncode == 0, f"put {key}: {proc.stderr}"
    return proc


def revision(lab) -> int:
    return max(r["Status"]["header"]["revision"] for r in lab.endpoint_status())


def compact_all_history(lab) -> None:
    """Compact to the current revision and let every member apply it."""
    lab.etcdctl(lab.hosts[0], "compact", str(revision(lab)), "--physical")
    lab.settle()


def fragment(lab, mb: int = 24, prefix: str = "/defrag-lab/") -> None:
    """`mb` MB in 1 MB values, all but one key deleted, the history compacted."""
    value = "f" * (MB - 1024)
    h = lab.hosts[0]
    for i in range(mb):
        put(lab, h, f"{prefix}{i:04d}", value)
    lab.etcdctl(h, "del", "--prefix", prefix)
    put(lab, h, f"{prefix}kept", "still here")
    compact_all_history(lab)


def sizes(lab) -> dict[str, int]:
    """member name -> dbSize, from `etcdctl endpoint status --cluster -w json` run directly."""
    by_address = {h.address: h.name for h in lab.hosts}
    out = {}
    for row in lab.endpoint_status():
        address = row["Endpoint"].split("//")[-1].rsplit(":", 1)[0]
        out[by_address[address]] = row["Status"]["dbSize"]
    return out


def leader_name(lab) -> str:
    rows = lab.endpoint_status()
    names = {member_id: name for name, member_id in lab.member_ids().items()}
    leaders = {format(r["Status"]["leader"], "016x") for r in rows}
    assert len(leaders) == 1, rows
    return names[leaders.pop()]


def alarms(lab) -> str:
    return lab.etcdctl(lab.hosts[0], "alarm", "list").stdout.strip()


# --- the journal ---------------------------------------------------------------------------

def read_journal(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def complete_lines(path) -> list[dict]:
    """The journal's lines so far, while the run still writes it (a line may be half there)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            break
    return out


def member_starts(lines) -> list[str]:
    """The members in the order their defrag started (DEF-MAN-2/-5 `started` with a member)."""
    return [l["member"] for l in lines if l["step"] in ("DEF-MAN-2", "DEF-MAN-5")
            and l["event"] == "started" and "member" in l]


def defrag_commands(lines) -> list[dict]:
    return [l for l in lines if l["step"] in ("DEF-MAN-2", "DEF-MAN-5")
            and l["event"] == "started" and "defrag" in l.get("command", "")]


def kill_when(argv, journal, until, then: float = 0.0) -> list[dict] | None:
    """Run the CLI (argv) and SIGKILL it `then` seconds after `until(journal lines)` holds;
    the lines seen then, or None when the run ended (or a minute passed) first."""
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.poll() is None:
            lines = complete_lines(journal)
            if until(lines):
                time.sleep(then)
                run.kill()
                seen = lines
                break
            time.sleep(0.005)
    finally:
        if run.poll() is None:
            run.kill()
        run.communicate(timeout=30)
    return seen if run.returncode == -9 else None


# --- the tests -----------------------------------------------------------------------------

def test_defrag_shrinks_every_member_leader_last_with_waits_journaled(etcd_lab, tmp_path):
    lab = etcd_lab
    fragment(lab)
    before = sizes(lab)
    leader = leader_name(lab)
    assert all(size > 20 * MB for size in before.values()), before
    journal = tmp_path / "defrag.jsonl"

    proc = etcd_dr(*defrag_argv(lab, journal, "2s")[3:])
    assert proc.returncode == 0, proc.stdout + proc.stderr

    after = sizes(lab)
    for name in before:
        assert after[name] <= before[name] / 2, (name, before[name], after[name])
    # the kept key came through the defrag
    assert lab.etcdctl(lab.hosts[1], "get", "/defrag-lab/kept",
                       "--print-value-only").stdout.strip() == "still here"

    lines = read_journal(journal)
    planned = lines[0]
    assert planned["event"] == "planned" and planned["params"]["wait"] == 2.0
    assert planned["params"]["sizes_before"] == before
    assert planned["params"]["order"][-1] == leader
    # the leader last: every member once, the leader at start the last one begun
    order = member_starts(lines)
    assert sorted(order) == sorted(before) and order[-1] == leader, (order, leader)
    assert [l["step"] for l in lines if l["event"] == "started" and "member" in l
            and l["step"] != "DEF-MAN-4"] == ["DEF-MAN-2", "DEF-MAN-2", "DEF-MAN-5"]
    assert [c["hosts"] for c in defrag_commands(lines)] == [[n] for n in order]
    finished = next(l for l in lines if l["step"] == "DEF-MAN-1" and l["event"] == "finished")
    assert finished["facts"]["leader_at_start"] == leader
    # DEF-MAN-3: the sizes the console read after each member are the ones etcd reports
    checks = {l["member"]: l for l in lines if l["step"] == "DEF-MAN-3"}
    assert set(checks) == set(before)
    for name, check in checks.items():
        assert check["db_size_before"] == before[name]
        assert check["db_size_after"] == after[name]
        assert check["reclaimed"] == before[name] - after[name]
    # DEF-MAN-4: a wait after each non-leader, none after the leader, and the short wait
    # journaled as an override
    waits = [(l["event"], l["member"], l["wait_s"]) for l in lines if l["step"] == "DEF-MAN-4"
             and l["event"] in ("started", "finished")]
    assert waits == [(e, n, 2.0) for n in order[:-1] for e in ("started", "finished")]
    for name in order[:-1]:
        start, end = [l for l in lines if l["step"] == "DEF-MAN-4" and l.get("member") == name]
        assert _seconds(end["time"]) - _seconds(start["time"]) >= 2.0
    [override] = [l for l in lines if l["event"] == "override"]
    assert override["step"] == "DEF-MAN-4" and "under the documented minimum of 60s" \
        in override["reason"]
    assert lines.index(override) < lines.index(defrag_commands(lines)[0])
    assert [l["step"] for l in lines if l["step"] != "DEF-MAN-3"
            and l["event"] == "finished" and l["hosts"] == [h.name for h in lab.hosts]] \
        == ["DEF-MAN-1", "DEF-MAN-2", "DEF-MAN-5", "DEF-MAN-6"]
    assert lines[-1]["step"] == "-" and lines[-1]["event"] == "finished"
    assert "reclaimed in all" in proc.stdout

    report = etcd_dr("report", journal)
    assert report.returncode == 0, report.stderr
    for step in ("DEF-MAN-1", "DEF-MAN-2", "DEF-MAN-3", "DEF-MAN-4", "DEF-MAN-5", "DEF-MAN-6"):
        assert f"| {step} |" in report.stdout, step
    assert "# defrag: finished" in report.stdout
    assert "OVERRIDE: wait 2s is under the documented minimum" in report.stdout


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


@pytest.mark.parametrize("etcd", ["3.4", "3.5"])
def test_a_nospace_alarm_is_disarmed_once_the_space_is_back(make_lab, tmp_path, etcd):
    lab = make_lab(hosts_count=3, quota_backend_bytes=2 * MB, etcd=etcd,
                   label="defragnospace" + etcd.replace(".", ""))
    value = "n" * (128 * 1024)
    h = lab.hosts[0]
    for i in range(64):
        proc = put(lab, h, f"/fill/{i:04d}", value, check=False)
        if proc.returncode:
            break
    else:
        raise AssertionError("the cluster never ran out of space")
    assert "database space exceeded" in proc.stderr
    assert "alarm:NOSPACE" in alarms(lab)
    # as an operator would: make room (deletes and compaction are accepted under NOSPACE),
    # then defragment to give the space back to the file system, then disarm
    lab.etcdctl(h, "del", "--prefix", "/fill/")
    compact_all_history(lab)
    assert "alarm:NOSPACE" in alarms(lab)
    refused = put(lab, h, "/after", "x", check=False)
    assert refused.returncode and "database space exceeded" in refused.stderr
    before = sizes(lab)
    assert all(size >= 1.5 * MB for size in before.values()), before

    journal = tmp_path / "defrag.jsonl"
    proc = etcd_dr(*defrag_argv(lab, journal, "2s")[3:])
    assert proc.returncode == 0, proc.stdout + proc.stderr

    assert alarms(lab) == ""
    put(lab, h, "/after", "written once the alarm is gone")
    assert lab.etcdctl(lab.hosts[2], "get", "/after", "--print-value-only").stdout.strip() \
        == "written once the alarm is gone"
    after = sizes(lab)
    lines = read_journal(journal)
    assert all(after[n] <= before[n] / 2 for n in before), \
        (before, after, [l for l in lines if l["step"].startswith("DEF-MAN")])
    commands = [l["command"] for l in lines if l["step"] == "DEF-MAN-6" and l["event"]
                == "finished" and "command" in l]
    assert [c.rsplit(":2379 ", 1)[1].rstrip("'") for c in commands] \
        == ["alarm list", "alarm disarm", "alarm list"]
    # the disarm came after the last member's defrag
    last_defrag = lines.index(defrag_commands(lines)[-1])
    disarm = next(i for i, l in enumerate(lines) if "alarm disarm" in l.get("command", ""))
    assert disarm > last_defrag
    assert "disarmed NOSPACE" in lines[-2]["detail"]


def test_a_member_stopped_mid_run_aborts_it_and_nothing_else_is_touched(lab, tmp_path):
    fragment(lab, mb=8, prefix="/defrag-stop/")
    before = sizes(lab)
    leader = leader_name(lab)
    first, victim = sorted(n for n in before if n != leader)
    journal = tmp_path / "defrag.jsonl"
    run = subprocess.Popen(defrag_argv(lab, journal, "8s"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    killed_at = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.poll() is None:
            lines = complete_lines(journal)
            if any(l["step"] == "DEF-MAN-4" and l["event"] == "started" for l in lines):
                lab.host(victim).etcd.kill()  # SIGKILL by its pid
                killed_at = len(lines)
                break
            time.sleep(0.05)
        assert killed_at is not None, "the run never reached its first wait"
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    try:
        assert run.returncode == 1, out + err
        assert "Traceback" not in err
        assert f"stopped before defragmenting {victim}" in err and f"member {victim}" in err, err
        lines = read_journal(journal)
        assert lines[-1]["step"] == "-" and lines[-1]["event"] == "failed"
        assert victim in lines[-1]["error"]
        # the wait was under way when the member stopped; nothing was sent after it
        assert [l["member"] for l in lines[:killed_at] if l["step"] == "DEF-MAN-4"
            and l["event"] == "started"] == [first]
        assert not any(l["step"] == "DEF-MAN-4" and l["event"] == "finished"
                       for l in lines[:killed_at])
        later = lines[killed_at:]
        assert not [l for l in later if l["step"] in ("DEF-MAN-2", "DEF-MAN-5", "DEF-MAN-6")
                    and l["event"] == "started"], later
        assert [c["hosts"] for c in defrag_commands(lines)] == [[first]]
        assert not any(l["step"] in ("DEF-MAN-5", "DEF-MAN-6") for l in lines)
    finally:
        lab.heal()
    # the leader and the stopped member were left as they were: still fragmented
    after = sizes(lab)
    assert after[first] <= before[first] / 2
    for name in (leader, victim):
        assert after[name] >= before[name] * 0.9, (name, before[name], after[name])


def test_a_run_killed_after_a_member_resumes_without_defragmenting_it_again(lab, tmp_path):
    """The console is killed (SIGKILL) in the wait after its first member's defrag. The same
    command again resumes the journal: that member is passed over on the journal's evidence
    (its DEF-MAN-3 line), gets the wait the kill cut short, and the others are defragmented:
    one defrag per member in all."""
    fragment(lab, mb=8, prefix="/defrag-resume/")
    before = sizes(lab)
    journal = tmp_path / "defrag.jsonl"
    argv = defrag_argv(lab, journal, "3s")
    lines = kill_when(argv, journal, lambda lines: any(
        l["step"] == "DEF-MAN-4" and l["event"] == "started" for l in lines))
    assert lines is not None, "the run was not killed in its first wait"
    first = next(l["member"] for l in lines if l["step"] == "DEF-MAN-3"
                 and l["event"] == "finished")

    proc = etcd_dr(*argv[3:])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = read_journal(journal)
    resumed = next(i for i, l in enumerate(lines) if l["event"] == "resumed")
    assert sorted(h for c in defrag_commands(lines) for h in c["hosts"]) == sorted(before)
    passed = [l for l in lines[resumed:] if l["event"] == "already-done"]
    assert [l["member"] for l in passed] == [first], passed
    assert passed[0]["detail"].startswith("defragmented earlier in this run (")
    assert passed[0]["detail"].endswith(", journal)")
    assert next(l["member"] for l in lines[resumed:] if l["step"] == "DEF-MAN-4"
                and l["event"] == "finished") == first
    after = sizes(lab)
    assert all(after[n] <= before[n] / 2 for n in before), (before, after)


def test_a_defrag_whose_client_is_killed_goes_on_in_etcd(make_lab):
    """The drill's model (tui/drill/faults.py) and the resume's wait for a member whose defrag
    was sent before the console stopped (tests/test_defrag_resume.py) rest on this: etcd goes
    on with a defrag after its client has gone. 100 MB in use and 48 MB free; etcdctl defrag
    SIGKILLed 30 ms in, where a whole defrag of the same file takes ten times as long."""
    lab = make_lab(hosts_count=1, label="defragkill")
    h = lab.hosts[0]
    value = "k" * (MB - 1024)
    for i in range(100):
        put(lab, h, f"/kept/{i:03d}", value)
    fragment(lab, mb=48, prefix="/gone/")
    before = sizes(lab)[h.name]
    argv = [h.etcd.etcdctl_binary, f"--endpoints={h.etcd.client_url}", "defrag"]
    started = time.monotonic()
    client = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.03)
    client.kill()
    client.wait()
    killed_after = time.monotonic() - started
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sizes(lab)[h.name] >= before:
        time.sleep(0.05)
    after = sizes(lab)[h.name]
    assert after <= before - 40 * MB, (before, after)  # the free 48 MB went back
    # and it was not over before the kill: the same defrag, whole, takes much longer
    fragment(lab, mb=48, prefix="/gone-again/")
    started = time.monotonic()
    lab.etcdctl(h, "defrag")
    whole = time.monotonic() - started
    assert whole > 3 * killed_after, (whole, killed_after)


def test_a_run_killed_while_a_member_defragments_resumes_on_what_its_file_shows(make_lab,
                                                                                tmp_path):
    """The console is SIGKILLed 50 ms after it journaled its first defrag command, while etcd
    (100 MB in use, 48 MB free) rewrites the file or has just done so (a whole defrag takes
    about 0.4 s; here the resumed run starts a second later). The same command again
    resumes: the member is waited for if still busy, then passed over on its smaller file
    (what happens here), or, had the command never reached etcd, defragmented again. Either
    way every file ends shrunk, and no member is passed over without evidence."""
    lab = make_lab(hosts_count=3, label="defragmidkill")
    value = "k" * (MB - 1024)
    for i in range(100):
        put(lab, lab.hosts[0], f"/kept/{i:03d}", value)
    fragment(lab, mb=48, prefix="/gone/")
    before = sizes(lab)
    journal = tmp_path / "defrag.jsonl"
    argv = defrag_argv(lab, journal, "2s")
    killed = kill_when(argv, journal, defrag_commands, then=0.05)
    assert killed is not None, "the run never sent a defrag"
    first = defrag_commands(read_journal(journal))[0]["hosts"][0]

    proc = etcd_dr(*argv[3:])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = read_journal(journal)
    resumed = next(i for i, l in enumerate(lines) if l["event"] == "resumed")
    passed = [l for l in lines[resumed:] if l["event"] == "already-done" and l.get("member")]
    assert [l["member"] for l in passed] in ([], [first]), passed
    for l in passed:
        assert "finished while the console was not watching" in l["detail"], l
    sent = [h for c in defrag_commands(lines) for h in c["hosts"]]
    assert sorted(set(sent)) == sorted(before) and len(sent) == 3 + (not passed), sent
    after = sizes(lab)
    assert all(after[n] <= before[n] - 40 * MB for n in before), (before, after)
    outcome = "waited for" if "still busy with the defrag sent before the console stopped" \
        in proc.stdout else "passed over" if passed else "sent again"
    print(f"{first}: {outcome}")
