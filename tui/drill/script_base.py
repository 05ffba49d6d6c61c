"""What the drill's stand-ins for OpenShift's host scripts (cluster-backup.sh, the restore
scripts) share: the host they act on, their output, file tests, and `exit N` anywhere."""

from __future__ import annotations

from typing import Awaitable, Callable

from tui.drill.model import DrillCluster, DrillHost
from tui.drill.programs import CommandContext
from tui.drill.vfs import FsError


class ScriptExit(Exception):
    """`exit STATUS` from anywhere in a script."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class HostScript:
    def __init__(self, ctx: CommandContext, argv: list[str]):
        self.ctx = ctx
        self.argv = argv
        self.cluster: DrillCluster = ctx.cluster
        self.host: DrillHost = ctx.host
        self.clock = self.cluster.clock
        self.vfs = ctx.vfs

    def out(self, text: str) -> None:
        self.ctx.out(text)

    def err(self, text: str) -> None:
        self.ctx.err(text)

    def is_file(self, path: str) -> bool:
        try:
            return self.vfs.stat(path)[1] == "file"
        except FsError:
            return False

    def is_dir(self, path: str) -> bool:
        return self.vfs.is_dir(path)

    async def run_body(self, body: Callable[[], Awaitable[None]]) -> int:
        """Run the script's body; its exit status (0 when it runs to the end)."""
        try:
            await body()
        except ScriptExit as e:
            return e.status
        return 0
