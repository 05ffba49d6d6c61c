"""`pcs`, Pacemaker's command line, on the hosts of a two-node cluster with fencing
(tui.drill.pacemaker). Run by its path like the recovery scripts (tui.drill.commands.scripts), so it runs only
where /usr/sbin/pcs is on the host: elsewhere the shell says `command not found`, as on an
ordinary RHCOS node. The status views are simulated; changing the Pacemaker cluster is not."""

from __future__ import annotations

from tui.drill.pacemaker import PCS_VERSION, resources, status_text
from tui.drill.programs import CommandContext

NOT_ROOT = ("Error: Unable to authenticate against the local pcsd. Run the same command as "
            "root or authenticate yourself to the local pcsd using command "
            "'pcs client local-auth'\n")
USAGE = ("\nUsage: pcs [-f file] [-h] [commands]...\nControl and configure pacemaker and "
         "corosync.\n\nCommands:\n    cluster     Configure cluster options and nodes.\n"
         "    resource    Manage cluster resources.\n    stonith     Manage fence devices.\n"
         "    status      View cluster status.\n")


async def pcs(ctx: CommandContext, argv: list[str]) -> int:
    args = [a for a in argv[1:] if a not in ("--full", "--debug")]
    if args in (["--version"], ["-v"]):
        ctx.out(PCS_VERSION + "\n")
        return 0
    if not args or args[0] in ("-h", "--help", "help"):
        ctx.out(USAGE)
        return 0 if args else 1
    if not ctx.is_root:
        ctx.err(NOT_ROOT)
        return 1
    cluster, host = ctx.cluster, ctx.host
    if args in (["status"], ["status", "cluster"], ["cluster", "status"]):
        ctx.out(status_text(cluster, host))
        return 0
    lines = resources(cluster)
    if args in (["status", "resources"], ["resource"], ["resource", "status"]):
        ctx.out("\n".join(line for line in lines if "stonith:" not in line) + "\n")
        return 0
    if args in (["stonith"], ["stonith", "status"]):
        ctx.out("\n".join(line for line in lines if "stonith:" in line) + "\n")
        return 0
    ctx.err(f"pcs {' '.join(args)}: not available in this drill build (the drill shows "
            "pcs status, pcs resource status and pcs stonith status; it does not change the "
            "Pacemaker cluster)\n")
    return 1

