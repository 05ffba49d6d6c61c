"""Live fault injection into a drill cluster (issue #7): for trainers and for scenarios.

One set of actions, three ways in:
- `etcd-dr lab inject --inventory FILE ACTION [ARGS]` while `etcd-dr lab serve` runs: the
  lab listens on a loopback control port (tui.drill.control) whose address and token it
  writes, mode 0600, to `control.json` in the inventory's `.d/` directory;
- a line typed in the lab serve terminal (`drop master-1`: execute);
- a scenario's `drill.faults` entries inside `etcd-dr drill` (FaultSchedule: each fires when
  its `at:` trigger does: a journal line of a step, or an amount of drill time).

Every action changes the cluster's state the way the real fault would, and nothing else: the
console sees it through SSH and the API like any other change, within one refresh.

    drop-host HOST [SECONDS]  the machine goes away: SSH refused, its etcd member stops
                            (for SECONDS of drill time, then back; else until restore-host)
    restore-host HOST       it comes back (its etcd member runs again if its pod does)
    fill-db HOST            the member's database file grows to the quota: NOSPACE alarm
    alarm HOST NOSPACE|CORRUPT   raise that alarm for the member
    disarm                  clear every alarm (a file still at the quota raises NOSPACE again)
    stall-pod HOST MANIFEST [SECONDS]  kubelet is stuck on that static pod: its containers
                            neither stop nor start (a moved manifest has no effect) until
                            released (or SECONDS of drill time have passed)
    release-pod HOST MANIFEST    kubelet gets on with it (its delays count from now)
    drop-ssh HOST SECONDS   SSH connections refused for SECONDS of drill time, then back;
                            the host and its etcd keep running
    list                    what is injected now

apply() also takes a scenario's names for the arguments: member (= host: a member is named
after its host), pod (= manifest), for_seconds (= seconds); alarm defaults to NOSPACE.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from tui.drill import faults
from tui.drill.kubelet import STATIC_PODS
from tui.drill.model import DrillCluster, DrillHost
from tui.errors import ConfigError, EtcdDrError
from tui.journal import add_listener

__all__ = ["ACTIONS", "ALIASES", "FaultSchedule", "InjectError", "apply", "check_fault",
           "execute", "fault_args", "parse", "usage"]

GIB = 1024 ** 3
MB = 1024 * 1024


class InjectError(EtcdDrError):
    """An injection that cannot be done as asked (exit 2)."""


@dataclass(frozen=True)
class Action:
    name: str
    params: tuple[str, ...]  # host | alarm | manifest | seconds, in the order typed
    summary: str
    optional: tuple[str, ...] = ()  # may follow the params


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("drop-host", ("host",), "the machine goes away: SSH refused, its etcd member "
           "stops (for SECONDS, else until restore-host)", ("seconds",)),
    Action("restore-host", ("host",), "the machine comes back"),
    Action("fill-db", ("host",), "the member's database file grows to the quota: NOSPACE"),
    Action("alarm", ("host", "alarm"), "raise NOSPACE or CORRUPT for the member"),
    Action("disarm", (), "clear every alarm"),
    Action("stall-pod", ("host", "manifest"),
           "kubelet is stuck on a static pod: no stop, no start until released (or for "
           "SECONDS)", ("seconds",)),
    Action("release-pod", ("host", "manifest"), "kubelet gets on with that static pod"),
    Action("drop-ssh", ("host", "seconds"), "SSH refused for SECONDS of drill time, then back"),
    Action("list", (), "what is injected now"),
)}
# short words for the lab serve prompt
ALIASES = {"drop": "drop-host", "down": "drop-host", "restore": "restore-host",
           "up": "restore-host", "fill": "fill-db", "stall": "stall-pod",
           "release": "release-pod", "ssh": "drop-ssh", "ls": "list", "status": "list"}
ALARMS = ("NOSPACE", "CORRUPT")


def usage() -> str:
    width = max(len(_signature(a)) for a in ACTIONS.values())
    lines = [f"  {_signature(a).ljust(width)}  {a.summary}" for a in ACTIONS.values()]
    short = ", ".join(f"{k}={v}" for k, v in ALIASES.items())
    return "\n".join(["actions:", *lines, f"short forms: {short}",
                      "MANIFEST: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, "
                      "keepalived (or the file name, e.g. etcd-pod.yaml)"])


_SHOWN = {"alarm": "NOSPACE|CORRUPT"}


def _signature(a: Action) -> str:
    return " ".join([a.name, *(_SHOWN.get(p, p.upper()) for p in a.params),
                     *(f"[{p.upper()}]" for p in a.optional)])


def parse(words: list[str]) -> tuple[str, dict[str, Any]]:
    """An action and its arguments as typed (`drop master-1`, `alarm master-0 nospace`):
    the action's full name and apply()'s keyword arguments. InjectError when malformed."""
    if not words:
        raise InjectError("no action given", hint="Actions: " + ", ".join(ACTIONS))
    name = ALIASES.get(words[0].lower(), words[0].lower())
    action = ACTIONS.get(name)
    if action is None:
        raise InjectError(f"unknown action {words[0]!r}",
                          hint="Actions: " + ", ".join(ACTIONS))
    given = words[1:]
    low, high = len(action.params), len(action.params) + len(action.optional)
    if not low <= len(given) <= high:
        takes = str(low) if low == high else f"{low} or {high}"
        raise InjectError(f"{action.name} takes {takes} argument(s), {len(given)} given",
                          hint=f"Usage: {_signature(action)}")
    args: dict[str, Any] = {}
    for param, value in zip(action.params + action.optional, given):
        if param == "seconds":
            try:
                args[param] = float(value.rstrip("s"))
            except ValueError:
                raise InjectError(f"{value!r} is not a number of seconds",
                                  hint=f"Usage: {_signature(action)}") from None
        elif param == "alarm":
            args[param] = value.upper()
        else:
            args[param] = value
    return action.name, args


def execute(cluster: DrillCluster, lab, words: list[str]) -> str:
    """Parse and apply one typed line (the lab serve prompt, the control port)."""
    action, args = parse(words)
    return apply(cluster, lab, action, **args)


# --- the actions ---------------------------------------------------------------------------

def apply(cluster: DrillCluster, lab, action: str, **args: Any) -> str:
    """Inject `action` now; returns what happened, one line (list: several). `lab` is the
    DrillLab serving the cluster (drop-ssh needs its SSH servers; the other actions work
    on the cluster alone). Raises InjectError for a bad action, host or argument."""
    name = ALIASES.get(action, action)
    spec = ACTIONS.get(name)
    if spec is None:
        raise InjectError(f"unknown action {action!r}", hint="Actions: " + ", ".join(ACTIONS))
    args = _canonical(args)
    if name == "alarm":
        args.setdefault("alarm", "NOSPACE")
    missing = [p for p in spec.params if args.get(p) in (None, "")]
    if missing:
        raise InjectError(f"{name} needs {', '.join(missing)}",
                          hint=f"Usage: {_signature(spec)}")
    args = {k: v for k, v in args.items() if v is not None}
    unknown = sorted(set(args) - set(spec.params) - set(spec.optional))
    if unknown:
        raise InjectError(f"{name} takes no {', '.join(unknown)}",
                          hint=f"Usage: {_signature(spec)}")
    return _HANDLERS[name](cluster, lab, **args)


# a scenario's names for apply()'s arguments (tui.drill.scenario Fault.args)
_ARG_NAMES = {"member": "host", "pod": "manifest", "for_seconds": "seconds"}


def _canonical(args: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in args.items():
        name = _ARG_NAMES.get(key, key)
        if name in out and value is not None and out[name] != value:
            raise InjectError(f"both {key} and {name} given, and they differ")
        if value is not None or name not in out:
            out[name] = value
    return out


def _seconds(value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InjectError(f"{value!r} is not a number of seconds") from None
    if seconds <= 0:
        raise InjectError("the number of seconds must be positive")
    return seconds


def _for_a_while(cluster: DrillCluster, lab, seconds: float | None, undo: Callable[[], str],
                 what: str) -> str:
    """Undo a fault after `seconds` of drill time (the lab's timer); the text to add."""
    if seconds is None:
        return ""
    if lab is None or not hasattr(lab, "call_at"):
        raise InjectError(f"{what} for a while needs the lab's timer")
    until = cluster.clock.now() + seconds
    lab.call_at(until, undo)
    return f"; back after {seconds:g} s of drill time ({_drill_time(until)})"


def _drill_time(sim: float) -> str:
    return datetime.fromtimestamp(sim, timezone.utc).strftime("%H:%M:%S") + " drill time"


def _host(cluster: DrillCluster, name: str) -> DrillHost:
    host = cluster.host(str(name))
    if host is None:
        raise InjectError(f"no host {name!r} in this drill",
                          hint="Hosts: " + ", ".join(h.name for h in cluster.hosts))
    return host


def _member(cluster: DrillCluster, host: DrillHost):
    member = cluster.member_of(host)
    if member is None:
        raise InjectError(f"{host.name} runs no etcd member",
                          hint="Members: " + ", ".join(m.name for m in cluster.etcd.members))
    return member


def _manifest(name: str) -> str:
    wanted = str(name).strip()
    for spec in STATIC_PODS.values():
        if wanted in (spec.manifest, spec.manifest.removesuffix(".yaml"),
                      spec.manifest.removesuffix("-pod.yaml"), spec.pod_prefix):
            return spec.manifest
    raise InjectError(f"no static pod {name!r}",
                      hint="Static pods: " + ", ".join(
                          s.manifest.removesuffix("-pod.yaml").removesuffix(".yaml")
                          for s in STATIC_PODS.values()))


def _host_moved(cluster: DrillCluster, host: DrillHost) -> None:
    """A host went away or came back: the lab's SSH server follows (cluster.host_hooks)."""
    for hook in list(cluster.host_hooks):
        hook(host)
    cluster.changed()


def _drop_host(cluster, lab, *, host, seconds=None):
    h = _host(cluster, host)
    seconds = None if seconds is None else _seconds(seconds)
    if not h.up:
        return f"{h.name} is already down"
    later = _for_a_while(cluster, lab, seconds, lambda: _restore_host(cluster, lab, host=h.name),
                         "drop-host")
    h.up = False
    member = cluster.member_of(h)
    if member is not None:
        member.running = False
    _host_moved(cluster, h)
    return (f"{h.name} is down: SSH connections refused"
            + (", its etcd member stopped" if member is not None else "")
            + (later or f" (restore-host {h.name} brings it back)"))


def _restore_host(cluster, lab, *, host):
    h = _host(cluster, host)
    if h.up:
        return f"{h.name} is already up"
    h.up = True
    member = cluster.member_of(h)
    if member is not None and h.container("etcd") is not None:
        member.running = True
    _host_moved(cluster, h)
    etcd = "no etcd member" if member is None else \
        ("its etcd member runs again" if member.running else "its etcd pod is not running")
    return f"{h.name} is back: SSH answers, {etcd}"


def _fill_db(cluster, lab, *, host):
    h = _host(cluster, host)
    member = _member(cluster, h)
    quota = cluster.etcd.quota_backend_bytes
    # a runaway writer whose history was compacted: the file is at the quota, the data in
    # use is what it was (free pages), so a defrag gives the space back
    member.db_size = max(member.db_size, quota)
    faults.raise_nospace(cluster, served=member)
    cluster.changed()
    alarmed = (member.member_id, "NOSPACE") in cluster.etcd.alarms
    return (f"{h.name}: database file {_size(member.db_size)} at the quota "
            f"({_size(quota)}), {_size(member.db_size_in_use)} in use; "
            + ("NOSPACE raised: writes refused until a defrag and `etcdctl alarm disarm`"
               if alarmed else "NOSPACE follows as soon as the member runs"))


def _alarm(cluster, lab, *, host, alarm):
    h = _host(cluster, host)
    member = _member(cluster, h)
    alarm = str(alarm).upper()
    if alarm not in ALARMS:
        raise InjectError(f"unknown alarm {alarm!r}", hint="Alarms: NOSPACE, CORRUPT")
    if (member.member_id, alarm) in cluster.etcd.alarms:
        return f"{h.name}: {alarm} is already raised"
    cluster.etcd.alarms.append((member.member_id, alarm))
    cluster.changed()
    return f"{h.name}: {alarm} alarm raised (member {member.member_id:016x}); writes refused"


def _disarm(cluster, lab):
    alarms = list(cluster.etcd.alarms)
    if not alarms:
        return "no alarm was raised"
    cluster.etcd.alarms.clear()
    cluster.changed()
    names = []
    for member_id, alarm in alarms:
        member = cluster.etcd.member(member_id)
        names.append(f"{alarm} on {member.name if member else f'{member_id:016x}'}")
    over = [m.name for m in faults.over_quota(cluster)]
    return (f"disarmed {', '.join(names)}"
            + (f"; {', '.join(over)} still at the quota: the next write raises NOSPACE again"
               if over else ""))


def _stall_pod(cluster, lab, *, host, manifest, seconds=None):
    h = _host(cluster, host)
    file = _manifest(manifest)
    seconds = None if seconds is None else _seconds(seconds)
    if file in h.stalled_pods:
        return f"{h.name}: kubelet is already stuck on {file}"
    later = _for_a_while(cluster, lab, seconds,
                         lambda: _release_pod(cluster, lab, host=h.name, manifest=file),
                         "stall-pod")
    h.stalled_pods.add(file)
    for key in [k for k in h.kubelet_pending if k.startswith(file + "/")]:
        del h.kubelet_pending[key]
    cluster.changed()
    return (f"{h.name}: kubelet is stuck on {file}: its containers neither stop nor start"
            + (later or f" until release-pod {h.name} "
                        f"{file.removesuffix('.yaml').removesuffix('-pod')}"))


def _release_pod(cluster, lab, *, host, manifest):
    h = _host(cluster, host)
    file = _manifest(manifest)
    if file not in h.stalled_pods:
        return f"{h.name}: kubelet was not stuck on {file}"
    h.stalled_pods.discard(file)
    cluster.changed()
    return f"{h.name}: kubelet gets on with {file} (its usual delays count from now)"


def _drop_ssh(cluster, lab, *, host, seconds):
    h = _host(cluster, host)
    seconds = _seconds(seconds)
    if lab is None or not hasattr(lab, "block_ssh"):
        raise InjectError("drop-ssh needs the lab that serves the hosts' SSH")
    until = lab.block_ssh(h.name, seconds)
    clock = cluster.clock
    real = clock.real_seconds(seconds)
    pace = "" if clock.speed == 1 or clock.frozen else f" ({real:.3g} s real at x{clock.speed:g})"
    return (f"{h.name}: SSH connections refused for {seconds:g} s of drill time{pace}, "
            f"back at {_drill_time(until)}; the host and its etcd keep running")


def _list(cluster, lab):
    lines = []
    now = cluster.clock.now()
    for h in cluster.hosts:
        notes = []
        if not h.up:
            notes.append("down")
        until = getattr(lab, "ssh_blocked", {}).get(h.name) if lab is not None else None
        if until is not None:
            notes.append(f"SSH refused for {max(0.0, until - now):.0f} more s")
        if h.stalled_pods:
            notes.append("kubelet stuck on " + ", ".join(sorted(h.stalled_pods)))
        member = cluster.member_of(h)
        if member is not None:
            if not member.running:
                notes.append("etcd member not running")
            if cluster.etcd.quota_backend_bytes and \
                    member.db_size >= cluster.etcd.quota_backend_bytes:
                notes.append(f"db {_size(member.db_size)} at the quota")
            for member_id, alarm in cluster.etcd.alarms:
                if member_id == member.member_id:
                    notes.append(f"{alarm} alarm")
        lines.append(f"{h.name}: {'; '.join(notes) if notes else 'nothing injected'}")
    return "\n".join(lines)


_HANDLERS: dict[str, Callable[..., str]] = {
    "drop-host": _drop_host, "restore-host": _restore_host, "fill-db": _fill_db,
    "alarm": _alarm, "disarm": _disarm, "stall-pod": _stall_pod,
    "release-pod": _release_pod, "drop-ssh": _drop_ssh, "list": _list,
}


def _size(n: int) -> str:
    return f"{n / GIB:.1f} GiB" if n >= GIB else f"{n / MB:.0f} MB"


# --- a scenario's faults ------------------------------------------------------------------

# what a `drill.faults` entry may say besides `at` and `action`, and apply()'s name for it
_ENTRY_KEYS = {"host": "host", "member": "host", "alarm": "alarm", "manifest": "manifest",
               "pod": "manifest", "seconds": "seconds", "for_seconds": "seconds"}
TRIGGER_EVENTS = ("started", "finished", "failed")


def _entry(entry: Any) -> Any:
    """A fault as a mapping: a scenario's parsed Fault (tui.drill.scenario) or its YAML."""
    if isinstance(entry, dict) or not hasattr(entry, "action"):
        return entry
    at = entry.at.to_json() if hasattr(entry.at, "to_json") else entry.at
    return {"at": at, "action": entry.action, **dict(getattr(entry, "args", {}))}


def fault_args(entry: dict) -> tuple[str, dict[str, Any]]:
    """A `drill.faults` entry's action and apply()'s keyword arguments."""
    entry = _entry(entry)
    action = ALIASES.get(str(entry.get("action")), str(entry.get("action")))
    args = {_ENTRY_KEYS[k]: v for k, v in entry.items() if k in _ENTRY_KEYS and v is not None}
    if action == "alarm":
        args.setdefault("alarm", "NOSPACE")
    return action, args


def check_fault(entry: Any) -> list[str]:
    """What is wrong with one `drill.faults` entry (empty: nothing). For the scenario
    loader, which names the file and key."""
    entry = _entry(entry)
    if not isinstance(entry, dict):
        return ["a fault is a mapping (at:, action:, host:, ...)"]
    problems = []
    action, args = fault_args(entry)
    spec = ACTIONS.get(action)
    if spec is None or action == "list":
        problems.append(f"action {entry.get('action')!r} is not one of "
                        + ", ".join(a for a in ACTIONS if a != "list"))
    else:
        missing = [p for p in spec.params if args.get(p) in (None, "")]
        if missing:
            problems.append(f"{action} needs {', '.join(missing)}")
        extra = sorted(set(args) - set(spec.params) - set(spec.optional))
        if extra:
            problems.append(f"{action} takes no {', '.join(extra)}")
    unknown = sorted(set(entry) - set(_ENTRY_KEYS) - {"at", "action"})
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}")
    at = entry.get("at")
    if not isinstance(at, dict):
        problems.append("at: needs {step: ID, event: started|finished|failed} or "
                        "{after_seconds: N}")
    elif "after_seconds" in at:
        if not isinstance(at["after_seconds"], (int, float)) or at["after_seconds"] < 0:
            problems.append("at.after_seconds must be a number of seconds >= 0")
    elif not at.get("step") or at.get("event", "started") not in TRIGGER_EVENTS:
        problems.append("at: needs {step: ID, event: started|finished|failed} or "
                        "{after_seconds: N}")
    return problems


