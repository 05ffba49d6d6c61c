"""The host steps before and around the restore script: RST-01..03 / RSTN-01..03 (recovery
host, SSH, the backup), RST-04 on the non-recovery hosts, RST-06/07 (keepalived VIP, proxy),
RSTN-02 (disable-etcd.sh), QRS-02, and the restore script itself, run once (RST-08, RSTN-04,
QRS-03)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui import timeouts
from tui.fleet.commands import Command, Safety
from tui.runbooks.attempts import Evidence, Verdict, run_recorded
from tui.runbooks.context import RunContext, RunEventKind
from tui.runbooks.model import CheckResult, Confirm
from tui.runbooks.restore_checks import check_backup_listing
from tui.runbooks.runner import StepRun

from tui.runbooks.restore.common import (CONTAINER_STOP_TIMEOUT, DEFAULT_BACKUP_DIR,
                                         DISABLE_SCRIPT, KEEPALIVED, LOST_REASON, MANIFESTS, POLL,
                                         QUORUM_SCRIPT, RESTORE_SCRIPT, Refusal,
                                         path_exists, guarded, path_params, priv, probe_host, proxy_pairs,
                                         skip_lost, known_vips, assert_one_name_per_machine,
                                         control_plane, lost_hosts, non_recovery_hosts,
                                         proven_lost, recovery_host, within)


# --- RST-01..03 / RSTN-01, -03: the recovery host, SSH, the backup --------------------------

async def check_recovery_host(ctx: RunContext, _host) -> CheckResult:
    host = ctx.params.get("recovery_host")
    if host not in control_plane(ctx):
        return CheckResult(False, f"{host!r} is not a control-plane host")
    status = ctx.fleet.status[host]
    if not status.state.usable:
        return CheckResult(False, f"{host} is {status.state.value}")
    ranked = ctx.params.get("candidates") or []
    mine = next((c for c in ranked if c.get("host") == host), None)
    why = "; ".join(mine.get("reasons") or []) if mine else "reachable"
    best = ranked[0]["host"] if ranked else host
    note = "" if best == host else f" (the preflight ranked {best} first)"
    return CheckResult(True, f"recovery host {host}: {why}{note}")


async def check_ssh(ctx: RunContext, host) -> CheckResult:
    if host in lost_hosts(ctx):
        return CheckResult(True, f"{host}: {LOST_REASON}")
    r = await probe_host(ctx, host, priv("true", timeout=15))
    if r.ok:
        return CheckResult(True, "SSH open with sudo -n on every reachable control-plane host")
    return CheckResult(False, r.error or r.stderr.strip() or f"exit status {r.exit_status}")


def backup_source_param(ctx: RunContext) -> tuple[str | None, str]:
    """(host or None for this machine, directory) the backup comes from."""
    source = ctx.params.get("backup_source") or ""
    if not source:
        return ctx.params.get("recovery_host"), ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    host, sep, directory = source.partition(":")
    if sep and host in [h.name for h in ctx.inventory.hosts]:
        return host, directory
    return None, source


async def backup_listing(ctx: RunContext, host: str, directory: str) -> tuple[bool, str]:
    r = await probe_host(ctx, host, priv("ls", "-1", directory, timeout=15))
    if r.ok:
        return True, r.stdout
    return False, (r.error or r.stderr.strip() or f"exit status {r.exit_status}")


async def check_backup_on_recovery(ctx: RunContext, host) -> CheckResult:
    host = host or recovery_host(ctx)
    directory = ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    ok, listing = await backup_listing(ctx, host, directory)
    if not ok:
        return CheckResult(False, f"cannot list {directory} on {host}: {listing}")
    check = check_backup_listing(listing, directory)
    if not check.ok:
        return CheckResult(False, "; ".join(check.problems))
    return CheckResult(True, f"{directory} on {host}: {check.snapshot} and "
                             f"{check.static_kuberesources}")


async def copy_backup(ctx: RunContext, run: StepRun) -> str:
    source_host, source_dir = backup_source_param(ctx)
    target, directory = recovery_host(ctx), ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    if source_host == target and source_dir.rstrip("/") == directory.rstrip("/"):
        return f"the backup is already in {directory} on {target}"
    if source_host is not None:
        return await _copy_from_host(ctx, run, source_host, source_dir, target, directory)
    from tui.fleet.stream import COPY_TIMEOUT_TEXT, Throttle, human_bytes
    from tui.fleet.transfer import copy_dir_to_host

    run.show(RunEventKind.NOTE,
             f"copying {source_dir} (this machine) to {target}:{directory} over SFTP "
                     f"(temporary names, renamed once sha256 matches; timeout "
                     f"{COPY_TIMEOUT_TEXT})", [target])
    lines = Throttle(lambda text: run.show(RunEventKind.NOTE, text, [target]))
    result = await copy_dir_to_host(
        ctx.fleet, target, source_dir, directory,
        on_progress=lambda p: lines(
            f"{p.path}: {human_bytes(p.file_done)} of {human_bytes(p.file_total)}; all files "
            f"{human_bytes(p.done)} of {human_bytes(p.total)}", final=p.done == p.total))
    if not result.ok:
        run.fail(f"copy to {target}:{directory} failed: {result.error}")
    run.journal("finished", [target], command=f"(sftp) {source_dir} -> {target}:{directory}",
                exit_status=0, bytes=result.bytes)
    return f"copied {len(result.files)} file(s), {result.bytes} bytes, checksums verified"


async def _copy_from_host(ctx: RunContext, run: StepRun, source: str, source_dir: str,
                          target: str, directory: str) -> str:
    """The backup sits on another cluster host: the console streams each file from it to the
    recovery host over the sessions it holds (tui/fleet/stream.py): read with `sudo cat`
    (root reads the backup whatever its mode), appended to FILE.etcd-dr-part on the target,
    renamed only once sha256sum on both hosts agree; an interrupted copy continues from the
    bytes already there. No SFTP: the drill's SSH servers have none, and the files are
    root's."""
    from tui.fleet.stream import COPY_TIMEOUT_TEXT, Throttle, copy_between_hosts

    state = ctx.fleet.status[source].state
    if not state.usable:
        run.fail(f"the backup is on {source}:{source_dir} but {source} is {state.value}: copy "
                 f"it to {target}:{directory} by hand, then retry")
    ok, listing = await backup_listing(ctx, source, source_dir)
    if not ok:
        run.fail(f"cannot list {source_dir} on {source}: {listing}")
    check = check_backup_listing(listing, source_dir)
    if not check.ok:
        run.fail(f"{source}:{source_dir}: " + "; ".join(check.problems))
    names = [check.snapshot, check.static_kuberesources]
    run.show(RunEventKind.NOTE, f"copying {', '.join(names)} from {source}:{source_dir} to "
                     f"{target}:{directory} (streamed through this console, sha256 checked on "
                     f"both hosts; timeout {COPY_TIMEOUT_TEXT})", [source, target])
    mk = await run.run(target, priv("mkdir", "-p", directory, safety=Safety.MUTATING))
    if not mk.ok:
        run.fail(f"{target}: cannot make {directory}: {mk.stderr.strip() or mk.error}")
    lines = Throttle(lambda text: run.show(RunEventKind.NOTE, text, [source, target]))

    def journal(event: str, host: str, command: Command, extra: dict) -> None:
        run.journal(event, [host], command=command.redacted(ctx.use_sudo), **extra)

    total = resumed = 0
    for name in names:
        src, dst = f"{source_dir.rstrip('/')}/{name}", f"{directory.rstrip('/')}/{name}"
        result = await copy_between_hosts(
            ctx.fleet, source, src, target, dst, run=run.run, on_stream=journal,
            on_progress=lambda p: lines(p.text(), final=p.done >= p.total),
            limit=ctx.params.get("timeout"))
        if not result.ok:
            run.fail(result.error)
        if result.resumed_from:
            run.show(RunEventKind.NOTE,
                     f"{name}: continued from byte {result.resumed_from} left by an "
                             f"earlier copy; the sha256 on both hosts proves the whole file",
                     [source, target])
        total += result.size
        resumed += result.resumed_from
    again = f" ({resumed} bytes were already there)" if resumed else ""
    done = (f"copied {len(names)} file(s), {total} bytes, from {source}:{source_dir} to "
            f"{target}:{directory}{again}; sha256 verified on both hosts")
    run.show(RunEventKind.NOTE, done, [source, target])  # the step's check has the last word
    return done


