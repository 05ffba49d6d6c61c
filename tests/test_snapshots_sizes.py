"""Screens that fit (issue #14): every screen and dialog at 80x24, 100x30, 120x34 and 160x50,
each compared with its snapshot and checked for what must not be cut there (the health
verdict, every key the footer offers, a field's prompt, a dialog's buttons).

One app per test, resized from size to size (tests/sized_snapshots.py): a drill console
takes seconds to start, a resize milliseconds. The clock is frozen (FIXED_NOW) and the
drill's data fixed: the same pictures on every run. The 68 pictures take about 45 s on one
core (some 20 s of it CPU, the rest waiting for each size's layout to settle).

Regenerate after an intended change with
`pytest -n 0 tests/test_snapshots_sizes.py --snapshot-update` and review the SVGs in
tests/__snapshots__/test_snapshots_sizes/ before committing them. The README's screenshot
(assets/screenshot-status.svg) is the 160x50 status snapshot: --snapshot-update copies it
there, and test_the_readme_screenshot_is_the_status_snapshot fails when the two differ.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input

from tests.conftest import FIXED_NOW, SNAPSHOTS, populated, wait_until
from tests.sized_snapshots import SizedSnapshots
from screens.status import StatusScreen
from tests.test_snapshots import _ready as status_ready
from tests.test_snapshots_restore import fixed_dates  # noqa: F401 (a fixture)
from tui.app import EtcdDrApp, make_app
from tui.backend import BackendSpec

ROOT = Path(__file__).parent.parent
README_SHOT = ROOT / "assets" / "screenshot-status.svg"
STATUS_SHOT = SNAPSHOTS / "test_snapshots_sizes" / "test_console_screens[status-160x50].svg"
DRILL_ELAPSED = 754.0  # the drill strip's RTO clock, fixed


@pytest.fixture
def shots(snapshot, request):
    return SizedSnapshots(snapshot, request)


def _footer(app) -> list[str]:
    """"KEY Description" of every key the top screen's footer offers (the first key of
    each action, as the footer shows them)."""
    keys, actions = [], set()
    for active in app.screen.active_bindings.values():
        binding = active.binding
        if binding.show and binding.action not in actions:
            actions.add(binding.action)
            keys.append(f"{app.get_key_display(binding)} {binding.description}")
    return keys


def _shown_keys(app):
    """Every key of the footer, for `see`: a key cut off at the terminal's edge fails."""
    return lambda width, height: _footer(app)


async def _open(pilot, key: str, mode: str):
    app = pilot.app
    await pilot.press(key)
    await wait_until(pilot, lambda: app.current_mode == mode and app.screen.is_mounted,
                     what=mode)
    await pilot.pause(0.2)
    return app.screen


# --- the console on a drill: status, backup, encryption, defrag -------------------------------

async def test_console_screens(shots, request):
    """`etcd-dr drill --scenario nospace`: the status view (its banner's verdict, every
    key of its footer, the drill strip), and the backup, encryption and defrag screens with
    their fields' prompts."""
    app = make_app(BackendSpec(scenario="nospace", frozen_clock=True), refresh_interval=3600,
                   clock=lambda: FIXED_NOW, drill_session=True)
    app.session.elapsed = lambda now=None: DRILL_ELAPSED
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BriefingScreen",
                         what="the briefing")  # (its picture: test_drill_briefing_and_debrief)
        await pilot.press("enter")
        await wait_until(pilot, lambda: populated(app) and app.snapshot.api.reachable
                         and isinstance(app.screen, StatusScreen), what="the status view")
        await status_ready(pilot)  # the panes flushed, the members' columns sized
        # the verdict, the alarm, and the members' ERRORS column whole at every width
        await shots.check(pilot, "status", see=lambda w, h: [
            "DEGRADED", "NOSPACE on master-0", "ERRORS", "alarm:NOSPACE"] + _footer(app))

        await _open(pilot, "b", "backup")
        await shots.check(pilot, "backup", see=lambda w, h: [
            "optional: a local directory; BAK-6 copies the pair there",
            "/home/core/assets/backup"] + _footer(app))
        await app.switch_mode("status")
        await _open(pilot, "e", "encryption")
        await shots.check(pilot, "encryption", see=_shown_keys(app))
        await app.switch_mode("status")
        defrag = await _open(pilot, "d", "defrag")
        # the etcd operator's defrag events (read from the API), on the screen
        await wait_until(pilot, lambda: "last success" in str(
            defrag.query_one("#auto-defrag").render()), what="the operator's defrag events")
        # the member table has the focus: g runs from there, and it is what is read first
        assert app.focused is defrag.query_one("#defrag-members")
        advice = defrag._rows[0][-1]  # the first member's, whole ("yes: NOSPACE: ...")
        await shots.check(pilot, "defrag", see=lambda w, h: [
            "DEFRAG?", advice] + (["scaled to each member"] if h >= 30 else []) + _footer(app))
        # under 30 rows the screen scrolls: Tab to a field below the fold brings it in sight
        await _in_sight_when_focused(pilot, "#defrag-timeout", "scaled to each member")
        await _in_sight_when_focused(pilot, "#run-log", "Plan for Defragment etcd")
    if request.config.getoption("update_snapshots", False) and STATUS_SHOT.exists():
        shutil.copyfile(STATUS_SHOT, README_SHOT)  # the README's picture (see the docstring)
    shots.assert_all()


