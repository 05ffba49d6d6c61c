"""Confirmations once per phase (issue 14 item 6), tried to break: a phase's question lists
every command of every step it covers; a later step goes ahead on it only while it sends
exactly what was shown; anything else asks again; a cancel sends nothing; a resume asks
again; the restore runbooks' phases keep a typed name before data is destroyed."""

from __future__ import annotations

import pytest

from tests.test_runbook_engine import ScriptedOperator, _file_exists
from tests.test_runbook_engine import backend  # noqa: F401 (the healthy drill, a fixture)
from tui.fleet.commands import Command, Safety
from tui.journal import Journal, load_state, read_journal
from tui.runbooks.context import RunContext
from tui.runbooks.model import Confirm, Runbook, Step, Targets
from tui.runbooks.runner import NotConfirmed, Runner

PHASE = "Mark the hosts"


def _touch(step_id, path, *, host_fact=None, confirm=Confirm.TYPE_CLUSTER, skip_if=None,
           phase=PHASE, learn=None):
    """A step touching `path` on the chosen host (or on ctx.facts[host_fact] when set)."""

    def commands(ctx, host):
        return [Command.of("touch", path, privileged=True, safety=Safety.MUTATING)]

    def hosts(ctx):
        return [ctx.facts.get(host_fact, "master-0")] if host_fact else ["master-0"]

    def on_output(ctx, host, result):
        if learn:
            ctx.facts.update(learn)

    return Step(step_id, f"touch {path}", f"makes {path}", targets=Targets.CHOSEN_HOST,
                hosts=hosts, commands=commands, check=_file_exists(path),
                safety=Safety.MUTATING, confirm=confirm, skip_if=skip_if, phase=phase,
                on_output=on_output)


def _ctx(backend, tmp_path, op):
    return RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "touch"),
                      operator=op, params={"host": "master-0"})


def _confirmed(tmp_path):
    return [(r["step"], r.get("kind"), r.get("by"), r.get("covers"))
            for r in read_journal(tmp_path / "j.jsonl") if r["event"] == "confirmed"]


async def test_a_phase_asks_once_listing_every_command_of_its_steps(backend, tmp_path):
    op = ScriptedOperator()
    runbook = Runbook("touch", "Touch", steps=(
        _touch("P-1", "/tmp/p1", confirm=Confirm.YES_NO),
        Step("P-2", "look", "reads", targets=Targets.CHOSEN_HOST, phase=PHASE,
             commands=lambda ctx, h: [Command.of("hostname")]),
        _touch("P-3", "/tmp/p3", confirm=Confirm.TYPE_HOST),
        _touch("P-4", "/tmp/p4"),
        _touch("Q-1", "/tmp/q1", confirm=Confirm.YES_NO, phase="Another phase"),
    ))
    await Runner(runbook, _ctx(backend, tmp_path, op)).run()
    assert [r.covers for r in op.requests] == [("P-1", "P-3", "P-4"), ()]
    phase = op.requests[0]
    # the strongest confirmation of its steps: a typed cluster name
    assert phase.kind == Confirm.TYPE_CLUSTER and phase.expected == "drill-healthy"
    assert phase.phase == PHASE and phase.step.id == "P-1"
    # every command of every step it covers, under the step's ID, with its host
    for step_id, path in (("P-1", "/tmp/p1"), ("P-3", "/tmp/p3"), ("P-4", "/tmp/p4")):
        at = phase.commands.index(f"{step_id} touch {path}:")
        assert path in phase.commands[at + 1] and "master-0:" in phase.commands[at + 1]
    assert "P-2" not in " ".join(phase.commands)  # asks nothing: not part of the question
    assert _confirmed(tmp_path) == [
        ("P-1", "type the cluster name", None, ["P-1", "P-3", "P-4"]),
        ("P-3", "phase", "P-1", None), ("P-4", "phase", "P-1", None),
        ("Q-1", "yes/no", None, None)]
    files = backend.lab.cluster.host("master-0").files
    assert {"/tmp/p1", "/tmp/p3", "/tmp/p4", "/tmp/q1"} <= set(files)


async def test_a_step_that_would_send_other_than_was_shown_asks_again(backend, tmp_path):
    """P-1 learns that P-2 must act on master-1: the phase showed master-0, so P-2 asks."""
    op = ScriptedOperator()
    runbook = Runbook("touch", "Touch", steps=(
        _touch("P-1", "/tmp/p1", learn={"target": "master-1"}),
        _touch("P-2", "/tmp/p2", host_fact="target"),
    ))
    await Runner(runbook, _ctx(backend, tmp_path, op)).run()
    assert [(r.step.id, r.covers) for r in op.requests] == [("P-1", ("P-1", "P-2")),
                                                             ("P-2", ())]
    again = op.requests[1]
    assert again.text.startswith("Changed since the phase was confirmed at P-1")
    assert again.hosts == ["master-1"] and again.commands[0].startswith("master-1:")
    assert "/tmp/p2" in backend.lab.cluster.host("master-1").files
    assert "/tmp/p2" not in backend.lab.cluster.host("master-0").files