def copy_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    from tui.fleet.stream import (hash_command, part_name, read_command, rename_command,
                                  write_command)

    source_host, source_dir = backup_source_param(ctx)
    target = ctx.params.get("recovery_host") or "?"
    directory = ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    if source_host is not None and (source_host, source_dir.rstrip("/")) != \
            (target, directory.rstrip("/")):
        each = f"{source_dir.rstrip('/')}/<each backup file>"
        final = f"{directory.rstrip('/')}/<each backup file>"
        return [(source_host, hash_command(each)),
                (source_host, read_command(each)),
                (target, write_command(part_name(final))),
                (target, hash_command(part_name(final))),
                (target, rename_command(part_name(final), final))]
    return [(ctx.params.get("recovery_host") or "?",
             Command.of("ls", "-1", ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR,
                        privileged=True))]


# --- RST-04: stop static pods and move data aside on the NON-recovery hosts -----------------

def not_recovery(ctx: RunContext, host: str, what: str) -> None:
    if host == ctx.params.get("recovery_host"):
        raise Refusal(f"{what} never acts on the recovery host ({host}): the restore runs "
                      f"from its data", hint="This is a defect if you see it; nothing was sent")


def _stopped_check(name: str, exclude: str) -> Command:
    """`sudo crictl ps | grep NAME | egrep -v "EXCLUDE"` (empty = stopped)."""
    return Command.of("crictl", "ps", privileged=True, timeout=30).pipe(
        "grep", name).pipe("egrep", "-v", exclude)


