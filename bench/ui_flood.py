#!/usr/bin/env python3
"""bench/ui_flood: three host panes each fed 50,000 lines as fast as SSH delivers them,
while a key is pressed every 50 ms. Targets: key-to-screen p99 under 100 ms, RSS under
300 MB, pane memory bounded (each pane keeps at most its max_lines).

The lines take the real path: a command on each drill host over SSH, through the fleet's
line events, into the host panes. The key opens and closes the help screen; its latency is
the time from the key event to that screen being the active, refreshed one.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import time

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000


async def main() -> None:
    from screens.help import HelpScreen
    from tui.app import make_app
    from tui.backend import BackendSpec
    from tui.fleet.commands import Command
    from tui.widgets.host_log import MAX_LINES, HostLog

    app = make_app(BackendSpec(scenario="healthy"), refresh_interval=3600)
    async with app.run_test(size=(160, 50)) as pilot:
        while not (app.snapshot and app.snapshot.leader):
            await pilot.pause(0.01)
        fleet = app.backend.fleet
        hosts = [h.name for h in app.backend.inventory.control_plane]
        flood = asyncio.ensure_future(
            fleet.run(hosts, Command.of("seq", "1", str(LINES)), timeout=600))
        latencies: list[float] = []
        started = time.perf_counter()
        while not flood.done():
            for key, want in (("question_mark", HelpScreen), ("escape", None)):
                t0 = time.perf_counter()
                await pilot.press(key)
                while not (isinstance(app.screen, want) if want else
                           not isinstance(app.screen, HelpScreen)):
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(max(0.0, 0.05 - (time.perf_counter() - t0)))
        results = flood.result()
        flood_s = time.perf_counter() - started
        await pilot.pause(0.3)
        panes = list(app.query(HostLog))
        kept = max(p.line_count for p in panes)
    bad = [n for n, r in results.items() if not r.ok or r.stdout.count("\n") != LINES]
    if bad:
        raise SystemExit(f"flood command failed on {bad}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"lines per pane: {LINES}, delivered in {flood_s:.2f} s; keys pressed: {len(latencies)}")
    print(f"key-to-screen: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    print(f"max RSS {rss_mb:.0f} MB; lines kept per pane {kept} (bound {MAX_LINES})")
    print(f"ui_flood lines={LINES} keys={len(latencies)} p99_ms={p99 * 1000:.1f} "
          f"median_ms={statistics.median(latencies) * 1000:.1f} rss_mb={rss_mb:.0f} "
          f"pane_lines={kept} pane_bound={MAX_LINES} flood_s={flood_s:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
