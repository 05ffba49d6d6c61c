#!/usr/bin/env python3
"""bench/fanout: `true` on N hosts at once, the fleet against OpenSSH and Ansible.

Real OpenSSH sshd on N loopback addresses (127.0.6.1..N, or the next free 127.0.M.x when
another lab holds 127.0.6; one sshd per 16 addresses, OpenSSH's listen-socket limit, all
sharing one host key; MaxStartups raised so this measures speed, not refusals), N = 1, 10, 50:

  (a) fleet_open_s   the fleet from Fleet.start to every host's result (connections included)
  (b) fleet_s        the fleet on sessions already open (median)
  (c) ssh_loop_s     a sequential loop of OpenSSH `ssh` (BatchMode, the lab key and known_hosts)
  (d) ssh_parallel_s one `ssh` process per host, all at once
  (e) ansible_s      `ansible all -f N -m command -a true` (ansible-core in its own venv,
                     installed with pip on first use; ansible_s=na when that fails)

Targets on a 2-core machine: at N=50 (a) is 10x faster than (c) and 3x faster than (e), and
(b) stays under 250 ms. The last line is the summary line (shared CONTRACTS.md, Benchmarks):
  fanout n=50 fleet_s=... fleet_open_s=... ssh_loop_s=... ssh_parallel_s=... ansible_s=...
         speedup_loop=... speedup_ansible=...

Usage: .venv/bin/python bench/fanout.py [--sizes 1,10,50] [--repeat 3] [--no-ansible]
Run as root (sshd). Everything it starts it stops, by pid; it talks to 127.0.0.0/8 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.lab import Lab, missing_requirements  # noqa: E402
from tui.fleet.commands import Command  # noqa: E402
from tui.fleet.fleet import Fleet, HostState  # noqa: E402
from tui.inventory import load_inventory  # noqa: E402

ANSIBLE_VENV = Path(os.environ.get("ETCD_DR_ANSIBLE_VENV", "/var/tmp/etcd-dr-ansible-venv"))
TRUE = Command.of("true")


# --- the fleet -----------------------------------------------------------------------------

async def fleet_runs(inventory_path: Path, repeat: int) -> tuple[float, float, list[str]]:
    """((a) open-and-run seconds, (b) run-on-open seconds, notes about refusals)."""
    inventory = load_inventory(inventory_path)
    names = [h.name for h in inventory.hosts]
    opens, warm, notes = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        fleet = Fleet(inventory)
        fleet.subscribe(lambda e: notes.append(e.text) if e.kind == "note" else None)
        try:
            await fleet.start()
            results = await fleet.run(names, TRUE)
            opens.append(time.perf_counter() - started)
            _check(results, fleet)
            for _ in range(5):
                t = time.perf_counter()
                results = await fleet.run(names, TRUE)
                warm.append(time.perf_counter() - t)
                _check(results, fleet)
        finally:
            await fleet.close()
    return statistics.median(opens), statistics.median(warm), notes


def _check(results, fleet: Fleet) -> None:
    bad = {n: (r.error or r.exit_status) for n, r in results.items() if not r.ok}
    if bad:
        states = {n: fleet.status[n].state.value for n in bad}
        raise SystemExit(f"fanout: the fleet failed on {len(bad)} hosts: "
                         f"{dict(list(bad.items())[:3])} {states if states else ''}")
    assert all(s.state == HostState.CONNECTED for s in fleet.status.values())


# --- OpenSSH -------------------------------------------------------------------------------

def ssh_argv(lab: Lab, address: str) -> list[str]:
    return ["ssh", "-F", str(lab.ssh_config_path), "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={lab.known_hosts_path}", "-o", "StrictHostKeyChecking=yes",
            "-o", "ControlMaster=no", "-i", str(lab.key_path), "-p", str(lab.port),
            f"root@{address}", "true"]


def ssh_loop(lab: Lab) -> float:
    started = time.perf_counter()
    for h in lab.hosts:
        subprocess.run(ssh_argv(lab, h.address), check=True, stdin=subprocess.DEVNULL,
                       timeout=60)
    return time.perf_counter() - started


def ssh_parallel(lab: Lab) -> float:
    started = time.perf_counter()
    procs = [subprocess.Popen(ssh_argv(lab, h.address), stdin=subprocess.DEVNULL)
             for h in lab.hosts]
    codes = [p.wait(60) for p in procs]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"fanout: parallel ssh failed on {sum(1 for c in codes if c)} hosts")
    return elapsed


# --- Ansible -------------------------------------------------------------------------------

def ansible_binary() -> tuple[Path | None, str]:
    """(ansible, why-not): ansible-core in its own venv, installed by pip on first use."""
    ansible = ANSIBLE_VENV / "bin" / "ansible"
    if ansible.exists():
        return ansible, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True,
                       capture_output=True, timeout=120)
        pip = subprocess.run([str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q",
                              "ansible-core"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"could not make a venv for ansible-core: {e}"
    if pip.returncode != 0 or not ansible.exists():
        lines = (pip.stderr or pip.stdout).strip().splitlines()
        return None, f"pip could not install ansible-core: {lines[-1] if lines else pip.returncode}"
    return ansible, ""


def ansible_inventory(lab: Lab, path: Path) -> Path:
    common = (f"-F {lab.ssh_config_path} -o UserKnownHostsFile={lab.known_hosts_path} "
              f"-o StrictHostKeyChecking=yes")
    lines = ["[all]"]
    lines += [f"{h.name} ansible_host={h.address} ansible_port={h.port}" for h in lab.hosts]
    lines += ["", "[all:vars]", "ansible_user=root",
              f"ansible_ssh_private_key_file={lab.key_path}",
              f"ansible_ssh_common_args='{common}'",
              "ansible_python_interpreter=/usr/bin/python3"]
    path.write_text("\n".join(lines) + "\n")
    return path


def ansible_run(ansible: Path, inventory: Path, n: int, home: Path) -> float:
    env = dict(os.environ, ANSIBLE_HOME=str(home), ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(home / "cp"), ANSIBLE_PIPELINING="True",
               ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_FORKS=str(n))
    started = time.perf_counter()
    proc = subprocess.run([str(ansible), "all", "-f", str(n), "-i", str(inventory),
                           "-m", "command", "-a", "true", "-o"], capture_output=True,
                          text=True, env=env, timeout=300)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"ansible exited {proc.returncode}: "
                           f"{(proc.stdout + proc.stderr).strip().splitlines()[-3:]}")
    return elapsed


# --- driver --------------------------------------------------------------------------------

def measure(n: int, repeat: int, use_ansible: bool) -> dict:
    with Lab(hosts_count=n, etcd=None, namespaces=True, shared_sshd=True,
             sshd_options=["MaxStartups 500:30:1000"], name_prefix="host-",
             preferred_subnet=6, label="fanout") as lab:
        row: dict = {"n": n, "subnet": f"127.0.{lab.subnet.n}.1-{n}", "sshds": len(lab.sshds)}
        open_s, warm_s, notes = asyncio.run(fleet_runs(lab.inventory_path, repeat))
        row.update(fleet_open_s=open_s, fleet_s=warm_s, refusals=len(notes))
        row["ssh_loop_s"] = statistics.median(ssh_loop(lab) for _ in range(max(1, repeat - 1)))
        row["ssh_parallel_s"] = statistics.median(ssh_parallel(lab) for _ in range(repeat))
        row["ansible_s"] = None
        if use_ansible:
            ansible, why = ansible_binary()
            if ansible is None:
                row["ansible_na"] = why
            else:
                home = Path(tempfile.mkdtemp(prefix="etcd-dr-fanout-ansible-"))
                try:
                    inventory = ansible_inventory(lab, home / "hosts.ini")
                    row["ansible_s"] = statistics.median(
                        ansible_run(ansible, inventory, n, home) for _ in range(repeat))
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    row["ansible_na"] = str(e)
                finally:
                    shutil.rmtree(home, ignore_errors=True)
        else:
            row["ansible_na"] = "--no-ansible"
        return row


def fmt(value: float | None, digits: int = 3) -> str:
    return "na" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-ansible", action="store_true")
    args = parser.parse_args()
    missing = missing_requirements(None, namespaces=False)
    if missing:
        raise SystemExit("fanout: this machine lacks " + ", ".join(missing))
    sizes = [int(s) for s in args.sizes.split(",")]

    rows = [measure(n, args.repeat, not args.no_ansible) for n in sizes]
    print(f"{'n':>4} {'fleet_open_s':>12} {'fleet_s':>8} {'ssh_loop_s':>10} "
          f"{'ssh_par_s':>9} {'ansible_s':>9} {'x_loop':>7} {'x_ansible':>9} {'refused':>7}")
    for r in rows:
        x_loop = r["ssh_loop_s"] / r["fleet_open_s"]
        x_ans = r["ansible_s"] / r["fleet_open_s"] if r["ansible_s"] else None
        print(f"{r['n']:>4} {fmt(r['fleet_open_s']):>12} {fmt(r['fleet_s']):>8} "
              f"{fmt(r['ssh_loop_s']):>10} {fmt(r['ssh_parallel_s']):>9} "
              f"{fmt(r['ansible_s']):>9} {x_loop:>7.1f} {fmt(x_ans, 1):>9} {r['refusals']:>7}")
    for r in rows:
        if r.get("ansible_na"):
            print(f"n={r['n']}: ansible_s=na because {r['ansible_na']}")
    print(f"addresses: {', '.join(r['subnet'] + ' (' + str(r['sshds']) + ' sshd)' for r in rows)};"
          f" repeat={args.repeat}; fleet_s is the median of {5 * args.repeat} runs")
    last = rows[-1]
    x_ans = last["ansible_s"] / last["fleet_open_s"] if last["ansible_s"] else None
    print(f"fanout n={last['n']} fleet_s={fmt(last['fleet_s'])} "
          f"fleet_open_s={fmt(last['fleet_open_s'])} ssh_loop_s={fmt(last['ssh_loop_s'])} "
          f"ssh_parallel_s={fmt(last['ssh_parallel_s'])} ansible_s={fmt(last['ansible_s'])} "
          f"speedup_loop={last['ssh_loop_s'] / last['fleet_open_s']:.1f} "
          f"speedup_ansible={fmt(x_ans, 1)}")


if __name__ == "__main__":
    main()
