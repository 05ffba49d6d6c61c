"""One decision, two front ends (issue #14 item 3): for every restore scenario of the drill,
the console's restore wizard, once its preflight has settled, and `etcd-dr run restore
--dry-run` (or `run quorum-restore`, when the wizard proposes the quorum restore) choose the
same recovery host, the same lost hosts and the same procedure for the same reason, plan the
same steps on the same hosts with the same commands, and say it in the same words.

Per scenario, one drill: the console runs on it in a pilot, and the headless dry run runs
in-process on the same drill (run_headless, with the parameters the command line passes),
right after the wizard settled. Both sides' plans are the object
tui/runbooks/restore/plan.py builds (the wizard's from its screen state, the dry run's as
its ticket prints it); the comparison is of those objects and of the lines each front end
shows. Two things that would differ with the moment each side looks are held still, on both
sides alike: the drill's clock is frozen (raft indexes), the wall clock's date too (RST-19's
forceRedeploymentReason is stamped with it), and a host that refuses SSH has refused for an
hour (its lost-host evidence says for how long).
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from tests.conftest import FIXED_NOW, populated, wait_until
from tui.drill.scenario import list_scenarios, load_drill
from tui.errors import EtcdDrError

pytest.importorskip("tui.runbooks.restore", reason="the restore runbooks are not built yet")

RESTORE_RUNBOOKS = ("restore", "quorum-restore")
SCENARIOS = [s.name for s in list_scenarios() if s.runbook in RESTORE_RUNBOOKS]


def test_every_restore_scenario_is_compared():
    """The list comes from the scenario registry: a new restore scenario is compared too."""
    assert {"lost-two-hosts", "lost-two-hosts-4.16", "lost-two-hosts-4.18",
            "lost-two-hosts-4.21", "quorum-lost-4.18", "quorum-lost-4.21",
            "kubelet-certs-rotated"} <= set(SCENARIOS)


class _FixedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.fromtimestamp(FIXED_NOW, tz or timezone.utc)


@pytest.fixture
def held_still(monkeypatch):
    """What would differ with the moment each front end looks, held still on both sides."""
    import tui.runbooks.restore.common
    import tui.runbooks.restore.preflight
    from tui.fleet.fleet import Fleet

    monkeypatch.setattr(tui.runbooks.restore.common, "datetime", _FixedDatetime)
    monkeypatch.setattr(tui.runbooks.restore.preflight, "datetime", _FixedDatetime)
    refusing = Fleet.unreachable_for

    def refused_for_an_hour(self, name):
        seen = refusing(self, name)
        return None if seen is None else (seen[0], 3600.0)

    monkeypatch.setattr(Fleet, "unreachable_for", refused_for_an_hour)


def _as_the_command_line_passes(args: list[str], monkeypatch):
    """(runbook, spec, params) that `etcd-dr ARGS` hands to run_headless: the command line
    itself parses them (click, in-process), and nothing runs."""
    import tui.cli
    import tui.runbooks.headless

    calls = []
    with monkeypatch.context() as m:
        m.setattr(tui.runbooks.headless, "run_headless",
                  lambda *a, **kw: calls.append((a, kw)))
        m.setattr(tui.cli, "asyncio", SimpleNamespace(run=lambda _: 0))
        result = CliRunner().invoke(tui.cli.main, args)
    assert result.exit_code == 0 and len(calls) == 1, result.output
    (runbook, spec, params), kw = calls[0]
    assert kw["dry_run"] is True
    return runbook, spec, params


class _SameDrill:
    """The wizard's drill, for run_headless: started already, and not closed by it."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        return getattr(self._backend, name)

    async def start(self, wait: bool = True) -> None:
        pass

    async def close(self) -> None:
        pass


async def _dry_run(app, runbook, spec, params, monkeypatch):
    """`run RUNBOOK --dry-run` on the wizard's drill: (the plan its ticket printed, the
    ticket's lines, the refusal when the real run would be refused)."""
    from tui.runbooks import headless
    from tui.runbooks.restore import ticket

    printed = []
    building = ticket.restore_plan

    def recorded(runbook_, ctx):
        printed.append(building(runbook_, ctx))
        return printed[-1]

    out = io.StringIO()
    refused = None
    with monkeypatch.context() as m:
        m.setattr(headless, "Backend", lambda _spec: _SameDrill(app.backend))
        m.setattr(ticket, "restore_plan", recorded)
        try:
            await headless.run_headless(runbook, spec, params, yes=False, journal_path=None,
                                        dry_run=True, out=out)
        except EtcdDrError as e:  # printed, but the run would be refused (a blocking check)
            refused = e.message
    assert len(printed) == 1, f"no plan printed: {refused}\n{out.getvalue()}"
    return printed[0], out.getvalue().splitlines(), refused


async def _settled(pilot, screen, timeout=60):
    """The wizard after its preflight: no check under way or asked for, the report of the
    procedure shown, the recovery host the one it checked."""
    from screens.restore import QUORUM

    def settled():
        report = screen.report
        if report is None or screen.checking or screen._preflight_busy or \
                screen._recheck_again or report.lost_wait or screen.procedure is None:
            return False
        kind = "quorum-restore" if screen.procedure == QUORUM else "restore"
        return report.procedure == kind and report.recovery_host == screen.recovery_host
    await wait_until(pilot, settled, timeout=timeout,
                     what=f"the wizard's preflight to settle ({screen.preflight_error})")
    await pilot.pause()
    assert settled()


def _block(lines: list[str], within: list[str]) -> bool:
    """`lines` appear in `within` one after the other."""
    n = len(lines)
    return any(within[i:i + n] == lines for i in range(len(within) - n + 1))


