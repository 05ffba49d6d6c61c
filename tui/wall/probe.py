"""The wall's probes: one read-only backend per cluster, many clusters at once.

A ClusterProbe holds one cluster's read-only Backend (its SSH sessions stay open between
refreshes) and, each refresh, takes a status snapshot (tui/status/collect.py) and looks at
its backups (tui/wall/backups.py), within a time limit. A Wall refreshes every probe, a
bounded number at a time; one cluster that fails or hangs is a row that says so, never the
end of the wall.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Protocol

from tui.backend import Backend, BackendSpec
from tui.errors import ConfigError, EtcdDrError
from tui.runbooks.backup import DEFAULT_DIR
from tui.status.snapshot import StatusSnapshot
from tui.wall.backups import BackupProbe
from tui.wall.readiness import BackupFacts, ClusterReadiness, Thresholds, judge, worst_first

INVENTORY_SUFFIXES = (".yaml", ".yml")
DEFAULT_THRESHOLDS = Thresholds()


def inventory_paths(args: list[str] | tuple[str, ...]) -> list[str]:
    """The inventories the wall looks at: each DIR's *.yaml and *.yml (not its
    subdirectories), and each FILE as given. ConfigError (exit 2) for a path that is
    neither, or when nothing is found."""
    found: list[str] = []
    for arg in args:
        path = Path(arg).expanduser()
        if path.is_dir():
            found += sorted(str(p) for p in path.iterdir()
                            if p.suffix in INVENTORY_SUFFIXES and p.is_file())
        elif path.is_file():
            found.append(str(path))
        else:
            raise ConfigError("no such inventory file or directory", where=str(arg),
                              hint="Give inventory files, or a directory that holds them")
    if not found:
        raise ConfigError("no inventory (*.yaml, *.yml) found", where=", ".join(map(str, args)),
                          hint="Write one per cluster (etcd-dr init), or use --drill")
    return list(dict.fromkeys(found))


class ClusterProbe:
    """One cluster's row: its read-only backend, and its latest readiness."""

    def __init__(self, inventory_path: str, *, backup_dir: str = DEFAULT_DIR,
                 thresholds: Thresholds = DEFAULT_THRESHOLDS, timeout: float = 30.0):
        self.source = inventory_path
        self.name = Path(inventory_path).stem
        self.thresholds = thresholds
        self.timeout = timeout
        self.backup_dir = backup_dir
        self.backend: Backend | None = None
        self.backups: BackupProbe | None = None
        self.load_error: str | None = None
        self.snapshot: StatusSnapshot | None = None  # the latest (the status screen shows it)
        self.readiness: ClusterReadiness | None = None  # None until the first look ends
        # the API's full look (nodes, etcd pods, the operator's conditions), for a cluster
        # whose status screen is open; the others get the brief one the verdict needs
        self.detailed = False
        self._lock = asyncio.Lock()
        self._new_backend()
        if self.backend is not None:
            self.name = self.backend.inventory.cluster_name

    def _new_backend(self) -> None:
        try:
            # read-only: the fleet and the API client refuse anything that is not a read
            self.backend = Backend(BackendSpec(inventory_path=self.source, read_only=True))
            self.load_error = None
        except EtcdDrError as e:
            self.backend, self.load_error = None, e.message

    async def refresh(self) -> ClusterReadiness:
        async with self._lock:  # a slow refresh is not overtaken by the next one
            self.readiness = await self._look()
            return self.readiness

    async def _look(self) -> ClusterReadiness:
        if self.backend is None:
            return judge(self.name, None, None, self.thresholds,
                         error=f"inventory: {self.load_error}", source=self.source,
                         collected_at=time.time())
        snap: StatusSnapshot | None = None
        backup: BackupFacts | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.timeout):
                if self.backups is None:  # the first look: connect
                    try:
                        await self.backend.start(wait=True)
                    except BaseException:
                        # half started (a timeout mid-connect): the next look starts afresh
                        await self._restart()
                        raise
                    self.backups = BackupProbe(self.backend.fleet, self.backup_dir)
                # the status host's backup listing rides in its batch of member reads
                snap, listings = await self.backend.collector.collect_along(
                    self.backups.listing_command(), brief=not self.detailed)
                self.snapshot = snap
                backup = await self.backups.look(listings)
        except TimeoutError:
            error = f"no answer within {self.timeout:g}s"
        except EtcdDrError as e:
            error = e.message
        except Exception as e:  # noqa: BLE001 - one cluster's surprise is its own row's
            error = f"{e.__class__.__name__}: {e}"
        if snap is not None and backup is None:
            backup = BackupFacts(directory=self.backup_dir,
                                 notes=(f"backup probe: {error}",))
            error = None
        return judge(self.name, snap, backup, self.thresholds, error=error,
                     source=self.source, collected_at=time.time())

    async def _restart(self) -> None:
        backend, self.backend = self.backend, None
        self.backups = None
        try:
            await asyncio.shield(backend.close())
        finally:
            self._new_backend()

    async def close(self) -> None:
        if self.backups is not None:
            self.backups.close()
        if self.backend is not None:
            await self.backend.close()


class FleetSource(Protocol):
    """Clusters the wall starts itself (the drill fleet): their inventories, then stop."""

    async def start(self) -> list[str]: ...

    async def stop(self) -> None: ...


class Wall:
    """Every cluster's probe, refreshed together, at most `parallel` at once."""

    def __init__(self, inventories: list[str] | None = None, *, fleet: FleetSource | None = None,
                 backup_dir: str = DEFAULT_DIR, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                 timeout: float = 30.0, parallel: int = 16):
        self.inventories = list(inventories or [])
        self.fleet = fleet
        self.backup_dir = backup_dir
        self.thresholds = thresholds
        self.timeout = timeout
        self.parallel = max(1, parallel)
        self.probes: list[ClusterProbe] = []
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.fleet is not None:
            self.inventories += await self.fleet.start()
        self.probes = [ClusterProbe(path, backup_dir=self.backup_dir,
                                    thresholds=self.thresholds, timeout=self.timeout)
                       for path in self.inventories]

    async def refresh(self) -> list[ClusterReadiness]:
        """Every cluster looked at once more; the rows, worst first."""
        await self.start()
        gate = asyncio.Semaphore(self.parallel)

        async def one(probe: ClusterProbe) -> None:
            async with gate:
                await probe.refresh()

        await asyncio.gather(*(one(p) for p in self.probes))
        return self.rows()

    def rows(self) -> list[ClusterReadiness]:
        return worst_first([p.readiness for p in self.probes if p.readiness is not None])

    def probe_for(self, source: str) -> ClusterProbe | None:
        return next((p for p in self.probes if p.source == source), None)

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.probes), return_exceptions=True)
        if self.fleet is not None:
            await self.fleet.stop()