async def _in_sight_when_focused(pilot, selector: str, text: str, size=(80, 24)) -> None:
    """The widget focused (as Tab reaches it): the screen scrolls it, `text` whole, into
    sight."""
    from tests.sized_snapshots import _flat, screen_text

    app = pilot.app
    await pilot.resize_terminal(*size)
    await pilot.pause(0.1)
    app.screen.query_one(selector).focus()
    await pilot.pause(0.2)
    assert _flat(text) in _flat(screen_text(app)), (selector, screen_text(app))
    app.screen.set_focus(None)
    app.screen.scroll_home(animate=False)


def test_the_readme_screenshot_is_the_status_snapshot():
    """README.md shows assets/screenshot-status.svg: the 160x50 status snapshot itself, so
    the picture cannot drift from what the console draws."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(assets/screenshot-status.svg)" in readme
    assert README_SHOT.read_text(encoding="utf-8") == STATUS_SHOT.read_text(encoding="utf-8"), (
        "assets/screenshot-status.svg is not the status snapshot: run "
        "`pytest -n 0 tests/test_snapshots_sizes.py --snapshot-update`")


# --- the dialogs, the help, the drill's briefing and debrief ----------------------------------

class DialogApp(App):
    """The console's styles and nothing behind the dialogs: their pictures do not change
    with the status view's."""

    CSS_PATH = EtcdDrApp.CSS_PATH
    HORIZONTAL_BREAKPOINTS = EtcdDrApp.HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = EtcdDrApp.VERTICAL_BREAKPOINTS