async def test_a_step_not_listed_in_the_phase_asks_on_its_own(backend, tmp_path):
    """P-2 did not apply when the phase was asked (skipped then), and applies later."""
    op = ScriptedOperator()
    runbook = Runbook("touch", "Touch", steps=(
        _touch("P-1", "/tmp/p1", learn={"late": True}),
        _touch("P-2", "/tmp/p2", skip_if=lambda ctx: None if ctx.facts.get("late")
               else "not yet"),
        _touch("P-3", "/tmp/p3"),
    ))
    await Runner(runbook, _ctx(backend, tmp_path, op)).run()
    assert [(r.step.id, r.covers) for r in op.requests] == [("P-1", ("P-1", "P-3")),
                                                             ("P-2", ())]
    assert ("P-3", "phase", "P-1", None) in _confirmed(tmp_path)


async def test_a_later_step_whose_commands_cannot_be_listed_yet_asks_then(backend, tmp_path):
    def needs_a_fact(ctx, host):
        return [Command.of("touch", ctx.facts["path"], privileged=True,
                           safety=Safety.MUTATING)]

    op = ScriptedOperator()
    runbook = Runbook("touch", "Touch", steps=(
        _touch("P-1", "/tmp/p1", learn={"path": "/tmp/p2"}),
        Step("P-2", "touch a learned path", "", targets=Targets.CHOSEN_HOST,
             commands=needs_a_fact, safety=Safety.MUTATING, confirm=Confirm.YES_NO,
             phase=PHASE),
    ))
    await Runner(runbook, _ctx(backend, tmp_path, op)).run()
    assert [(r.step.id, r.covers) for r in op.requests] == [("P-1", ()), ("P-2", ())]
    assert "/tmp/p2" in backend.lab.cluster.host("master-0").files


async def test_cancelling_a_phase_sends_nothing_and_a_resume_asks_again(backend, tmp_path):
    runbook = Runbook("touch", "Touch", steps=(
        _touch("P-1", "/tmp/p1"), _touch("P-2", "/tmp/p2")))
    op = ScriptedOperator(confirm=False)
    with pytest.raises(NotConfirmed):
        await Runner(runbook, _ctx(backend, tmp_path, op)).run()
    files = backend.lab.cluster.host("master-0").files
    assert "/tmp/p1" not in files and "/tmp/p2" not in files
    assert not [r for r in read_journal(tmp_path / "j.jsonl") if r["event"] == "started"]

    # P-1 done, then the console stops: the resumed run asks for what is left, again
    first = tmp_path / "first.jsonl"
    op = ScriptedOperator()
    await Runner(Runbook("touch", "Touch", steps=runbook.steps[:1]), RunContext(
        backend=backend, journal=Journal(first, "touch"), operator=op,
        params={"host": "master-0"})).run()
    assert [r.covers for r in op.requests] == [()]  # a phase of one step: asked alone
    op = ScriptedOperator()
    ctx = RunContext(backend=backend, journal=Journal(first, "touch"), operator=op,
                     params={"host": "master-0"})
    await Runner(runbook, ctx, resume=load_state(first)).run()
    assert [(r.step.id, r.covers) for r in op.requests] == [("P-2", ())]
    assert "/tmp/p2" in files


async def test_one_host_name_only_while_every_typed_step_acts_on_that_host(backend, tmp_path):
    op = ScriptedOperator()
    runbook = Runbook("touch", "Touch", steps=(
        _touch("P-1", "/tmp/p1", confirm=Confirm.TYPE_HOST),
        _touch("P-2", "/tmp/p2", confirm=Confirm.YES_NO),
    ))
    await Runner(runbook, _ctx(backend, tmp_path, op)).run()
    assert op.requests[0].kind == Confirm.TYPE_HOST and op.requests[0].expected == "master-0"

    op = ScriptedOperator()
    runbook = Runbook("touch", "Touch", steps=(
        _touch("P-1", "/tmp/p5", confirm=Confirm.TYPE_HOST),
        _touch("P-2", "/tmp/p6", confirm=Confirm.TYPE_HOST, host_fact="elsewhere"),
    ))
    (tmp_path / "b").mkdir()
    ctx = _ctx(backend, tmp_path / "b", op)
    ctx.facts["elsewhere"] = "master-2"
    await Runner(runbook, ctx).run()
    # two hosts' names: the cluster's is typed instead
    assert op.requests[0].kind == Confirm.TYPE_CLUSTER
    assert op.requests[0].expected == "drill-healthy"


def test_the_restore_runbooks_phases_keep_a_typed_name_before_data_is_destroyed():
    """Every destructive step of every restore procedure is in a phase whose question is a
    typed name (or asks alone with one): a phase never lowers a step's confirmation."""
    from tui.runbooks.restore import QUORUM_RESTORE, restore_runbook
    from tui.runbooks.restore.common import PATH_KEYS

    for runbook in [restore_runbook(k) for k in PATH_KEYS] + [QUORUM_RESTORE]:
        phases = {}
        for step in runbook.steps:
            if step.confirm != Confirm.NONE:
                assert step.phase or step.id.endswith("-25"), (runbook.title, step.id)
                phases.setdefault(step.phase, []).append(step)
            if step.safety == Safety.DESTRUCTIVE:
                assert step.confirm in (Confirm.TYPE_CLUSTER, Confirm.TYPE_HOST), step.id
        # a phase is a run of consecutive steps
        order = [s.phase for s in runbook.steps if s.phase]
        assert order == sorted(order, key=order.index), runbook.title
        assert len(phases) <= 3, (runbook.title, list(phases))
