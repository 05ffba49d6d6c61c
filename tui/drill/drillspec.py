"""A scenario's `drill:` section, validated: what a training session makes of a scenario
(objective, runbook, recovery-time objective, the ideal path, hints, traps and timed faults).
Every key of the wrong shape is an error naming the file and the key (tui.drill.scenario
reads the files; tui.drill.session scores a run against the section)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui.errors import ConfigError

# The section's shape:
#
# drill:
#   objective: "one line the trainee reads first"
#   runbook: restore          # the ideal path's runbook, or null (a status-only drill)
#   rto_minutes: 45           # recovery-time objective, drill (simulated) minutes
#   ideal: {host | recovery_host, path, backup_dir, wait_minutes, retry: [STEP...],
#           actions: [{at: {step, event}, host, command, why}], notes: [...],
#           override: true|false, skipped: [STEP...]}
#   expected_score: 100       # what the ideal path scores
#   hints: ["...", ...]       # one at a time on request
#   traps: [{kind, detail, host?, name?, step?}, ...]   # this scenario's own mistakes
#   faults: [{at: {step, event} | {after_seconds}, action, host?, member?, ...}, ...]

DRILL_KEYS = ("objective", "runbook", "rto_minutes", "ideal", "expected_score", "hints",
              "traps", "faults")


DRILL_RUNBOOKS = ("backup", "defrag", "restore", "quorum-restore", "encryption-on",
                  "encryption-off")


# the scenario-specific mistakes a session may count (besides the generic ones: a refused
# action, a wrong recovery host, a skipped check, a preflight override)
TRAP_KINDS = {
    "wrong-recovery-host": "the restore ran from another recovery host than the ideal one",
    "wrong-host": "a backup or defrag acted on another host than the ideal one",
    "wrong-backup": "the restore used another backup directory than the ideal one",
    "wrong-path": "the restore followed another procedure than the release's",
    "override-preflight": "a blocking preflight item was overridden with a reason",
    "override-interlock": "an interlock (encryption in progress, read-only) was overridden",
    "skip-step": "a failed step was skipped instead of fixed and retried",
    "approve-csr": "a CSR that must not be approved was approved",
    "host-treated-lost": "a host that only dropped its SSH session was treated as lost",
    "refused-action": "the console refused an unsafe action",
}


FAULT_ACTIONS = ("drop-host", "restore-host", "fill-db", "alarm", "stall-pod", "release-pod",
                 "drop-ssh")


FAULT_EVENTS = ("started", "finished", "failed")


# stall-pod/release-pod: a static pod by name or manifest file (tui.drill.kubelet.STATIC_PODS)
STATIC_POD_NAMES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                    "keepalived", "etcd-pod.yaml", "kube-apiserver-pod.yaml",
                    "kube-controller-manager-pod.yaml", "kube-scheduler-pod.yaml",
                    "keepalived.yaml")


IDEAL_KEYS = ("host", "recovery_host", "path", "backup_dir", "wait_minutes", "retry",
              "actions", "notes", "override", "skipped")


RESTORE_PATHS = ("4.12-4.13", "4.14-4.17", "4.18+")


_STEP_ID = re.compile(r"[A-Z]{2,5}(-[A-Z]{2,5})?-\d{2}[a-z]?|[A-Z]{2,5}(-[A-Z]{2,5})?-\d")


@dataclass(frozen=True)
class Trigger:
    """When a fault (or an ideal-path action) happens: at a journal event of a step, or
    after_seconds of drill time from the session's start."""
    step: str | None = None
    event: str | None = None
    after_seconds: float | None = None

    def to_json(self) -> dict:
        if self.after_seconds is not None:
            return {"after_seconds": self.after_seconds}
        return {"step": self.step, "event": self.event}


@dataclass(frozen=True)
class Fault:
    at: Trigger
    action: str
    host: str | None = None
    member: str | None = None
    alarm: str | None = None
    pod: str | None = None
    for_seconds: float | None = None

    @property
    def args(self) -> dict:
        """The keyword arguments for tui.drill.inject.apply(cluster, lab, action, **args)."""
        return {k: v for k, v in (("host", self.host), ("member", self.member),
                                  ("alarm", self.alarm), ("pod", self.pod),
                                  ("for_seconds", self.for_seconds)) if v is not None}


@dataclass(frozen=True)
class Trap:
    kind: str
    detail: str
    host: str | None = None
    name: str | None = None
    step: str | None = None


