"""A defrag run (DEF-MAN) killed after any line of its journal resumes on the same drill cluster
and ends as an uninterrupted run would: every member defragmented, each passed over only on
this run's evidence, each defragmented member given its recovery wait before the next one,
the NOSPACE alarm disarmed at the end. In-process (tests/kill_resume.py: the drill cluster
outlives the killed run, as a real one does); the lab's SIGKILL-and-resume test is in
tests/test_lab_defrag.py.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.kill_resume import Killed, run_killed
from tui.backend import Backend, BackendSpec
from tui.journal import Journal, read_journal
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.defrag import DEFRAG, MB
from tui.runbooks.runner import Runner

SPEED = 600.0
SCENARIO = """
name: small-nospace
description: three members over a small quota, a NOSPACE alarm
version: "4.16.20"
control_plane: 3
workers: 0
etcd:
  version: "3.5.14"
  leader: master-0
  quota_mb: 200
  db_size_mb: 210
  in_use_mb: 80
  alarms:
    - member: master-0
      alarm: NOSPACE
"""
MEMBERS = ("master-0", "master-1", "master-2")


def defrags(records) -> list[str]:
    """The hosts each defrag command was sent to, in order."""
    return [r["hosts"][0] for r in records if r["event"] == "started"
            and " defrag" in r.get("command", "")]


async def run_killed_after(tmp_path, lines: int | None, when=None,
                           disk_mb_per_s=None) -> Killed:
    """DEF-MAN on a fresh small-nospace drill cluster, killed after line `lines` or once
    `when(cluster)` holds, then resumed (tests/kill_resume.py)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    scenario = tmp_path / "small-nospace.yaml"
    scenario.write_text(SCENARIO + (f"  defrag_mb_per_s: {disk_mb_per_s}\n" if disk_mb_per_s
                                    else ""))
    # a slow disk's defrags outlast the rule's timeout (made for 50 MB/s): the operator's
    params = {"wait": 60.0, **({"timeout": 600.0} if disk_mb_per_s else {})}
    return await run_killed(tmp_path, DEFRAG, str(scenario), speed=SPEED, params=params,
                            lines=lines, when=when)


def check_ends_as_a_whole_run(run: Killed) -> str:
    records, killed_at, cluster, where = run.records, run.killed_at, run.cluster, run.where
    assert not run.operator.failures, (where, run.operator.failures)
    assert records[-1]["step"] == "-" and records[-1]["event"] == "finished", where
    etcd = cluster.etcd
    assert etcd.alarms == [], where
    for m in etcd.members:  # every file shrank from 210 MB to about what is in use (80 MB;
        # writes resumed after the disarm and grow it a little)
        assert m.db_size < 100 * MB, (where, m.name, m.db_size)
    before = records[:killed_at] if killed_at else []
    sent = defrags(records)
    assert sorted(set(sent)) == list(MEMBERS), (where, sent)
    checked_before = {r["member"] for r in before if r["step"] == "DEF-MAN-3"
                      and r["event"] == "finished"}
    for name in checked_before:  # the journal said done: never sent again
        assert sent.count(name) == 1, (where, name, sent)
    # passed over only on this run's evidence, and that evidence is in the journal before
    for r in records:
        if r["event"] == "already-done" and r.get("member"):
            assert r["detail"].startswith(("defragmented earlier in this run (",
                                           "the defrag this run sent at ")), (where, r)
            if r["detail"].startswith("defragmented earlier"):
                assert r["member"] in checked_before, (where, r)
            else:
                assert r["member"] in defrags(before), (where, r)
    # every member defragmented, but the last, gets a wait that ended before the next one
    order = []
    for r in records:
        if r["step"] in ("DEF-MAN-2", "DEF-MAN-5") and r.get("member") and \
                r["event"] in ("started", "already-done") and r["member"] not in order:
            order.append(r["member"])
    assert sorted(order) == list(MEMBERS), (where, order)
    waited = {r["member"] for r in records if r["step"] == "DEF-MAN-4"
              and r["event"] == "finished"}
    assert set(order[:-1]) <= waited, (where, order, waited)
    assert order[-1] == "master-0" or any(r["event"] == "resumed" for r in records), where
    return f"{killed_at}:{','.join(sent)}"


async def test_an_uninterrupted_run_is_the_reference(tmp_path):
    run = await run_killed_after(tmp_path, None)
    check_ends_as_a_whole_run(run)
    assert defrags(run.records) == ["master-1", "master-2", "master-0"]  # the leader last


@pytest.mark.timeout(240)
async def test_a_defrag_killed_after_any_line_resumes_and_ends_as_a_whole_run(tmp_path):
    total = len((await run_killed_after(tmp_path / "ref", None)).records)
    summary = []
    for n in range(1, total):  # after the last line the run is over: nothing to resume
        run = await run_killed_after(tmp_path / str(n), n)
        assert run.killed_at == n, f"the run ended before line {n}"
        summary.append(check_ends_as_a_whole_run(run))
    print(f"{len(summary)} kills: " + " ".join(summary))


