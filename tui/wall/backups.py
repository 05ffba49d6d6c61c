"""Backup readiness over SSH, read-only: the newest complete backup pair on a cluster's
control-plane hosts, its age, whether its snapshot verifies, and whether its tarball carries
the encryption config.

Every command is built here (`*_command`), each in the read-only grammar
(tui/fleet/readonly.py), and sent through a read-only fleet, which would refuse anything
else. What `etcd-dr run backup` writes (tui/runbooks/backup.py) is what is read:
`snapshot_<ts>.db` + `static_kuberesources_<ts>.tar.gz` in /home/core/assets/backup, and the
etcd-dr manifest beside them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from tui.errors import ParseError
from tui.etcd.parse import parse_snapshot_status
from tui.fleet.commands import Command
from tui.fleet.fleet import Fleet, RunResult
from tui.runbooks.backup import DEFAULT_DIR, ETCDCTL_BIN_DIR, backup_sets
from tui.timeouts import snapshot_status_timeout
from tui.wall.readiness import BackupFacts

# the tools cluster-backup.sh leaves behind; etcdutl first (etcdctl 3.5 calls its own
# `snapshot status` deprecated, 3.6 dropped it), as the backup runbook reads them
SNAPSHOT_TOOLS = ("etcdutl", "etcdctl")
# how long a pair's stat (mtime, size) and the host's clock offset are kept: a pair on disk
# does not change, and the age is counted on from them; a pair replaced in place under the
# same name is seen within this time
RESTAT_S = 600.0


def list_command(directory: str) -> Command:
    return Command.of("ls", "-1", directory, privileged=True, timeout=15)


def clock_command() -> Command:
    return Command.of("date", "+%s", timeout=15)


def stat_command(*paths: str) -> Command:
    return Command.of("stat", "-c", "%Y %s %n", *paths, privileged=True, timeout=15)


def snapshot_status_command(tool: str, path: str, size: int | None) -> Command:
    return Command.of(f"{ETCDCTL_BIN_DIR}/{tool}", "snapshot", "status", path, "-w", "json",
                      privileged=True, timeout=snapshot_status_timeout(size).seconds)


def manifest_command(directory: str, ts: str) -> Command:
    return Command.of("cat", f"{directory.rstrip('/')}/etcd-dr-manifest_{ts}.json",
                      privileged=True, timeout=15)


def tar_list_command(path: str) -> Command:
    return Command.of("tar", "-tzf", path, privileged=True, timeout=120,
                      max_output=64 * 1024 * 1024)


def planned_commands(directory: str = DEFAULT_DIR, ts: str = "2000-01-01_000000") -> list[Command]:
    """Every kind of command the probe sends (for the read-only tests and the docs)."""
    d = directory.rstrip("/")
    snap, tar = f"{d}/snapshot_{ts}.db", f"{d}/static_kuberesources_{ts}.tar.gz"
    return [list_command(directory), clock_command(), stat_command(snap, tar),
            *(snapshot_status_command(tool, snap, 1) for tool in SNAPSHOT_TOOLS),
            manifest_command(directory, ts), tar_list_command(tar)]


def _why(r: RunResult) -> str:
    if r.error:
        return r.error
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {r.exit_status}"


@dataclass(frozen=True)
class _Checked:
    """What is read once per backup pair (it does not change): kept between refreshes."""

    verified: bool | None
    verified_by: str | None
    encryption_config: bool | None
    manifest_encryption: str | None
    notes: tuple[str, ...]


class BackupProbe:
    """One cluster's backups; the checks of a pair are made once and kept (a pair on disk
    does not change; its age does)."""

    def __init__(self, fleet: Fleet, directory: str = DEFAULT_DIR, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic):
        self.fleet = fleet
        self.clock, self.monotonic = clock, monotonic
        self.directory = directory.rstrip("/") or "/"
        self._checked: dict[tuple[str, str], _Checked] = {}
        # (host, snapshot path) -> (when read, {path: (mtime, size)}, host clock - ours)
        self._stats: dict[tuple[str, str], tuple[float, dict[str, tuple[int, int]], float]] = {}
        # a pair's checks under way: `snapshot status` reads the whole snapshot (minutes for
        # gigabytes), longer than one look may take; they go on across looks, and the
        # look that finds them done keeps the result
        self._checking: dict[tuple[str, str], asyncio.Task] = {}

    def listing_command(self) -> Command:
        """The listing look() sends each host (the status batch can carry it: `listings`)."""
        return list_command(self.directory)

    async def look(self, listings: dict[str, RunResult] | None = None) -> BackupFacts:
        """`listings`: listing_command()'s results already read, by host, in this look."""
        listings = listings or {}
        hosts = self.fleet.connected_hosts("control-plane")
        everyone = [h.name for h in self.fleet.inventory.control_plane]
        unasked = tuple(h for h in everyone if h not in hosts)
        notes: list[str] = [f"{h}: not connected" for h in unasked]

        async def listing(host: str) -> RunResult:
            if host in listings:
                return listings[host]
            return await self.fleet.run_one(host, self.listing_command(), quiet=True)

        results = await asyncio.gather(*(listing(h) for h in hosts))
        listed: list[str] = []
        newest: tuple[str, str, dict] | None = None  # (ts, host, files)
        for host, r in zip(hosts, results):
            if r.ok:
                listing = r.stdout
            elif r.exit_status == 2 and "No such file" in r.stderr:
                listing = ""  # no backup directory: no backup on this host
            else:
                notes.append(f"{host}: cannot list {self.directory} ({_why(r)})")
                continue
            listed.append(host)
            for ts, files in backup_sets(listing).items():
                if "snapshot" in files and "static_kuberesources" in files and \
                        (newest is None or ts > newest[0]):
                    newest = (ts, host, files)
        facts = BackupFacts(directory=self.directory, listed=tuple(listed),
                            unlisted=tuple(h for h in everyone if h not in listed),
                            notes=tuple(notes))
        if newest is None:
            return facts
        ts, host, files = newest
        facts = replace(facts, newest=ts, host=host, snapshot=files["snapshot"],
                        tarball=files["static_kuberesources"], dirty=bool(files.get("dirty")),
                        notes=())
        return await self._examine(facts)

    async def _stat(self, host: str, snap: str, tar: str
                    ) -> tuple[dict[str, tuple[int, int]], float | None, list[str]]:
        """The pair's (mtime, size) by path, the host's clock minus this one's (None when
        unknown), and what went wrong; read again once RESTAT_S have passed, else kept (a
        look at a hundred clusters sends each its listings, not five commands)."""
        key = (host, snap)
        kept = self._stats.get(key)
        if kept is not None and self.monotonic() - kept[0] < RESTAT_S:
            return kept[1], kept[2], []
        sent = self.clock()
        stat_r, clock_r = await asyncio.gather(
            self.fleet.run_one(host, stat_command(snap, tar), quiet=True),
            self.fleet.run_one(host, clock_command(), quiet=True))
        notes: list[str] = []
        stats: dict[str, tuple[int, int]] = {}  # path -> (mtime, size)
        for line in stat_r.stdout.splitlines() if stat_r.ok else ():
            mtime, size, name = (line.split(" ", 2) + ["", ""])[:3]
            if mtime.isdigit() and size.isdigit():
                stats[name] = (int(mtime), int(size))
        if not stat_r.ok or snap not in stats:
            notes.append(f"cannot stat the pair on {host} ({_why(stat_r)})")
        offset = None
        if clock_r.ok and clock_r.stdout.strip().isdigit():
            # the host's clock against this one's: ages are counted on the host's clock, so
            # a console with a wrong clock reads the same age
            offset = int(clock_r.stdout.strip()) - sent
        if not notes and offset is not None:
            self._stats = {key: (self.monotonic(), stats, offset)}  # the newest pair only
        return stats, offset, notes

    async def _examine(self, facts: BackupFacts) -> BackupFacts:
        host, d = facts.host, self.directory
        snap, tar = f"{d}/{facts.snapshot}", f"{d}/{facts.tarball}"
        stats, offset, notes = await self._stat(host, snap, tar)
        age = None
        if snap in stats and offset is not None:
            # `date +%s` has whole seconds: an age is good to a second
            age = max(0.0, float(int(self.clock() + offset) - stats[snap][0]))
        key = (host, facts.newest)
        checked = self._checked.get(key)
        if checked is None:
            task = self._checking.get(key)
            if task is None:
                self.close()  # an older pair's check is of no use any more
                task = asyncio.ensure_future(self._check(facts, stats))
                self._checking[key] = task
            try:
                # shielded: a look that runs out of time leaves the check running
                checked = await asyncio.shield(task)
            finally:
                if task.done():
                    self._checking.pop(key, None)
            if checked.verified is not None and checked.encryption_config is not None:
                self._checked = {key: checked}  # only the newest pair is worth keeping
        return replace(facts, age_s=age, verified=checked.verified,
                       verified_by=checked.verified_by,
                       encryption_config=checked.encryption_config,
                       manifest_encryption=checked.manifest_encryption,
                       notes=tuple(notes) + checked.notes)

    def close(self) -> None:
        """Stop the checks under way (the wall is closing)."""
        for task in self._checking.values():
            task.cancel()
        self._checking.clear()

    async def _check(self, facts: BackupFacts, stats: dict[str, tuple[int, int]]) -> _Checked:
        host, d = facts.host, self.directory
        snap, tar = f"{d}/{facts.snapshot}", f"{d}/{facts.tarball}"
        (verified, verified_by, why), manifest, tar_r = await asyncio.gather(
            self._verify(host, snap, stats.get(snap, (0, None))[1]),
            self._manifest(host, facts.newest),
            self.fleet.run_one(host, tar_list_command(tar), quiet=True))
        notes = [why] if why else []
        if verified is None and manifest is not None:
            # no tool on the host reads the snapshot: the sizes the backup runbook recorded
            # once it had verified the pair (BAK-5) must still be the files' sizes
            sizes = manifest.get("sizes") if isinstance(manifest.get("sizes"), dict) else {}
            expected = [(path, sizes.get(path.rsplit("/", 1)[-1])) for path in (snap, tar)]
            if all(isinstance(size, int) and size > 0 for _, size in expected) and \
                    all(path in stats for path, _ in expected):
                mismatch = [f"{path.rsplit('/', 1)[-1]}: {stats[path][1]} bytes, the manifest "
                            f"says {size}" for path, size in expected if stats[path][1] != size]
                verified, verified_by = (False, None) if mismatch else (True, "etcd-dr manifest")
                notes = mismatch or []
        if stats.get(snap, (0, 1))[1] == 0:
            verified, verified_by = False, None
            notes.append(f"{facts.snapshot} is empty")
        if tar_r.ok:
            has_config = any(line.rstrip("/").endswith("encryption-config")
                             for line in tar_r.stdout.splitlines())
        else:
            has_config = None
            notes.append(f"cannot list {facts.tarball} ({_why(tar_r)})")
        encryption = (manifest or {}).get("encryption")
        return _Checked(verified, verified_by, has_config,
                        encryption if isinstance(encryption, str) and encryption else None,
                        tuple(notes))

    async def _verify(self, host: str, path: str, size: int | None
                      ) -> tuple[bool | None, str | None, str | None]:
        """(verified, by what, why not): the snapshot's `snapshot status`, by the tools the
        backup script left on the host; None when no tool there could read it."""
        for tool in SNAPSHOT_TOOLS:
            r = await self.fleet.run_one(host, snapshot_status_command(tool, path, size),
                                         quiet=True)
            if r.ok:
                try:
                    parse_snapshot_status(r.stdout)
                except ParseError:
                    continue
                return True, f"{tool} snapshot status", None
            if r.error is None and r.exit_status not in (126, 127) and \
                    "No such file" not in r.stderr and "not found" not in r.stderr:
                return False, None, f"{tool} snapshot status failed: {_why(r)}"
        return None, None, f"no etcdutl or etcdctl in {ETCDCTL_BIN_DIR} on {host} reads it"

    async def _manifest(self, host: str, ts: str) -> dict | None:
        r = await self.fleet.run_one(host, manifest_command(self.directory, ts), quiet=True)
        if not r.ok:
            return None
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None