def _dialogs():
    """(name, dialog, texts it must show whole) for every dialog of the console."""
    from screens.dialogs import ConfirmStepScreen, FailureScreen, QuitScreen, UnknownStateScreen
    from screens.help import HelpScreen
    from screens.resume import ResumeScreen
    from screens.trust_key import TrustKeyScreen
    from tui.journal import JournalState
    from tui.runbooks import registry
    from tui.runbooks.attempts import UnknownState
    from tui.runbooks.context import ConfirmRequest
    from tui.runbooks.model import Confirm, Step, Targets

    bak4 = registry()["backup"].step("BAK-4")
    yes_no = ConfirmRequest(
        step=bak4, hosts=["master-1"], kind=Confirm.YES_NO, expected="",
        commands=["master-1$ sudo -E /usr/local/bin/cluster-backup.sh /home/core/assets/backup"],
        text="Take an etcd backup on master-1 (healthy, not the leader): "
             "cluster-backup.sh writes snapshot_<ts>.db and static_kuberesources_<ts>.tar.gz "
             "into /home/core/assets/backup.")
    typed = ConfirmRequest(
        step=bak4, hosts=[], kind=Confirm.TYPE_CLUSTER, expected="drill-healthy",
        commands=["API: oc patch apiserver cluster --type=merge "
                  "-p '{\"spec\":{\"encryption\":{\"type\":\"aescbc\"}}}'"],
        text="Turn encryption on (aescbc). Every secret, config map, route and token is "
             "rewritten by the API servers; this takes from minutes to hours.")
    # the lost-two-hosts restore's second question, as `run restore` printed it
    rst09 = Step("RST-09", "Nodes Ready, PEM cleanup where not", "", targets=Targets.API)
    phase = ConfirmRequest(
        step=rst09, hosts=["master-0"], kind=Confirm.TYPE_CLUSTER,
        expected="drill-lost-two-hosts",
        phase="Bring back the nodes, the network and the lost machines",
        covers=("RST-09", "RST-13", "RST-15", "RST-16"),
        commands=[
            'RST-09 Nodes Ready, PEM cleanup where not:',
            '  API: oc get nodes',
            "  <each NotReady node>: sudo -n sh -c 'find /var/lib/kubelet/pki "
            '-maxdepth 1 -name \'"\'"\'*.pem\'"\'"\'\'',
            '  <each NotReady node>: sudo -n sh -c \'rm -f \'"\'"\'<each '
            '/var/lib/kubelet/pki/*.pem listed>\'"\'"\'\'',
            'RST-13 Delete the other control-plane nodes (OVN-Kubernetes):',
            '  API: oc delete node master-1 master-2',
            'RST-15 Restart OVN-Kubernetes:',
            "  master-0: sudo -n sh -c 'find /var/lib/ovn/etc -maxdepth 1 -name "
            '\'"\'"\'*.db\'"\'"\'\'',
            '  master-0: sudo -n sh -c \'rm -f \'"\'"\'<each /var/lib/ovn/etc/*.db '
            'listed>\'"\'"\'\'',
            '  API: oc -n openshift-ovn-kubernetes delete pod -l app=ovnkube-master',
            '  API: oc -n openshift-ovn-kubernetes delete pod -l app=ovnkube-node',
            'RST-16 Replace the machines of the other control-plane hosts:',
            '  API: oc get machines -n openshift-machine-api -o wide',
            "  API: oc delete machine -n openshift-machine-api '<machine of master-1>'",
            "  API: oc delete machine -n openshift-machine-api '<machine of master-2>'",
        ],
        text='4 steps that change the cluster, confirmed once for this phase. Each '
             'shows its commands as it sends them; one that would send anything else'
             ' than listed here asks again.',
        details="\n".join([
            'RST-09 Nodes Ready, PEM cleanup where not on the cluster API: Wait for'
            ' the API (REST, or oc on the recovery host), then for the nodes to be '
            'Ready. A node still NotReady after a few minutes gets every PEM file '
            'in /var/lib/kubelet/pki deleted (kubelet-client-*, kubelet-server-*, '
            'the -current links) so its kubelet bootstraps new certificates.',
            'RST-13 Delete the other control-plane nodes (OVN-Kubernetes) on the '
            'cluster API: OVN-Kubernetes only: delete the Node objects of the non-'
            'recovery control-plane hosts, so ovnkube-master drops them.',
            'RST-15 Restart OVN-Kubernetes on master-0: rm -f /var/lib/ovn/etc/*.db'
            ' on the control-plane hosts (RST-15a), delete the ovnkube-master pods '
            'and wait for them (RST-15b/c), delete every ovnkube-node pod and wait '
            'for them (RST-15d/e). Admission webhooks with failurePolicy Fail that '
            'can reject pods in openshift-ovn-kubernetes are listed first and, '
            'confirmed, set to Ignore; back to Fail once the OVN pods run.',
            'RST-16 Replace the machines of the other control-plane hosts on the '
            'cluster API: One at a time, delete the machine of each other control-'
            'plane host (oc delete machine -n openshift-machine-api); the machine '
            'API provisions a new one; wait until it is Running. Never the recovery'
            " host's machine. On user-provisioned or bare metal installs the host "
            'is recreated by hand.',
        ]))
    unknown = UnknownState(
        step_id="RSTN-04", host="master-0", command="sudo -E /usr/local/bin/quorum-restore.sh",
        detail="attempt 3f2a (sent in this run) ended without an exit status here, and its "
               "record on master-0 cannot be read",
        seen=("log: restoring etcd member master-0 from the last revision",),
        inspect=("sudo ls -l /var/lib/etcd-backup /var/lib/etcd",
                 "sudo crictl ps --name etcd"))
    state = JournalState(runbook="backup", params={"host": "master-1"},
                         done={"BAK-0", "BAK-1", "BAK-2", "BAK-3"}, in_flight="BAK-4")
    question = ("The backup runbook is running. Quitting stops it where it is. This is a "
                "drill: its simulated cluster stops with the console, so the run cannot be "
                "resumed.")
    return [
        ("confirm", ConfirmStepScreen(yes_no), ["Go ahead", "Cancel"]),
        ("confirm-typed", ConfirmStepScreen(typed), ["Type drill-healthy and press Enter",
                                                     "type it here"]),
        ("confirm-phase", ConfirmStepScreen(phase),
         ["Type drill-lost-two-hosts and press Enter", "type it here"]),
        ("failure", FailureScreen("BAK-4", "Run cluster-backup.sh",
                                  "master-1: cluster-backup.sh exited 1: snapshot save "
                                  "failed: context deadline exceeded"),
         ["Retry", "Skip", "Abort", "reason to skip (required to skip)"]),
        ("unknown", UnknownStateScreen(unknown), ["Not done: send it", "Stop",
                                                  "what you found (required)"]),
        ("quit", QuitScreen(question), ["Quit", "Stay"]),
        ("resume", ResumeScreen("/root/.local/state/etcd-dr/journals/"
                                "backup-drill-healthy-20261204T061500Z.jsonl", state),
         ["Resume", "Not now"]),
        ("trust-key", TrustKeyScreen("master-2", "127.0.3.3",
                                     "SHA256:q9Fb3W0rD1kqg1cJ7m2oVdQy6ZbHjv4c0sT5xYzLw8A",
                                     "/root/.ssh/known_hosts"), ["type master-2 and press"]),
        ("help", HelpScreen(), []),
    ]