class FaultSchedule:
    """A scenario's `drill.faults` (YAML mappings or tui.drill.scenario Fault values), each
    injected once when its `at:` trigger fires: `{step: ID, event: started|finished|failed}`
    (optionally `runbook: NAME`) when a journal line of this process says so, or
    `{after_seconds: N}` of drill time after start().

    Each injection is journaled as a runbook-level `fault` line (action, host, detail,
    trigger, ok) in `journal` if given, else in the journal whose line fired it (a time
    trigger: the last open journal seen), else nowhere; then `on_fault(info)` is called with
    {action, host, detail, trigger, ok} for the screen (it should not journal it again).

        schedule = FaultSchedule(cluster, lab, scenario_faults, on_fault=notify)
        schedule.start()   # in the running event loop; schedule.stop() at the end
    """

    def __init__(self, cluster: DrillCluster, lab, faults_: list[dict],
                 on_fault: Callable[[dict], None] | None = None, *, journal=None):
        problems = [f"faults[{i}]: {p}" for i, e in enumerate(faults_ or [])
                    for p in check_fault(e)]
        if problems:
            raise ConfigError("; ".join(problems), where="drill.faults")
        self.cluster = cluster
        self.lab = lab
        self.pending: list[dict] = [_entry(f) for f in faults_ or []]
        self.fired: list[dict] = []
        self.on_fault = on_fault
        self.journal = journal
        self._last_journal = None
        self._started_at: float | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._timer: asyncio.Task | None = None
        self._firing = False

    def start(self) -> None:
        self._started_at = self.cluster.clock.now()
        self._unsubscribe = add_listener(self._on_record)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None  # time triggers are then checked at each journal line only
        if loop is not None and any("after_seconds" in f["at"] for f in self.pending):
            self._timer = loop.create_task(self._time_triggers(), name="drill-faults")

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def on_record(self, record: dict, journal=None) -> list[dict]:
        """Feed one journal record (the listener does this for every line written);
        returns what it fired."""
        return self._on_record(journal, record)

    def _on_record(self, journal, record: dict) -> list[dict]:
        if journal is not None and record.get("event") != "fault":
            self._last_journal = journal
        due = [f for f in self.pending if self._matches(f["at"], record)]
        return self._fire(due, journal)

    def check_time(self) -> list[dict]:
        """Fire the time triggers that are due by the drill clock."""
        if self._started_at is None:
            return []
        now = self.cluster.clock.now()
        due = [f for f in self.pending if "after_seconds" in f["at"]
               and now >= self._started_at + float(f["at"]["after_seconds"])]
        journal = self._last_journal if self._last_journal is not None and \
            not self._last_journal.closed else None
        return self._fire(due, journal)

    def _matches(self, at: dict, record: dict) -> bool:
        if "after_seconds" in at:
            return self._started_at is not None and \
                self.cluster.clock.now() >= self._started_at + float(at["after_seconds"])
        if at.get("runbook") and record.get("runbook") != at["runbook"]:
            return False
        return record.get("step") == at.get("step") and \
            record.get("event") == (at.get("event") or "started") and "command" not in record

    def _fire(self, due: list[dict], journal) -> list[dict]:
        if not due or self._firing:
            return []
        self._firing = True
        out = []
        try:
            for entry in due:
                if entry not in self.pending:
                    continue
                self.pending.remove(entry)
                action, args = fault_args(entry)
                try:
                    detail, ok = apply(self.cluster, self.lab, action, **args), True
                except EtcdDrError as e:
                    detail, ok = f"not injected: {e.message}", False
                info = {"action": action, "host": args.get("host"), "detail": detail,
                        "trigger": dict(entry["at"]), "ok": ok}
                self.fired.append(info)
                out.append(info)
                target = self.journal if self.journal is not None else journal
                if target is not None and not target.closed:
                    extra = {k: v for k, v in args.items() if k != "host"}
                    target.write("-", "fault", [info["host"]] if info["host"] else [],
                                 action=action, host=info["host"], detail=detail,
                                 trigger=info["trigger"], ok=ok, **extra)
                if self.on_fault is not None:
                    self.on_fault(info)
        finally:
            self._firing = False
        return out

    async def _time_triggers(self) -> None:
        clock = self.cluster.clock
        while any("after_seconds" in f["at"] for f in self.pending):
            self.check_time()
            waits = [self._started_at + float(f["at"]["after_seconds"]) - clock.now()
                     for f in self.pending if "after_seconds" in f["at"]]
            if not waits:
                return
            real = clock.real_seconds(max(0.0, min(waits)))
            # a frozen clock only moves when a test advances it: look again shortly
            await asyncio.sleep(min(0.25, real) if real > 0 else 0.05)


# --- the control port (lab serve <-> lab inject) -----------------------------------------


# --- lab serve: the trainer's terminal -----------------------------------------------------