def _rst04_manifests(ctx: RunContext) -> list[tuple[str, str, str, str]]:
    """(sub-step, manifest, container grep, exclusion) in the procedure's order."""
    out = [("RST-04a", f"{MANIFESTS}/etcd-pod.yaml", "etcd", "operator|etcd-guard"),
           ("RST-04c", f"{MANIFESTS}/kube-apiserver-pod.yaml", "kube-apiserver",
            "operator|guard")]
    if path_params(ctx) == "4.14-4.17":
        out += [("RST-04g", f"{MANIFESTS}/kube-controller-manager-pod.yaml",
                 "kube-controller-manager", "operator|guard"),
                ("RST-04g", f"{MANIFESTS}/kube-scheduler-pod.yaml", "kube-scheduler",
                 "operator|guard")]
    return out


def rst04_commands(ctx: RunContext, host: str) -> list[tuple[str, Command]]:
    """RST-04's commands for one non-recovery host, as (sub-step ID, command). Refuses the
    recovery host whatever asked for it."""
    not_recovery(ctx, host, "RST-04")
    out = []
    for sid, manifest, name, exclude in _rst04_manifests(ctx):
        out.append((sid, priv("mv", "-v", manifest, "/tmp", safety=Safety.DESTRUCTIVE)))
        check_id = {"RST-04a": "RST-04b", "RST-04c": "RST-04d"}.get(sid, sid)
        out.append((check_id, _stopped_check(name, exclude)))
    out.append(("RST-04e", priv("mv", "-v", "/var/lib/etcd/", "/tmp",
                                 safety=Safety.DESTRUCTIVE,
                                 timeout=data_move_timeout(ctx, host).seconds)))
    if host in (ctx.params.get("keepalived_hosts") or []):
        out.append(("RST-04f", priv("mv", "-v", KEEPALIVED, "/tmp",
                                     safety=Safety.DESTRUCTIVE)))
        out.append(("RST-04f", Command.of("crictl", "ps", "--name", "keepalived",
                                          privileged=True)))
        out.append(("RST-04f", _vip_listing(ctx)))
    return out


def data_move_timeout(ctx: RunContext, host: str) -> timeouts.Timeout:
    """RST-04e's timeout on `host`: its member's database as the preflight read it, else the
    largest member's (one cluster's members hold the same keys), else the quota. Where
    /var/lib/etcd is a disk of its own, mv copies the whole directory to /tmp."""
    sizes = ctx.params.get("db_sizes") or {}
    size = sizes.get(host, max(sizes.values(), default=None))
    return timeouts.move_timeout(None if size is None else int(size))


def _vip_listing(ctx: RunContext) -> Command:
    vips = known_vips(ctx)
    listing = Command.of("ip", "-o", "address")
    return listing.pipe("egrep", "|".join(re.escape(v) for v in vips)) if vips else listing


def rst04_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    rec = ctx.params.get("recovery_host")
    return [(h, c) for h in non_recovery_hosts(ctx) if h not in lost_hosts(ctx) and h != rec
            for _, c in rst04_commands(ctx, h)]


