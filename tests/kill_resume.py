"""Kill a runbook's run anywhere, in-process, and resume it on the same drill cluster.

The drill cluster outlives the killed run, as a real cluster outlives a console: the run is
killed right after the N-th line of its journal (KilledJournal: nothing more is written, the
run's task is cancelled at its next await, before anything more is sent) or once a predicate
on the cluster holds; then a new Runner resumes the journal as `etcd-dr run --journal` does.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from tui.backend import Backend, BackendSpec
from tui.journal import Journal, JournalState, read_journal
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.model import Runbook
from tui.runbooks.runner import Runner


class KilledJournal(Journal):
    """A journal whose run dies right after its `kill_after`-th line."""

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
    """Says yes to every confirmation, aborts on a failure, and keeps what it was shown."""

    def __init__(self):
        self.failures, self.shown = [], []

    async def confirm(self, request):
        return True

    async def on_failure(self, step, error):
        self.failures.append((step.id, error))
        return Decision("abort")

    def show(self, event):
        self.shown.append(event.text)


@dataclass
class Killed:
    records: list[dict]  # the whole journal: the killed run's lines, then the resumed run's
    killed_at: int | None  # lines in the journal when the run was killed (None: it was not)
    cluster: object  # the drill cluster (tui.drill.model.DrillCluster) after the resumed run
    operator: Operator  # the resumed run's
    where: str = field(init=False)

    def __post_init__(self):
        self.where = f"killed after line {self.killed_at}"


async def run_killed(tmp_path: Path, runbook: Runbook, scenario: str, *, speed: float,
                     params: dict, lines: int | None = None, when=None) -> Killed:
    """Run `runbook` on a fresh drill cluster of `scenario` (a name or a file), killed right
    after the journal's `lines`-th line or once `when(cluster)` holds (neither: never), then
    resumed to the end."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    backend = Backend(BackendSpec(scenario=scenario, speed=speed))
    await backend.start()
    path = tmp_path / f"j{lines}.jsonl"
    try:
        journal = Journal(path, runbook.name) if lines is None else \
            KilledJournal(path, runbook.name, kill_after=lines)
        ctx = RunContext(backend=backend, journal=journal, operator=Operator(),
                         params=dict(params), time_scale=speed)
        task = asyncio.ensure_future(Runner(runbook, ctx).run())
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
                ctx2 = RunContext(backend=backend, journal=Journal(path, runbook.name),
                                  operator=operator, params=dict(state.params),
                                  time_scale=speed)
                ctx2.facts.update(state.facts)
                await Runner(runbook, ctx2, resume=state).run()
                ctx2.journal.close()
        return Killed(read_journal(path), killed_at, backend.lab.cluster, operator)
    finally:
        await backend.close()
