#!/usr/bin/env python3
"""bench/defrag_overhead: the console's own time per member in the defrag runbook (DEF-MAN).

A 3-member lab (real OpenSSH sshd per host, real etcd 3.4 on 127.0.N.x), each round lightly
fragmented first (a few MB written, deleted, compacted) so every member really goes through
`etcdctl defrag`. The runbook runs in-process, as `etcd-dr run defrag --yes --wait 0` runs
it (Backend, HeadlessOperator, Journal, Runner), on sessions already open; what etcd spends
(the defrag commands) and the waits (0 s) are taken out, what is left is the console's:
status reads, checks, journal lines.

  per member (narrow)  the member's span from its DEF-MAN-2/-5 `started` line to its
                       DEF-MAN-3 `finished` line, minus its defrag command's `duration`
  per member (full)    (whole run, DEF-MAN-1 to DEF-MAN-6 - every defrag command's
                       duration - the waits) / members: the status reads before each member
                       and after each wait, the leader look-up and the alarm check included
  collects/member      status snapshots read (StatusCollector.collect calls) per member
  collect_ms/member    time spent in those reads, per member (part of full)

Target on the 2-core machine: under 200 ms per member (full). The last line is the summary:
  defrag_overhead members=3 per_member_ms=... max_ms=... target_ms=200

Usage: .venv/bin/python bench/defrag_overhead.py [--rounds 5] [--etcd 3.4]
Run as root (sshd). Everything it starts it stops, by pid; it talks to 127.0.0.0/8 only.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.lab import Lab, missing_requirements  # noqa: E402
from tui.backend import Backend, BackendSpec  # noqa: E402
from tui.journal import Journal  # noqa: E402
from tui.runbooks.context import RunContext  # noqa: E402
from tui.runbooks.defrag import DEFRAG  # noqa: E402
from tui.runbooks.headless import HeadlessOperator  # noqa: E402
from tui.runbooks.runner import Runner  # noqa: E402

TARGET_MS = 200.0
MB = 1024 * 1024


def fragment(lab: Lab, mb: int) -> None:
    """mb MB in 512 KB values (on stdin: over the argv limit), deleted, history compacted."""
    h = lab.hosts[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "ETCDCTL_"))}
    env["ETCDCTL_API"] = "3"
    value = "b" * (MB // 2)
    for i in range(mb * 2):
        subprocess.run([h.etcd.etcdctl_binary, f"--endpoints={h.etcd.client_url}", "put",
                        f"/bench/{i:04d}"], input=value, text=True, env=env, check=True,
                       capture_output=True, timeout=30)
    lab.etcdctl(h, "del", "--prefix", "/bench/")
    rev = max(r["Status"]["header"]["revision"] for r in lab.endpoint_status())
    lab.etcdctl(h, "compact", str(rev), "--physical")
    lab.settle()


def _t(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def analyse(lines: list[dict], wall_s: float) -> dict:
    """Per-member overhead from one run's journal."""
    members: dict[str, dict] = {}
    durations = []
    for i, l in enumerate(lines):
        if l["step"] in ("DEF-MAN-2", "DEF-MAN-5") and l["event"] == "started" \
                and "member" in l:
            members[l["member"]] = {"start": _t(l["time"]), "step": l["step"]}
        elif l["step"] in ("DEF-MAN-2", "DEF-MAN-5") and l["event"] == "finished" \
                and "defrag" in l.get("command", ""):
            member = next(reversed(members))
            members[member]["defrag_s"] = l["duration"]
            durations.append(l["duration"])
        elif l["step"] == "DEF-MAN-3" and l["event"] == "finished":
            members[l["member"]]["end"] = _t(l["time"])
    waits = sum(l["wait_s"] for l in lines if l["step"] == "DEF-MAN-4"
                and l["event"] == "started")
    narrow = {m: (v["end"] - v["start"] - v["defrag_s"]) * 1000 for m, v in members.items()}
    full = (wall_s - sum(durations) - waits) * 1000 / max(len(members), 1)
    return {"narrow": narrow, "full": full, "defrag_ms": sum(durations) * 1000 / len(durations),
            "members": len(members),
            "leader": next(m for m, v in members.items() if v["step"] == "DEF-MAN-5")}


async def one_round(inventory: Path, journal: Path) -> tuple[dict, int]:
    backend = Backend(BackendSpec(inventory_path=str(inventory)))
    await backend.start(wait=True)
    collects, collect_s = 0, 0.0
    real_collect = backend.collector.collect

    async def counted():
        nonlocal collects, collect_s
        collects += 1
        t0 = time.perf_counter()
        try:
            return await real_collect()
        finally:
            collect_s += time.perf_counter() - t0

    backend.collector.collect = counted
    try:
        # warm: the first read on new sessions also pays etcdctl's first exec on each host
        await real_collect()
        j = Journal(journal, DEFRAG.name)
        ctx = RunContext(backend=backend, journal=j, params={"wait": 0.0},
                         operator=HeadlessOperator(yes=True, out=io.StringIO(),
                                                   interactive=False))
        started = time.perf_counter()
        try:
            await Runner(DEFRAG, ctx).run()
        finally:
            j.close()
        wall = time.perf_counter() - started
    finally:
        await backend.close()
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    result = analyse(lines, wall)
    result["wall_ms"] = wall * 1000
    result["collect_ms"] = collect_s * 1000 / result["members"]
    return result, collects


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--etcd", default="3.4", choices=("3.4", "3.5"))
    ap.add_argument("--mb", type=int, default=4, help="MB written and deleted before a round")
    args = ap.parse_args()
    missing = missing_requirements(args.etcd)
    if missing:
        print(f"defrag_overhead: this machine lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    rows = []
    with Lab(etcd=args.etcd, label="defragbench") as lab, \
            tempfile.TemporaryDirectory(prefix="etcd-dr-defrag-bench-") as tmp:
        for r in range(args.rounds):
            fragment(lab, args.mb)
            result, collects = asyncio.run(one_round(lab.inventory_path,
                                                     Path(tmp) / f"round-{r}.jsonl"))
            result["collects"] = collects / result["members"]
            rows.append(result)
    print(f"defrag runbook, etcd {args.etcd}, 3 members, --wait 0, {args.rounds} rounds "
          f"({args.mb} MB written and deleted before each)")
    print(f"{'round':>5} {'wall_ms':>8} {'defrag_ms':>9} {'narrow_ms (per member)':>34} "
          f"{'full_ms/member':>14} {'collects/member':>15} {'collect_ms/member':>17}")
    for i, r in enumerate(rows):
        narrow = " ".join(f"{m}={v:.0f}" for m, v in sorted(r["narrow"].items()))
        print(f"{i + 1:>5} {r['wall_ms']:>8.0f} {r['defrag_ms']:>9.0f} {narrow:>34} "
              f"{r['full']:>14.0f} {r['collects']:>15.2f} {r['collect_ms']:>17.0f}")
    full = [r["full"] for r in rows]
    narrow_all = [v for r in rows for v in r["narrow"].values()]
    print(f"narrow per member: median {statistics.median(narrow_all):.0f} ms, "
          f"max {max(narrow_all):.0f} ms")
    per_member, worst = statistics.median(full), max(full)
    print(f"full per member: median {per_member:.0f} ms, max {worst:.0f} ms "
          f"({'met' if per_member < TARGET_MS else 'MISSED'}: target {TARGET_MS:.0f} ms)")
    print(f"defrag_overhead members={rows[0]['members']} per_member_ms={per_member:.0f} "
          f"max_ms={worst:.0f} target_ms={TARGET_MS:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
