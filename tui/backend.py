"""The backend: everything the console talks to, real or drill, behind one object.

A Backend owns the inventory, the SSH fleet, the API client and the status collector. A drill
backend also owns the lab it started; beyond that it is the same object, so no screen or
runbook ever asks whether it is in a drill.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.cluster.api import ClusterApi
from tui.fleet.fleet import Fleet
from tui.inventory import Inventory, load_inventory
from tui.status.collect import StatusCollector


@dataclass(frozen=True)
class BackendSpec:
    """How to reach a cluster: an inventory file, or a drill scenario to start."""

    inventory_path: str | None = None
    scenario: str | None = None
    speed: float = 1.0
    read_only: bool = False
    frozen_clock: bool = False  # drills only: freeze simulated time (snapshot tests)

    @property
    def is_drill(self) -> bool:
        return self.scenario is not None


class Backend:
    def __init__(self, spec: BackendSpec):
        self.spec = spec
        self.read_only = spec.read_only
        self.lab = None
        self.inventory: Inventory | None = None
        self.fleet: Fleet | None = None
        self.api: ClusterApi | None = None
        self.collector: StatusCollector | None = None
        self._unstamp = None
        self.pace = None  # how time is counted (tui.pace): a drill's fair clock, else the wall
        self.clock = None  # a drill's simulated clock
        if spec.is_drill:
            from tui.drill.model import DrillPace, SimClock

            # made now, so the drill's session can read the clock before the lab is up
            self.clock = SimClock(spec.speed, frozen=spec.frozen_clock)
            self.pace = DrillPace(self.clock)
        else:
            # read the inventory now, so a bad file fails before any UI appears
            self.inventory = load_inventory(spec.inventory_path)

    async def start(self, wait: bool = True) -> None:
        if self.spec.is_drill:
            from tui.drill.lab import DrillLab

            self.lab = DrillLab(self.spec.scenario, speed=self.spec.speed, clock=self.clock)
            self.inventory = await self.lab.start()
            from tui.journal import stamp_every_line, stamp_runbook_lines

            # a drill's journal says at what speed its times were lived (issue #7)
            # and which simulated cluster it ran on: that cluster lives in this process only,
            # so no other process resumes the run (see resumable)
            unstamp = stamp_runbook_lines(speed=self.spec.speed, scenario=self.spec.scenario,
                                          drill=self.lab.drill_id)
            # and every line says where the fair drill clock stood (tui.pace)
            unpace = stamp_every_line("pace", self.pace.reading)

            def undo() -> None:
                unstamp()
                unpace()

            self._unstamp = undo
        assert self.inventory is not None
        from tui.secrets import register_inventory

        register_inventory(self.inventory)  # e.g. --password in the etcdctl prefix: never shown
        self.fleet = Fleet(self.inventory, read_only=self.read_only)
        self.api = ClusterApi.from_inventory(self.inventory, read_only=self.read_only)
        self.collector = StatusCollector(self.fleet, self.api)
        await self.fleet.start(wait=False)
        await self.api.warm_up()  # overlaps with the SSH handshakes under way
        if wait:
            await self.fleet.wait_settled()

    def resumable(self, state) -> bool:
        """Whether an unfinished journal's run (a tui.journal.JournalState) can go on here:
        a real cluster's on a real cluster; a drill's only on the very simulated cluster it
        ran on (this process's), since a drill's cluster dies with its process."""
        if self.lab is None:
            return state.drill is None
        return bool(state.drill) and state.drill == self.lab.drill_id

    async def close(self) -> None:
        if self._unstamp is not None:
            self._unstamp()
            self._unstamp = None
        if self.fleet is not None:
            await self.fleet.close()
        if self.api is not None:
            await self.api.close()
        if self.lab is not None:
            await self.lab.stop()


DRILL_DOES_NOT_RESUME = ("a drill's simulated cluster died with its process, so its run "
                         "cannot be resumed; start a new drill")


def refuse_drill_resume(journal_path: str) -> None:
    """`run --drill --journal J` starts a new simulated cluster: J must not hold an
    unfinished run (of a drill, which died with its process, or of a real cluster, which this
    drill is not). Exit 2 before anything starts; a missing, empty or finished journal passes
    (the run itself says the rest)."""
    from pathlib import Path

    from tui.errors import ConfigError
    from tui.journal import JournalState, read_journal

    path = Path(journal_path)
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return
    except OSError:
        return  # the journal's own checks name the problem
    records = read_journal(path)
    if not records:
        return
    state = JournalState.from_records(records)
    if state.finished and not state.aborted:
        return
    if state.drill is None:
        raise ConfigError("the journal holds an unfinished run on a real cluster; a drill "
                          "cannot resume it", where=str(path),
                          hint="Resume it with --inventory, or give the drill a new --journal "
                               "file")
    raise ConfigError(f"the journal holds an unfinished drill run ({state.runbook}): "
                      f"{DRILL_DOES_NOT_RESUME}", where=str(path),
                      hint="Give a new --journal file (or none); this one can still be read "
                           "with `etcd-dr report`")
