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
        if not spec.is_drill:
            # read the inventory now, so a bad file fails before any UI appears
            self.inventory = load_inventory(spec.inventory_path)

    async def start(self, wait: bool = True) -> None:
        if self.spec.is_drill:
            from tui.drill.lab import DrillLab
            from tui.drill.model import SimClock

            clock = SimClock(self.spec.speed, frozen=self.spec.frozen_clock)
            self.lab = DrillLab(self.spec.scenario, speed=self.spec.speed, clock=clock)
            self.inventory = await self.lab.start()
            from tui.journal import stamp_runbook_lines

            # a drill's journal says at what speed its times were lived (issue #7)
            self._unstamp = stamp_runbook_lines(speed=self.spec.speed,
                                                scenario=self.spec.scenario)
        assert self.inventory is not None
        self.fleet = Fleet(self.inventory, read_only=self.read_only)
        self.api = ClusterApi.from_inventory(self.inventory, read_only=self.read_only)
        self.collector = StatusCollector(self.fleet, self.api)
        await self.fleet.start(wait=False)
        await self.api.warm_up()  # overlaps with the SSH handshakes under way
        if wait:
            await self.fleet.wait_settled()

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
