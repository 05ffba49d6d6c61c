#!/usr/bin/env python3
"""bench/startup: from launching the console on the drill cluster to a fully populated status
screen (3 hosts connected, members with a leader, API read). Target: under 1.5 s.

Each run is a fresh Python process (imports included), driving the same app `etcd-dr drill`
opens, headless. The time is taken by this parent, from spawn to the child's report.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

PROBE = r"""
import asyncio, sys
from tui.app import make_app
from tui.backend import BackendSpec

async def main():
    app = make_app(BackendSpec(scenario="healthy"))
    async with app.run_test(size=(160, 50)) as pilot:
        while True:
            s = app.snapshot
            if s and s.leader and s.api.reachable and all(h.state == "connected" for h in s.hosts):
                break
            await pilot.pause(0.005)
        await pilot.pause()  # the frame with that snapshot has been rendered
        sys.stdout.write("ready\n"); sys.stdout.flush()

asyncio.run(main())
"""


def one_run() -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", PROBE], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.wait(timeout=30)
    if line.strip() != "ready":
        raise SystemExit(f"startup probe failed (exit {proc.returncode})")
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    one_run()  # warm the page cache and .pyc files
    times = [one_run() for _ in range(runs)]
    for i, t in enumerate(times, 1):
        print(f"run {i}: {t:.3f} s")
    print(f"startup runs={runs} median_s={statistics.median(times):.3f} "
          f"max_s={max(times):.3f} target_s=1.5")


if __name__ == "__main__":
    main()
