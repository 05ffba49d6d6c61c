"""The restore wizard's setup without its widgets: what the preflight found, the operator's
choices, the gate they make for the start, and the runbook's parameters they become.

The screen (screens/restore.py) runs the preflight and keeps one SetupState; the setup phase
(screens/restore_setup.py) shows it and supplies the typed choices.
"""

from __future__ import annotations

from typing import Protocol

from tui.errors import EtcdDrError

DEFAULT_BACKUP_DIR = "/home/core/assets/backup"
QUORUM = "quorum"  # the procedure choice for QRS (no backup)


def restore_module():
    """tui.runbooks.restore (imported when first needed)."""
    from tui.runbooks import restore

    return restore


def shared_plan(runbook, ctx):
    """The plan `etcd-dr run restore --dry-run` prints (tui/runbooks/restore/plan.py) for
    the runbook (None: no procedure chosen yet)."""
    module = restore_module()
    if not isinstance(runbook, module.RestoreRunbook):
        return None
    return module.restore_plan(runbook, ctx)


class Choices(Protocol):
    """What the operator chose and typed in the setup phase (stripped)."""

    @property
    def procedure(self) -> str | None: ...
    @property
    def path_reason(self) -> str: ...
    @property
    def backup_dir(self) -> str: ...
    @property
    def backup_source(self) -> str: ...
    @property
    def override(self) -> str: ...


def preflight_kind(procedure: str | None) -> str:
    """The runbook (and preflight) a procedure choice means."""
    return "quorum-restore" if procedure == QUORUM else "restore"


def preflight_inputs(params: dict) -> tuple:
    """The operator's choices a preflight report answers for: when they change while it
    runs, its report is of another plan."""
    return tuple(repr(params.get(k)) for k in (
        "procedure", "path", "path_reason", "recovery_host", "backup_dir", "backup_source",
        "confirmed_lost"))


