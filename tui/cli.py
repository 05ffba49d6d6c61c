"""The `etcd-dr` command line (contract: shared CONTRACTS.md).

Every command ends with exit 0 (success/healthy), 1 (failed step/degraded) or 2 (bad input,
refused), and every error is one paragraph on stderr: never a Python traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import click

from tui.cli_fleet import run_fleet_backup_command, wall
from tui.cli_lab import lab
from tui.cli_options import (
    DEFAULT_DRILL_SCENARIO,
    duration,
    fail,
    operator_errors,
    read_only_option,
    scenario_option,
    speed_option,
)


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
        fail("--resume continues a runbook, which a --read-only console cannot run.", 2)
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
        fail("give exactly one of --inventory FILE or --drill.", 2)
    if scenario and not use_drill:
        fail("--scenario goes with --drill.", 2)
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
        fail("give exactly one of --kubeconfig FILE or --drill.", 2)
    if scenario and not use_drill:
        fail("--scenario goes with --drill.", 2)
    if context and not kubeconfig:
        fail("--context goes with --kubeconfig.", 2)
    hint = "Give -o a new file, or add --force to replace it"
    out = Path(output) if output else None
    if out is not None:
        if refuse_unusual(out, what="the inventory", hint=hint) is not None and not force:
            fail(f"{out}: the file exists; init does not replace an inventory unless told. "
                 f"{hint}.", 2)
        parent = out.parent if str(out.parent) else Path(".")
        if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
            fail(f"{out}: cannot write the inventory there (its directory is not "
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
@click.option("--wait", "wait", default=None, callback=duration, metavar="DURATION",
              help="defrag: the wait between members.")
@click.option("--timeout", "op_timeout", default=None, callback=duration, metavar="DURATION",
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
        run_fleet_backup_command(inventories=inventories, inventory_dir=inventory_dir,
                          use_drill=use_drill, scenario=scenario, host=host,
                          backup_dir=backup_dir, override=override, yes=yes,
                          journal_path=journal_path, op_timeout=op_timeout, fetch_to=fetch_to,
                          dry_run=dry_run, assume=assume, read_only=read_only, keep=keep,
                          parallel=parallel, as_json=as_json)
    if inventory_dir is not None or len(inventories) > 1 or keep or parallel or as_json:
        fail("--inventory-dir, several --inventory, --keep, --parallel and --json go with "
             "the backup runbook.", 2)
    if bool(inventory_path) == bool(use_drill):
        fail("give exactly one of --inventory FILE or --drill.", 2)
    if scenario and not use_drill:
        fail("--scenario goes with --drill.", 2)
    if runbook not in registry():
        fail(f"the {runbook} runbook is not in this build yet.", 2)
    spec = BackendSpec(inventory_path=inventory_path,
                       scenario=(scenario or "healthy") if use_drill else None,
                       speed=speed, read_only=read_only)
    if host is not None and runbook not in ("backup", "restore", "quorum-restore"):
        fail(f"--host goes with backup, restore and quorum-restore; the {runbook} runbook "
             f"chooses its hosts itself.", 2)
    if host is not None and not host.strip():
        fail("--host needs the name of a host of the inventory (leave it out to let the "
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
            fail("--path goes with the restore runbook (quorum-restore is 4.18+ only).", 2)
        if restore_path_key and not (path_reason or "").strip():
            fail("--path needs --reason: say why the procedure differs from the one the "
                 "cluster's version calls for (it is journaled).", 2)
        if path_reason is not None and not restore_path_key:
            fail("--reason goes with --path: it says why the procedure differs from the "
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
        fail("--path, --reason and --backup-source go with restore and quorum-restore.", 2)
    if lost and runbook not in ("restore", "quorum-restore"):
        fail("--lost goes with restore and quorum-restore.", 2)
    if op_timeout is not None:
        from tui.timeouts import check_override

        if runbook not in ("defrag", "backup", "restore", "quorum-restore"):
            fail(f"--timeout goes with defrag, backup and restore; the {runbook} runbook's "
                 f"timeouts follow its own steps.", 2)
        try:
            params["timeout"] = check_override(op_timeout)
        except ValueError as e:
            fail(f"--timeout: {e}.", 2)
    if fetch_to is not None:
        if runbook != "backup":
            fail("--fetch-to goes with backup.", 2)
        if not fetch_to.strip():
            fail("--fetch-to needs a directory on this machine.", 2)
        params["fetch_to"] = os.path.abspath(os.path.expanduser(fetch_to))
    if any(not h.strip() for h in lost):
        fail("--lost needs a host name from the inventory.", 2)
    if override is not None:
        if not override.strip():  # an interlock is passed only for a reason someone wrote
            fail("--override needs a reason: say, in words, why it is safe to run despite "
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
            fail(f"{Path(journal).parent}: the journal's directory does not exist.", 2)
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


main.add_command(lab)
main.add_command(wall)


if __name__ == "__main__":  # pragma: no cover
    main()