async def _wait_stopped(run: StepRun, host: str, command: Command, what: str,
                        step_id: str) -> None:
    """Polls `command` until its output is empty; the last poll is journaled under `step_id`
    as the check it is (event finished, with the command): a `... | grep | egrep -v` pipeline
    exits 1 when nothing matches, which here is the success, not a failed command."""
    waited = 0.0
    while True:
        r = await run.ctx.fleet.run_one(host, command, quiet=True)
        if r.error:
            run.fail(f"{host}: cannot check {what}: {r.error}")
        if not r.stdout.strip():
            run.journal("finished", [host], step_id=step_id, detail=f"no {what} running",
                        command=command.redacted(run.ctx.use_sudo), exit_status=r.exit_status)
            run.show(RunEventKind.NOTE, f"{what} stopped", [host], step_id=step_id)
            return
        if waited >= CONTAINER_STOP_TIMEOUT:
            run.fail(f"{host}: {what} did not stop "
                     f"{within(run.ctx, CONTAINER_STOP_TIMEOUT)}: "
                     f"{r.stdout.strip().splitlines()[0]}")
        await run.wait(POLL, f"{what} to stop on {host}", [host], step_id=step_id)
        waited += POLL


def _moved_state(source: str):
    """RST-04's state probe for `mv -v SOURCE /tmp`: still to do while SOURCE is there;
    otherwise this run has no record of moving it, so it is unknown (moved by hand? by an
    earlier run?) and the operator decides, shown where it is."""
    source = source.rstrip("/")
    moved = "/tmp/" + source.rsplit("/", 1)[-1]

    async def state(ctx: RunContext, host: str) -> Evidence:
        if await path_exists(ctx, host, source):
            return Evidence(Verdict.NOT_DONE, f"{source} is there")
        there = await path_exists(ctx, host, moved)
        return Evidence(Verdict.UNKNOWN,
                        f"{source} is not there, and this run has not moved it",
                        (f"{source}: missing", f"{moved}: {'present' if there else 'missing'}"))
    return state


async def _move_aside(run: StepRun, host: str, sid: str, command: Command, source: str) -> None:
    await run_recorded(run, host, command, step_id=sid, state=_moved_state(source),
                       inspect=(f"ls -la {source.rstrip('/')} /tmp",))


def check_rst04_targets(ctx: RunContext, what: str = "RST-04") -> None:
    """Before RST-04 acts: the recovery host is one machine under one name (its host key),
    and each non-recovery host either answers over SSH or is proven lost (the preflight's
    evidence). A host that is only unreachable is neither skipped nor acted on: refused."""
    assert_one_name_per_machine(ctx, what)
    problems = []
    for host in non_recovery_hosts(ctx):
        status = ctx.fleet.status.get(host)
        if host in lost_hosts(ctx):
            if proven_lost(ctx, host) is None:
                problems.append(f"{host} is listed as lost but nothing proves it (no evidence "
                                f"from the preflight)")
        elif status is None:
            problems.append(f"{host} has no SSH session, and is not proven lost")
        elif not status.state.usable:
            problems.append(f"{host} is {status.state.value}"
                            + (f" ({status.error})" if status.error else "")
                            + ", and not proven lost")
    if problems:
        raise Refusal(f"{what} acts only on hosts that answer and skips only hosts proven "
                      f"lost: " + "; ".join(problems),
                      hint="Nothing was sent. Fix the host, or confirm it lost (--lost HOST, "
                           "or 'confirm lost' in the restore screen) and run the preflight "
                           "again")


async def stop_non_recovery(ctx: RunContext, run: StepRun) -> str:
    check_rst04_targets(ctx)
    hosts = skip_lost(run, non_recovery_hosts(ctx))
    done = []
    for host in hosts:
        for sid, command in rst04_commands(ctx, host):  # refuses the recovery host
            stage = command.stages[0]
            if stage[:2] == ("mv", "-v"):
                if sid == "RST-04e":
                    run.show(RunEventKind.NOTE, data_move_timeout(ctx, host).why, [host],
                             step_id=sid)
                await _move_aside(run, host, sid, command, stage[2])
            elif stage[:2] == ("crictl", "ps") and len(command.stages) > 1:
                await _wait_stopped(run, host, command, f"{command.stages[1][1]} containers",
                                    sid)
            elif stage[:2] == ("crictl", "ps"):
                await _wait_stopped(run, host, Command.of(
                    "crictl", "ps", "--name", "keepalived", "-q", privileged=True),
                    "keepalived containers", sid)
            elif stage[0] == "ip":
                await _drop_vips(run, host)
        done.append(host)
    if not done:
        return "no reachable non-recovery control-plane host"
    return f"static pods stopped and /var/lib/etcd moved to /tmp on {', '.join(done)}"