class SetupState:
    """The setup's findings and the operator's decisions that are not typed fields."""

    def __init__(self) -> None:
        self.report = None  # the last PreflightReport
        self.preflight_error: str | None = None
        self.checking = False
        self.recovery_host: str | None = None
        self.host_chosen = False  # the operator picked the recovery host (keep it)
        self.followed_ranking = False
        self.suggested: str | None = None  # the procedure the checks point at
        self.suggested_why = ""
        self.lost_hosts: list[str] = []
        self.lost_evidence: dict[str, str] = {}  # host -> why the preflight says it is lost
        self.unproven: dict[str, str] = {}  # hosts neither answering nor proven lost
        self.confirmed_lost: dict[str, str] = {}  # the operator's confirmations: host -> why

    @property
    def candidates(self) -> list:
        """The ranked recovery hosts of the last report."""
        return list(self.report.candidates) if self.report is not None else []

    async def check(self, ctx) -> None:
        """Run the preflight for the context's choices: its report, or why there is none."""
        module = restore_module()
        try:
            report = await module.preflight_report(ctx, ctx.params["procedure"])
        except EtcdDrError as e:
            self.preflight_error = e.message
            self.report = None
        except Exception as e:  # one clear line, never a traceback
            self.preflight_error = f"the preflight failed: {e.__class__.__name__}: {e}"
            self.report = None
        else:
            self.preflight_error = None
            self.report = report
        finally:
            self.checking = False

    def take_ranking(self, ranked) -> None:
        """The console's own ranking, before the first preflight."""
        from tui.runbooks.restore_checks import best_recovery_host

        if ranked and self.recovery_host is None:
            self.recovery_host = best_recovery_host(ranked)  # the preflight's rule
        self.lost_hosts = []  # lost only on evidence: the preflight says which

    def follow_report(self) -> bool:
        """The recovery host and the lost hosts as the last report has them. True: the
        recovery host changed, and its checks must run again."""
        report = self.report
        candidates = self.candidates
        recheck = False
        if candidates:
            # the host `run restore` takes without --host (reachable, not a learner)
            best = restore_module().best_recovery_host(candidates)
            if self.recovery_host not in [c.host for c in candidates] or (
                    not self.host_chosen and self.recovery_host != best
                    and not self.followed_ranking):
                # the ranking from fresher data (once: raft indexes move, the ranking of
                # healthy members may flip back and forth): the checks must be the new host's
                recheck = self.recovery_host is not None
                self.followed_ranking = True
                self.recovery_host = best
        self.lost_hosts = list(report.lost_hosts)
        self.lost_evidence = dict(report.lost_evidence)
        self.unproven = dict(report.unproven)
        return recheck

    def suggest_procedure(self) -> None:
        """The procedure the last report's findings point at, and why."""
        report = self.report
        # what the version calls for, not the operator's choice the report also carries (fed
        # back as "suggested", each re-check wrapped its reason once more, and the changed
        # reason asked for another re-check: a preflight loop that never settled)
        path = report.detected_path if report.procedure == "restore" else report.path
        backup_ok = all(i.ok for i in report.items if i.key in ("backup", "snapshot"))
        # the one rule (tui/runbooks/restore/plan.py): `run restore --dry-run` names the
        # quorum restore on the same findings
        suggested = restore_module().suggest_procedure(report.procedure, path,
                                                 report.version_source, backup_ok)
        if report.procedure != "quorum-restore" or \
                self.suggested is None:
            # the quorum restore's checks say nothing about backups: keep what the restore's
            # checks suggested (or this, when it was chosen first)
            self.suggested, self.suggested_why = suggested

    def choose_recovery_host(self, host: str) -> bool:
        """The operator's choice of recovery host. True: it is another one."""
        if host == self.recovery_host:
            return False
        self.recovery_host = host
        self.host_chosen = True
        return True

    def confirm_lost(self, text: str, hosts) -> str | None:
        """The operator's typed confirmation that a host is lost: "HOST why", checked
        against the console's picture of the hosts. Returns what is wrong with it (None:
        accepted)."""
        name, _, reason = text.strip().partition(" ")
        reason = reason.strip()
        cp = {h.name: h for h in hosts if h.role == "control-plane"}
        if not name:
            return "type the host's name, then why it is lost"
        if name not in cp:
            return f"{name} is not a control-plane host of this cluster"
        if cp[name].state == "connected":
            return f"{name} answers over SSH: a host that answers is not lost"
        if name == self.recovery_host:
            return f"{name} is the chosen recovery host"
        if not reason:
            return f"say why {name} is lost (after its name): it is journaled"
        self.confirmed_lost[name] = reason
        return None

    def blocking_failures(self) -> list:
        if self.report is None:
            return []
        return [i for i in self.report.items if i.blocking and not i.ok]

    def start_blocked(self, read_only: bool, choices: Choices) -> str | None:
        """Why the run cannot start yet (None: it can)."""
        if read_only:
            return "read-only console: the wizard shows the plan, it cannot restore"
        if self.checking and self.report is None:
            return "the preflight is running"
        if self.report is None:
            return f"the preflight did not run: {self.preflight_error or 'press c'}"
        procedure = choices.procedure
        if not procedure:
            return "choose the procedure"
        if self.suggested and procedure != self.suggested and not choices.path_reason:
            return f"type why you chose {procedure} instead of {self.suggested}"
        if not self.recovery_host:
            return "choose the recovery host"
        failed = self.blocking_failures()
        hard = [i for i in failed if not i.overridable]
        if hard:
            return (f"{', '.join(i.title for i in hard)} failed, and no override lets a "
                    f"restore start past that: {hard[0].detail}")
        if self.report.procedure != preflight_kind(procedure):
            return "the preflight is running for the chosen procedure"
        if failed and not choices.override:
            return (f"{len(failed)} blocking check(s) failed ("
                    f"{', '.join(i.title for i in failed)}): fix them and press c, or type a "
                    f"reason in override to start anyway")
        return None

    def params(self, choices: Choices) -> dict:
        """The runbook's parameters for these choices."""
        procedure = choices.procedure
        backup_dir = choices.backup_dir or DEFAULT_BACKUP_DIR
        source = choices.backup_source or (
            f"{self.recovery_host}:{backup_dir}" if self.recovery_host else "")
        typed = choices.path_reason
        if self.suggested and procedure != self.suggested:
            # empty until typed: the preflight's own "Procedure" item then blocks too
            path_reason = (f"chosen by the operator instead of {self.suggested}: {typed}"
                           if typed else "")
        elif self.suggested:
            path_reason = self.suggested_why
        else:
            path_reason = ("chosen by the operator (the version is unknown)"
                           f"{': ' + typed if typed else ''}")
        params = {"procedure": preflight_kind(procedure),
                  "recovery_host": self.recovery_host, "backup_dir": backup_dir,
                  "backup_source": source, "override": choices.override}
        if procedure and procedure != QUORUM:
            params["path"] = procedure
            params["path_reason"] = path_reason
        if self.report is not None:
            params["lost_hosts"] = list(self.lost_hosts)
        if self.confirmed_lost:
            # the run's own preflight decides who is lost again, with these confirmations
            params["confirmed_lost"] = dict(self.confirmed_lost)
        return params


class SetupField:
    """One of the SetupState's fields, read and written as an attribute of the screen that
    keeps it (its `setup_state`)."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, screen, owner=None):
        if screen is None:
            return self
        return getattr(screen.setup_state, self.name)

    def __set__(self, screen, value) -> None:
        setattr(screen.setup_state, self.name, value)
