"""The `etcd-dr` command line (contract: shared CONTRACTS.md).

Every command ends with exit 0 (success/healthy), 1 (failed step/degraded) or 2 (bad input,
refused), and every error is one paragraph on stderr: never a Python traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from functools import wraps

import click

from tui.errors import EtcdDrError


def _fail(message: str, code: int = 2) -> None:
    from tui.secrets import redact_text

    click.echo(redact_text(f"etcd-dr: {message}"), err=True)
    sys.exit(code)


def operator_errors(fn):
    """Turn every failure into a plain message and an exit code."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EtcdDrError as e:
            _fail(e.message, e.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted.", 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as e:  # the last line of defence: still no traceback
            _fail(f"unexpected internal error: {e.__class__.__name__}: {e}. Nothing more was "
                  f"sent to the hosts after this point; please report it with the command "
                  f"you ran.", 1)

    return wrapper


def _speed(ctx, param, value):
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter("must be greater than 0 (a finite number)")
    return value


def _scenario(ctx, param, value):
    if value is None:
        return value
    from tui.drill.scenario import scenario_files

    known = scenario_files()
    if value not in known and not value.endswith((".yaml", ".yml")):
        raise click.BadParameter(f"unknown scenario {value!r}; known: {', '.join(known)}")
    return value


scenario_option = click.option("--scenario", default=None, callback=_scenario,
                               help="Drill scenario (see `etcd-dr scenarios`).")
# `etcd-dr drill` opens a current release unless told otherwise; status, run and lab serve
# keep `healthy` (4.12), the contract's name, as their --drill default
DEFAULT_DRILL_SCENARIO = "healthy-4.20"
speed_option = click.option("--speed", type=float, default=1.0, callback=_speed,
                            show_default=True, help="Simulated clock speed factor.")
read_only_option = click.option("--read-only", is_flag=True,
                                help="Send nothing that changes a host or the cluster.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="etcd-dr")
def main() -> None:
    """etcd-dr: the guided etcd recovery console for OpenShift 4."""
    from tui.quiet import quiet_library_logs
    from tui.taskdump import install_from_env

    quiet_library_logs()
    install_from_env()


@main.command()
@scenario_option
@speed_option
@read_only_option
@click.option("--no-session", is_flag=True,
              help="Only the simulated cluster: no briefing, RTO clock, hints or score.")
@operator_errors
def drill(scenario, speed, read_only, no_session):
    """Start the built-in simulated cluster and open the console on it, as a drill: the
    scenario's objective first, an RTO clock in drill time, hints on h (each -5), mistakes
    counted (each -10), and a debrief (D, and when the scenario's runbook finishes).
    Without --scenario: healthy-4.20, a current release."""
    from tui.app import run_console
    from tui.backend import BackendSpec

    run_console(BackendSpec(scenario=scenario or DEFAULT_DRILL_SCENARIO, speed=speed,
                            read_only=read_only),
                drill_session=not no_session)


@main.command()
@click.option("--inventory", "inventory_path", required=True, metavar="FILE",
              help="Inventory YAML of the cluster.")
@read_only_option
@click.option("--resume", metavar="JOURNAL", default=None, help="Resume an unfinished journal.")
@operator_errors
def console(inventory_path, read_only, resume):
    """Open the console on a real cluster."""
    from tui.app import run_console
    from tui.backend import BackendSpec

    if resume and read_only:
        _fail("--resume continues a runbook, which a --read-only console cannot run.", 2)
    if resume:
        from tui.journal import load_state

        load_state(resume)  # a missing or damaged journal fails here, before any UI
    run_console(BackendSpec(inventory_path=inventory_path, read_only=read_only),
                resume_path=resume)


@main.command()
@click.option("--inventory", "inventory_path", default=None, metavar="FILE")
@click.option("--drill", "use_drill", is_flag=True, help="Use the built-in simulated cluster.")
@scenario_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@operator_errors
def status(inventory_path, use_drill, scenario, as_json):
    """One status snapshot, no UI. Exit 0 healthy, 1 degraded, 2 bad input."""
    from tui.backend import Backend, BackendSpec
    from tui.status.render import render_text

    if bool(inventory_path) == bool(use_drill):
        _fail("give exactly one of --inventory FILE or --drill.", 2)
    if scenario and not use_drill:
        _fail("--scenario goes with --drill.", 2)
    spec = BackendSpec(inventory_path=inventory_path,
                       scenario=(scenario or "healthy") if use_drill else None, read_only=True)

    async def once():
        backend = Backend(spec)
        try:
            await backend.start(wait=True)
            return await backend.collector.collect()
        finally:
            await backend.close()

    snap = asyncio.run(once())
    from tui.secrets import redact, redact_text

    if as_json:
        click.echo(json.dumps(redact(snap.to_json()), indent=2))
    else:
        click.echo(redact_text(render_text(snap)))
    sys.exit(0 if snap.healthy else 1)


@main.command()
@click.option("--kubeconfig", default=None, metavar="FILE",
              help="The cluster's kubeconfig (read-only use of the API).")
@click.option("--context", default=None, metavar="NAME",
              help="Its context (default: its current-context, written into the inventory).")
@click.option("--drill", "use_drill", is_flag=True,
              help="Discover a simulated cluster started for it (stops when init ends).")
@scenario_option
@click.option("-o", "--output", "output", default=None, metavar="FILE",
              help="Write the inventory here (default: stdout); an existing file is refused.")
@click.option("--force", is_flag=True, help="Replace an existing -o FILE.")
@click.option("--trust-on-first-use", "tofu", is_flag=True,
              help="Trust every unknown host key without asking (automation); journaled.")
@click.option("--known-hosts", default=None, metavar="FILE",
              help="known_hosts to check and add trusted keys to (default ~/.ssh/known_hosts; "
                   "--drill: the drill's own); written into the inventory.")
@click.option("--identity-file", default=None, metavar="FILE",
              help="SSH private key to write into the inventory (default: agent, ~/.ssh).")
@click.option("--jump", default=None, metavar="[USER@]HOST[:PORT]",
              help="Bastion to reach the hosts through (ssh.jump).")
@click.option("--ssh-user", default=None, metavar="USER",
              help="User to log in as on the hosts (ssh.user; default core, RHCOS's).")
@click.option("--ssh-port", default=None, type=click.IntRange(1, 65535), metavar="PORT",
              help="Port the hosts' sshd listens on (ssh.port; default 22).")
@click.option("--name", default=None, help="The cluster's name, when the API cannot tell.")
@click.option("--workers", is_flag=True, help="List the worker nodes too.")
@click.option("--journal", "journal_path", default=None, metavar="FILE",
              help="Journal of the trusted host keys (default: the journal directory).")
@operator_errors
def init(kubeconfig, context, use_drill, scenario, output, force, tofu, known_hosts,
         identity_file, jump, ssh_user, ssh_port, name, workers, journal_path):
    """Write an inventory discovered from the cluster: name, version, platform, topology,
    proxy, control-plane hosts (InternalIP); then check SSH to each host and trust unknown
    host keys (asked per host on a terminal). Exit 0 all hosts ready; 1 written, but some
    hosts need attention; 2 nothing written."""
    from pathlib import Path

    from tui.files import refuse_unusual, write_private_file
    from tui.hostcheck import TrustPolicy
    from tui.initialize import InitRequest, InitSession
    from tui.secrets import redact_text

    if bool(kubeconfig) == bool(use_drill):
        _fail("give exactly one of --kubeconfig FILE or --drill.", 2)
    if scenario and not use_drill:
        _fail("--scenario goes with --drill.", 2)
    if context and not kubeconfig:
        _fail("--context goes with --kubeconfig.", 2)
    hint = "Give -o a new file, or add --force to replace it"
    out = Path(output) if output else None
    if out is not None:
        if refuse_unusual(out, what="the inventory", hint=hint) is not None and not force:
            _fail(f"{out}: the file exists; init does not replace an inventory unless told. "
                  f"{hint}.", 2)
        parent = out.parent if str(out.parent) else Path(".")
        if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
            _fail(f"{out}: cannot write the inventory there (its directory is not "
                  f"writable). Give -o a path in a writable directory.", 2)
    policy = (TrustPolicy.FIRST_USE if tofu else
              TrustPolicy.ASK if sys.stdin.isatty() else TrustPolicy.NEVER)

    def say(line: str) -> None:
        click.echo(redact_text(line), err=True)

    def ask(check) -> bool:
        say(f"{check.name} ({check.address} port {check.port}) presents a host key that is "
            f"not in known_hosts: {check.fingerprint}")
        say("  Compare it with the host's own, e.g. on its console: "
            "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")
        try:
            return click.confirm(f"  Trust {check.name}'s key?", default=False, err=True)
        except click.Abort:  # Ctrl-C or Ctrl-D at the prompt: init stops, nothing written
            raise KeyboardInterrupt from None

    request = InitRequest(
        kubeconfig=kubeconfig, context=context,
        scenario=(scenario or "healthy") if use_drill else None,
        drill_workdir=str(out.parent / (out.stem + ".d")) if use_drill and out else None,
        known_hosts=known_hosts, identity_file=identity_file, jump=jump, user=ssh_user,
        port=ssh_port, name=name, workers=workers, policy=policy, journal=journal_path)
    # one event loop for every phase (a drill started for init lives on it), but the
    # operator's prompt runs between them, outside it: Ctrl-C there stops init at once
    with asyncio.Runner() as runner:
        session = InitSession(request, say=say)
        try:
            runner.run(session.start())
            runner.run(session.look())
            result = runner.run(session.finish(session.choose(ask)))
        finally:
            runner.run(session.close())
    if out is not None:
        write_private_file(out, result.text, what="the inventory", hint=hint)
    else:
        click.echo(redact_text(result.text), nl=False)
    for check in result.checks:
        say(f"  {check.name} {check.address}: {check.note()}")
    if result.journal is not None:
        say(f"trusted keys are journaled in {result.journal}")
    where = f"inventory written to {out}" if out else "inventory printed above"
    if result.problems:
        names = ", ".join(c.name for c in result.problems)
        through_jump = any(c.failure == "jump-host" for c in result.problems)
        advice = ("the jump host is what stops them, and init never trusts a jump host's key "
                  "itself: an unknown key, check its fingerprint (above) and add it to the "
                  "known_hosts file; then run init again" if through_jump else
                  "a key not trusted: check its fingerprint, then run init again on a "
                  "terminal, or trust it with t in `etcd-dr console`")
        say(f"{where}, but {len(result.problems)} host(s) are not ready: {names}. Fix what "
            f"is said for each ({advice}).")
    else:
        say(f"{where}; every host answers SSH with a trusted key.")
    sys.exit(result.exit_code)


def _duration(ctx, param, value):
    if value is None:
        return None
    from tui.durations import parse_duration

    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _assumptions(ctx, param, values) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        step, sep, answer = value.partition("=")
        step, answer = step.strip(), answer.strip()
        if not sep or not step or answer not in ("done", "not-done"):
            raise click.BadParameter(f"{value!r}: write STEP=done or STEP=not-done, e.g. "
                                     f"RST-08=done", param=param)
        if out.get(step, answer) != answer:
            raise click.BadParameter(f"{step} is given both done and not-done", param=param)
        out[step] = answer
    return out


@main.command()
@click.argument("runbook", type=click.Choice(["backup", "encryption-on", "encryption-off",
                                              "defrag", "restore", "quorum-restore"]))
@click.option("--inventory", "inventory_path", default=None, metavar="FILE", multiple=True,
              help="Inventory of the cluster (backup: repeat it for several clusters).")
@click.option("--inventory-dir", default=None, metavar="DIR",
              help="backup: one backup per cluster of DIR's inventories (*.yaml, *.yml).")
@click.option("--keep", type=click.IntRange(min=1), default=None, metavar="N",
              help="backup: then keep the newest N backup pairs on that host (BAK-KEEP).")
@click.option("--parallel", type=click.IntRange(min=1, max=64), default=None, metavar="N",
              help="backup of several clusters: at most N at a time (default 4).")
@click.option("--json", "as_json", is_flag=True,
              help="backup of several clusters: the summary as one JSON object.")
@click.option("--drill", "use_drill", is_flag=True, help="Use the built-in simulated cluster.")
@scenario_option
@speed_option
@click.option("--host", default=None,
              help="The host to act on (backup: the one host; restore, quorum-restore: the "
                   "recovery host, default the preflight's best candidate).")
@click.option("--dir", "--backup-dir", "backup_dir", default="/home/core/assets/backup",
              show_default=True, help="Backup directory on the host (restore: on the "
                                      "recovery host).")
@click.option("--backup-source", default=None, metavar="HOST:DIR|DIR",
              help="restore: where the backup is now, when not already in --backup-dir on "
                   "the recovery host (a local DIR is copied there).")
@click.option("--path", "restore_path_key", type=click.Choice(["4.12-4.13", "4.14-4.17",
                                                               "4.18+"]), default=None,
              help="restore: the procedure, instead of the one the version says (needs "
                   "--reason).")
@click.option("--reason", "path_reason", default=None, metavar="TEXT",
              help="restore: why --path differs from the detected procedure; journaled.")
@click.option("--lost", "lost", multiple=True, metavar="HOST",
              help="restore, quorum-restore: confirm that this control-plane host is lost "
                   "(gone for good; repeatable). A host is lost only on evidence: this, the "
                   "API, or SSH refused for 60 s; journaled.")
@click.option("--type", "encryption_type", type=click.Choice(["aescbc", "aesgcm"]),
              default="aescbc", show_default=True, help="encryption-on: the encryption type.")
@click.option("--override", default=None, metavar="REASON",
              help="Run despite an interlock (e.g. encryption in progress); journaled.")
@click.option("--yes", is_flag=True, help="Confirm every step in advance.")
@click.option("--journal", "journal_path", default=None, metavar="FILE",
              help="Journal file; an unfinished one is resumed.")
@click.option("--wait", "wait", default=None, callback=_duration, metavar="DURATION",
              help="defrag: the wait between members.")
@click.option("--timeout", "op_timeout", default=None, callback=_duration, metavar="DURATION",
              help="defrag: each member's etcdctl --command-timeout; backup: the backup "
                   "script's and the snapshot status read after it; restore: RST-03's copy of "
                   "each backup file and the preflight's snapshot status read. Default: "
                   "scaled to the member's database size or the file's (shown before it runs).")
@click.option("--fetch-to", "fetch_to", default=None, metavar="DIR",
              help="backup: stream the verified pair and its manifest to DIR/CLUSTER/ on this "
                   "machine (sha256 checked, 0600) for safekeeping.")
@click.option("--compact", is_flag=True,
              help="defrag: compact the history to the current revision first.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--assume", "assume", multiple=True, metavar="STEP=done|not-done",
              callback=_assumptions,
              help="When a resumed run cannot tell whether STEP's command was done on a host "
                   "(it stops with exit 2 and says what it saw): done = do not send it, "
                   "not-done = send it. Journaled as the operator's decision.")
@read_only_option
@operator_errors
def run(runbook, inventory_path, use_drill, scenario, speed, host, backup_dir, backup_source,
        restore_path_key, path_reason, encryption_type, override, yes, journal_path, wait,
        compact, dry_run, assume, read_only, lost=(), op_timeout=None,
        fetch_to=None, inventory_dir=None, keep=None, parallel=None, as_json=False):
    """Run a runbook headless: one progress line per step event. `backup` with
    --inventory-dir (or several --inventory, --keep, --parallel, --json): one verified backup
    per cluster, a summary table, exit 0 only if all succeeded."""
    from tui.backend import BackendSpec
    from tui.runbooks import registry
    from tui.runbooks.headless import run_headless

    inventories, inventory_path = inventory_path, (inventory_path or (None,))[-1]
    if runbook == "backup" and (inventory_dir is not None or len(inventories) > 1 or keep
                                or parallel or as_json):
        _run_fleet_backup(inventories=inventories, inventory_dir=inventory_dir,
                          use_drill=use_drill, scenario=scenario, host=host,
                          backup_dir=backup_dir, override=override, yes=yes,
                          journal_path=journal_path, op_timeout=op_timeout, fetch_to=fetch_to,
                          dry_run=dry_run, assume=assume, read_only=read_only, keep=keep,
                          parallel=parallel, as_json=as_json)
    if inventory_dir is not None or len(inventories) > 1 or keep or parallel or as_json:
        _fail("--inventory-dir, several --inventory, --keep, --parallel and --json go with "
              "the backup runbook.", 2)
    if bool(inventory_path) == bool(use_drill):
        _fail("give exactly one of --inventory FILE or --drill.", 2)
    if scenario and not use_drill:
        _fail("--scenario goes with --drill.", 2)
    if runbook not in registry():
        _fail(f"the {runbook} runbook is not in this build yet.", 2)
    spec = BackendSpec(inventory_path=inventory_path,
                       scenario=(scenario or "healthy") if use_drill else None,
                       speed=speed, read_only=read_only)
    if host is not None and runbook not in ("backup", "restore", "quorum-restore"):
        _fail(f"--host goes with backup, restore and quorum-restore; the {runbook} runbook "
              f"chooses its hosts itself.", 2)
    if host is not None and not host.strip():
        _fail("--host needs the name of a host of the inventory (leave it out to let the "
              "console choose).", 2)
    params: dict = {}
    if runbook == "backup":
        params.update(host=host, backup_dir=backup_dir)
    elif runbook == "encryption-on":
        params.update(encryption_type=encryption_type)
    elif runbook == "encryption-off":
        params.update(encryption_type="identity")
    elif runbook == "defrag":
        params.update(wait=60.0 if wait is None else wait, compact=compact)
    elif runbook in ("restore", "quorum-restore"):
        if restore_path_key and runbook == "quorum-restore":
            _fail("--path goes with the restore runbook (quorum-restore is 4.18+ only).", 2)
        if restore_path_key and not (path_reason or "").strip():
            _fail("--path needs --reason: say why the procedure differs from the one the "
                  "cluster's version calls for (it is journaled).", 2)
        if path_reason is not None and not restore_path_key:
            _fail("--reason goes with --path: it says why the procedure differs from the "
                  "one the cluster's version calls for.", 2)
        params.update(backup_dir=backup_dir)
        if host:
            params["recovery_host"] = host
        if backup_source:
            params["backup_source"] = backup_source
        if restore_path_key:
            params.update(path=restore_path_key, path_reason=path_reason.strip())
        if lost:
            params["confirmed_lost"] = {h.strip(): "--lost on the command line" for h in lost}
    if (restore_path_key or backup_source or path_reason) and \
            runbook not in ("restore", "quorum-restore"):
        _fail("--path, --reason and --backup-source go with restore and quorum-restore.", 2)
    if lost and runbook not in ("restore", "quorum-restore"):
        _fail("--lost goes with restore and quorum-restore.", 2)
    if op_timeout is not None:
        from tui.timeouts import check_override

        if runbook not in ("defrag", "backup", "restore", "quorum-restore"):
            _fail(f"--timeout goes with defrag, backup and restore; the {runbook} runbook's "
                  f"timeouts follow its own steps.", 2)
        try:
            params["timeout"] = check_override(op_timeout)
        except ValueError as e:
            _fail(f"--timeout: {e}.", 2)
    if fetch_to is not None:
        if runbook != "backup":
            _fail("--fetch-to goes with backup.", 2)
        if not fetch_to.strip():
            _fail("--fetch-to needs a directory on this machine.", 2)
        params["fetch_to"] = os.path.abspath(os.path.expanduser(fetch_to))
    if any(not h.strip() for h in lost):
        _fail("--lost needs a host name from the inventory.", 2)
    if override is not None:
        if not override.strip():  # an interlock is passed only for a reason someone wrote
            _fail("--override needs a reason: say, in words, why it is safe to run despite "
                  "the interlock (it is journaled).", 2)
        params["override"] = override.strip()
    if journal_path and not dry_run:
        from tui.backend import refuse_drill_resume
        from tui.journal import check_journal_path

        check_journal_path(journal_path)  # a link, a directory, a device: refused now
        if use_drill and not read_only:  # a new simulated cluster: not another one's run
            refuse_drill_resume(journal_path)
    code = asyncio.run(run_headless(runbook, spec, params, yes=yes, journal_path=journal_path,
                                    dry_run=dry_run, assume=assume))
    sys.exit(code)


def _run_fleet_backup(*, inventories, inventory_dir, use_drill, scenario, host, backup_dir,
                      override, yes, journal_path, op_timeout, fetch_to, dry_run, assume,
                      read_only, keep, parallel, as_json) -> None:
    """`run backup` over several clusters (tui/runbooks/fleet_backup.py); exits."""
    from tui.runbooks.fleet_backup import DEFAULT_PARALLEL, inventory_files, run_fleet_backup

    if use_drill or scenario:
        _fail("--drill goes with one cluster; --inventory-dir and --inventory name real "
              "clusters (a drill's: `etcd-dr lab serve --inventory-out DIR/NAME.yaml`).", 2)
    if inventory_dir is None and not inventories:
        _fail("give --inventory-dir DIR (or --inventory FILE, repeated) for --keep, "
              "--parallel or --json.", 2)
    for flag, given in (("--host", host), ("--journal", journal_path), ("--dry-run", dry_run),
                        ("--assume", assume)):
        if given:
            _fail(f"{flag} goes with one cluster; a backup of several chooses each one's "
                  f"host itself (a healthy non-leader) and writes each its own journal.", 2)
    params: dict = {"backup_dir": backup_dir}
    if op_timeout is not None:
        from tui.timeouts import check_override

        try:
            params["timeout"] = check_override(op_timeout)
        except ValueError as e:
            _fail(f"--timeout: {e}.", 2)
    if fetch_to is not None:
        if not fetch_to.strip():
            _fail("--fetch-to needs a directory on this machine.", 2)
        params["fetch_to"] = os.path.abspath(os.path.expanduser(fetch_to))
    if override is not None:
        if not override.strip():
            _fail("--override needs a reason: say, in words, why it is safe to run despite "
                  "the interlock (it is journaled).", 2)
        params["override"] = override.strip()
    files = inventory_files(inventory_dir, tuple(inventories))
    code = asyncio.run(run_fleet_backup(files, params, keep=keep,
                                        parallel=parallel or DEFAULT_PARALLEL, yes=yes,
                                        read_only=read_only, as_json=as_json))
    sys.exit(code)


def _follow_journal(journal: str, *, to_stderr: bool, records=None) -> dict | None:
    """Follow a journal until its run ends; None when Ctrl-C stopped it. Read-only."""
    from tui.watch import follow

    from tui.secrets import redact_text

    def emit(line: str) -> None:
        click.echo(redact_text(line), err=to_stderr)

    click.echo(f"following {journal} (read-only; Ctrl-C stops following, not the run)",
               err=True)
    try:
        return follow(journal, emit, records=records)
    except KeyboardInterrupt:
        click.echo("stopped following (the run, if any, goes on).", err=True)
        return None
    except BrokenPipeError:  # `etcd-dr watch J | head`: the reader has gone, so do we
        _quiet_exit()


def _quiet_exit() -> None:
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError:
        pass
    sys.exit(0)


@main.command()
@click.argument("journal", metavar="JOURNAL")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md",
              show_default=True)
@click.option("--follow", is_flag=True,
              help="Follow a running journal (its lines on stderr) and print the report "
                   "when the run ends or on Ctrl-C.")
@operator_errors
def report(journal, fmt, follow):
    """Report of a journal: timeline, hosts, commands, overrides, waits, totals."""
    from tui.report import render_report

    if follow:
        _follow_journal(journal, to_stderr=True)
    text = render_report(journal, fmt)
    try:
        click.echo(text, nl=False if fmt == "md" else True)
    except BrokenPipeError:  # `etcd-dr report J | head`
        _quiet_exit()


@main.command()
@click.argument("journal", metavar="JOURNAL")
@click.option("--tui", "use_tui", is_flag=True,
              help="A full-screen view with the totals so far; q closes it.")
@operator_errors
def watch(journal, use_tui):
    """Follow a running journal read-only, one line per event; ends with the run (exit 0
    finished, 1 failed) or on Ctrl-C (exit 0)."""
    from tui.report import summarize
    from tui.durations import format_duration

    if use_tui:
        from pathlib import Path

        if not Path(journal).parent.is_dir():
            _fail(f"{Path(journal).parent}: the journal's directory does not exist.", 2)
        from screens.watch import run_watch

        run_watch(journal)
        return

    records: list[dict] = []
    end = _follow_journal(journal, to_stderr=False, records=records)
    if end is None:
        sys.exit(0)
    try:
        totals = summarize(records, journal)["totals"]
    except Exception:  # noqa: BLE001 - the stream was the point; a summary is a bonus
        totals = None
    if totals is not None:
        ttr, speed = totals["time_to_recovery_s"], totals.get("speed") or 1.0

        def span(seconds: float) -> str:
            drill = f" (drill {format_duration(seconds * speed)})" if speed != 1 else ""
            return format_duration(seconds) + drill

        click.echo(f"-- {'time to recovery ' + span(ttr) if ttr is not None else 'not recovered'}"
                   f"; waiting {span(totals['time_waiting_s'])}; "
                   f"{totals['commands_sent']} command(s) sent, {totals['commands_failed']} "
                   f"failed; {totals['failures']} failed step(s); {totals['overrides']} "
                   f"override(s). Full report: etcd-dr report {journal}")
    failed = end.get("event") == "failed" or (end.get("event") == "score" and any(
        r["step"] == "-" and r["event"] == "failed" for r in records))
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="One JSON list: name, description, objective, runbook, path.")
@operator_errors
def scenarios(as_json):
    """List the drill scenarios: name, description, and the drill's objective."""
    from tui.drill.scenario import list_scenarios

    items = list_scenarios()
    if as_json:
        click.echo(json.dumps([{"name": s.name, "description": s.description,
                                "objective": s.objective or None, "runbook": s.runbook,
                                "path": s.path} for s in items], indent=2))
        return
    width = max(len(s.name) for s in items)
    for s in items:
        objective = f"  Objective: {s.objective}" if s.objective else ""
        click.echo(f"{s.name.ljust(width)}  {s.description}{objective}")


