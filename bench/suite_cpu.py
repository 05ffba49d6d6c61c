"""Where the test suite's time goes: wall time and CPU per test, summed per file.

As a pytest plugin it records, for every test, its wall time and the CPU of the process
that ran it (its own, and that of the children it reaped: CLI runs, etcd, sshd), one JSON
line per test in ETCD_DR_SUITE_CPU (a directory; one file per pytest-xdist worker):

    ETCD_DR_SUITE_CPU=/tmp/cpu PYTHONPATH=bench .venv/bin/pytest -q -p suite_cpu \\
        -n 4 --dist loadgroup

As a script it prints the totals and the files that cost the most:

    .venv/bin/python bench/suite_cpu.py /tmp/cpu [N]

A child's CPU is counted when it is reaped, so a lab stopped by a later test's fixture is
charged to that test: read the per-file sums, not single tests. The eighth session's
measurements (bench/RESULTS.md, 2026-12-04) were made with it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

_out = None


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _out
    folder = os.environ.get("ETCD_DR_SUITE_CPU")
    if not folder:
        yield
        return
    if _out is None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        _out = open(Path(folder) / f"cpu-{os.getpid()}.jsonl", "w")  # noqa: SIM115
    wall, (own, children) = time.monotonic(), _cpu()
    yield
    own_after, children_after = _cpu()
    _out.write(json.dumps({"id": item.nodeid, "wall": time.monotonic() - wall,
                           "self": own_after - own, "child": children_after - children}) + "\n")
    _out.flush()


def summarize(folder: str, top: int = 30) -> str:
    rows = [json.loads(line) for path in sorted(Path(folder).glob("cpu-*.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]
    # the CLI runs tests/cli_zygote.py forked for a test: children of the zygote, not of
    # the test's process, so charged here
    for path in sorted(Path(folder).glob("zygote-*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                run = json.loads(line)
                rows.append({"id": run["id"], "wall": 0.0, "self": 0.0, "child": run["zygote"],
                             "run": 1})
    per_file: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0])
    for row in rows:
        entry = per_file[row["id"].split("::")[0]]
        entry[0] += row["wall"]
        entry[1] += row["self"]
        entry[2] += row["child"]
        entry[3] += 0 if row.get("run") else 1
    tests = sum(1 for r in rows if not r.get("run"))
    lines = [(f"{tests} tests: {sum(r['wall'] for r in rows):.0f} s of test wall time, "
              f"{sum(r['self'] for r in rows):.0f} s CPU in the test processes, "
              f"{sum(r['child'] for r in rows):.0f} s in their children"),
             f"{'wall':>8} {'own CPU':>8} {'children':>8} {'tests':>5}  file"]
    for name, (wall, own, children, n) in sorted(per_file.items(),
                                                 key=lambda kv: -(kv[1][1] + kv[1][2]))[:top]:
        lines.append(f"{wall:8.1f} {own:8.1f} {children:8.1f} {n:5d}  {name}")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(summarize(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30))
