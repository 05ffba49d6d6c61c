"""The shell scripts OpenShift installs on control-plane nodes (/usr/local/bin/*.sh), and
the other programs the drill runs by their path (pcs on two-node clusters).

Each is a Python coroutine looked up by its path; the file itself must also be on the host
(tui.drill.hostfiles puts it there), so moving or deleting it makes running it fail as it
would on a real node. The modules named below document what each follows.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from tui.drill.backup_script import cluster_backup
from tui.drill.commands.pcs import pcs
from tui.drill.pacemaker import PCS
from tui.drill.programs import CommandContext
from tui.drill.restore_scripts import cluster_restore, disable_etcd, quorum_restore

ScriptFunc = Callable[[CommandContext, list[str]], Awaitable[int]]

# cluster-backup.sh (tui.drill.backup_script); the restore scripts (tui.drill.restore_scripts):
# cluster-restore.sh of every release (4.12-4.13, 4.14-4.17 and 4.18+ layouts), disable-etcd.sh
# and quorum-restore.sh (4.18+; hostfiles installs those two only there); pcs
# (tui.drill.commands.pcs, on two-node clusters with fencing only)
SCRIPTS: dict[str, ScriptFunc] = {
    "/usr/local/bin/cluster-backup.sh": cluster_backup,
    "/usr/local/bin/cluster-restore.sh": cluster_restore,
    "/usr/local/bin/disable-etcd.sh": disable_etcd,
    "/usr/local/bin/quorum-restore.sh": quorum_restore,
    PCS: pcs,
}
