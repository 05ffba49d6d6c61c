#!/usr/bin/env python3
"""bench/wall: the readiness wall over 100 drill clusters of 3 hosts (300 SSH sessions).

Targets (issue #16 item 4, the 2-core machine): a full refresh of every cluster under 3 s,
the console's RSS under 500 MB, key-to-screen p99 under 100 ms while refreshes run.

The fleet runs in its own process (`etcd-dr lab serve --clusters N --inventory-dir DIR`), as
real clusters would, so this process does only the wall's work: the Textual wall (headless,
160x50) on a Wall of one read-only backend per inventory. The first look connects every
session; it is timed but is not the refresh. Then REFRESHES full refreshes, one after the
other, each timed from the request to the rows being on the wall, while the down and up
keys are pressed every 50 ms on the wall's table: a key's latency is the time from the key
event being posted to the table's cursor having moved.

    python bench/wall.py [CLUSTERS] [REFRESHES]

BENCH_WALL_DIR=DIR uses a fleet already served into DIR (`etcd-dr lab serve --clusters N
--inventory-dir DIR`, N = CLUSTERS), for measuring one change after another;
BENCH_WALL_NO_KEYS=1 times the refreshes alone; BENCH_WALL_PARALLEL=N the wall's --parallel.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLUSTERS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
REFRESHES = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def start_fleet(directory: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "lab", "serve", "--clusters",
                             str(CLUSTERS), "--inventory-dir", str(directory)],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    assert proc.stderr is not None
    for line in proc.stderr:
        if "drill cluster(s) up" in line:
            break
        if time.monotonic() > deadline:
            break
    else:
        raise SystemExit(f"the drill fleet did not start (exit {proc.wait()})")
    return proc


def served_by(directory: Path) -> int:
    """The pid of the `lab serve` process that serves DIR (its command line names it)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in argv and str(directory).encode() in argv:
                return int(entry.name)
    raise SystemExit(f"no `lab serve` process serves {directory}")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (None) or of process `pid`."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def main() -> None:
    from textual import events

    from screens.wall import WallApp, WallTable
    from tui.quiet import quiet_library_logs
    from tui.wall.probe import Wall, inventory_paths

    quiet_library_logs()  # as `etcd-dr` does at start

    given = os.environ.get("BENCH_WALL_DIR")
    quiet = bool(os.environ.get("BENCH_WALL_NO_KEYS"))  # the refreshes alone
    directory = Path(given or tempfile.mkdtemp(prefix="bench-wall-"))
    started = time.perf_counter()
    fleet = None if given else start_fleet(directory)
    fleet_pid = fleet.pid if fleet is not None else served_by(directory)
    fleet_s = time.perf_counter() - started
    try:
        inventories = inventory_paths([str(directory)])
        # the interval is the bench's own: it asks for each refresh itself
        parallel = int(os.environ.get("BENCH_WALL_PARALLEL", "16"))  # the wall's default
        app = WallApp(Wall(inventories, parallel=parallel), interval=3600)
        async with app.run_test(size=(160, 50)) as pilot:
            t0 = time.perf_counter()
            while app.looked_at is None:
                await pilot.pause(0.05)
            first_s = time.perf_counter() - t0
            rows = app.rows or []
            verdicts: dict[str, int] = {}
            for row in rows:
                verdicts[row.verdict] = verdicts.get(row.verdict, 0) + 1
            table = app.screen.query_one(WallTable)
            table.focus()
            await pilot.pause(0.2)
            idle = [await press(app, table, events) for _ in range(20)]
            latencies: list[float] = []
            refreshes: list[float] = []
            cpu0, fleet_cpu0, wall0 = cpu_seconds(), cpu_seconds(fleet_pid), time.perf_counter()
            for _ in range(REFRESHES):
                before = app.looked_at
                t0 = time.perf_counter()
                app.action_refresh()
                while app.looked_at == before:
                    k0 = time.perf_counter()
                    if not quiet:
                        latencies.append(await press(app, table, events))
                    await asyncio.sleep(max(0.0, 0.05 - (time.perf_counter() - k0)))
                refreshes.append(time.perf_counter() - t0)
            span = time.perf_counter() - wall0
            console_cpu = (cpu_seconds() - cpu0) / span
            fleet_cpu = (cpu_seconds(fleet_pid) - fleet_cpu0) / span
            down = sum(1 for row in app.rows or [] if row.verdict == "down")
    finally:
        if fleet is not None:
            fleet.send_signal(signal.SIGINT)
            try:
                fleet.wait(timeout=60)
            except subprocess.TimeoutExpired:
                fleet.kill()
                fleet.wait()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hosts = 3 * CLUSTERS
    print(f"fleet of {CLUSTERS} clusters ({hosts} hosts) up in {fleet_s:.1f} s (own process); "
          f"first look (connecting {hosts} SSH sessions): {first_s:.1f} s")
    print(f"verdicts: {verdicts}; down after the refreshes: {down}")
    print(f"{REFRESHES} full refreshes: median {statistics.median(refreshes):.2f} s, "
          f"max {max(refreshes):.2f} s ({', '.join(f'{r:.2f}' for r in refreshes)})")
    latencies = latencies or [0.0]
    print(f"key-to-screen during refreshes ({len(latencies)} keys): median "
          f"{statistics.median(latencies) * 1000:.1f} ms, p99 {p99(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms; idle median "
          f"{statistics.median(idle) * 1000:.1f} ms")
    print(f"max RSS {rss_mb:.0f} MB; during the refreshes the console used "
          f"{console_cpu:.0%} of a core, the drill fleet's process {fleet_cpu:.0%}")
    print(f"wall clusters={CLUSTERS} hosts={hosts} refresh_s={max(refreshes):.2f} "
          f"rss_mb={rss_mb:.0f} p99_ms={p99(latencies) * 1000:.1f} "
          f"refresh_median_s={statistics.median(refreshes):.2f} first_look_s={first_s:.1f}")


async def press(app, table, events) -> float:
    """One key on the wall's table (down, or up at the last row); seconds until the cursor
    moved."""
    before = table.cursor_row
    key = "up" if before >= table.row_count - 1 else "down"
    t0 = time.perf_counter()
    app.post_message(events.Key(key, None))
    while table.cursor_row == before:
        await asyncio.sleep(0.001)
    return time.perf_counter() - t0


if __name__ == "__main__":
    asyncio.run(main())
