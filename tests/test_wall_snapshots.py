"""The readiness wall's screen at 80x24 and 160x50, on fixed rows (a stand-in for the wall's
probes) and a fixed clock: the same picture every run. At every size the verdicts, the
clusters, the unknowns (`?`) and the footer's keys are on the screen; a narrow terminal
says which columns it left out.

Regenerate after an intended change with
`pytest -n 0 tests/test_wall_snapshots.py --snapshot-update` and review the SVGs."""

from __future__ import annotations

import time

import pytest

from tests.conftest import FIXED_NOW, wait_until
from tests.sized_snapshots import SizedSnapshots
from tui.wall.readiness import BackupFacts, ClusterReadiness, worst_first

HOSTS = ("master-0", "master-1", "master-2")
DIR = "/home/core/assets/backup"


def _backup(age_s, verified=True, config=False, newest="2026-12-05_010000"):
    return BackupFacts(directory=DIR, listed=HOSTS, newest=newest, host="master-0",
                       age_s=age_s, verified=verified, encryption_config=config)


ROWS = worst_first([
    ClusterReadiness("prod-east", "ready", (), "4.16.3", 3, 3, "master-1", 180_000_000, 0.12,
                     (), "identity", _backup(5400), "/etc/etcd-dr/clusters/prod-east.yaml"),
    ClusterReadiness("prod-west", "at-risk", ("newest backup is 3.2d old (over 24h00m)",),
                     "4.16.3", 3, 3, "master-0", 210_000_000, 0.18, (), "aescbc",
                     _backup(276_480, config=True), "/etc/etcd-dr/clusters/prod-west.yaml"),
    ClusterReadiness("edge-7", "down", ("no status: no answer within 30s",), backup=None,
                     source="/etc/etcd-dr/clusters/edge-7.yaml"),
    ClusterReadiness("stage", "degraded", ("1 of 3 members down", "host master-2: unreachable"),
                     "4.18.5", 2, 3, "master-0", 150_000_000, 0.51, (), "identity",
                     _backup(3000), "/etc/etcd-dr/clusters/stage.yaml"),
    ClusterReadiness("lab-1", "at-risk", ("alarm NOSPACE on master-0",
                                          "backup not verified (unknown)"),
                     "4.12.30", 3, 3, "master-0", 8_600_000_000, 0.59,
                     (("NOSPACE", "master-0"),), "identity", _backup(7200, verified=None),
                     "/etc/etcd-dr/clusters/lab-1.yaml"),
])


class FixedWall:
    """What WallApp needs of a Wall, with fixed rows and no clusters behind them."""

    probes = ()

    async def start(self) -> None:
        pass

    async def refresh(self):
        return list(ROWS)

    def probe_for(self, source):
        return None

    async def close(self) -> None:
        pass


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_the_wall_screen_at_two_sizes(snapshot, request, utc):
    from screens.wall import WallApp, WallTable

    shots = SizedSnapshots(snapshot, request, sizes=((80, 24), (160, 50)))
    app = WallApp(FixedWall(), interval=10, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.rows is not None, what="the rows")
        table = app.screen.query_one(WallTable)
        table.move_cursor(row=2)  # prod-west: its reasons below the table
        await shots.check(pilot, "wall", see=lambda w, h: [
            "5 clusters: 1 down, 2 at-risk, 1 degraded, 1 ready", "edge-7", "prod-west",
            "down", "at-risk", "degraded", "ready", "newest backup is 3.2d old",
            "Open status", "Quit", "Help"] + (["too narrow for"] if w < 120 else
                                              ["3.2d", "NOSPACE", "?"]))
    shots.assert_all()
