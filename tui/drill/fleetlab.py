"""A fleet of drill clusters, for the readiness wall (`etcd-dr wall --drill --clusters N`,
`etcd-dr lab serve --clusters N --inventory-dir DIR`) and its benchmark.

Cluster i runs scenario FLEET_PLAN[i % len(FLEET_PLAN)] on its own loopback addresses
(127.1.i+1.x, so no two clusters share one), named `drill-NN-SCENARIO`, with a backup on
master-0 as the plan says: a recent one (taken minutes ago, with the etcd-dr manifest
`etcd-dr run backup` writes), an old one (days ago), none, or the scenario's own. The same N
gives the same fleet every time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tui.drill.lab import DrillLab
from tui.drill.scenario import place_backup
from tui.errors import ConfigError

BACKUP_DIR = "/home/core/assets/backup"  # where `etcd-dr run backup` puts it

# (scenario, backup): backup is "recent", "old", "none" or "scenario" (the scenario's own)
FLEET_PLAN: tuple[tuple[str, str], ...] = (
    ("healthy-4.20", "recent"),
    ("healthy", "none"),
    ("healthy-4.20", "old"),
    ("host-down", "recent"),
    ("nospace", "recent"),
    ("healthy", "recent"),
    ("lost-two-hosts", "scenario"),
    ("encryption-in-progress", "recent"),
    ("healthy-4.20", "recent"),
    ("quorum-lost-4.18", "none"),
)
MAX_CLUSTERS = 250 * 250


@dataclass(frozen=True)
class FleetMember:
    index: int
    scenario: str
    backup: str
    address_base: str

    @property
    def name(self) -> str:
        return f"drill-{self.index:02d}-{self.scenario}"

    @property
    def backup_minutes_ago(self) -> float | None:
        """When its backup was taken (None: no backup placed here)."""
        if self.backup == "recent":
            return 20 + (self.index * 37) % 600  # under 11 hours
        if self.backup == "old":
            return 3 * 24 * 60 + (self.index * 53) % 1440  # three to four days
        return None


def fleet_plan(clusters: int) -> list[FleetMember]:
    if not 1 <= clusters <= MAX_CLUSTERS:
        raise ConfigError(f"--clusters must be between 1 and {MAX_CLUSTERS}, not {clusters}")
    out = []
    for i in range(clusters):
        scenario, backup = FLEET_PLAN[i % len(FLEET_PLAN)]
        out.append(FleetMember(i, scenario, backup, f"127.{1 + i // 250}.{1 + i % 250}"))
    return out


class DrillFleet:
    """N drill labs in this process. `inventory_dir`: each cluster's inventory is written
    there as NAME.yaml (keys, known_hosts and kubeconfig in NAME.d/), as `lab serve` does;
    without it each lab keeps them in a temporary directory of its own."""

    def __init__(self, clusters: int, *, speed: float = 1.0,
                 inventory_dir: str | os.PathLike | None = None):
        self.members = fleet_plan(clusters)
        self.speed = speed
        self.inventory_dir = Path(inventory_dir) if inventory_dir is not None else None
        self.labs: list[DrillLab] = []
        self.inventories: list[str] = []

    def _lab(self, member: FleetMember) -> DrillLab:
        workdir = None if self.inventory_dir is None else self.inventory_dir / f"{member.name}.d"
        lab = DrillLab(member.scenario, speed=self.speed, workdir=workdir,
                       address_base=member.address_base)
        lab.cluster.name = member.name  # before anything names it: inventory, manifests
        minutes = member.backup_minutes_ago
        if minutes is not None:
            place_backup(lab.cluster, {"host": "master-0", "dir": BACKUP_DIR,
                                       "taken_minutes_ago": minutes,
                                       "version": lab.cluster.api.version},
                         f"the drill fleet's cluster {member.name}")
        return lab

    async def start(self) -> list[str]:
        """Start every cluster; their inventory paths, in fleet order."""
        if self.inventory_dir is not None:
            self.inventory_dir.mkdir(parents=True, exist_ok=True)
        try:
            for member in self.members:
                lab = self._lab(member)
                self.labs.append(lab)
                out = None if self.inventory_dir is None else \
                    self.inventory_dir / f"{member.name}.yaml"
                await lab.start(inventory_path=out)
                self.inventories.append(str(out or lab.inventory_path))
        except BaseException:
            await self.stop()
            raise
        return list(self.inventories)

    async def stop(self) -> None:
        labs, self.labs = self.labs, []
        for lab in labs:
            await lab.stop()
