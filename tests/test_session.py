"""The drill session without the UI: the `drill:` section as the drill reads it, mistakes found
in journal lines, hints, the score formula, the debrief's timeline and differences, and scoring
a journal file from its lines alone."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tui.drill.drillspec import parse_drill
from tui.drill.scoring import drill_clock
from tui.drill.session import DrillSession
from tui.errors import ConfigError
from tui.journal import Journal, read_journal

T0 = 1_800_000_000.0
DRILL = {"objective": "Restore from the backup on master-0.", "runbook": "restore",
         "rto_minutes": 45, "expected_score": 100,
         "ideal": {"recovery_host": "master-0", "path": "4.12-4.13",
                   "notes": ["RST-04 skips the lost hosts"]},
         "hints": ["The backup is on master-0.", "Both other hosts are lost."],
         "traps": [{"kind": "wrong-recovery-host", "detail": "master-2 has no etcd data"},
                   {"kind": "approve-csr", "name": "csr-evil", "detail": "unknown node"}]}


def drill_spec(doc: dict):
    """A scenario document's `drill:` section as every drill reads it (validated,
    tui.drill.drillspec), in a scenario of three control-plane hosts whose API holds the CSRs
    its approve-csr traps name."""
    drill = doc.get("drill")
    traps = drill.get("traps") if isinstance(drill, dict) else None
    csrs = [{"name": t["name"]} for t in traps if t.get("kind") == "approve-csr"] \
        if isinstance(traps, list) else []
    return parse_drill({"control_plane": 3, "api": {"pending_csrs": csrs}, **doc}, "<test>")


def iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds")


def line(at: float, step: str, event: str, runbook="restore", hosts=(), **extra) -> dict:
    return {"time": iso(T0 + at), "runbook": runbook, "step": step, "event": event,
            "hosts": list(hosts), **extra}


def ideal_run(host="master-0", speed_scale=1.0, end=600.0) -> list[dict]:
    """A restore along the ideal path: planned, three steps (one confirmed), finished."""
    return [
        line(1, "-", "planned", params={"recovery_host": host, "path": "4.12-4.13"},
             steps=["RST-01", "RST-08", "RST-16"]),
        line(2, "RST-01", "started", hosts=[host]),
        line(3, "RST-01", "started", hosts=[host], command="ls /backup"),
        line(4, "RST-01", "finished", hosts=[host], command="ls /backup", exit_status=0,
             duration=1.0),
        line(5, "RST-01", "finished", hosts=[host], detail="one snapshot"),
        line(20, "RST-08", "confirmed", hosts=[host], kind="type-host"),
        line(21, "RST-08", "started", hosts=[host]),
        line(300, "RST-08", "finished", hosts=[host], detail="restored"),
        line(301, "RST-16", "skipped", reason="no machines"),
        line(end, "-", "finished"),
    ]


def session(drill=DRILL, speed=1.0) -> DrillSession:
    s = DrillSession("lost-two-hosts", drill_spec({"drill": drill}), speed=speed,
                     clock=lambda: T0 + 1)
    s.start(now=T0)
    return s


def test_the_session_reads_the_drill_section_the_scenario_validates():
    """One reader of the `drill:` section (tui.drill.drillspec): what a session scores
    against is what the scenario's file was checked for; a section of the wrong shape is an
    error naming the key, not a drill scored against what could be guessed of it."""
    spec = drill_spec({"name": "x", "drill": DRILL})
    assert spec.objective.startswith("Restore") and spec.rto_minutes == 45
    assert spec.ideal_host == "master-0" and spec.ideal_path == "4.12-4.13"
    assert spec.notes == ["RST-04 skips the lost hosts"]
    assert spec.hints[0] == "The backup is on master-0." and len(spec.traps) == 2
    assert drill_spec({"name": "x"}) is None  # no section: a free drill
    with pytest.raises(ConfigError, match="drill must be a mapping"):
        drill_spec({"name": "x", "drill": "nonsense"})
    with pytest.raises(ConfigError, match="drill.rto_minutes must be a number"):
        drill_spec({"name": "x", "drill": dict(DRILL, rto_minutes="soon")})
    with pytest.raises(ConfigError, match="drill.traps must be a list"):
        drill_spec({"name": "x", "drill": dict(DRILL, traps="none")})
    with pytest.raises(ConfigError, match="drill.ideal must be a mapping"):
        drill_spec({"name": "x", "drill": dict(DRILL, ideal=[1])})


def test_the_ideal_path_scores_100_and_ends_the_drill():
    s = session()
    for r in ideal_run():
        assert s.observe(r, path=None) == []
    assert s.ended == T0 + 600 and "restore runbook finished" in s.end_reason
    score = s.score()
    assert score.total == 100 and score.breakdown == [("start", 100)]
    assert score.elapsed == 600 and score.minutes_late == 0


def test_mistakes_and_hints_cost_points():
    s = session()
    assert s.take_hint(now=T0 + 1).text == "The backup is on master-0."
    assert s.hints_left == 1
    found = s.observe(ideal_run(host="master-2")[0])
    assert [m.kind for m in found] == ["wrong-recovery-host"]
    assert "master-2 has no etcd data" in found[0].detail  # the trap's words
    # the same plan again (a second run) is the same mistake, not another
    assert s.observe(ideal_run(host="master-2")[0]) == []
    s.typed_wrong("RST-08", "master-0", "master0")
    s.refused("restore", "the preflight failed")
    assert s.score().total == 100 - 3 * 10 - 5
    labels = [what for what, _ in s.score().breakdown]
    assert labels == ["start", "3 mistake(s) x -10", "1 hint(s) x -5"]


def test_a_failed_step_skipped_by_override_and_a_needless_override_are_mistakes():
    s = session()
    s.observe(line(1, "-", "planned", params={"recovery_host": "master-0"}, steps=["RST-08"]))
    found = s.observe(line(2, "-", "override", reason="go anyway"))
    assert [m.kind for m in found] == ["override-preflight"]
    s.observe(line(3, "RST-08", "failed", error="boom"))
    found = s.observe(line(4, "RST-08", "override", reason="it is fine"))
    assert [(m.kind, m.step) for m in found] == [("skip-step", "RST-08")]
    s.observe(line(5, "RST-08", "skipped", reason="override: it is fine"))
    # the ideal path that needs the override does not count it
    allowed = session(dict(DRILL, ideal=dict(DRILL["ideal"], override=True)))
    allowed.observe(line(1, "-", "planned", params={"recovery_host": "master-0"}))
    assert allowed.observe(line(2, "-", "override", reason="two snapshots")) == []
    # nor a skip the ideal path itself makes
    skipping = session(dict(DRILL, ideal=dict(DRILL["ideal"], skipped=["RST-08"])))
    skipping.observe(line(3, "RST-08", "failed", error="boom"))
    assert skipping.observe(line(4, "RST-08", "override", reason="it is fine")) == []


def test_a_trap_csr_approved_is_a_mistake():
    s = session()
    found = s.observe(line(50, "RST-11", "finished", detail="approved 2",
                           facts={"csr_approved": ["csr-a", "csr-evil"]}))
    assert [m.kind for m in found] == ["approve-csr"] and "unknown node" in found[0].detail


def test_the_scenarios_traps_name_their_own_mistakes():
    drill = dict(DRILL, ideal=dict(DRILL["ideal"], backup_dir="/home/core/backups/latest"),
                 traps=[{"kind": "wrong-backup", "detail": "the previous night's backup"},
                        {"kind": "host-treated-lost", "host": "master-1",
                         "detail": "it only dropped SSH"},
                        {"kind": "skip-step", "step": "RST-09", "detail": "nodes stay NotReady"},
                        {"kind": "override-preflight", "detail": "this backup needs none"}])
    s = session(drill)
    found = s.observe(line(1, "-", "planned", params={
        "recovery_host": "master-0", "backup_dir": "/home/core/backups/previous/",
        "lost_hosts": ["master-1", "master-2"]}))
    assert sorted(m.kind for m in found) == ["host-treated-lost", "wrong-backup"]
    assert any("previous night" in m.detail for m in found)
    assert "needs none" in s.observe(line(2, "-", "override", reason="x"))[0].detail
    # a step skipped by its own rule is no mistake; skipped by override after failing is
    assert s.observe(line(3, "RST-04", "skipped", reason="no hosts to stop")) == []
    found = s.observe(line(4, "RST-09", "override", reason="no time"))
    assert found[0].kind == "skip-step" and "NotReady" in found[0].detail
    assert s.score().total == 100 - 4 * 10


def test_late_past_the_rto_costs_a_point_per_full_drill_minute():
    s = session(speed=10)  # 600 wall seconds at x10: 100 drill minutes, 55 past 45
    for r in ideal_run():
        s.observe(r)
    score = s.score()
    assert score.elapsed == 6000 and score.minutes_late == 55 and score.total == 45
    assert score.breakdown[-1] == ("55 drill minute(s) past the RTO of 45:00 x -1", -55)
    assert any("late" in d for d in s.differences())
    floor = session(dict(DRILL, rto_minutes=1), speed=100)
    for r in ideal_run():
        floor.observe(r)
    assert floor.score().total == 0  # never below zero


def test_the_debrief_lists_every_step_with_its_times_and_the_differences():
    s = session()
    s.take_hint(now=T0 + 10)
    for r in ideal_run(host="master-2"):
        s.observe(r)
    d = s.debrief()
    assert [t.step for t in d.steps] == ["RST-01", "RST-08", "RST-16"]
    rst08 = d.steps[1]
    assert (rst08.asked, rst08.started, rst08.ended, rst08.outcome) == (20, 21, 300, "finished")
    assert rst08.operator_seconds == 15  # RST-01 ended at 5, confirmed at 20
    assert d.steps[0].commands == 1 and d.steps[0].wait_seconds == 2
    assert d.steps[2].outcome == "skipped"
    assert [h.n for h in d.hints] == [1] and d.mistakes[0].kind == "wrong-recovery-host"
    assert any("recovery host: you chose master-2; the ideal path uses master-0" in x
               for x in d.differences)
    assert d.notes == ["RST-04 skips the lost hosts"] and d.score.total == 85


def test_a_free_drill_has_an_objective_line_but_no_score():
    s = DrillSession("healthy", None, clock=lambda: T0)
    s.start(now=T0)
    assert "Free drill" in s.objective and s.take_hint() is None and not s.scored
    assert s.debrief().score is None and s.differences() == []
    assert s.typed_wrong("RST-08", "master-0", "x") is None and s.mistakes == []
    assert s.observe(line(1, "-", "override", reason="x")) == []


def test_session_lines_wait_for_a_journal_then_a_journal_scores_alone(tmp_path):
    path = tmp_path / "restore.jsonl"
    now = [T0]
    s = DrillSession("lost-two-hosts", drill_spec({"drill": DRILL}), speed=2,
                     clock=lambda: now[0])
    s.start()
    s.take_hint()
    s.typed_wrong("RST-08", "master-0", "oops")
    assert s.journal_path is None and len(s._unwritten) == 3
    with Journal(path, "restore", clock=lambda: iso(now[0])) as journal:
        for r in ideal_run(host="master-2"):
            now[0] = datetime.fromisoformat(r["time"]).timestamp()
            extra = {k: v for k, v in r.items()
                     if k not in ("time", "runbook", "step", "event", "hosts")}
            written = journal.write(r["step"], r["event"], r["hosts"], **extra)
            s.observe(written, path=path)
    records = read_journal(path)
    events = [(r["step"], r["event"]) for r in records]
    assert events[1:4] == [("-", "session"), ("-", "hint"), ("-", "mistake")]
    assert {r["runbook"] for r in records} == {"restore"}  # the contract's key, untouched
    assert records[1]["ideal_runbook"] == "restore"
    assert events[-1] == ("-", "score")
    assert records[-1]["score"] == s.final.total == 100 - 5 - 2 * 10 - 0
    assert all(r.get("at") for r in records if r["event"] in ("session", "hint", "mistake"))
    replayed = DrillSession.from_journal(path, drill=drill_spec({"drill": DRILL}))
    assert replayed.score().total == s.final.total
    assert [m.kind for m in replayed.debrief().mistakes] == [m.kind for m in s.debrief().mistakes]
    assert len(replayed.hints) == 1 and replayed.speed == 2
    assert [t.step for t in replayed.debrief().steps] == ["RST-01", "RST-08", "RST-16"]


def test_a_drill_without_a_runbook_journal_writes_its_own(tmp_path):
    path = tmp_path / "drill.jsonl"
    s = DrillSession("lost-two-hosts", drill_spec({"drill": DRILL}), clock=lambda: T0,
                     fallback_journal=lambda: path)
    s.start()
    s.take_hint()
    score = s.finish(now=T0 + 60)
    assert score.total == 95
    assert [r["event"] for r in read_journal(path)] == ["session", "hint", "score"]
    assert {r["runbook"] for r in read_journal(path)} == {"drill"}
    assert DrillSession.from_journal(path, drill=s.drill).score().total == 95


@pytest.mark.parametrize("seconds,text", [(0, "00:00"), (425, "07:05"), (3727, "1:02:07"),
                                          (-61, "-01:01"), (None, "--:--")])
def test_drill_clock(seconds, text):
    assert drill_clock(seconds) == text


def test_sub_steps_sit_under_their_step_and_aftercare_ticks_are_no_steps():
    s = session()
    for r in [line(1, "-", "planned", params={"recovery_host": "master-0"},
                   steps=["RST-04", "RST-05"]),
              line(2, "RST-04", "started", hosts=["master-1"]),
              line(3, "RST-04a", "started", hosts=["master-1"], command="mv etcd-pod.yaml"),
              line(4, "RST-04a", "finished", hosts=["master-1"], command="mv etcd-pod.yaml",
                   exit_status=0, duration=0.5),
              line(5, "RST-04", "finished", hosts=["master-1"]),
              line(6, "RST-04b", "finished", hosts=["master-1"], command="crictl ps",
                   exit_status=0, duration=0.1, detail="no etcd containers running"),
              line(7, "RST-05", "finished"),
              line(8, "PV-1", "confirmed", kind="aftercare", ticked=True)]:
        s.observe(r)
    steps = s.timeline()
    assert [t.step for t in steps] == ["RST-04", "RST-04a", "RST-04b", "RST-05"]
    assert steps[1].outcome == "finished" and steps[1].commands == 1
    assert steps[2].detail == "no etcd containers running"


def test_a_csr_named_as_refused_is_no_approval():
    s = session()
    assert s.observe(line(50, "RST-11", "finished", detail="approved 1 CSR(s): csr-a; refused: "
                          "csr-evil (unknown node)", facts={"csr_approved": ["csr-a"]})) == []
    found = s.observe(line(51, "RST-11", "finished", command="oc adm certificate approve "
                           "csr-b csr-evil", exit_status=0))
    assert [m.kind for m in found] == ["approve-csr"]