async def _drop_vips(run: StepRun, host: str) -> None:
    ctx = run.ctx
    vips = known_vips(ctx)
    if not vips:
        run.show(RunEventKind.NOTE,
                 f"WARNING: the API/ingress VIPs are unknown (the API was down): "
                         f"check `ip -o address` on {host} and remove them by hand", [host],
                 step_id="RST-04f")
        return
    r = await run.run(host, _vip_listing(ctx), step_id="RST-04f")
    for line in r.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] in ("inet", "inet6"):
            device, address = fields[1], fields[3]
            d = await run.run(host, priv("ip", "address", "del", address, "dev", device,
                                          safety=Safety.MUTATING), step_id="RST-04f")
            if not d.ok:
                run.fail(f"{host}: cannot remove VIP {address} from {device}: "
                         f"{d.stderr.strip() or d.error}")


# --- RST-06, RST-07 ---------------------------------------------------------------------------

def skip_no_keepalived(ctx: RunContext) -> str | None:
    if ctx.params.get("recovery_host") in (ctx.params.get("keepalived_hosts") or []):
        return None
    return "no keepalived.yaml on the recovery host (no keepalived VIPs)"


async def check_vip(ctx: RunContext, host) -> CheckResult:
    vips = known_vips(ctx)
    if not vips:
        return CheckResult(False, "keepalived runs here but the API VIP is unknown (the API was "
                                  "down at the preflight): check `ip -o address` by hand")
    r = await probe_host(ctx, host, Command.of("ip", "-o", "address").pipe("grep", vips[0]))
    if r.stdout.strip():
        return CheckResult(True, f"{host} holds the API VIP {vips[0]}")
    return CheckResult(False, f"{host} does not hold the API VIP {vips[0]} (missing or "
                              f"misconfigured keepalived)")


def skip_no_proxy(ctx: RunContext) -> str | None:
    return None if proxy_pairs(ctx) else "no cluster-wide proxy"


async def check_proxy(ctx: RunContext, _host) -> CheckResult:
    names = [k for k, _ in proxy_pairs(ctx)]
    return CheckResult(True, "exported for the restore script (sudo -E): " + ", ".join(names))


# --- RST-08 / RSTN-04 / QRS-03: the restore script, once ----------------------------------

@dataclass(frozen=True)
class ScriptSpec:
    path: str
    with_backup_dir: bool


SCRIPTS = {
    "RST-08": ScriptSpec(RESTORE_SCRIPT, True),
    "RSTN-04": ScriptSpec(RESTORE_SCRIPT, True),
    "QRS-03": ScriptSpec(QUORUM_SCRIPT, False),
}


def script_command(ctx: RunContext, step_id: str) -> Command:
    spec = SCRIPTS[step_id]
    args = (spec.path, ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR) \
        if spec.with_backup_dir else (spec.path,)
    return Command.of(*args, privileged=True, timeout=1800, env=proxy_pairs(ctx),
                      safety=Safety.DESTRUCTIVE)


async def restore_state(ctx: RunContext, host: str) -> list[str]:
    """What a restore script leaves behind, in the operator's words (for a failed or
    unknown run): etcd's data directory, /var/lib/etcd-backup, the static pod manifests."""
    seen = []
    for directory in ("/var/lib/etcd", "/var/lib/etcd-backup", MANIFESTS):
        r = await probe_host(ctx, host, priv("ls", "-A", directory, timeout=15))
        if r.ok:
            names = r.stdout.split()
            seen.append(f"{directory}: {', '.join(names) if names else 'empty'}")
        else:
            seen.append(f"{directory}: {(r.stderr.strip() or r.error or 'cannot list')}")
    return seen


