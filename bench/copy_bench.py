#!/usr/bin/env python3
"""bench/copy_bench: a 1 GB root-only file from one lab host to another, the console's streamed
copy (tui/fleet/stream.py, as RST-03 --backup-source HOST:DIR uses it) against `scp -3`.

Two real OpenSSH sshd lab hosts on loopback (127.0.x.1-2, each in its own mount namespace,
started and stopped by pid by tests/lab). Host A gets SIZE MB of random data (head -c from
/dev/urandom) at /var/lib/etcd/bench/snapshot.db, mode 0600, root's. In the same run:

  (a) copy_s  the console: stat, the stream (sudo cat on A | the console | sudo sh -c
              'cat >> PART' on B), sha256sum on both hosts, rename; everything RST-03 does
  (b) scp_s   `scp -3` of the same file A -> B (through this machine too; no checksum)

and the console's peak RSS during (a) (VmHWM, reset just before the copy). Targets: (a) at
least 0.8x scp's throughput, peak RSS under 200 MB. The last line is the summary line
(CONTRACTS.md, Benchmarks):
  copy size_mb=... copy_s=... scp_s=... ratio=... rss_mb=...

Usage: .venv/bin/python bench/copy_bench.py [--size-mb 1024]
Run as root (sshd). Everything it starts it stops, by pid; it talks to 127.0.0.0/8 only.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.lab import Lab, missing_requirements  # noqa: E402
from tui.fleet.commands import Command, Safety  # noqa: E402
from tui.fleet.fleet import Fleet  # noqa: E402
from tui.fleet.stream import copy_between_hosts  # noqa: E402
from tui.inventory import load_inventory  # noqa: E402

DIR = "/var/lib/etcd/bench"
FILE = f"{DIR}/snapshot.db"


def rss_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        return int(re.search(rf"{key}:\s+(\d+)", f.read()).group(1)) / 1024


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


async def ours(lab: Lab, size: int) -> tuple[float, float, float]:
    """(seconds, peak RSS MB, baseline RSS MB) of the streamed copy A -> B."""
    a, b = lab.hosts[0], lab.hosts[1]
    fleet = Fleet(load_inventory(lab.inventory_path))
    await fleet.start()
    try:
        await fleet.run_one(b.name, Command.of("mkdir", "-p", DIR, privileged=True,
                                               safety=Safety.MUTATING))
        last = [0.0]

        def show(p) -> None:
            if time.monotonic() - last[0] >= 2 or p.done >= p.total:
                last[0] = time.monotonic()
                print(f"  {p.text()}", flush=True)

        reset_peak_rss()
        base = rss_mb("VmRSS")
        started = time.perf_counter()
        result = await copy_between_hosts(fleet, a.name, FILE, b.name, f"{DIR}/ours.db",
                                          on_progress=show)
        took = time.perf_counter() - started
        peak = rss_mb("VmHWM")
        if not result.ok:
            raise SystemExit(f"copy: the streamed copy failed: {result.error}")
        if result.size != size or result.sent != size:
            raise SystemExit(f"copy: sent {result.sent} of {size} bytes")
        return took, peak, base
    finally:
        await fleet.close()


def scp3(lab: Lab) -> float:
    a, b = lab.hosts[0], lab.hosts[1]
    common = ["-F", str(lab.ssh_config_path), "-o", "BatchMode=yes",
              "-o", f"UserKnownHostsFile={lab.known_hosts_path}",
              "-o", "StrictHostKeyChecking=yes", "-i", str(lab.key_path),
              "-P", str(lab.port)]
    started = time.perf_counter()
    subprocess.run(["scp", "-3", "-q", *common, f"root@{a.address}:{FILE}",
                    f"root@{b.address}:{DIR}/scp.db"], check=True, stdin=subprocess.DEVNULL,
                   timeout=1800)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    args = parser.parse_args()
    missing = missing_requirements(None)
    if missing:
        raise SystemExit("copy: this machine lacks " + ", ".join(missing))
    size = args.size_mb * 1024 * 1024
    with Lab(hosts_count=2, etcd=None, namespaces=True, label="copybench") as lab:
        a, b = lab.hosts[0], lab.hosts[1]
        src = a.path(FILE)
        src.parent.mkdir(parents=True, exist_ok=True)
        b.path(DIR).mkdir(parents=True, exist_ok=True)
        subprocess.run(f"head -c {size} /dev/urandom > {src} && chmod 600 {src}",
                       shell=True, check=True)
        try:
            print(f"streamed copy of {args.size_mb} MiB, {a.name} -> {b.name}:", flush=True)
            copy_s, peak, base = asyncio.run(ours(lab, size))
            scp_s = scp3(lab)
            same = subprocess.run(["cmp", str(b.path(f"{DIR}/ours.db")), str(src)]).returncode
            if same != 0:
                raise SystemExit("copy: the copied file differs from the source")
        finally:
            for host in (a, b):
                subprocess.run(["rm", "-rf", str(host.path(DIR))], check=False)
    ratio = scp_s / copy_s  # our throughput over scp's
    mb = size / 1e6
    print(f"streamed copy (verified, sha256 on both hosts): {copy_s:.2f} s, "
          f"{mb / copy_s:.0f} MB/s; peak RSS {peak:.0f} MB (before: {base:.0f} MB)")
    print(f"scp -3 (no checksum): {scp_s:.2f} s, {mb / scp_s:.0f} MB/s")
    print(f"throughput ratio {ratio:.2f} (target >= 0.8); peak RSS {peak:.0f} MB (target < 200)")
    print(f"copy size_mb={args.size_mb} copy_s={copy_s:.2f} scp_s={scp_s:.2f} "
          f"ratio={ratio:.2f} rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