async def test_dialogs(shots):
    """Every dialog: what it asks, its buttons or field, and its footer's keys, whole."""
    app = DialogApp()
    async with app.run_test(size=(160, 50)) as pilot:
        for name, dialog, texts in _dialogs():
            app.push_screen(dialog)
            await wait_until(pilot, lambda: app.screen is dialog and dialog.is_mounted,
                             what=name)
            for field in dialog.query(Input):
                field.cursor_blink = False  # the picture must not catch the cursor off
            await pilot.pause()
            await shots.check(pilot, name,
                              see=lambda w, h, texts=texts: texts + _footer(app))
            app.pop_screen()
            await pilot.pause()
    shots.assert_all()


async def test_drill_briefing_and_debrief(shots):
    """The briefing (its rules and keys) and the debrief (score, timeline) at every size,
    from the fixed session tests/test_debrief_snapshots.py draws."""
    from screens.briefing import BriefingScreen
    from screens.debrief import DebriefScreen
    from tests.test_debrief_snapshots import _session
    from tui.drill.session import DrillSession

    app = DialogApp()
    async with app.run_test(size=(160, 50)) as pilot:
        session = _session()
        briefing = BriefingScreen(DrillSession("lost-two-hosts", session.drill, speed=60))
        app.push_screen(briefing)
        await wait_until(pilot, lambda: app.screen is briefing, what="the briefing")
        await shots.check(pilot, "briefing", see=lambda w, h: [
            "The clock starts when you close this.", "Start the clock"] + _footer(app))
        app.pop_screen()
        debrief = DebriefScreen(session)
        app.push_screen(debrief)
        await wait_until(pilot, lambda: app.screen is debrief, what="the debrief")
        def fits_its_width(width, height):
            # the timeline never scrolls sideways: a narrow terminal drops the columns
            # screens/debrief.py OPTIONAL_COLUMNS lists, never STEP, START, TOOK or OUTCOME
            table = debrief.query_one("#debrief-timeline")
            names = [c.label.plain for c in table.ordered_columns]
            out = [] if table.virtual_size.width <= table.scrollable_content_region.width \
                else [f"the timeline scrolls sideways: {table.virtual_size.width} columns in "
                      f"{table.scrollable_content_region.width}"]
            return out + [f"no {c} column" for c in ("STEP", "START", "TOOK", "OUTCOME")
                          if c not in names]

        await shots.check(pilot, "debrief", see=lambda w, h: ["Score: 30"] + (
            ["Timeline", "OUTCOME"] if h >= 50 else []) + _footer(app),
                          problems=fits_its_width)
        # a smaller terminal scrolls the debrief: the timeline, focused, is in sight
        await _in_sight_when_focused(pilot, "#debrief-timeline", "RST-08")
    shots.assert_all()


# --- the restore wizard -----------------------------------------------------------------------

