"""Turning etcd encryption on (ENC-ON) or off (ENC-OFF), killed after any line of its journal
and resumed on the same drill cluster (tests/kill_resume.py), ends as a whole run does: the
type set, every operator's condition settled, and no step passed over except on what the API
shows now (a step's check), never on the journal's word alone.
"""

from __future__ import annotations

import pytest

from tests.kill_resume import Killed, run_killed
from tui.drill.encryption import OPERATORS
from tui.runbooks.encryption import ENCRYPTION_OFF, ENCRYPTION_ON

SPEED = 600.0
# a migration of a simulated minute (a real one takes 20 minutes or more): 0.1 s here
SCENARIO = """
name: encryption-{type}
description: etcd encryption settled on {type}; a migration takes a minute
version: "4.16.20"
control_plane: 3
workers: 0
etcd: {{version: "3.5.14", leader: master-0}}
api: {{reachable: true, encryption: {type}, migration_minutes: 1}}
"""
CASES = {  # runbook, the type before, its params, the type after, the reason after
    "encryption-on": (ENCRYPTION_ON, "identity", {"encryption_type": "aescbc"}, "aescbc",
                      "EncryptionCompleted"),
    "encryption-off": (ENCRYPTION_OFF, "aescbc", {"encryption_type": "identity"}, "identity",
                       "DecryptionCompleted"),
}


async def run(tmp_path, case: str, lines: int | None) -> Killed:
    runbook, before, params, _, _ = CASES[case]
    tmp_path.mkdir(parents=True, exist_ok=True)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO.format(type=before))
    return await run_killed(tmp_path, runbook, str(scenario), speed=SPEED, params=params,
                            lines=lines)


def check(run: Killed, case: str) -> str:
    _, _, _, want_type, want_reason = CASES[case]
    where = run.where
    assert not run.operator.failures, (where, run.operator.failures)
    assert run.records[-1]["step"] == "-" and run.records[-1]["event"] == "finished", where
    api = run.cluster.api
    assert api.encryption_type == want_type, where
    assert {op: (c or {}).get("reason") for op, c in api.encrypted.items()} == \
        {op: want_reason for op in OPERATORS}, where
    steps = [r for r in run.records if "command" not in r and
             r["step"] != "-"]
    done = {r["step"] for r in steps if r["event"] in ("finished", "already-done")}
    assert {s.id for s in CASES[case][0].steps} <= done, (where, done)
    for r in steps:
        if r["event"] == "already-done":  # only a step's check, read from the API now
            assert r.get("detail"), (where, r)
    return f"{run.killed_at}"


@pytest.mark.parametrize("case", sorted(CASES))
async def test_killed_after_any_line_the_resumed_run_ends_as_a_whole_one(tmp_path, case):
    whole = await run(tmp_path / "ref", case, None)
    check(whole, case)
    total = len(whole.records)
    summary = []
    for n in range(1, total):
        killed = await run(tmp_path / str(n), case, n)
        assert killed.killed_at == n, f"the run ended before line {n}"
        summary.append(check(killed, case))
    print(f"{case}: {len(summary)} kills")