async def _both_plans(app, pilot, scenario: str, backup_dir: str | None, monkeypatch):
    """The wizard's plan once its preflight settled (with `backup_dir` typed in its field
    when given), and the plan `run RUNBOOK --dry-run` prints on the same drill, RUNBOOK the
    procedure the wizard proposes."""
    from screens.restore import QUORUM

    await wait_until(pilot, lambda: populated(app), what="first snapshot")
    await pilot.press("R")
    await wait_until(pilot, lambda: app.current_mode == "restore", what="the wizard")
    screen = app.screen
    args = []
    if backup_dir:  # the backup the drill wants used, typed in the wizard too
        await _settled(pilot, screen)
        screen.query_one("#backup-dir").value = backup_dir
        screen.action_recheck()
        args = ["--backup-dir", backup_dir]
    await _settled(pilot, screen)
    runbook = "quorum-restore" if screen.procedure == QUORUM else "restore"
    name, spec, params = _as_the_command_line_passes(
        ["run", runbook, "--drill", "--scenario", scenario, "--dry-run", *args], monkeypatch)
    headless, ticket, refused = await _dry_run(app, name, spec, params, monkeypatch)
    restore_refused = None
    if runbook == "quorum-restore":
        # `run restore` on the same findings: refused, and it names the quorum restore the
        # wizard proposes, with the wizard's reason
        name, spec, params = _as_the_command_line_passes(
            ["run", "restore", "--drill", "--scenario", scenario, "--dry-run", *args],
            monkeypatch)
        restore_refused = (await _dry_run(app, name, spec, params, monkeypatch))[2]
    return SimpleNamespace(restore_refused=restore_refused,
        runbook=runbook, wizard=screen.restore_plan, log=list(screen.query_one("#run-log").lines),
        why=screen.suggested_why, blocked=[i.title for i in screen.blocking_failures()],
        headless=headless, ticket=ticket, refused=refused)


def _assert_the_same(seen, scenario: str) -> None:
    wizard, headless, log, ticket = seen.wizard, seen.headless, seen.log, seen.ticket
    assert wizard is not None, log
    # the decisions
    assert wizard.recovery_host == headless.recovery_host
    assert wizard.lost_hosts == headless.lost_hosts
    assert wizard.lost_evidence == headless.lost_evidence
    assert (wizard.procedure, wizard.procedure_why) == \
        (headless.procedure, headless.procedure_why)
    assert wizard.candidates == headless.candidates
    assert wizard.backup == headless.backup
    assert wizard.preflight == headless.preflight
    # the steps, their hosts and commands, skipped or not and why
    assert [s.id for s in wizard.steps] == [s.id for s in headless.steps]
    for mine, theirs in zip(wizard.steps, headless.steps):
        assert mine == theirs, f"{scenario} {mine.id}:\n  wizard: {mine}\n  dry run: {theirs}"
    assert wizard == headless
    # the words: what the wizard's log shows is what the ticket prints
    summary, steps = wizard.summary_lines(), wizard.step_lines()
    assert _block(summary, log) and _block(summary, ticket), (summary, log[:12], ticket[:12])
    assert _block(["Steps:"] + steps, log) and _block(["Steps:"] + steps, ticket)
    # a plan the real run would refuse says so on both sides
    assert bool(seen.blocked) == bool(seen.refused), (seen.blocked, seen.refused)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_the_wizard_and_the_dry_run_plan_the_same_restore(scenario, drill_app, held_still,
                                                                monkeypatch):
    ideal = load_drill(scenario).ideal
    app = drill_app(scenario, frozen_clock=True, refresh_interval=3600)
    async with app.run_test(size=(160, 50)) as pilot:
        seen = await _both_plans(app, pilot, scenario, ideal.backup_dir, monkeypatch)
    assert seen.runbook == load_drill(scenario).runbook, (scenario, seen.why)
    if seen.runbook == "quorum-restore":
        assert seen.restore_refused and "etcd-dr run quorum-restore" in seen.restore_refused
        assert seen.why in seen.restore_refused or \
            seen.why[:1].upper() + seen.why[1:] in seen.restore_refused, seen.restore_refused
    _assert_the_same(seen, scenario)
    # and what they agree on is the drill's ideal path
    assert seen.wizard.recovery_host == ideal.recovery_host
    if ideal.path:
        assert seen.wizard.procedure == ideal.path


async def test_a_cluster_wide_proxy_is_in_both_plans(drill_app, held_still, monkeypatch,
                                                     tmp_path):
    """No scenario of the library has a proxy: kubelet-certs-rotated (all hosts up, the API
    answers) with one. RST-07 exports its variables for the restore script on both sides."""
    import yaml

    from tui.drill.scenario import load_scenario_doc

    doc, _ = load_scenario_doc("kubelet-certs-rotated")
    doc["api"]["proxy"] = {"httpProxy": "http://proxy.example.com:3128",
                           "httpsProxy": "http://proxy.example.com:3128",
                           "noProxy": ".cluster.local,.svc,10.0.0.0/16"}
    path = tmp_path / "kubelet-certs-rotated-proxy.yaml"
    path.write_text(yaml.safe_dump(doc))
    app = drill_app(str(path), frozen_clock=True, refresh_interval=3600)
    async with app.run_test(size=(160, 50)) as pilot:
        seen = await _both_plans(app, pilot, str(path), None, monkeypatch)
    _assert_the_same(seen, "kubelet-certs-rotated with a proxy")
    rst07 = seen.wizard.step("RST-07")
    assert rst07.skip_reason is None, rst07
