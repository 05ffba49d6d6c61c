"""What a running runbook knows: the backend, its parameters, facts learned on the way, and
the operator it asks (a dialog in the console, a prompt or --yes headless)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from tui.backend import Backend
from tui.fleet.commands import Command
from tui.inventory import Host
from tui.journal import Journal
from tui.pace import WALL, WallPace
from tui.runbooks.model import Confirm, Step, Targets

if TYPE_CHECKING:  # pragma: no cover
    from tui.runbooks.attempts import UnknownDecision, UnknownState


@dataclass(frozen=True)
class ConfirmRequest:
    step: Step
    hosts: list[str]
    commands: list[str]  # exactly what will be sent, per host when they differ
    kind: Confirm
    expected: str  # what must be typed for TYPE_* confirmations
    text: str  # the question
    # a phase's confirmation: its title, and every step it confirms (this one first); the
    # commands are then grouped under each step's "ID title:" line
    phase: str = ""
    covers: tuple[str, ...] = ()
    details: str = ""  # shown after the commands: what each step of a phase does, and why


@dataclass(frozen=True)
class Decision:
    action: str  # "retry" | "skip" | "abort"
    reason: str = ""  # required for skip (journaled as an override)


class RunEventKind(StrEnum):
    """What a RunEvent says. A StrEnum: the journal, the screens and headless all read the
    same values; a kind that is not one of these is refused when the event is made."""

    STEP = "step"  # a step starts: its title, on its hosts
    SKIP = "skip"  # a step will not run: why
    ALREADY_DONE = "already-done"  # its check holds already: nothing sent
    COMMAND = "command"  # a command sent ("$ ..."), on one host
    OUTPUT = "output"  # a line a command printed, on one host
    WAITING = "waiting"  # waiting for a check: for what, and the seconds left (remaining)
    DONE = "done"  # a step finished: what it found
    FAILED = "failed"  # a step failed: why
    NOTE = "note"  # anything else the operator should read (a step's or the run's)
    CANCELLED = "cancelled"  # a confirmation was cancelled: nothing sent for the step
    WARNING = "warning"  # loud: red on the screens, on stderr headless (a quorum guard off)

    @property
    def changes_step_state(self) -> bool:
        """The kinds that move a step's state in the console's steps table."""
        return self in STEP_STATE


@dataclass(frozen=True)
class RunEvent:
    """Progress for the operator's eyes (the journal gets its own lines)."""

    kind: RunEventKind  # a plain string is accepted and made a RunEventKind (or refused)
    step: str = "-"
    text: str = ""
    hosts: tuple[str, ...] = ()
    # seconds left, for waiting: in the operator's time (a drill's simulated seconds, as
    # ctx.time_scale scales them); runner.countdown() says it with its unit
    remaining: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", RunEventKind(self.kind))


# the state a step shows in the console's steps table after an event of this kind
STEP_STATE = {RunEventKind.STEP: "running", RunEventKind.WAITING: "waiting",
              RunEventKind.DONE: "done", RunEventKind.ALREADY_DONE: "already-done",
              RunEventKind.SKIP: "skipped", RunEventKind.FAILED: "failed",
              RunEventKind.CANCELLED: "not started"}


class Operator(Protocol):
    async def confirm(self, request: ConfirmRequest) -> bool: ...

    async def on_failure(self, step: Step, error: str) -> Decision: ...

    # the evidence of whether a command was done is unknown: (decision, reason); see
    # tui/runbooks/attempts.py
    async def on_unknown(self, step: Step, question: "UnknownState"
                         ) -> tuple["UnknownDecision", str]: ...

    def show(self, event: RunEvent) -> None: ...


@dataclass
class RunContext:
    backend: Backend
    journal: Journal | None
    operator: Operator
    params: dict[str, Any] = field(default_factory=dict)  # journaled in the plan line
    facts: dict[str, Any] = field(default_factory=dict)  # learned while running
    dry_run: bool = False
    time_scale: float = 1.0  # a drill at --speed X waits X times less for the same progress
    # the run's ClusterOps (tui.cluster.ops.ClusterOps.for_context makes it on first use;
    # the console reads its last transport)
    cluster_ops: Any = field(default=None, repr=False)
    # a restore's preflight report from resolving its runbook, read once by the runbook's
    # preflight (a retry reads the cluster again)
    restore_report: Any = field(default=None, repr=False)

    @property
    def pace(self):
        """How the run's waits pass and its time is counted (tui.pace): the backend's (a
        drill's fair clock), else the wall's."""
        pace = getattr(self.backend, "pace", None)
        if pace is not None:
            return pace
        return WALL if self.time_scale == 1 else WallPace(self.time_scale)

    @property
    def inventory(self):
        return self.backend.inventory

    @property
    def fleet(self):
        return self.backend.fleet

    @property
    def api(self):
        return self.backend.api

    @property
    def use_sudo(self) -> bool:
        return self.inventory.ssh.sudo

    def host(self, name: str) -> Host:
        return self.inventory.host(name)

    def targets(self, step: Step) -> list[str]:
        if step.hosts is not None:
            return step.hosts(self)
        inv = self.inventory
        cp = [h.name for h in inv.control_plane]
        match step.targets:
            case Targets.CHOSEN_HOST:
                return [self.params["host"]]
            case Targets.RECOVERY_HOST:
                return [self.params["recovery_host"]]
            case Targets.NON_RECOVERY_HOSTS:
                return [h for h in cp if h != self.params["recovery_host"]]
            case Targets.CONTROL_PLANE:
                return cp
            case Targets.ALL_NODES:
                return [h.name for h in inv.hosts]
            case _:
                return []

    def commands_for(self, step: Step, host: str) -> list[Command]:
        return step.commands(self, host) if step.commands else []
