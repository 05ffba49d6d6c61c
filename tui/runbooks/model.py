"""Runbooks as data: a runbook is an ordered list of Steps; a Runner executes them.

A Step says, in values, what the procedure says in prose: its RUNBOOK.md ID, what it does in
the operator's words, where it acts, the action (SSH commands or an API call), the check that
proves it worked (and that lets a re-run or a resume see it is already done), how to wait,
how dangerous it is, what confirmation it needs, and when it does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from tui.fleet.commands import Command, Safety

if TYPE_CHECKING:  # pragma: no cover
    from tui.runbooks.context import RunContext
    from tui.runbooks.runner import StepRun


class Targets(str, Enum):
    CHOSEN_HOST = "the chosen host"
    RECOVERY_HOST = "the recovery host"
    NON_RECOVERY_HOSTS = "every control-plane host but the recovery host"
    CONTROL_PLANE = "every control-plane host"
    ALL_NODES = "every node"
    API = "the cluster API"
    CONSOLE = "the console itself"  # checks and decisions that touch nothing


class Confirm(str, Enum):
    NONE = "none"
    YES_NO = "yes/no"
    TYPE_HOST = "type the host name"
    TYPE_CLUSTER = "type the cluster name"


@dataclass(frozen=True)
class Wait:
    """Poll the check every `interval` seconds until it holds, for at most `timeout`."""

    interval: float = 5.0
    timeout: float = 300.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class ApiAction:
    """An API call: `describe` says exactly what will be sent (for plans and confirmations)."""

    describe: Callable[["RunContext"], str]
    call: Callable[["RunContext"], Awaitable[str]]  # returns what happened, for the journal


CommandsFor = Callable[["RunContext", str], list[Command]]  # (ctx, host name) -> commands
# a step whose work depends on what it finds as it goes (defrag re-reads the leader before
# each member): it acts through the StepRun it is given, which journals everything
Action = Callable[["RunContext", "StepRun"], Awaitable[str]]
Check = Callable[["RunContext", Optional[str]], Awaitable[CheckResult]]
OutputHook = Callable[["RunContext", str, object], None]  # (ctx, host, RunResult)


@dataclass(frozen=True)
class Step:
    id: str  # the RUNBOOK.md ID, e.g. "BAK-4"
    title: str
    explain: str  # what it will do and why, in the operator's words
    targets: Targets = Targets.CONSOLE
    commands: CommandsFor | None = None  # SSH action: commands per target host, in order
    api: ApiAction | None = None  # API action
    action: Action | None = None  # custom action (commands, waits) through a StepRun
    # for a custom action's plan: the commands it expects to send, as (host, command)
    preview: Callable[["RunContext"], list[tuple[str, Command]]] | None = None
    check: Check | None = None  # postcondition; also the already-done probe
    # False: the check is a postcondition only, never taken as "already done" before acting
    # (a state that could be left by anything; the action asks this run's attempt records,
    # tui/runbooks/attempts.py)
    precheck: bool = True
    wait: Wait | None = None  # poll the check after acting (or as the whole step)
    safety: Safety = Safety.READ
    confirm: Confirm = Confirm.NONE
    skip_if: Callable[["RunContext"], str | None] | None = None  # a reason = not applicable
    parallel: bool = True  # run on the targets at once (False: one host after another)
    on_output: OutputHook | None = None  # read facts from a command's result into ctx
    warning: str | None = None  # shown before it runs, with the plan
    # the hosts it acts on, when fewer than `targets` says (e.g. not the lost hosts): what
    # its plan, header and journal lines list
    hosts: Callable[["RunContext"], list[str]] | None = None
    # the phase it belongs to (its title): the first step of a phase that needs a
    # confirmation asks once for every confirming step of that phase, showing each one's
    # commands; a later step whose commands or hosts differ from what was shown asks again
    # (tui/runbooks/runner.py, Runner._confirm)
    phase: str = ""

    @property
    def mutating(self) -> bool:
        return self.safety != Safety.READ


@dataclass(frozen=True)
class Runbook:
    name: str  # the CLI name: backup, encryption-on, ...
    title: str
    steps: tuple[Step, ...]
    # refuses the run before it starts: returns reasons (interlocks from the procedure)
    preflight: Callable[["RunContext"], Awaitable[list[str]]] | None = None
    params: tuple[str, ...] = field(default=())  # names of ctx.params it needs

    @property
    def mutating(self) -> bool:
        return any(s.mutating for s in self.steps)

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)
