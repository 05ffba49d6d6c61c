"""After a restore the API servers restart more than once (each new revision rolls them out):
RST-09 saw the API answer, and on its next read the API was gone again. It must wait for the
API again, not fail the step (a clean-clone CI run caught exactly this on a resumed restore);
and an API that keeps going away still fails the step, saying so."""

from __future__ import annotations

import pytest

from tests.test_runbook_engine import ScriptedOperator
from tests.test_runbook_engine import backend  # noqa: F401 (the healthy drill, a fixture)
from tui.cluster.ops import ApiUnavailable
from tui.journal import Journal, read_journal
from tui.runbooks.context import RunContext
from tui.runbooks.model import Runbook, Step, Targets
from tui.runbooks.restore import nodes
from tui.runbooks.restore.common import guarded
from tui.runbooks.runner import RunAborted, Runner


def _runbook():
    return Runbook("rst09", "RST-09 alone", steps=(
        Step("RST-09", "Nodes Ready, PEM cleanup where not", "waits for the API and nodes",
             targets=Targets.API, action=guarded(nodes.nodes_and_pems)),))


def _flapping(monkeypatch, times: int | None):
    """read_nodes raises what an API that went away raises, `times` times (None: always)."""
    real = nodes.read_nodes
    calls = {"n": 0}

    async def flapping(ctx):
        calls["n"] += 1
        if times is None or calls["n"] <= times:
            raise ApiUnavailable("read /api/v1/nodes failed both ways: the API: refuses "
                                 "connections; master-0 over SSH: connection refused")
        return await real(ctx)

    monkeypatch.setattr(nodes, "read_nodes", flapping)
    return calls


async def test_the_api_going_away_after_it_answered_is_waited_for_again(backend, tmp_path,
                                                                        monkeypatch):
    calls = _flapping(monkeypatch, 2)
    op = ScriptedOperator()
    ctx = RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "rst09"),
                     operator=op, params={"recovery_host": "master-0"})
    await Runner(_runbook(), ctx).run()
    ctx.journal.close()
    assert calls["n"] == 3
    notes = [e.text for e in op.events if e.kind == "note"]
    assert len([n for n in notes if "stopped answering again" in n]) == 2, notes
    done = [r for r in read_journal(tmp_path / "j.jsonl")
            if r["step"] == "RST-09" and r["event"] == "finished"]
    assert done and "every node is Ready" in done[0]["detail"], done


async def test_an_api_that_keeps_going_away_fails_the_step_saying_so(backend, tmp_path,
                                                                      monkeypatch):
    _flapping(monkeypatch, None)
    op = ScriptedOperator()  # a failed step: abort
    ctx = RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "rst09"),
                     operator=op, params={"recovery_host": "master-0"})
    with pytest.raises(RunAborted):
        await Runner(_runbook(), ctx).run()
    ctx.journal.close()
    failed = [r for r in read_journal(tmp_path / "j.jsonl")
              if r["step"] == "RST-09" and r["event"] == "failed"]
    assert failed and f"went away {nodes.API_FLAPS + 1} times" in failed[0]["error"], failed