def _script_advice(ctx: RunContext, step_id: str, seen: list[str], last_line: str) -> str:
    """What the operator must do after the script failed, from where it stopped."""
    listing = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in seen}
    data = listing.get("/var/lib/etcd", "")
    backup = listing.get("/var/lib/etcd-backup", "")
    if step_id == "QRS-03":
        return ("quorum-restore.sh did not finish: look at its output above; /var/lib/etcd "
                "is untouched unless it says so. Retry once the cause is fixed")
    moved = "member" in backup.split(", ") and "member" not in data.split(", ")
    if "is not empty" in last_line:
        return (f"the script stopped at its empty-directory check (/var/lib/etcd holds: "
                f"{data}). Move those files aside (e.g. into /var/lib/etcd-backup/), then Retry: "
                f"it copies the snapshot again and continues")
    if moved:
        return ("the script had already moved etcd's data to /var/lib/etcd-backup/member "
                "when it failed: etcd on this host is stopped and its old data is there. Fix "
                "the cause shown above (a damaged static_kuberesources tarball: copy the "
                "backup again, RST-03), then Retry: a new run does not move data that is no "
                "longer in /var/lib/etcd")
    return ("the script failed before it moved etcd's data (/var/lib/etcd holds: "
            f"{data or 'nothing'}). Fix the cause shown above, then Retry")


def run_script(step_id: str):
    async def action(ctx: RunContext, run: StepRun) -> str:
        spec = SCRIPTS[step_id]
        host = recovery_host(ctx)

        async def on_failure(last_line: str) -> str:
            seen = await restore_state(ctx, host)
            for line in seen:
                run.show(RunEventKind.NOTE, line, [host])
            return _script_advice(ctx, step_id, seen, last_line) + \
                f". On {host} now: " + "; ".join(seen)

        outcome = await run_recorded(
            run, host, script_command(ctx, step_id), on_failure=on_failure,
            inspect=("ls -A /var/lib/etcd /var/lib/etcd-backup /etc/kubernetes/manifests",))
        if outcome.done_before:
            return f"{spec.path} on {host}: {outcome.detail}"
        return f"{spec.path} completed on {host}"
    return guarded(action)


def script_preview(step_id: str):
    return lambda ctx: [(ctx.params.get("recovery_host") or "?", script_command(ctx, step_id))]


# --- RSTN-01, RSTN-02, QRS-02: the recovery host and SSH, disable-etcd.sh, etcd running ---

async def check_rstn01(ctx: RunContext, host) -> CheckResult:
    rec = await check_recovery_host(ctx, None)
    if not rec.ok:
        return rec
    ssh = await check_ssh(ctx, host)
    if not ssh.ok:
        return ssh
    return CheckResult(True, rec.detail if host == recovery_host(ctx) else ssh.detail)


def disable_command(ctx: RunContext) -> Command:
    return Command.of(DISABLE_SCRIPT, privileged=True, timeout=900, env=proxy_pairs(ctx),
                      safety=Safety.DESTRUCTIVE)


async def disable_etcd_action(ctx: RunContext, run: StepRun) -> str:
    hosts = skip_lost(run, control_plane(ctx))
    for host in hosts:
        # disable-etcd.sh may run again (it only stops etcd): no state probe; a run of it
        # that this run saw end well is not sent again
        await run_recorded(run, host, disable_command(ctx))
    return f"etcd disabled on {', '.join(hosts)}"


async def check_etcd_disabled(ctx: RunContext, host) -> CheckResult:
    if host in lost_hosts(ctx):
        return CheckResult(True, f"{host}: {LOST_REASON}")
    if await path_exists(ctx, host, f"{MANIFESTS}/etcd-pod.yaml"):
        return CheckResult(False, "etcd-pod.yaml is still in the manifests")
    r = await probe_host(ctx, host, Command.of("crictl", "ps", "--name", "^etcd$", "-q",
                                           privileged=True))
    if r.stdout.strip():
        return CheckResult(False, "the etcd container still runs")
    return CheckResult(True, "etcd disabled (manifest moved, container stopped)")


async def check_etcd_container(ctx: RunContext, host) -> CheckResult:
    r = await probe_host(ctx, host, Command.of("crictl", "ps", "--name", "^etcd$", privileged=True))
    rows = [l for l in r.stdout.splitlines()[1:] if l.strip()]
    if rows:
        return CheckResult(True, f"etcd container running: {' '.join(rows[0].split())}")
    if await path_exists(ctx, host, "/var/lib/etcd/member"):
        return CheckResult(True, "no etcd container running, but /var/lib/etcd/member is there "
                                 "for quorum-restore.sh")
    return CheckResult(False, f"no etcd container and no /var/lib/etcd/member on {host}")
