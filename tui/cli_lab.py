"""`etcd-dr lab`: the simulated cluster standalone, for trainers and tests. `serve` runs one
drill cluster (or a fleet of them) until interrupted; `inject` disturbs a running one."""

from __future__ import annotations

import asyncio
import signal
import sys

import click

from tui.cli_options import fail, operator_errors, scenario_option, speed_option


@click.group()
def lab():
    """The simulated cluster, standalone (for trainers and tests)."""


def _address_base(ctx, param, value):
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != "127" or not all(
            p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        raise click.BadParameter(f"{value!r}: write three numbers of a loopback address, "
                                 f"e.g. 127.0.31 (the hosts are then 127.0.31.1, ...)")
    return value


@lab.command("serve")
@scenario_option
@click.option("--inventory-out", default=None, metavar="FILE",
              help="Where to write the inventory that reaches the lab.")
@speed_option
@click.option("--address-base", default="127.0.3", show_default=True, callback=_address_base,
              metavar="127.X.Y", help="Loopback addresses of the hosts (127.X.Y.1, ...): "
                                      "several labs side by side, each its own cluster.")
@click.option("--clusters", type=click.IntRange(min=1), default=None, metavar="N",
              help="Serve a fleet of N drill clusters instead (the readiness wall's drill "
                   "fleet, on 127.1.1.x, 127.1.2.x, ...), with --inventory-dir.")
@click.option("--inventory-dir", default=None, metavar="DIR",
              help="--clusters: write one inventory per cluster here (NAME.yaml, and NAME.d/ "
                   "with its keys).")
@operator_errors
def lab_serve(scenario, inventory_out, speed, address_base="127.0.3", clusters=None,
              inventory_dir=None):
    """Run the simulated cluster (or, with --clusters, a fleet) until interrupted."""
    from pathlib import Path

    from tui.drill.lab import DrillLab

    from tui.files import refuse_unusual

    if clusters is not None or inventory_dir is not None:
        if clusters is None or inventory_dir is None or inventory_out or scenario or \
                address_base != "127.0.3":
            fail("a fleet is served with --clusters N --inventory-dir DIR (and neither "
                 "--scenario, --inventory-out nor --address-base: the fleet mixes "
                 "scenarios, each cluster on addresses of its own).", 2)
        _serve_fleet(clusters, inventory_dir, speed)
        return
    if not inventory_out:
        fail("give --inventory-out FILE (or --clusters N --inventory-dir DIR).", 2)

    out = Path(inventory_out)
    workdir = out.parent / (out.stem + ".d")
    # before any key is made: a link, a device, a directory, a path under a file is refused
    refuse_unusual(out, what="the inventory", hint="Give --inventory-out a new or existing "
                                                   "regular file in a writable directory")

    async def serve():
        from tui.drill.control import LabConsole

        lab = DrillLab(scenario or "healthy", speed=speed, workdir=workdir,
                       address_base=address_base)
        await lab.start(inventory_path=out)
        # trainers inject faults: `etcd-dr lab inject` (control port) or lines typed here
        console = LabConsole(lab, out, lambda line: click.echo(line, err=True))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await console.start(stdin=sys.stdin)
            hosts = ", ".join(f"{h.name} {h.address}:{h.ssh_port}" for h in lab.cluster.hosts)
            click.echo(f"drill cluster {lab.cluster.name} (scenario {lab.cluster.scenario}) is "
                       f"up: {hosts}; API {lab.api.url}"
                       + (f"; time x{speed:g}" if speed != 1 else ""), err=True)
            click.echo(f"inventory: {out}  (keys, known_hosts, kubeconfig in {workdir})",
                       err=True)
            click.echo(f"faults: etcd-dr lab inject --inventory {out} ACTION [ARGS]"
                       + (f"  or type here. {console.keys_help()}"
                          if console.reads_keys else ""), err=True)
            click.echo("Press Ctrl-C to stop.", err=True)
            await stop.wait()
        finally:
            await console.stop()
            await lab.stop()

    asyncio.run(serve())


def _serve_fleet(clusters: int, inventory_dir: str, speed: float) -> None:
    """`lab serve --clusters N --inventory-dir DIR`: the drill fleet until interrupted."""
    from pathlib import Path

    from tui.drill.fleetlab import DrillFleet

    directory = Path(inventory_dir)
    if directory.exists() and (directory.is_symlink() or not directory.is_dir()):
        fail(f"{inventory_dir}: --inventory-dir must be a directory (not a link or a file).",
             2)

    async def serve():
        fleet = DrillFleet(clusters, speed=speed, inventory_dir=directory)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            paths = await fleet.start()
            for member, path in zip(fleet.members, paths):
                click.echo(f"{member.name}: {member.scenario}, backup {member.backup}: {path}",
                           err=True)
            click.echo(f"{len(paths)} drill cluster(s) up; inventories in {directory}. "
                       f"Press Ctrl-C to stop.", err=True)
            await stop.wait()
        finally:
            await fleet.stop()

    asyncio.run(serve())


@lab.command("inject", context_settings={"ignore_unknown_options": True})
@click.option("--inventory", "inventory_path", required=True, metavar="FILE",
              help="The inventory `lab serve --inventory-out` wrote.")
@click.argument("action", metavar="ACTION")
@click.argument("args", nargs=-1, metavar="[ARGS]...")
@operator_errors
def lab_inject(inventory_path, action, args):
    """Inject a fault into a running `lab serve` (its console sees it within one refresh).

    \b
    drop-host HOST [SECONDS]            the machine goes away (for SECONDS of drill time)
    restore-host HOST                   it comes back
    fill-db HOST                        the member's database to its quota: NOSPACE
    alarm HOST NOSPACE|CORRUPT          raise that alarm
    disarm                              clear every alarm
    stall-pod HOST MANIFEST [SECONDS]   kubelet stuck on a static pod (etcd, kube-apiserver,
                                        ...) until release-pod HOST MANIFEST (or SECONDS)
    drop-ssh HOST SECONDS               SSH refused for SECONDS of drill time, then back
    list                                what is injected now
    """
    from tui.drill.control import send_command

    click.echo(send_command(inventory_path, [action, *args]))
