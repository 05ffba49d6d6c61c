#!/usr/bin/env python3
"""bench/big_output: real-size output through one host's pane while a key is pressed every
50 ms (issue 13). Two floods, on a real OpenSSH sshd on loopback (the lab, no etcd):

  seq   `seq 1 5000000` (38.9 MB in 5 million lines)
  line  `head -c 157286400 /dev/zero | tr '\\0' x` (one 150 MiB line, no newline)

Both are over the fleet's 16 MiB output cap: each result must be an error that says so (never
exit 0 with cut output), read to its end. Targets: key-to-screen p99 under 100 ms during the
floods, the console's RSS under 300 MB, each pane line bounded.

The key is tab (focus moves to the next widget); its latency is the time from the key event
being posted to the focus having moved. The last line is the summary line:
  ui_flood bench=big_output seq_s=... line_s=... keys=... p99_ms=... rss_mb=... ...

Usage: .venv/bin/python bench/big_output.py [ROUNDS]   (default 2 floods of each)
Run as root (sshd). Everything it starts it stops, by pid; it talks to 127.0.0.0/8 only.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the repository, not bench/, first on the path
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

from tests.lab.lab import Lab, missing_requirements  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
SEQ_LAST = 5_000_000
SEQ_BYTES = sum(len(str(i)) + 1 for i in range(1, SEQ_LAST + 1))
LINE_BYTES = 150 * 1024 * 1024


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def flood(app, fleet, host, command, latencies: list[float], events) -> tuple:
    task = asyncio.ensure_future(fleet.run_one(host, command, timeout=600))
    started = time.perf_counter()
    while not task.done():
        before = app.focused
        t0 = time.perf_counter()
        app.post_message(events.Key("tab", None))
        while app.focused is before and not task.done():
            await asyncio.sleep(0.001)
        if app.focused is not before:
            latencies.append(time.perf_counter() - t0)
        await asyncio.sleep(max(0.0, 0.05 - (time.perf_counter() - t0)))
    return task.result(), time.perf_counter() - started


async def run(inventory: Path) -> None:
    from textual import events

    from tui.app import make_app
    from tui.backend import BackendSpec
    from tui.fleet.commands import Command
    from tui.fleet.fleet import HostState
    from tui.widgets.host_log import MAX_LINES, HostLog
    from tui.widgets.redacted_log import LINE_LENGTH

    app = make_app(BackendSpec(inventory_path=str(inventory)), refresh_interval=3600)
    async with app.run_test(size=(160, 50)) as pilot:
        fleet = app.backend.fleet
        host = app.backend.inventory.hosts[0].name
        deadline = time.monotonic() + 30
        while fleet.status[host].state != HostState.CONNECTED or not app.query(HostLog):
            if time.monotonic() > deadline:
                raise SystemExit(f"{host} did not connect: {fleet.status[host]}")
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        latencies: list[float] = []
        by_kind: dict[str, list[float]] = {"seq": [], "line": []}
        seq_s, line_s = [], []
        seq = Command.of("seq", "1", str(SEQ_LAST))
        line = Command.of("head", "-c", str(LINE_BYTES), "/dev/zero").pipe("tr", "\\0", "x")
        for _ in range(ROUNDS):
            result, took = await flood(app, fleet, host, seq, by_kind["seq"], events)
            if result.ok or not result.over_cap or result.stdout_bytes != SEQ_BYTES:
                raise SystemExit(f"seq: expected an over-cap error after {SEQ_BYTES} bytes, "
                                 f"got {result.error or 'ok'} ({result.stdout_bytes} bytes)")
            seq_s.append(took)
            result, took = await flood(app, fleet, host, line, by_kind["line"], events)
            if result.ok or not result.over_cap or result.stdout_bytes != LINE_BYTES:
                raise SystemExit(f"one line: expected an over-cap error after {LINE_BYTES} "
                                 f"bytes, got {result.error or 'ok'} ({result.stdout_bytes})")
            line_s.append(took)
        error = result.error
        latencies = by_kind["seq"] + by_kind["line"]
        await pilot.pause(0.5)
        panes = list(app.query(HostLog))
        kept = max(p.line_count for p in panes)
        longest = max((len(text) for p in panes for text in p.lines), default=0)
    rss = rss_mb()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{ROUNDS} x seq 1 {SEQ_LAST} ({SEQ_BYTES / 1e6:.1f} MB): median "
          f"{statistics.median(seq_s):.2f} s; {ROUNDS} x one {LINE_BYTES >> 20} MiB line: "
          f"median {statistics.median(line_s):.2f} s")
    print(f"result: {error}")
    print(f"key-to-screen during the floods ({len(latencies)} keys): median "
          f"{statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max "
          f"{latencies[-1] * 1000:.1f} ms")
    for kind, values in by_kind.items():
        values.sort()
        print(f"  {kind}: {len(values)} keys, p99 "
              f"{values[min(len(values) - 1, int(len(values) * 0.99))] * 1000:.1f} ms")
    print(f"max RSS {rss:.0f} MB; pane lines kept {kept} (bound {MAX_LINES}); longest pane "
          f"line {longest} characters (bound {LINE_LENGTH})")
    print(f"ui_flood bench=big_output seq_mb={SEQ_BYTES / 1e6:.1f} line_mb={LINE_BYTES >> 20} "
          f"seq_s={statistics.median(seq_s):.2f} line_s={statistics.median(line_s):.2f} "
          f"keys={len(latencies)} p99_ms={p99 * 1000:.1f} "
          f"median_ms={statistics.median(latencies) * 1000:.1f} rss_mb={rss:.0f} "
          f"pane_line_max={longest} over_cap_errors={2 * ROUNDS}")


def main() -> None:
    missing = missing_requirements(None, namespaces=False, bastion=False)
    if missing:
        raise SystemExit("this machine lacks: " + ", ".join(missing))
    with Lab(hosts_count=1, etcd=None, namespaces=False, label="big-output") as lab:
        asyncio.run(run(lab.inventory_path))


if __name__ == "__main__":
    main()
