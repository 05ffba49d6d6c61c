"""The commands over many clusters: `etcd-dr wall` (the read-only readiness wall) and
`etcd-dr run backup --inventory-dir DIR` (one verified backup per cluster, the nightly job's
command; `run` itself is in tui/cli.py and hands several clusters to this)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import click

from tui.cli_options import duration, fail, operator_errors


@click.command()
@click.argument("paths", nargs=-1, metavar="DIR|INVENTORY...")
@click.option("--drill", "use_drill", is_flag=True,
              help="A fleet of drill clusters started in this process (mixed scenarios and "
                   "backups).")
@click.option("--clusters", type=click.IntRange(min=1), default=None, metavar="N",
              help="--drill: how many clusters (default 10).")
@click.option("--json", "as_json", is_flag=True,
              help="Look once and print one JSON object per cluster per line, worst first; "
                   "exit 0 all ready, 1 any not ready.")
@click.option("--interval", default="10s", callback=duration, metavar="DURATION",
              show_default=True, help="How often the wall looks again.")
@click.option("--max-backup-age", "max_backup_age", default="24h", callback=duration,
              metavar="DURATION", show_default=True,
              help="A newest backup older than this puts the cluster at risk.")
@click.option("--backup-dir", default="/home/core/assets/backup", show_default=True,
              metavar="DIR", help="Where the backups are on each control-plane host.")
@click.option("--timeout", "probe_timeout", default="30s", callback=duration,
              metavar="DURATION", show_default=True,
              help="The time one cluster's look may take; past it the row says so.")
@click.option("--parallel", default=16, type=click.IntRange(min=1), show_default=True,
              metavar="N", help="Clusters looked at at once.")
@operator_errors
def wall(paths, use_drill, clusters, as_json, interval, max_backup_age, backup_dir,
         probe_timeout, parallel):
    """Read-only readiness wall over many clusters: verdict, members, leader, DB size and
    fragmentation, alarms, encryption, version and the newest backup (its age, whether it
    verifies, whether it carries the encryption config), worst first. Enter opens a
    cluster's status screen (read-only), escape comes back."""
    from tui.wall.probe import Wall, inventory_paths
    from tui.wall.readiness import Thresholds

    if bool(paths) == bool(use_drill):
        fail("give inventory files or directories, or --drill (not both).", 2)
    if clusters is not None and not use_drill:
        fail("--clusters goes with --drill.", 2)
    if not backup_dir.startswith("/"):
        fail(f"--backup-dir must be an absolute path on the hosts, not {backup_dir!r}.", 2)
    fleet = None
    inventories: list[str] = []
    if use_drill:
        from tui.drill.fleetlab import DrillFleet

        fleet = DrillFleet(clusters or 10)
    else:
        inventories = inventory_paths(paths)
    the_wall = Wall(inventories, fleet=fleet, backup_dir=backup_dir, timeout=probe_timeout,
                    parallel=parallel, thresholds=Thresholds(max_backup_age_s=max_backup_age))
    if not as_json:
        from screens.wall import run_wall

        run_wall(the_wall, interval=interval)
        return

    async def once():
        try:
            return await the_wall.refresh()
        finally:
            await the_wall.close()

    rows = asyncio.run(once())
    from tui.secrets import redact

    for row in rows:
        click.echo(json.dumps(redact(row.to_json())))
    sys.exit(0 if rows and all(r.verdict == "ready" for r in rows) else 1)


def run_fleet_backup_command(*, inventories, inventory_dir, use_drill, scenario, host, backup_dir,
                      override, yes, journal_path, op_timeout, fetch_to, dry_run, assume,
                      read_only, keep, parallel, as_json) -> None:
    """`run backup` over several clusters (tui/runbooks/fleet_backup.py); exits."""
    from tui.runbooks.fleet_backup import DEFAULT_PARALLEL, inventory_files, run_fleet_backup

    if use_drill or scenario:
        fail("--drill goes with one cluster; --inventory-dir and --inventory name real "
             "clusters (a drill's: `etcd-dr lab serve --inventory-out DIR/NAME.yaml`).", 2)
    if inventory_dir is None and not inventories:
        fail("give --inventory-dir DIR (or --inventory FILE, repeated) for --keep, "
             "--parallel or --json.", 2)
    for flag, given in (("--host", host), ("--journal", journal_path), ("--dry-run", dry_run),
                        ("--assume", assume)):
        if given:
            fail(f"{flag} goes with one cluster; a backup of several chooses each one's "
                 f"host itself (a healthy non-leader) and writes each its own journal.", 2)
    params: dict = {"backup_dir": backup_dir}
    if op_timeout is not None:
        from tui.timeouts import check_override

        try:
            params["timeout"] = check_override(op_timeout)
        except ValueError as e:
            fail(f"--timeout: {e}.", 2)
    if fetch_to is not None:
        if not fetch_to.strip():
            fail("--fetch-to needs a directory on this machine.", 2)
        params["fetch_to"] = os.path.abspath(os.path.expanduser(fetch_to))
    if override is not None:
        if not override.strip():
            fail("--override needs a reason: say, in words, why it is safe to run despite "
                 "the interlock (it is journaled).", 2)
        params["override"] = override.strip()
    files = inventory_files(inventory_dir, tuple(inventories))
    code = asyncio.run(run_fleet_backup(files, params, keep=keep,
                                        parallel=parallel or DEFAULT_PARALLEL, yes=yes,
                                        read_only=read_only, as_json=as_json))
    sys.exit(code)
