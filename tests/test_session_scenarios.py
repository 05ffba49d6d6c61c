"""The drill session against every scenario's `drill:` section: the ideal plan is no mistake,
each trap the scenario declares is counted as its own kind and lowers the score, and (slow)
the journal of each ideal path, run on the drill cluster, scores the scenario's
expected_score when replayed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.test_scenarios import (
    ONE_SHOT,
    SPEED,
    WITH_WAITS,
    ideal_run,
    shared_run_params,
    waited_run,
)
from tui.drill.scenario import list_scenarios, load_drill
from tui.drill.session import DrillSession

T0 = 1_800_000_000.0
SCORED = [s.name for s in list_scenarios() if load_drill(s.name)]


def _drill(name):
    return load_drill(name)


def _line(at, step, event, runbook, **extra):
    return {"time": datetime.fromtimestamp(T0 + at, timezone.utc).isoformat(), "runbook": runbook,
            "step": step, "event": event, "hosts": [], **extra}


def _ideal_params(drill) -> dict:
    params = {}
    if drill.runbook in ("restore", "quorum-restore"):
        params["recovery_host"] = drill.ideal_host
        params["lost_hosts"] = []
        if drill.ideal_path:
            params["path"] = drill.ideal_path
        params["backup_dir"] = drill.ideal.backup_dir or "/home/core/assets/backup"
    elif drill.ideal_host:
        params["host"] = drill.ideal_host
    return params


def _session(drill) -> DrillSession:
    s = DrillSession("x", drill, clock=lambda: T0)
    s.start(now=T0)
    return s


def _other_host(drill, host=None) -> str:
    return host or next(h for h in ("master-0", "master-1", "master-2")
                        if h != drill.ideal_host)


def trigger(session: DrillSession, drill, trap) -> list:
    """Records (or a console event) that walk into this trap."""
    runbook = drill.runbook or "backup"
    params = _ideal_params(drill)
    kind = trap.kind
    if kind == "wrong-recovery-host":
        params["recovery_host"] = _other_host(drill, trap.host)
    elif kind == "wrong-host":
        params["host"] = _other_host(drill, trap.host)
    elif kind == "wrong-backup":
        params["backup_dir"] = "/home/core/backups/previous"
    elif kind == "wrong-path":
        params["path"] = next(p for p in ("4.12-4.13", "4.14-4.17", "4.18+")
                              if p != drill.ideal_path)
    elif kind == "host-treated-lost":
        params["lost_hosts"] = [trap.host]
    found = session.observe(_line(1, "-", "planned", runbook, params=params))
    if kind in ("override-preflight", "override-interlock"):
        found += session.observe(_line(2, "-", "override", runbook, reason="go anyway"))
    elif kind == "skip-step":
        session.observe(_line(3, trap.step, "failed", runbook, error="boom"))
        found += session.observe(_line(4, trap.step, "override", runbook, reason="later"))
    elif kind == "approve-csr":
        found += session.observe(_line(5, "RST-11", "finished", runbook,
                                       facts={"csr_approved": [trap.name]}))
    elif kind == "refused-action":
        found.append(session.refused(runbook, "refused"))
    return found


@pytest.mark.parametrize("name", SCORED)
def test_the_ideal_plan_is_no_mistake(name):
    drill = _drill(name)
    s = _session(drill)
    runbook = drill.runbook or "backup"
    assert s.observe(_line(1, "-", "planned", runbook, params=_ideal_params(drill))) == []
    assert s.score().total == 100


@pytest.mark.parametrize("name,n", [(name, n) for name in SCORED
                                    for n in range(len(_drill(name).traps))])
def test_each_trap_of_each_scenario_is_counted_as_its_kind(name, n):
    drill = _drill(name)
    trap = drill.traps[n]
    s = _session(drill)
    found = trigger(s, drill, trap)
    assert [m.kind for m in found] == [trap.kind], (trap, found)
    assert trap.detail in found[0].detail
    assert s.score().total == 90


@pytest.mark.parametrize("name", SCORED)
def test_a_hint_in_each_scenario_costs_five(name):
    drill = _drill(name)
    s = _session(drill)
    assert drill.hints, f"{name} has no hints"
    assert s.take_hint().text == drill.hints[0]
    assert s.score().total == 95


@pytest.mark.slow
@pytest.mark.parametrize("name", shared_run_params(ONE_SHOT))
def test_the_ideal_paths_journal_scores_the_expected_score(name, tmp_path_factory):
    """`etcd-dr run` along the ideal path, its journal replayed by a session: no mistake the
    ideal path does not make, and the expected score (the run fits the RTO at x300). The run
    is test_scenarios' (tests.test_scenarios.ideal_run: once per process)."""
    drill = load_drill(name)
    r, journal = ideal_run(name, tmp_path_factory)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    session = DrillSession.from_journal(journal)
    assert session.scenario == name and session.speed == SPEED  # the planned line's stamps
    assert session.mistakes == [], session.mistakes
    assert session.ended is not None
    assert session.score().total == drill.expected_score, session.score()


@pytest.mark.slow
@pytest.mark.parametrize("name", shared_run_params(WITH_WAITS))
async def test_the_ideal_paths_with_waits_retries_and_actions_score_the_expected_score(
        name, tmp_path_factory):
    """The scenarios whose ideal path waits, retries a step or acts in a shell (run as the
    scenario tests run them, faults injected: tests.test_scenarios.waited_run, once per
    process): replayed, no mistake and the expected score. The clock starts at the run's
    first line here (a wait before it is the trainee's)."""
    records, _failures, _minutes = await waited_run(name, tmp_path_factory)
    session = DrillSession.from_journal(records)
    assert session.mistakes == [], session.mistakes
    assert session.ended is not None
    assert session.score().total == _drill(name).expected_score, session.score()