@pytest.mark.parametrize("moment", ["defragging", "done"])
async def test_killed_while_the_host_defragments_resumes_on_what_the_file_shows(tmp_path, moment):
    """Killed once master-1's etcd has the defrag (the command reached it): etcd goes on with
    it, as real etcd does when its client goes. The resumed run waits for master-1 to answer,
    then passes it over on its smaller file, not defragmenting it again."""
    def when(cluster):
        m1 = cluster.etcd.member_by_name("master-1")
        return m1.defragging if moment == "defragging" else m1.db_size < 100 * MB

    # a slow disk: the 210 MB defrag takes 210 simulated seconds, 0.35 s here
    run = await run_killed_after(tmp_path, None, when=when, disk_mb_per_s=1)
    assert run.killed_at is not None
    check_ends_as_a_whole_run(run)
    records = run.records
    busy = "master-1 is still busy with the defrag sent before the console stopped"
    assert any(busy in t for t in run.operator.shown) == (moment == "defragging")
    assert defrags(records) == ["master-1", "master-2", "master-0"]
    [passed] = [r for r in records if r["event"] == "already-done" and r.get("member")]
    assert passed["member"] == "master-1"
    assert "finished while the console was not watching: the file was 210.0 MB then" in \
        passed["detail"]


async def test_a_defrag_that_leaves_the_file_as_it_was_fails_its_check(tmp_path, monkeypatch):
    """DEF-MAN-3 checks that the file shrank. etcdctl says the defrag finished, but the file
    keeps its 130 MB free (as if the command reached another member): the step fails and
    says what to check, and the next member is not touched."""
    from tui.drill import faults
    from tui.runbooks.runner import RunAborted

    monkeypatch.setattr(faults, "compacted_size", lambda member: member.db_size)
    with pytest.raises(RunAborted) as stopped:
        await run_killed_after(tmp_path, None)
    message = str(stopped.value)
    assert "DEF-MAN-3: master-1's file did not shrink (210.0 MB -> 210.0 MB) though 130.0 MB " \
           "of it read free before, and etcdctl said the defrag finished: check that the " \
           "command reaches master-1 (its --endpoints)" in message, message
    records = read_journal(tmp_path / "jNone.jsonl")
    assert defrags(records) == ["master-1"]
    [failed] = [r for r in records if r["step"] == "DEF-MAN-3"]
    assert failed["event"] == "failed" and failed["member"] == "master-1"


class RetryingOperator:
    """Retries every failure after `think` simulated seconds, as an operator reading it."""

    def __init__(self, think: float):
        self.think, self.failures, self.shown = think, [], []

    async def confirm(self, request):
        return True

    async def on_failure(self, step, error):
        self.failures.append((step.id, error))
        await asyncio.sleep(self.think / SPEED)
        return Decision("retry")

    def show(self, event):
        self.shown.append(event.text)


@pytest.mark.parametrize("think, measured", [(0.0, True), (400.0, False)])
async def test_a_timed_out_defrag_measures_the_disk_only_when_seen_busy(tmp_path, think,
                                                                         measured):
    """On a 1 MB/s disk master-1's 210 MB defrag outlives its 35 s timeout. Retried at once,
    master-1 is still busy: its end, seen within a 5 s poll, measures the disk, and the next
    member's timeout follows it. Retried after 400 s of reading the failure, master-1 answers
    at once: when it finished is unknown, so nothing is measured (it used to measure the
    operator's 400 s as the disk's)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(SCENARIO + "  defrag_mb_per_s: 1\n")
    backend = Backend(BackendSpec(scenario=str(scenario), speed=SPEED))
    await backend.start()
    try:
        operator = RetryingOperator(think)
        ctx = RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "defrag"),
                         operator=operator, params={"wait": 60.0}, time_scale=SPEED)
        await Runner(DEFRAG, ctx).run()
        ctx.journal.close()
    finally:
        await backend.close()
    records = read_journal(tmp_path / "j.jsonl")
    assert operator.failures and "defrag of master-1 timed out after 35s" in \
        operator.failures[0][1]
    assert records[-1]["event"] == "finished"
    first_of = {}
    for r in records:
        if r["step"] in ("DEF-MAN-2", "DEF-MAN-5") and r["event"] == "started" and \
                r.get("member"):
            first_of.setdefault(r["member"], r)
    detail = first_of["master-2"]["detail"]
    assert ("measured on master-1" in detail) == measured, detail
    if measured:  # 210 MB in about 210 s, seen within a 5 s poll (more on a loaded
        # machine, where the drill's clock runs on between polls): about 1 MB/s
        rate = float(re.search(r"half the ([0-9.]+) MB/s measured on master-1", detail)[1])
        assert 0.7 <= rate <= 1.0, detail
