"""`etcd-dr report JOURNAL`: the totals, per-host durations, overrides and waits of a report
match the journal it was made from (every expected value is computed here from the journal's
lines, independently of tui.report), in Markdown and JSON, for real drill journals (a restore,
a defrag, a failed defrag, an encryption run) and for hand-written ones (a drill session with
hints, mistakes, faults and a score; a run cut short with a torn last line)."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tui.durations import format_duration
from tui.journal import read_journal
from tui.report import summarize


def etcd_dr(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=timeout)


def secs(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


RUNS = {
    "restore": (["run", "restore", "--drill", "--scenario", "lost-two-hosts", "--speed", "300",
                 "--yes"], 0),
    "defrag": (["run", "defrag", "--drill", "--speed", "60", "--wait", "2s", "--yes"], 0),
    "defrag-failed": (["run", "defrag", "--drill", "--scenario", "nospace", "--speed", "60",
                       "--wait", "2s", "--yes"], 1),
    "encryption": (["run", "encryption-on", "--drill", "--speed", "600", "--yes"], 0),
}


# the module's journals are made once, by whole drill runs, inside the first test's time:
# 70-85 s one after the other on the 2-core CI machine with four workers busy
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def journals(tmp_path_factory) -> dict[str, Path]:
    """The RUNS' journals, the drills run side by side: each waits mostly on its drill's
    clock, so together they take about as long as the longest."""
    base = tmp_path_factory.mktemp("journals")

    def run(name: str) -> Path:
        args, code = RUNS[name]
        path = base / f"{name}.jsonl"
        r = etcd_dr(*args, "--journal", path)
        assert r.returncode == code, f"{name}: " + r.stdout[-2000:] + r.stderr
        return path

    with ThreadPoolExecutor(len(RUNS)) as pool:
        return dict(zip(RUNS, pool.map(run, RUNS)))


# --- what the journal says, computed here -----------------------------------------------------

def sent(records):
    """Commands and API calls sent: command end lines (not the runner's '# notes') and API
    lines."""
    return [r for r in records
            if ("command" in r and not r["command"].startswith("#") and r["event"] != "started")
            or ("api" in r and "command" not in r)]


def expected_totals(records) -> dict:
    planned = next(r for r in records if r["step"] == "-" and r["event"] == "planned")
    done = [r for r in records if r["step"] == "-" and r["event"] == "finished"
            and "command" not in r]
    return {
        "time_to_recovery_s": round(secs(planned["time"], done[-1]["time"]), 3) if done else None,
        "commands_sent": len(sent(records)),
        "commands_failed": sum(1 for r in sent(records) if r["event"] == "failed"),
        "failures": sum(1 for r in records if r["event"] == "failed" and r["step"] != "-"
                        and "command" not in r and "member" not in r),
        "overrides": sum(1 for r in records if r["event"] == "override"),
        "confirmations": sum(1 for r in records if r["event"] == "confirmed"),
    }


@pytest.mark.parametrize("name", list(RUNS))
def test_totals_match_the_journal_in_json_and_md(journals, name):
    records = read_journal(journals[name])
    expected = expected_totals(records)
    r = etcd_dr("report", journals[name], "--format", "json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    totals = report["totals"]
    for key, value in expected.items():
        assert totals[key] == value, key
    assert report["status"] == ("failed" if name == "defrag-failed" else "finished")
    assert len(report["commands"]) == expected["commands_sent"]
    # every command as sent, with its exit status and duration
    by_text = {c["command"]: c for c in report["commands"]}
    for line in sent(records):
        c = by_text[line.get("command", line.get("api"))]
        if "exit_status" in line:
            assert c["exit_status"] == line["exit_status"]
        if "duration" in line:
            assert c["duration_s"] == line["duration"]
    # the drill's speed comes from the journal; drill time is the fair clock's readings on
    # the lines (tui.pace): from the first plan to the runbook-level finished line
    speed = next(r["speed"] for r in records if r["event"] == "planned")
    assert totals["speed"] == speed
    readings = [r["pace"] for r in records]  # a drill stamps every line
    parts = totals["drill_time"]
    assert parts["total"] == pytest.approx(
        parts["commands"] + parts["waiting"] + parts["deciding"], abs=0.01)
    for part in ("commands", "waiting", "deciding"):
        assert parts[part] == pytest.approx(readings[-1][part] - readings[0][part], abs=0.01)
    assert totals["drill_time_waiting_s"] == parts["waiting"]
    if totals["time_to_recovery_s"] is not None:
        plan = next(r for r in records if r["step"] == "-" and r["event"] == "planned")
        done = next(r for r in reversed(records) if r["step"] == "-"
                    and r["event"] == "finished")
        assert totals["drill_time_to_recovery_s"] == pytest.approx(
            sum(done["pace"].values()) - sum(plan["pace"].values()), abs=0.01)
        # and the console's processing is not in it: less than the wall time x speed
        assert totals["drill_time_to_recovery_s"] < totals["time_to_recovery_s"] * speed

    md = etcd_dr("report", journals[name]).stdout
    assert md.startswith(f"# {records[0]['runbook']}: {report['status']}")
    assert f"| Commands sent | {expected['commands_sent']} ({expected['commands_failed']} " \
           f"failed) |" in md
    assert f"| Failures (failed steps) | {expected['failures']} |" in md
    if expected["time_to_recovery_s"] is not None:
        assert f"| Time to recovery | {format_duration(expected['time_to_recovery_s'])} " in md
    else:
        assert "| Time to recovery | not recovered in this journal |" in md
    steps = {r["step"] for r in records if r["step"] != "-" and r["event"] != "override"}
    for step in steps:
        assert f"| {step} |" in md or f"| ↳ {step} |" in md, step
    table = md.split("## Commands sent", 1)[1].split("\n## ", 1)[0] if sent(records) else ""
    assert table.count("\n| ") - 1 == expected["commands_sent"]  # rows minus the header


def test_defrag_per_host_durations_and_waits_match_the_journal(journals):
    records = read_journal(journals["defrag"])
    report = summarize(records, str(journals["defrag"]))
    steps = {s["step"]: s for s in report["steps"]}
    members = {}
    for r in records:
        if r["step"] in ("DEF-MAN-2", "DEF-MAN-5") and "member" in r and "command" not in r:
            members.setdefault((r["step"], r["member"]), []).append(r)
    assert len(members) == 3  # two members, then the leader
    for (step, member), lines in members.items():
        started = next(r for r in lines if r["event"] == "started")
        ended = next(r for r in lines if r["event"] == "finished")
        host = next(p for p in steps[step]["per_host"] if p["host"] == member)
        assert host["duration_s"] == pytest.approx(secs(started["time"], ended["time"]),
                                                   abs=0.002)
        assert host["commands"] == 1 and host["outcome"] == "finished"
    # the leader had no defrag of its own in DEF-MAN-2
    leader = records[0]["params"]["order"][-1]
    assert next(p for p in steps["DEF-MAN-2"]["per_host"]
                if p["host"] == leader)["outcome"] == "nothing of its own"
    # waits: the DEF-MAN-4 lines, member by member
    waits = [r for r in records if r["step"] == "DEF-MAN-4" and "wait_s" in r]
    expected = sum(secs(a["time"], b["time"]) for a, b in zip(waits[::2], waits[1::2]))
    assert report["totals"]["time_waiting_s"] == pytest.approx(expected, abs=0.002)
    assert [w["member"] for w in report["waits"]] == [r["member"] for r in waits[::2]]
    # per host: commands sent there, and the time in them
    for h in report["hosts"]:
        mine = [r for r in sent(records) if r["hosts"] == [h["host"]]]
        assert h["commands"] == len(mine)
        assert h["command_time_s"] == pytest.approx(sum(r["duration"] for r in mine), abs=0.002)


def test_restore_per_host_lost_hosts_waits_and_confirmations(journals):
    records = read_journal(journals["restore"])
    report = summarize(records, str(journals["restore"]))
    steps = {s["step"]: s for s in report["steps"]}
    # RST-08 on master-0: its restore script, start to end
    script = [r for r in records if r["step"] == "RST-08" and "command" in r]
    host = next(p for p in steps["RST-08"]["per_host"] if p["host"] == "master-0")
    assert host["duration_s"] == pytest.approx(secs(script[0]["time"], script[-1]["time"]),
                                               abs=0.002)
    # the lost hosts are skipped in the host steps that name them, with the reason
    lost = [r for r in records if r["step"] == "-" and r["event"] == "skipped"]
    for r in lost:
        for h in r["hosts"]:
            p = next(p for p in steps[r["for_step"]]["per_host"] if p["host"] == h)
            assert p["outcome"] == "skipped" and p["reason"] == r["reason"]
    # waits come from the wait steps (RST-14 polls ovnkube-master) and sum to the total
    assert "RST-14" in {w["step"] for w in report["waits"]}
    assert report["totals"]["time_waiting_s"] == pytest.approx(
        sum(w["duration_s"] for w in report["waits"]), abs=0.002)
    rst14 = [r for r in records if r["step"] == "RST-14" and "command" not in r]
    assert steps["RST-14"]["waiting_s"] == pytest.approx(
        secs(rst14[0]["time"], rst14[-1]["time"]), abs=0.002)
    # every confirmation with its kind
    assert [(c["step"], c["kind"]) for c in report["confirmations"]] == \
        [(r["step"], r["kind"]) for r in records if r["event"] == "confirmed"]
    # step durations: first line to last line
    for s in report["steps"]:
        if s["outcome"] in ("finished", "already-done", "skipped") and s["parent"] is None:
            own = [r for r in records if r["step"] == s["step"] and r["event"] != "confirmed"]
            assert s["duration_s"] == pytest.approx(secs(own[0]["time"], own[-1]["time"]),
                                                    abs=0.002), s["step"]


def test_overrides_are_listed_with_their_reasons(journals):
    for name in ("defrag", "defrag-failed"):
        records = read_journal(journals[name])
        expected = [(r["step"], r["reason"]) for r in records if r["event"] == "override"]
        assert expected  # a 2s wait is under the documented minimum: journaled as an override
        report = json.loads(etcd_dr("report", journals[name], "--format", "json").stdout)
        assert [(o["step"], o["reason"]) for o in report["overrides"]] == expected
        md = etcd_dr("report", journals[name]).stdout
        for _, reason in expected:
            assert f"- OVERRIDE: {reason}" in md


def test_the_failed_run_says_where_it_stopped(journals):
    records = read_journal(journals["defrag-failed"])
    report = summarize(records, "j")
    end = records[-1]
    assert report["status"] == "failed" and report["error"] == end["error"]
    assert report["totals"]["time_to_recovery_s"] is None
    md = etcd_dr("report", journals["defrag-failed"]).stdout
    assert f"FAILED: {end['error']}" in md


def test_api_calls_are_commands_sent(journals):
    records = read_journal(journals["encryption"])
    report = summarize(records, "j")
    api = [c for c in report["commands"] if c["kind"] == "api"]
    assert [c["command"] for c in api] == [r["api"] for r in records if "api" in r
                                           and "command" not in r]
    assert report["hosts"] == []
    assert "ENC-ON-3" in {w["step"] for w in report["waits"]}


# --- hand-written journals: a drill session, a run cut short -------------------------------

def line(t: float, step: str, event: str, hosts=(), **extra) -> str:
    stamp = datetime.fromtimestamp(1_795_000_000 + t).astimezone().isoformat(
        timespec="milliseconds")
    return json.dumps({"time": stamp, "runbook": "restore", "step": step, "event": event,
                       "hosts": list(hosts), **extra}) + "\n"


SESSION = [
    line(0, "-", "session", scenario="lost-two-hosts", objective="Restore from master-0",
         speed=60, rto_minutes=45),
    line(1, "-", "planned", params={"recovery_host": "master-1", "path": "4.12-4.13"},
         steps=["RST-01", "RST-08"], speed=60),
    line(2, "-", "hint", n=1, text="The backup is on master-0"),
    line(3, "RST-01", "started", ["master-1"]),
    line(4, "RST-01", "failed", ["master-1"], error="no backup on master-1"),
    line(5, "-", "mistake", kind="wrong-recovery-host", detail="master-1 has no backup",
         at_step="RST-01"),
    line(6, "RST-01", "override", ["master-1"], reason="the trainer said so"),
    line(6, "RST-01", "skipped", ["master-1"], reason="override: the trainer said so"),
    line(7, "-", "fault", action="drop-ssh", host="master-2", detail="SSH dropped for 60s"),
    line(8, "RST-08", "confirmed", ["master-1"], kind="type the host name"),
    line(8, "RST-08", "started", ["master-1"]),
    line(9, "RST-08", "started", ["master-1"], command="sudo -n sh -c 'cluster-restore.sh'"),
    line(12, "RST-08", "failed", ["master-1"], command="sudo -n sh -c 'cluster-restore.sh'",
         exit_status=2, duration=3.0),
    line(12, "RST-08", "failed", ["master-1"], error="master-1: exit 2"),
    line(13, "RST-08", "confirmed", ["master-1"], kind="retry"),
    line(13, "RST-08", "started", ["master-1"]),
    line(14, "RST-08", "started", ["master-1"], command="sudo -n sh -c 'cluster-restore.sh'"),
    line(20, "RST-08", "finished", ["master-1"], command="sudo -n sh -c 'cluster-restore.sh'",
         exit_status=0, duration=6.0),
    line(21, "RST-08", "finished", ["master-1"], detail="restored"),
    line(22, "-", "finished"),
    line(23, "-", "score", reason="the restore runbook finished", score=75,
         breakdown=[{"what": "start", "points": 100},
                    {"what": "2 mistake(s) x -10", "points": -20},
                    {"what": "1 hint(s) x -5", "points": -5}],
         elapsed_drill_seconds=1260.0, rto_minutes=45, minutes_late=0),
]


def test_a_drill_session_report_lists_hints_mistakes_faults_and_score(tmp_path):
    path = tmp_path / "session.jsonl"
    path.write_text("".join(SESSION))
    report = json.loads(etcd_dr("report", path, "--format", "json").stdout)
    t = report["totals"]
    assert (t["hints"], t["mistakes"], t["faults"]) == (1, 1, 1)
    assert t["time_to_recovery_s"] == 21.0 and t["drill_time_to_recovery_s"] == 21.0 * 60
    assert t["commands_sent"] == 2 and t["commands_failed"] == 1 and t["failures"] == 2
    assert report["score"]["score"] == 75
    assert report["session"]["objective"] == "Restore from master-0"
    assert [o["reason"] for o in report["overrides"]] == ["the trainer said so"]
    rst08 = next(s for s in report["steps"] if s["step"] == "RST-08")
    assert rst08["outcome"] == "finished" and rst08["failures"] == 1 and rst08["attempts"] == 2
    assert rst08["duration_s"] == 13.0  # first start to the end (confirmations excluded)
    host = rst08["per_host"][0]
    assert host["host"] == "master-1" and host["commands"] == 2 and host["commands_failed"] == 1
    assert host["duration_s"] == 11.0  # its first command's start to its last one's end
    rst01 = next(s for s in report["steps"] if s["step"] == "RST-01")
    assert rst01["outcome"] == "skipped" and rst01["detail"] == "override: the trainer said so"
    md = etcd_dr("report", path).stdout
    for text in ("## Drill session", "objective: Restore from master-0", "## Score",
                 "- score: 75", "## Faults injected", "drop-ssh", "## Hints taken",
                 "The backup is on master-0", "## Mistakes", "wrong-recovery-host",
                 "- OVERRIDE: the trainer said so", "| Score | 75 |",
                 "1 failed attempt(s)", "- 2 mistake(s) x -10: -20",
                 "- reason: the restore runbook finished", "| RST-01 | wrong-recovery-host |"):
        assert text in md, text


def test_a_run_cut_short_with_a_torn_last_line(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text("".join(SESSION[1:11]) + SESSION[11][:40])
    report = json.loads(etcd_dr("report", path, "--format", "json").stdout)
    assert report["status"] == "unfinished" and report["in_flight"] == "RST-08"
    assert report["totals"]["time_to_recovery_s"] is None
    md = etcd_dr("report", path).stdout
    assert "UNFINISHED: the journal ends before the runbook did (RST-08 under way)" in md


def test_a_command_without_its_end_is_listed_as_sent_without_a_result(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text("".join(SESSION[1:12]))
    report = summarize(read_journal(path), str(path))
    assert report["commands"][-1]["outcome"] == "no result in the journal"
    assert report["commands"][-1]["exit_status"] is None


@pytest.mark.parametrize("content, needle", [
    ("", None),
    ("not json\n{}\n", "not JSON"),
])
def test_bad_journals_are_one_plain_paragraph(tmp_path, content, needle):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    r = etcd_dr("report", path)
    assert "Traceback" not in r.stderr
    if needle:
        assert r.returncode == 2 and needle in r.stderr
    r = etcd_dr("report", tmp_path / "missing.jsonl")
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_a_drill_sessions_own_lines_are_reported(journals, tmp_path):
    """A DrillSession (tui.drill.session) watching a real restore as its journal is written:
    the report counts its hint and mistake, takes its score line, and keeps the run's totals."""
    from tests.test_session import drill_spec
    from tui.drill.session import DrillSession
    from tui.journal import Journal

    spec = drill_spec({"drill": {"objective": "Restore from the backup on master-0.",
                                 "runbook": "restore", "rto_minutes": 45, "expected_score": 100,
                                 "ideal": {"recovery_host": "master-0"},
                                 "hints": ["The backup is on master-0."]}})
    session = DrillSession("lost-two-hosts", spec, speed=300)
    session.start()
    session.take_hint()
    session.typed_wrong("RST-08", "master-0", "oops")
    path = tmp_path / "session.jsonl"
    original = read_journal(journals["restore"])
    with Journal(path, "restore") as journal:
        for r in original:
            extra = {k: v for k, v in r.items()
                     if k not in ("time", "runbook", "step", "event", "hosts")}
            session.observe(journal.write(r["step"], r["event"], r["hosts"], **extra),
                            path=path)
    records = read_journal(path)
    assert records[-1]["event"] == "score"  # the drill's runbook finished: the session ended
    report = json.loads(etcd_dr("report", path, "--format", "json").stdout)
    t = report["totals"]
    assert (t["hints"], t["mistakes"]) == (
        sum(r["event"] == "hint" for r in records), sum(r["event"] == "mistake" for r in records))
    assert t["hints"] == 1 and t["mistakes"] >= 1
    assert report["score"]["score"] == records[-1]["score"] == session.final.total
    assert report["session"]["scenario"] == "lost-two-hosts"
    before = summarize(original, "o")["totals"]
    for key in ("commands_sent", "commands_failed", "failures", "overrides", "confirmations",
                "steps"):
        assert t[key] == before[key], key
    assert len(report["steps"]) == len(summarize(original, "o")["steps"])
    md = etcd_dr("report", path).stdout
    assert f"| Score | {session.final.total} |" in md and "confirmation-typed-wrong" in md


def test_a_resumed_run(tmp_path):
    """Killed while a command ran, resumed later: the command has no result, the step two
    attempts and no failure, the time to recovery spans the stop, and the report says so."""
    path = tmp_path / "resumed.jsonl"
    cmd = "sudo -n sh -c 'cluster-backup.sh /home/core/assets/backup'"
    path.write_text("".join([
        line(0, "-", "planned", params={"host": "master-0"}, steps=["BAK-4"]),
        line(1, "BAK-4", "started", ["master-0"]),
        line(2, "BAK-4", "started", ["master-0"], command=cmd),
        line(600, "-", "resumed", in_flight="BAK-4", done=[]),
        line(601, "BAK-4", "started", ["master-0"]),
        line(602, "BAK-4", "started", ["master-0"], command=cmd),
        line(630, "BAK-4", "finished", ["master-0"], command=cmd, exit_status=0, duration=28.0),
        line(631, "BAK-4", "finished", ["master-0"], detail="snapshot saved"),
        line(632, "-", "finished"),
    ]))
    report = summarize(read_journal(path), str(path))
    assert [c["outcome"] for c in report["commands"]] == ["no result in the journal",
                                                          "finished"]
    assert report["totals"]["commands_sent"] == 2 and report["totals"]["commands_failed"] == 0
    assert report["totals"]["time_to_recovery_s"] == 632.0
    step = report["steps"][0]
    assert (step["outcome"], step["attempts"], step["failures"]) == ("finished", 2, 0)
    host = step["per_host"][0]
    assert (host["outcome"], host["commands"], host["commands_failed"]) == ("finished", 2, 0)
    assert host["duration_s"] == 628.0  # its first command's start to its last one's end
    assert report["resumes"] == [{"time": report["resumes"][0]["time"], "in_flight": "BAK-4"}]
    md = etcd_dr("report", path).stdout
    assert "resumed (BAK-4 was under way)" in md and "The run was resumed" in md
    assert "no result in the journal" in md


ODD = """\
{"time": "t", "runbook": "r", "step": "-", "event": "planned", "hosts": []}
{"time": "2026-11-27T10:00:00", "runbook": "r", "step": "S-1", "event": "started", "hosts": ["h"]}
{"time": "2026-11-27T10:00:01+00:00", "runbook": "r", "step": "S-1", "event": "started", \
"hosts": ["h"], "command": "x"}
{"time": "2026-11-27T10:00:02+00:00", "runbook": "r", "step": "S-1", "event": "finished", \
"hosts": ["h"], "command": "x", "exit_status": 0}
{"time": "bad", "runbook": "r", "step": "S-2", "event": "started", "hosts": "notalist", "k": [1]}
{"time": "2026-11-27T10:00:03+00:00", "runbook": "r", "step": "S-1", "event": "a-later-event", \
"hosts": ["h"]}
{"time": "2026-11-27T10:00:04+00:00", "runbook": "r", "step": "-", "event": "finished", \
"hosts": []}
"""


@pytest.mark.parametrize("args", [[], ["--format", "json"]])
def test_odd_journals_still_render(tmp_path, args):
    """Unreadable and naive times, hosts that are no list, events this build does not know:
    the report renders what it can, never an internal error."""
    path = tmp_path / "odd.jsonl"
    path.write_text(ODD)
    r = etcd_dr("report", path, *args)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    if args:
        assert json.loads(r.stdout)["totals"]["commands_sent"] == 1
    r = etcd_dr("watch", path)
    assert r.returncode == 0 and "10:00:04.000  -         FINISHED r" in r.stdout
