#!/usr/bin/env python3
"""bench/ui_flood: three host panes each fed 50,000 lines as fast as SSH delivers them,
while a key is pressed every 50 ms. Targets: key-to-screen p99 under 100 ms, RSS under
300 MB, pane memory bounded (each pane keeps at most its max_lines).

The lines take the real path: a command on each drill host over SSH, through the fleet's
line events, into the host panes. The drill cluster runs in its own process (`etcd-dr lab
serve`), as a real cluster's hosts would, so the console's process does only the console's
work. The key is tab (focus moves to the next widget); its latency is the time from the key event
being posted to the focus having moved.
"""

from __future__ import annotations

import asyncio
import resource
import signal
import subprocess
import tempfile
import statistics
import sys
import time
from pathlib import Path

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 40  # floods in a row, for enough key samples


def start_lab(workdir: Path) -> tuple[subprocess.Popen, Path]:
    inventory = workdir / "inventory.yaml"
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "lab", "serve", "--scenario",
                             "healthy", "--inventory-out", str(inventory)],
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not inventory.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the drill lab did not start")
        time.sleep(0.05)
    return proc, inventory


async def main() -> None:
    from textual import events

    from screens.help import HelpScreen
    from tui.app import make_app
    from tui.backend import BackendSpec
    from tui.fleet.commands import Command
    from tui.widgets.host_log import MAX_LINES, HostLog

    workdir = Path(tempfile.mkdtemp(prefix="ui-flood-"))
    lab, inventory = start_lab(workdir)
    try:
        await run(workdir, inventory, events, HelpScreen, make_app, BackendSpec, Command,
                  MAX_LINES, HostLog)
    finally:
        lab.send_signal(signal.SIGINT)
        lab.wait(timeout=20)


async def run(workdir, inventory, events, HelpScreen, make_app, BackendSpec, Command,
              MAX_LINES, HostLog) -> None:
    app = make_app(BackendSpec(inventory_path=str(inventory)), refresh_interval=3600)
    async with app.run_test(size=(160, 50)) as pilot:
        while not (app.snapshot and app.snapshot.leader):
            await pilot.pause(0.01)
        fleet = app.backend.fleet
        hosts = [h.name for h in app.backend.inventory.control_plane]
        latencies: list[float] = []
        flood_times: list[float] = []
        idle: list[float] = []
        for _ in range(20):  # the same key with no flood: what the UI costs by itself
            before = app.focused
            t0 = time.perf_counter()
            app.post_message(events.Key("tab", None))
            while app.focused is before:
                await asyncio.sleep(0.001)
            idle.append(time.perf_counter() - t0)
            await asyncio.sleep(0.05)
        for _ in range(ROUNDS):
            flood = asyncio.ensure_future(
                fleet.run(hosts, Command.of("seq", "1", str(LINES)), timeout=600))
            started = time.perf_counter()
            while not flood.done():
                # tab moves the focus: a cheap, visible change, so this measures the wait
                # for the loop, not the cost of building a screen
                before = app.focused
                t0 = time.perf_counter()
                app.post_message(events.Key("tab", None))
                while app.focused is before:
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(max(0.0, 0.05 - (time.perf_counter() - t0)))
            flood_times.append(time.perf_counter() - started)
            results = flood.result()
            bad = [n for n, r in results.items() if not r.ok or r.stdout.count("\n") != LINES]
            if bad:
                raise SystemExit(f"flood command failed on {bad}")
        flood_s = statistics.median(flood_times)
        await pilot.pause(0.3)
        panes = list(app.query(HostLog))
        kept = max(p.line_count for p in panes)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{ROUNDS} floods of {LINES} lines per pane (3 panes), median {flood_s:.2f} s each; "
          f"keys pressed during them: {len(latencies)}")
    print(f"key-to-screen: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    print(f"same key, no flood: median {statistics.median(idle) * 1000:.1f} ms, "
          f"max {max(idle) * 1000:.1f} ms")
    print(f"max RSS {rss_mb:.0f} MB; lines kept per pane {kept} (bound {MAX_LINES})")
    print(f"ui_flood lines={LINES} keys={len(latencies)} p99_ms={p99 * 1000:.1f} "
          f"median_ms={statistics.median(latencies) * 1000:.1f} rss_mb={rss_mb:.0f} "
          f"pane_lines={kept} pane_bound={MAX_LINES} flood_s={flood_s:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