async def test_restore_wizard(shots, fixed_dates, monkeypatch):
    """The wizard's setup (the procedure and why, the preflight, the recovery host, the
    lost hosts, the fields, the start gate) and its run phase (the steps, and the
    highlighted step's commands beside or below them) on lost-two-hosts."""
    from tests.test_snapshots_restore import _setup_ready

    app = make_app(BackendSpec(scenario="lost-two-hosts", frozen_clock=True),
                   refresh_interval=3600, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        await _setup_ready(pilot)
        screen = app.screen

        async def top(pilot):
            screen.query_one("#setup").scroll_home(animate=False)
            screen.query_one("#run-log").scroll_home(animate=False)

        fields = ["HOST and why it is gone for good, then Enter (journaled)",
                  "reason to start despite failed checks (journaled)", "HOST:DIR if elsewhere"]
        await shots.check(pilot, "setup", settle=top, see=lambda w, h: [
            "restore from a backup, 4.12-4.13"] + _footer(app))
        # on a smaller terminal the setup scrolls: Tab to each field brings it, whole, in sight
        for selector, text in zip(("#confirm-lost", "#override", "#backup-source"), fields):
            await _in_sight_when_focused(pilot, selector, text)
        await pilot.press("2")
        table = screen.query_one("#steps")
        table.move_cursor(row=table.get_row_index("RST-08"))
        await pilot.pause()

        def detail_in_sight(width, height):
            box = screen.query_one("#step-detail-box").region
            inside = box.height >= 3 and box.right <= width and box.bottom <= height
            return [] if inside else [f"the step's detail is not in sight: {box}"]

        await shots.check(pilot, "run", see=_shown_keys(app), problems=detail_in_sight)
        # the aftercare a finished restore opens on: the PV checks with the cluster's PVs
        # (two, read from a fixed answer: the drill's API is down before its restore, and
        # its error names a port that changes), their details wrapped
        import importlib

        aftercare = importlib.import_module("tui.runbooks.restore.aftercare")

        class PVs:
            async def get(self, path):
                return {"items": [
                    {"metadata": {"name": "pvc-4b1e"},
                     "spec": {"csi": {"driver": "ebs.csi.aws.com"}, "storageClassName": "gp3",
                              "capacity": {"storage": "20Gi"},
                              "claimRef": {"namespace": "payments", "name": "postgres"}}},
                    {"metadata": {"name": "local-pv-1"},
                     "spec": {"local": {"path": "/mnt/local-storage/sdb"},
                              "storageClassName": "local-sc", "capacity": {"storage": "100Gi"},
                              "claimRef": {"namespace": "logging", "name": "es-0"}}}]}

        monkeypatch.setattr(aftercare, "cluster_ops", lambda ctx: PVs())
        screen.finished = "done"
        screen.run_finished()
        await wait_until(pilot, lambda: screen.phase == "aftercare", what="the aftercare")
        await shots.check(pilot, "aftercare", see=lambda w, h: [
            "Aftercare", "PV-1", "Databases on persistent"]
            + (["payments/postgres"] if h >= 34 else []) + _footer(app))

        # another procedure than the suggested one: "why another" asks for the reason, in
        # sight at every size (beside the procedure it was off the screen up to 120 columns)
        await pilot.press("1")
        screen.query_one("#procedure").value = "4.14-4.17"
        await wait_until(pilot, lambda: screen.query_one("#path-reason-row").display,
                         what="the why-another field")
        for size in ((80, 24), (100, 30), (120, 34), (160, 50)):
            await _in_sight_when_focused(pilot, "#path-reason",
                                         "why another reason to use another procedure", size)
    shots.assert_all()


# --- etcd-dr watch --tui ----------------------------------------------------------------------

async def test_watch(shots, tmp_path):
    """`etcd-dr watch JOURNAL --tui` on a drill's restore journal: the head's totals and the
    lines, wrapped rather than cut."""
    from screens.watch import WatchApp
    from tests.test_session import ideal_run, line

    records = ideal_run(host="master-0")
    records.insert(1, line(1, "-", "session", scenario="lost-two-hosts",
                           objective="Restore from the backup on master-0."))
    records.insert(4, line(10, "-", "hint", n=1, text="The backup is on master-0."))
    records.insert(5, line(12, "RST-01", "mistake", kind="wrong-recovery-host",
                           detail="master-2 has no etcd data", at_step="RST-01"))
    path = tmp_path / "restore-drill-lost-two-hosts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    app = WatchApp(path, interval=3600)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.ended is not None, what="the journal read")
        await shots.check(pilot, "watch", see=lambda w, h: [
            "time to recovery", "FINISHED"] + _footer(app))
    shots.assert_all()