@main.group()
def lab():
    """The simulated cluster, standalone (for trainers and tests)."""


def _address_base(ctx, param, value):
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != "127" or not all(
            p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        raise click.BadParameter(f"{value!r}: write three numbers of a loopback address, "
                                 f"e.g. 127.0.31 (the hosts are then 127.0.31.1, ...)")
    return value


@lab.command("serve")
@scenario_option
@click.option("--inventory-out", default=None, metavar="FILE",
              help="Where to write the inventory that reaches the lab.")
@speed_option
@click.option("--address-base", default="127.0.3", show_default=True, callback=_address_base,
              metavar="127.X.Y", help="Loopback addresses of the hosts (127.X.Y.1, ...): "
                                      "several labs side by side, each its own cluster.")
@click.option("--clusters", type=click.IntRange(min=1), default=None, metavar="N",
              help="Serve a fleet of N drill clusters instead (the readiness wall's drill "
                   "fleet, on 127.1.1.x, 127.1.2.x, ...), with --inventory-dir.")
@click.option("--inventory-dir", default=None, metavar="DIR",
              help="--clusters: write one inventory per cluster here (NAME.yaml, and NAME.d/ "
                   "with its keys).")
@operator_errors
def lab_serve(scenario, inventory_out, speed, address_base="127.0.3", clusters=None,
              inventory_dir=None):
    """Run the simulated cluster (or, with --clusters, a fleet) until interrupted."""
    from pathlib import Path

    from tui.drill.lab import DrillLab

    from tui.files import refuse_unusual

    if clusters is not None or inventory_dir is not None:
        if clusters is None or inventory_dir is None or inventory_out or scenario or \
                address_base != "127.0.3":
            _fail("a fleet is served with --clusters N --inventory-dir DIR (and neither "
                  "--scenario, --inventory-out nor --address-base: the fleet mixes "
                  "scenarios, each cluster on addresses of its own).", 2)
        _serve_fleet(clusters, inventory_dir, speed)
        return
    if not inventory_out:
        _fail("give --inventory-out FILE (or --clusters N --inventory-dir DIR).", 2)

    out = Path(inventory_out)
    workdir = out.parent / (out.stem + ".d")
    # before any key is made: a link, a device, a directory, a path under a file is refused
    refuse_unusual(out, what="the inventory", hint="Give --inventory-out a new or existing "
                                                   "regular file in a writable directory")

    async def serve():
        from tui.drill.control import LabConsole

        lab = DrillLab(scenario or "healthy", speed=speed, workdir=workdir,
                       address_base=address_base)
        await lab.start(inventory_path=out)
        # trainers inject faults: `etcd-dr lab inject` (control port) or lines typed here
        console = LabConsole(lab, out, lambda line: click.echo(line, err=True))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await console.start(stdin=sys.stdin)
            hosts = ", ".join(f"{h.name} {h.address}:{h.ssh_port}" for h in lab.cluster.hosts)
            click.echo(f"drill cluster {lab.cluster.name} (scenario {lab.cluster.scenario}) is "
                       f"up: {hosts}; API {lab.api.url}"
                       + (f"; time x{speed:g}" if speed != 1 else ""), err=True)
            click.echo(f"inventory: {out}  (keys, known_hosts, kubeconfig in {workdir})",
                       err=True)
            click.echo(f"faults: etcd-dr lab inject --inventory {out} ACTION [ARGS]"
                       + (f"  or type here. {console.keys_help()}"
                          if console.reads_keys else ""), err=True)
            click.echo("Press Ctrl-C to stop.", err=True)
            await stop.wait()
        finally:
            await console.stop()
            await lab.stop()

    asyncio.run(serve())


def _serve_fleet(clusters: int, inventory_dir: str, speed: float) -> None:
    """`lab serve --clusters N --inventory-dir DIR`: the drill fleet until interrupted."""
    from pathlib import Path

    from tui.drill.fleetlab import DrillFleet

    directory = Path(inventory_dir)
    if directory.exists() and (directory.is_symlink() or not directory.is_dir()):
        _fail(f"{inventory_dir}: --inventory-dir must be a directory (not a link or a file).",
              2)

    async def serve():
        fleet = DrillFleet(clusters, speed=speed, inventory_dir=directory)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            paths = await fleet.start()
            for member, path in zip(fleet.members, paths):
                click.echo(f"{member.name}: {member.scenario}, backup {member.backup}: {path}",
                           err=True)
            click.echo(f"{len(paths)} drill cluster(s) up; inventories in {directory}. "
                       f"Press Ctrl-C to stop.", err=True)
            await stop.wait()
        finally:
            await fleet.stop()

    asyncio.run(serve())


@lab.command("inject", context_settings={"ignore_unknown_options": True})
@click.option("--inventory", "inventory_path", required=True, metavar="FILE",
              help="The inventory `lab serve --inventory-out` wrote.")
@click.argument("action", metavar="ACTION")
@click.argument("args", nargs=-1, metavar="[ARGS]...")
@operator_errors
def lab_inject(inventory_path, action, args):
    """Inject a fault into a running `lab serve` (its console sees it within one refresh).

    \b
    drop-host HOST [SECONDS]            the machine goes away (for SECONDS of drill time)
    restore-host HOST                   it comes back
    fill-db HOST                        the member's database to its quota: NOSPACE
    alarm HOST NOSPACE|CORRUPT          raise that alarm
    disarm                              clear every alarm
    stall-pod HOST MANIFEST [SECONDS]   kubelet stuck on a static pod (etcd, kube-apiserver,
                                        ...) until release-pod HOST MANIFEST (or SECONDS)
    drop-ssh HOST SECONDS               SSH refused for SECONDS of drill time, then back
    list                                what is injected now
    """
    from tui.drill.control import send_command

    click.echo(send_command(inventory_path, [action, *args]))


@main.command()
@click.argument("paths", nargs=-1, metavar="DIR|INVENTORY...")
@click.option("--drill", "use_drill", is_flag=True,
              help="A fleet of drill clusters started in this process (mixed scenarios and "
                   "backups).")
@click.option("--clusters", type=click.IntRange(min=1), default=None, metavar="N",
              help="--drill: how many clusters (default 10).")
@click.option("--json", "as_json", is_flag=True,
              help="Look once and print one JSON object per cluster per line, worst first; "
                   "exit 0 all ready, 1 any not ready.")
@click.option("--interval", default="10s", callback=_duration, metavar="DURATION",
              show_default=True, help="How often the wall looks again.")
@click.option("--max-backup-age", "max_backup_age", default="24h", callback=_duration,
              metavar="DURATION", show_default=True,
              help="A newest backup older than this puts the cluster at risk.")
@click.option("--backup-dir", default="/home/core/assets/backup", show_default=True,
              metavar="DIR", help="Where the backups are on each control-plane host.")
@click.option("--timeout", "probe_timeout", default="30s", callback=_duration,
              metavar="DURATION", show_default=True,
              help="The time one cluster's look may take; past it the row says so.")
@click.option("--parallel", default=16, type=click.IntRange(min=1), show_default=True,
              metavar="N", help="Clusters looked at at once.")
@operator_errors
def wall(paths, use_drill, clusters, as_json, interval, max_backup_age, backup_dir,
         probe_timeout, parallel):
    """Read-only readiness wall over many clusters: verdict, members, leader, DB size and
    fragmentation, alarms, encryption, version and the newest backup (its age, whether it
    verifies, whether it carries the encryption config), worst first. Enter opens a
    cluster's status screen (read-only), escape comes back."""
    from tui.wall.probe import Wall, inventory_paths
    from tui.wall.readiness import Thresholds

    if bool(paths) == bool(use_drill):
        _fail("give inventory files or directories, or --drill (not both).", 2)
    if clusters is not None and not use_drill:
        _fail("--clusters goes with --drill.", 2)
    if not backup_dir.startswith("/"):
        _fail(f"--backup-dir must be an absolute path on the hosts, not {backup_dir!r}.", 2)
    fleet = None
    inventories: list[str] = []
    if use_drill:
        from tui.drill.fleetlab import DrillFleet

        fleet = DrillFleet(clusters or 10)
    else:
        inventories = inventory_paths(paths)
    the_wall = Wall(inventories, fleet=fleet, backup_dir=backup_dir, timeout=probe_timeout,
                    parallel=parallel, thresholds=Thresholds(max_backup_age_s=max_backup_age))
    if not as_json:
        from screens.wall import run_wall

        run_wall(the_wall, interval=interval)
        return

    async def once():
        try:
            return await the_wall.refresh()
        finally:
            await the_wall.close()

    rows = asyncio.run(once())
    from tui.secrets import redact

    for row in rows:
        click.echo(json.dumps(redact(row.to_json())))
    sys.exit(0 if rows and all(r.verdict == "ready" for r in rows) else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
