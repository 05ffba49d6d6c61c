"""The shell scripts OpenShift installs on control-plane nodes (/usr/local/bin/*.sh).

Each is a Python coroutine registered by its path; the file itself must also be on the host
(tui.drill.hostfiles puts it there), so moving or deleting it makes running it fail as it
would on a real node. Later drill builds replace the stubs with the real behaviour through
`register_script`.
"""

from __future__ import annotations

import posixpath
from typing import Awaitable, Callable

from tui.drill.commands import CommandContext

ScriptFunc = Callable[[CommandContext, list[str]], Awaitable[int]]

SCRIPTS: dict[str, ScriptFunc] = {}

SCRIPT_PATHS = ("/usr/local/bin/cluster-backup.sh", "/usr/local/bin/cluster-restore.sh",
                "/usr/local/bin/disable-etcd.sh", "/usr/local/bin/quorum-restore.sh")


def register_script(path: str, func: ScriptFunc) -> None:
    SCRIPTS[path] = func


async def _not_yet(ctx: CommandContext, argv: list[str]) -> int:
    ctx.err(f"{posixpath.basename(argv[0])}: not implemented in this drill build yet\n")
    return 1


for _path in SCRIPT_PATHS:
    register_script(_path, _not_yet)


# the scripts the drill simulates for real (each module documents what it follows); imported
# when run, as those modules import this package
async def _cluster_backup(ctx: CommandContext, argv: list[str]) -> int:
    from tui.drill.backup_script import cluster_backup

    return await cluster_backup(ctx, argv)


register_script("/usr/local/bin/cluster-backup.sh", _cluster_backup)


# the restore scripts (tui.drill.restore_scripts): cluster-restore.sh of every release
# (4.12-4.13, 4.14-4.17 and 4.18+ layouts), disable-etcd.sh and quorum-restore.sh (4.18+;
# hostfiles installs those two only there)


async def _disable_etcd(ctx: CommandContext, argv: list[str]) -> int:
    from tui.drill.restore_scripts import disable_etcd

    return await disable_etcd(ctx, argv)


async def _cluster_restore(ctx: CommandContext, argv: list[str]) -> int:
    from tui.drill.restore_scripts import cluster_restore

    return await cluster_restore(ctx, argv)


async def _quorum_restore(ctx: CommandContext, argv: list[str]) -> int:
    from tui.drill.restore_scripts import quorum_restore

    return await quorum_restore(ctx, argv)


register_script("/usr/local/bin/disable-etcd.sh", _disable_etcd)
register_script("/usr/local/bin/cluster-restore.sh", _cluster_restore)
register_script("/usr/local/bin/quorum-restore.sh", _quorum_restore)