@dataclass(frozen=True)
class IdealAction:
    """Something the ideal path does outside the console (a command on a host's shell, as
    an operator does in another terminal), at a journal event."""
    at: Trigger
    host: str
    command: str
    why: str = ""


@dataclass(frozen=True)
class Ideal:
    host: str | None = None  # backup, defrag: the host acted on
    recovery_host: str | None = None  # restore, quorum-restore
    path: str | None = None  # restore: the procedure
    backup_dir: str | None = None  # restore: the backup directory (else the default)
    wait_minutes: float = 0.0  # drill minutes to wait before starting the runbook
    retry: tuple[str, ...] = ()  # steps that fail once on the ideal path and are retried
    actions: tuple[IdealAction, ...] = ()
    notes: tuple[str, ...] = ()
    override: bool = False  # the ideal path itself starts past a failed check, overriding
    skipped: tuple[str, ...] = ()  # steps the ideal path itself skips by override after failing

    def run_args(self, runbook: str) -> list[str]:
        """The `etcd-dr run RUNBOOK` options of the ideal path (besides --drill, --scenario,
        --speed, --yes)."""
        out = []
        host = self.recovery_host if runbook in ("restore", "quorum-restore") else self.host
        if host:
            out += ["--host", host]
        if self.backup_dir:
            out += ["--backup-dir", self.backup_dir]
        return out


@dataclass(frozen=True)
class DrillSpec:
    objective: str
    runbook: str | None
    rto_minutes: float
    ideal: Ideal
    expected_score: int
    hints: tuple[str, ...]
    traps: tuple[Trap, ...]
    faults: tuple[Fault, ...]  # tui.drill.inject.FaultSchedule takes them as they are

    def traps_of(self, kind: str) -> list[Trap]:
        return [t for t in self.traps if t.kind == kind]

    @property
    def ideal_host(self) -> str | None:
        """The host the ideal path acts on (restore: its recovery host)."""
        return self.ideal.recovery_host or self.ideal.host

    @property
    def ideal_path(self) -> str | None:
        return self.ideal.path

    @property
    def notes(self) -> list[str]:
        return list(self.ideal.notes)


