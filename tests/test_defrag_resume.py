"""A defrag run (DEF-MAN) killed after any line of its journal resumes on the same drill cluster
and ends as an uninterrupted run would: every member defragmented, each passed over only on
this run's evidence, each defragmented member given its recovery wait before the next one,
the NOSPACE alarm disarmed at the end. In-process (the drill cluster outlives the killed run,
as a real one does); the lab's SIGKILL-and-resume test is in tests/test_lab_defrag.py.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest

from tui.backend import Backend, BackendSpec
from tui.journal import Journal, JournalState, read_journal
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


class KilledJournal(Journal):
    """A journal whose run dies right after its `kill_after`-th line: nothing more is written,
    and the run's task is cancelled at its next await (before anything more is sent)."""

    def __init__(self, *args, kill_after: int, **kw):
        super().__init__(*args, **kw)
        self.kill_after, self.lines, self.dead = kill_after, 0, False

    def write(self, step, event, hosts=(), **extra):
        if self.dead:
            return {"step": step, "event": event}
        record = super().write(step, event, hosts, **extra)
        self.lines += 1
        if self.lines == self.kill_after:
            self.dead = True
            asyncio.current_task().cancel()
        return record


class Operator:
    def __init__(self):
        self.failures, self.shown = [], []

    async def confirm(self, request):
        return True

    async def on_failure(self, step, error):
        self.failures.append((step.id, error))
        return Decision("abort")

    def show(self, event):
        self.shown.append(event.text)


def defrags(records) -> list[str]:
    """The hosts each defrag command was sent to, in order."""
    return [r["hosts"][0] for r in records if r["event"] == "started"
            and " defrag" in r.get("command", "")]


async def run_killed_after(tmp_path, lines: int | None, when=None, disk_mb_per_s=None):
    """Run DEF-MAN on a fresh drill cluster, killed right after the journal's `lines`-th line
    or once `when(cluster)` holds (neither: never), then resumed to the end. Returns (records,
    killed_at, cluster, the resumed run's operator)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    scenario = tmp_path / "small-nospace.yaml"
    scenario.write_text(SCENARIO + (f"  defrag_mb_per_s: {disk_mb_per_s}\n" if disk_mb_per_s
                                    else ""))
    backend = Backend(BackendSpec(scenario=str(scenario), speed=SPEED))
    await backend.start()
    path = tmp_path / f"j{lines}.jsonl"
    try:
        # a slow disk's defrags outlast the rule's timeout (made for 50 MB/s): the operator's
        params = {"wait": 60.0, **({"timeout": 600.0} if disk_mb_per_s else {})}
        journal = Journal(path, "defrag") if lines is None else \
            KilledJournal(path, "defrag", kill_after=lines)
        ctx = RunContext(backend=backend, journal=journal, operator=Operator(),
                         params=dict(params), time_scale=SPEED)
        task = asyncio.ensure_future(Runner(DEFRAG, ctx).run())
        killed_at = None
        while when is not None and not task.done():
            if when(backend.lab.cluster):
                killed_at = len(read_journal(path))
                break
            await asyncio.sleep(0.001)
        while when is not None and not task.done():  # until it has stopped, as a kill would
            task.cancel()
            await asyncio.sleep(0.001)
        with suppress(asyncio.CancelledError):
            await task
        if lines is not None and journal.dead:
            killed_at = lines
        ctx.journal.close()
        operator = Operator()
        if killed_at is not None:
            state = JournalState.from_records(read_journal(path))
            if not state.finished:
                ctx2 = RunContext(backend=backend, journal=Journal(path, "defrag"),
                                  operator=operator, params=dict(state.params),
                                  time_scale=SPEED)
                ctx2.facts.update(state.facts)
                await Runner(DEFRAG, ctx2, resume=state).run()
                ctx2.journal.close()
        return read_journal(path), killed_at, backend.lab.cluster, operator
    finally:
        await backend.close()


def check_ends_as_a_whole_run(records, killed_at, cluster, operator) -> str:
    where = f"killed after line {killed_at}"
    assert not operator.failures, (where, operator.failures)
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
    records, _, cluster, operator = await run_killed_after(tmp_path, None)
    check_ends_as_a_whole_run(records, None, cluster, operator)
    assert defrags(records) == ["master-1", "master-2", "master-0"]  # the leader last


@pytest.mark.timeout(240)
async def test_a_defrag_killed_after_any_line_resumes_and_ends_as_a_whole_run(tmp_path):
    records, _, _, _ = await run_killed_after(tmp_path / "ref", None)
    total = len(records)
    summary = []
    for n in range(1, total):  # after the last line the run is over: nothing to resume
        got = await run_killed_after(tmp_path / str(n), n)
        assert got[1] == n, f"the run ended before line {n}"
        summary.append(check_ends_as_a_whole_run(*got))
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
    records, killed_at, cluster, operator = await run_killed_after(tmp_path, None, when=when,
                                                                   disk_mb_per_s=1)
    assert killed_at is not None
    check_ends_as_a_whole_run(records, killed_at, cluster, operator)
    busy = "master-1 is still busy with the defrag sent before the console stopped"
    assert any(busy in t for t in operator.shown) == (moment == "defragging")
    assert defrags(records) == ["master-1", "master-2", "master-0"]
    [passed] = [r for r in records if r["event"] == "already-done" and r.get("member")]
    assert passed["member"] == "master-1"
    assert "finished while the console was not watching: the file was 210.0 MB then" in \
        passed["detail"]