def _text(value, key: str, where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string, not {value!r}", where=where)
    return value.strip()


def _positive(value, key: str, where: str, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not (value >= 0 if zero else value > 0):
        raise ConfigError(f"{key} must be a number {'of 0 or more' if zero else 'above 0'}, "
                          f"not {value!r}", where=where)
    return float(value)


def _mapping(value, key: str, keys: tuple[str, ...], where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping, not {value!r}", where=where)
    for k in value:
        if k not in keys:
            raise ConfigError(f"{key}: unknown key {k!r}", where=where,
                              hint="Keys: " + ", ".join(keys))
    return value


def _list(value, key: str, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list, not {value!r}", where=where)
    return value


def _scenario_hosts(doc: dict) -> tuple[list[str], list[str]]:
    n_cp = doc.get("control_plane", 3)
    n_workers = doc.get("workers", 0)
    cp = [f"master-{i}" for i in range(n_cp if isinstance(n_cp, int) else 3)]
    return cp, cp + [f"worker-{i}" for i in range(n_workers if isinstance(n_workers, int)
                                                  else 0)]


def _host(value, key: str, hosts: list[str], where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if value not in hosts:
        raise ConfigError(f"{key} {value!r} is not a host of this scenario", where=where,
                          hint="Hosts: " + ", ".join(hosts))
    return value


def _step(value, key: str, where: str) -> str:
    if not isinstance(value, str) or not _STEP_ID.fullmatch(value):
        raise ConfigError(f"{key} must be a runbook step ID such as RST-04 or DEF-MAN-2, "
                          f"not {value!r}", where=where)
    return value


def _trigger(value, key: str, where: str) -> Trigger:
    at = _mapping(value, key, ("step", "event", "after_seconds"), where)
    if "after_seconds" in at:
        if "step" in at or "event" in at:
            raise ConfigError(f"{key}: give either step and event, or after_seconds",
                              where=where)
        return Trigger(after_seconds=_positive(at["after_seconds"], f"{key}.after_seconds",
                                               where, zero=True))
    step = _step(at.get("step"), f"{key}.step", where)
    event = at.get("event", "started")
    if event not in FAULT_EVENTS:
        raise ConfigError(f"{key}.event must be one of {', '.join(FAULT_EVENTS)}, not "
                          f"{event!r}", where=where)
    return Trigger(step=step, event=event)


_FAULT_ARGS = {  # action: (required, optional)
    "drop-host": (("host",), ("for_seconds",)),
    "restore-host": (("host",), ()),
    "fill-db": (("member",), ()),
    "alarm": (("member",), ("alarm",)),
    "stall-pod": (("host", "pod"), ("for_seconds",)),
    "release-pod": (("host", "pod"), ()),
    "drop-ssh": (("host", "for_seconds"), ()),
}


def _fault(value, key: str, doc: dict, where: str) -> Fault:
    f = _mapping(value, key, ("at", "action", "host", "member", "alarm", "pod",
                              "for_seconds"), where)
    action = f.get("action")
    if action not in FAULT_ACTIONS:
        raise ConfigError(f"{key}.action must be one of {', '.join(FAULT_ACTIONS)}, not "
                          f"{action!r}", where=where)
    if "at" not in f:
        raise ConfigError(f"{key}.at is missing: when the fault happens ({{step, event}} or "
                          f"{{after_seconds}})", where=where)
    required, optional = _FAULT_ARGS[action]
    for k in ("host", "member", "alarm", "pod", "for_seconds"):
        if k in f and k not in required + optional:
            raise ConfigError(f"{key}.{k} does not go with action {action}", where=where,
                              hint=f"{action} takes " + ", ".join(required + optional))
        if k in required and f.get(k) is None:
            raise ConfigError(f"{key}.{k} is missing (action {action} needs it)", where=where)
    cp, hosts = _scenario_hosts(doc)
    alarm = f.get("alarm", "NOSPACE" if action == "alarm" else None)
    if alarm is not None and alarm not in ("NOSPACE", "CORRUPT"):
        raise ConfigError(f"{key}.alarm must be NOSPACE or CORRUPT, not {alarm!r}", where=where)
    pod = f.get("pod")
    if pod is not None and pod not in STATIC_POD_NAMES:
        raise ConfigError(f"{key}.pod must be a static pod ({', '.join(STATIC_POD_NAMES[:5])}"
                          f", or its manifest file name), not {pod!r}", where=where)
    return Fault(
        at=_trigger(f["at"], f"{key}.at", where), action=action,
        host=_host(f.get("host"), f"{key}.host", hosts, where, required=False),
        member=_host(f.get("member"), f"{key}.member", cp, where, required=False),
        alarm=alarm, pod=pod,
        for_seconds=None if f.get("for_seconds") is None else
        _positive(f["for_seconds"], f"{key}.for_seconds", where))


def _trap(value, key: str, doc: dict, where: str) -> Trap:
    t = _mapping(value, key, ("kind", "detail", "host", "name", "step"), where)
    kind = t.get("kind")
    if kind not in TRAP_KINDS:
        raise ConfigError(f"{key}.kind: unknown trap kind {kind!r}", where=where,
                          hint="Kinds: " + ", ".join(TRAP_KINDS))
    _, hosts = _scenario_hosts(doc)
    if kind == "approve-csr" and not isinstance(t.get("name"), str):
        raise ConfigError(f"{key}.name is missing: the CSR that must not be approved",
                          where=where)
    if kind == "approve-csr":
        names = {c.get("name") for c in (doc.get("api") or {}).get("pending_csrs") or []
                 if isinstance(c, dict)}
        if t["name"] not in names:
            raise ConfigError(f"{key}.name {t['name']!r} is not one of api.pending_csrs' "
                              f"names", where=where)
    if kind in ("wrong-recovery-host", "wrong-host", "host-treated-lost") and "host" in t:
        _host(t["host"], f"{key}.host", hosts, where)
    return Trap(kind=kind, detail=_text(t.get("detail"), f"{key}.detail", where),
                host=t.get("host"),
                name=None if t.get("name") is None else str(t["name"]),
                step=None if t.get("step") is None else _step(t["step"], f"{key}.step", where))


def _ideal(value, runbook: str | None, doc: dict, where: str) -> Ideal:
    i = _mapping(value or {}, "drill.ideal", IDEAL_KEYS, where)
    cp, hosts = _scenario_hosts(doc)
    restore = runbook in ("restore", "quorum-restore")
    if "recovery_host" in i and not restore:
        raise ConfigError("drill.ideal.recovery_host goes with drill.runbook restore or "
                          "quorum-restore (backup and defrag: drill.ideal.host)", where=where)
    if "host" in i and runbook not in ("backup", "defrag"):
        raise ConfigError("drill.ideal.host goes with drill.runbook backup or defrag "
                          "(restore: drill.ideal.recovery_host)", where=where)
    path = i.get("path")
    if path is not None and (runbook != "restore" or path not in RESTORE_PATHS):
        raise ConfigError(f"drill.ideal.path must be one of {', '.join(RESTORE_PATHS)} with "
                          f"drill.runbook restore, not {path!r}", where=where)
    backup_dir = i.get("backup_dir")
    if backup_dir is not None and (runbook != "restore" or not isinstance(backup_dir, str)
                                   or not backup_dir.startswith("/")):
        raise ConfigError(f"drill.ideal.backup_dir must be an absolute path with "
                          f"drill.runbook restore, not {backup_dir!r}", where=where)
    retry = [_step(s, f"drill.ideal.retry[{n}]", where)
             for n, s in enumerate(_list(i.get("retry"), "drill.ideal.retry", where))]
    actions = []
    for n, a in enumerate(_list(i.get("actions"), "drill.ideal.actions", where)):
        key = f"drill.ideal.actions[{n}]"
        a = _mapping(a, key, ("at", "host", "command", "why"), where)
        actions.append(IdealAction(
            at=_trigger(a.get("at"), f"{key}.at", where),
            host=_host(a.get("host"), f"{key}.host", hosts, where),
            command=_text(a.get("command"), f"{key}.command", where),
            why=_text(a.get("why"), f"{key}.why", where, required=False) or ""))
    notes = [_text(x, f"drill.ideal.notes[{n}]", where)
             for n, x in enumerate(_list(i.get("notes"), "drill.ideal.notes", where))]
    override = i.get("override", False)
    if not isinstance(override, bool):
        raise ConfigError(f"drill.ideal.override must be true or false, not {override!r}",
                          where=where)
    skipped = [_step(s, f"drill.ideal.skipped[{n}]", where)
               for n, s in enumerate(_list(i.get("skipped"), "drill.ideal.skipped", where))]
    return Ideal(
        host=_host(i.get("host"), "drill.ideal.host", cp, where, required=False),
        recovery_host=_host(i.get("recovery_host"), "drill.ideal.recovery_host", cp, where,
                            required=False),
        path=path, backup_dir=backup_dir,
        wait_minutes=_positive(i.get("wait_minutes", 0), "drill.ideal.wait_minutes", where,
                               zero=True),
        retry=tuple(retry), actions=tuple(actions), notes=tuple(notes), override=override,
        skipped=tuple(skipped))


def parse_drill(doc: dict, where: str) -> DrillSpec | None:
    """The validated `drill:` section of a scenario document (None when it has none)."""
    if doc.get("drill") is None:
        return None
    d = _mapping(doc["drill"], "drill", DRILL_KEYS, where)
    for key in ("objective", "rto_minutes", "expected_score"):
        if key not in d:
            raise ConfigError(f"drill.{key} is missing", where=where)
    runbook = d.get("runbook")
    if runbook is not None and runbook not in DRILL_RUNBOOKS:
        raise ConfigError(f"drill.runbook must be one of {', '.join(DRILL_RUNBOOKS)} (or "
                          f"null for a status-only drill), not {runbook!r}", where=where)
    score = d["expected_score"]
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise ConfigError(f"drill.expected_score must be a whole number from 0 to 100, not "
                          f"{score!r}", where=where)
    hints = [_text(h, f"drill.hints[{n}]", where)
             for n, h in enumerate(_list(d.get("hints"), "drill.hints", where))]
    traps = [_trap(t, f"drill.traps[{n}]", doc, where)
             for n, t in enumerate(_list(d.get("traps"), "drill.traps", where))]
    faults = [_fault(f, f"drill.faults[{n}]", doc, where)
              for n, f in enumerate(_list(d.get("faults"), "drill.faults", where))]
    return DrillSpec(objective=_text(d.get("objective"), "drill.objective", where),
                     runbook=runbook,
                     rto_minutes=_positive(d["rto_minutes"], "drill.rto_minutes", where),
                     ideal=_ideal(d.get("ideal"), runbook, doc, where),
                     expected_score=score, hints=tuple(hints), traps=tuple(traps),
                     faults=tuple(faults))
