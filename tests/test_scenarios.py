"""The scenario library: every scenario loads with a `drill:` section, each new scenario's
fault is really there, the `drill:` section is validated (errors name the file and key), and
each drill's ideal path runs to its end on the drill cluster."""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tui.backend import Backend, BackendSpec
from tui.drill import objects, rest
from tui.drill.drillspec import FAULT_ACTIONS, TRAP_KINDS
from tui.drill.inject import FaultSchedule, check_fault
from tui.drill.scenario import (
    build_cluster,
    list_scenarios,
    load_drill,
    scenario_files,
)
from tui.drill.session import DrillSession
from tui.errors import ConfigError
from tui.fleet.commands import Command
from tui.journal import Journal, read_journal
from tui.pace import split as pace_split
from tui.runbooks import registry, resolve_runbook
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.restore import preflight_report, review_csr
from tui.runbooks.runner import Runner

SPEED = 300.0
NEW = ["backup-other-zstream", "two-snapshots", "kubelet-certs-rotated", "pending-csrs",
       "webhook-blocks-ovn", "ssh-drop-mid-restore"]
CONTRACT = ["healthy", "nospace", "host-down", "encryption-in-progress", "lost-two-hosts",
            "lost-two-hosts-4.16", "lost-two-hosts-4.18", "quorum-lost-4.18"]
# current releases (issue 11 item 7): 4.20, 4.21 (etcd 3.6), a two-node cluster with fencing
CURRENT = ["healthy-4.20", "lost-two-hosts-4.20", "lost-two-hosts-4.21", "quorum-lost-4.21",
           "two-node-fencing-4.22"]


def etcd_dr(*args, timeout=120):
    return run_cli(*args, timeout=timeout)


# --- the library -----------------------------------------------------------------------------

def test_at_least_ten_scenarios_each_with_an_objective_and_a_known_runbook():
    listed = list_scenarios()
    names = [s.name for s in listed]
    assert len(names) >= 10
    assert set(CONTRACT + NEW + CURRENT) <= set(names)
    for s in listed:
        assert s.objective, f"{s.name} has no drill objective"
        assert s.runbook in (None, *registry()), s.name


@pytest.mark.parametrize("name", sorted(scenario_files()))
def test_every_scenario_builds_and_its_drill_section_fits_the_cluster(name):
    cluster = build_cluster(name)
    drill = load_drill(name)
    assert drill is not None and drill.objective and drill.rto_minutes > 0
    assert drill.expected_score == 100  # the ideal path: no hint, no mistake, within the RTO
    assert drill.hints, f"{name}: no hints"
    hosts = {h.name for h in cluster.hosts}
    for trap in drill.traps:
        assert trap.kind in TRAP_KINDS and trap.detail
        assert trap.host is None or trap.host in hosts
    for fault in drill.faults:
        assert fault.action in FAULT_ACTIONS
        assert fault.host is None or fault.host in hosts
    ideal = drill.ideal
    chosen = ideal.recovery_host or ideal.host
    if chosen:
        host = cluster.host(chosen)
        assert host is not None and host.up, f"{name}: the ideal host {chosen} is not up"
    if ideal.backup_dir:
        assert any(p.startswith(ideal.backup_dir + "/snapshot_")
                   for p in cluster.host(ideal.recovery_host).files)


def test_scenarios_command_lists_each_with_its_objective():
    r = etcd_dr("scenarios")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines()}
    for name in CONTRACT + NEW + CURRENT:
        assert f"Objective: {load_drill(name).objective}" in lines[name]
    r = etcd_dr("scenarios", "--json")
    doc = {s["name"]: s for s in json.loads(r.stdout)}
    assert doc["two-snapshots"]["runbook"] == "restore"
    assert doc["two-snapshots"]["objective"].startswith("Restore from last night's backup")


# --- each new scenario's fault ---------------------------------------------------------------

class Operator:
    """Confirms everything; retries the steps the ideal path expects to fail once."""

    def __init__(self, retry=(), backend=None):
        self.retry = set(retry)
        self.backend = backend
        self.failures: list[tuple[str, str]] = []
        self.events = []

    async def confirm(self, request):
        return True

    async def on_failure(self, step, error):
        self.failures.append((step.id, error))
        if step.id in self.retry and len(self.failures) <= 10:
            await self.until_every_host_answers()
            return Decision("retry")
        return Decision("abort")

    async def until_every_host_answers(self, timeout=30.0):
        """What a trainee does before a retry: watch the status until every host that is up
        answers over SSH again (the fleet reconnects on its own, in real seconds)."""
        if self.backend is None:
            return
        cluster, fleet = self.backend.lab.cluster, self.backend.fleet
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            answers = [await fleet.run_one(h.name, Command.of("true", timeout=5), quiet=True)
                       for h in cluster.hosts if h.up]
            if all(r.ok for r in answers):
                return
            await asyncio.sleep(0.2)

    def show(self, event):
        self.events.append(event)


@pytest.fixture
async def drill(tmp_path):
    backends = []

    async def start(scenario, speed=1.0):
        backend = Backend(BackendSpec(scenario=scenario, speed=speed))
        await backend.start(wait=True)
        backends.append(backend)
        return backend

    yield start
    for b in backends:
        await b.close()


# the scenarios' down hosts refuse SSH from the start: lost only once proven (issue 12), here
# by the operator's word, as `--lost master-1 --lost master-2` gives it
DOWN_CONFIRMED = {"master-1": "the instance is terminated", "master-2": "the instance is terminated"}


def restore_ctx(backend, tmp_path, **params):
    return RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "restore"),
                      operator=Operator(),
                      params={"backup_dir": "/home/core/assets/backup", **params})


async def test_other_z_stream_backup_blocks_the_preflight_and_the_right_one_passes(
        drill, tmp_path):
    backend = await drill("backup-other-zstream")
    report = await preflight_report(restore_ctx(backend, tmp_path))
    zstream = {i.key: i for i in report.items}["zstream"]
    assert not zstream.ok and zstream.blocking
    assert "backup manifest 4.12.28, cluster 4.12.30" in zstream.detail
    assert not report.green
    ideal = load_drill("backup-other-zstream").ideal
    report = await preflight_report(restore_ctx(backend, tmp_path, backup_dir=ideal.backup_dir,
                                                confirmed_lost=DOWN_CONFIRMED))
    assert report.green, report.blocking_failures
    assert {i.key: i for i in report.items}["zstream"].ok
    assert report.manifest["version"] == "4.12.30"


async def test_two_snapshots_in_the_backup_directory_block_the_preflight(drill, tmp_path):
    backend = await drill("two-snapshots")
    report = await preflight_report(restore_ctx(backend, tmp_path))
    item = {i.key: i for i in report.items}["backup"]
    assert not item.ok and item.blocking
    assert "holds 2 snapshot(s) and 2 tarball(s)" in item.detail
    ideal = load_drill("two-snapshots").ideal
    report = await preflight_report(restore_ctx(backend, tmp_path, backup_dir=ideal.backup_dir,
                                                confirmed_lost=DOWN_CONFIRMED))
    assert report.green, report.blocking_failures
    # the newest of the two, not the previous night's
    latest = report.backup.timestamp
    previous = [p for p in backend.lab.cluster.host("master-0").files
                if p.startswith("/home/core/backups/previous/snapshot_")]
    assert previous and latest not in previous[0] and latest > previous[0].split("_", 1)[1]


def test_pending_csrs_include_ones_the_restore_must_not_approve():
    cluster = build_cluster("pending-csrs")
    assert [h.name for h in cluster.hosts if h.role == "worker"] == ["worker-0", "worker-1"]
    assert cluster.options == {"kubelet_certs_rotated": True}
    traps = {t.name: t for t in load_drill("pending-csrs").traps_of("approve-csr")}
    assert set(traps) == {"csr-w7x9q", "csr-b4kz2"}
    known = {h.name for h in cluster.hosts}
    for name in traps:
        csr = next(c for c in cluster.api.csrs if c.name == name)
        assert csr.approved_at is None and not csr.denied
        ok, why = review_csr(rest.csr_object(cluster, csr), known)
        assert not ok, why
    serving = next(c for c in cluster.api.csrs if c.name == "csr-w7x9q")
    assert serving.signer == "kubernetes.io/kubelet-serving"
    assert serving.username == "system:node:worker-7"


def test_a_fail_webhook_blocks_the_ovn_pods_until_it_fails_open():
    cluster = build_cluster("webhook-blocks-ovn")
    assert objects.pods_blocked(cluster, objects.OVN_NS) == "policy-guard"
    hooks = rest.get(cluster, "/apis/admissionregistration.k8s.io/v1/"
                                 "validatingwebhookconfigurations")["items"]
    assert hooks[0]["webhooks"][0]["failurePolicy"] == "Fail"
    rest.patch(cluster, "/apis/admissionregistration.k8s.io/v1/"
                           "validatingwebhookconfigurations/policy-guard",
                  {"webhooks": [{"name": "policy-guard.example.com",
                                 "failurePolicy": "Ignore"}]})
    assert objects.pods_blocked(cluster, objects.OVN_NS) is None
    # what RST-15 sends afterwards: a JSON patch back to Fail
    rest.patch(cluster, "/apis/admissionregistration.k8s.io/v1/"
                           "validatingwebhookconfigurations/policy-guard",
                  [{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Fail"}],
                  rest.JSON_PATCH)
    assert objects.pods_blocked(cluster, objects.OVN_NS) == "policy-guard"


def test_kubelet_certs_rotated_is_a_rollback_with_every_host_up():
    cluster = build_cluster("kubelet-certs-rotated")
    assert all(h.up for h in cluster.hosts) and cluster.etcd.has_quorum()
    assert cluster.api.reachable and cluster.api.version == "4.14.38"
    assert cluster.options == {"kubelet_certs_rotated": True}


def test_ssh_drop_fault_hits_a_host_the_restore_needs():
    cluster = build_cluster("ssh-drop-mid-restore")
    drill = load_drill("ssh-drop-mid-restore")
    [fault] = drill.faults
    assert (fault.action, fault.host, fault.for_seconds) == ("drop-ssh", "master-1", 120.0)
    assert (fault.at.step, fault.at.event) == ("RST-04", "started")
    assert fault.args == {"host": "master-1", "for_seconds": 120.0}
    assert cluster.host("master-1").up and cluster.member_of(cluster.host("master-1")).running
    assert drill.ideal.recovery_host == "master-0" and "RST-04" in drill.ideal.retry


# --- current releases, and two nodes with fencing ------------------------------------------

def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@pytest.mark.parametrize("name", sorted(scenario_files()))
def test_each_scenario_runs_the_etcd_of_its_release(name):
    """OpenShift 4.21 and later build etcd 3.6; 4.12 to 4.20 run 3.5 (UPSTREAM.md)."""
    cluster = build_cluster(name)
    want = "3.6." if _minor(cluster.api.version) >= (4, 21) else "3.5."
    assert [m.version[:4] for m in cluster.etcd.members] == [want] * len(cluster.etcd.members)


def test_the_current_release_scenarios_say_their_release():
    versions = {name: build_cluster(name).api.version for name in CURRENT}
    assert versions == {"healthy-4.20": "4.20.8", "lost-two-hosts-4.20": "4.20.8",
                        "lost-two-hosts-4.21": "4.21.3", "quorum-lost-4.21": "4.21.3",
                        "two-node-fencing-4.22": "4.22.2"}
    for name in ("lost-two-hosts-4.20", "lost-two-hosts-4.21"):
        drill = load_drill(name)
        assert (drill.runbook, drill.ideal.path, drill.ideal.recovery_host) == \
            ("restore", "4.18+", "master-0")
    assert load_drill("quorum-lost-4.21").runbook == "quorum-restore"


def test_the_drill_command_opens_a_current_release_by_default():
    from tui.cli import DEFAULT_DRILL_SCENARIO

    cluster = build_cluster(DEFAULT_DRILL_SCENARIO)
    assert _minor(cluster.api.version) >= (4, 20)
    assert cluster.etcd.has_quorum() and all(h.up for h in cluster.hosts)
    r = etcd_dr("drill", "--help")
    assert r.returncode == 0 and f"Without --scenario: {DEFAULT_DRILL_SCENARIO}" in \
        " ".join(r.stdout.split())


def _infrastructure(cluster) -> dict:
    return rest.get(cluster, "/apis/config.openshift.io/v1/infrastructures/cluster")


def test_topology_follows_the_control_plane_or_the_scenario():
    assert _infrastructure(build_cluster("healthy-4.20"))["status"]["controlPlaneTopology"] \
        == "HighlyAvailable"
    cluster = build_cluster("two-node-fencing-4.22")
    assert _infrastructure(cluster)["status"]["controlPlaneTopology"] == "DualReplica"
    assert _infrastructure(cluster)["status"]["platformStatus"]["type"] == "BareMetal"
    assert [h.name for h in cluster.control_plane()] == ["master-0", "master-1"]
    nodes = rest.get(cluster, "/api/v1/nodes")["items"]
    assert {n["metadata"]["annotations"]["machineconfiguration.openshift.io/"
                                          "controlPlaneTopology"] for n in nodes} == \
        {"DualReplica"}
    # the fenced peer stays a learner: the survivor alone votes, and keeps quorum
    assert cluster.etcd.has_quorum() and cluster.etcd.leader().name == "master-0"
    assert cluster.etcd.member_by_name("master-1").is_learner
    assert load_drill("two-node-fencing-4.22").runbook is None


@pytest.mark.parametrize("text, message", [
    ("control_plane: 2\n", "control_plane must be 1, 3 or 5 (2 goes with topology: DualReplica"),
    ("control_plane: 3\ntopology: DualReplica\n",
     "topology DualReplica needs control_plane: 2, not 3"),
    ("control_plane: 2\ntopology: TwoNode\n",
     "topology must be one of HighlyAvailable, SingleReplica, DualReplica, not 'TwoNode'"),
    ("control_plane: 2\ntopology: DualReplica\nmembers:\n  master-1: {is_learner: maybe}\n",
     "members.master-1.is_learner must be true or false"),
])
def test_a_bad_topology_is_named(tmp_path, text, message):
    path = write(tmp_path, "name: t\ndescription: d\n" + text)
    with pytest.raises(ConfigError) as e:
        build_cluster(path)
    assert message in e.value.message and e.value.message.startswith(f"scenario t ({path}): ")


async def test_two_node_hosts_run_etcd_under_pacemaker(drill):
    """What a trainee finds on master-0: no etcd static pod, and `sudo pcs status` with
    master-1 OFFLINE and etcd started on master-0 only; pcs needs root; an ordinary cluster's
    hosts have no pcs at all."""
    backend = await drill("two-node-fencing-4.22", speed=SPEED)
    run = backend.fleet.run_one
    r = await run("master-0", Command.of("ls", "/etc/kubernetes/manifests", privileged=True))
    assert r.ok and "kube-apiserver-pod.yaml" in r.stdout and "etcd-pod.yaml" not in r.stdout
    for name in ("^etcd$", "^etcdctl$", "^guard$"):  # no etcd pod, no quorum guard
        r = await run("master-0", Command.of("crictl", "ps", "--name", name, "-q",
                                             privileged=True))
        assert r.ok and r.stdout.strip() == "" if name != "^guard$" else \
            len(r.stdout.split()) == 3  # the kube-apiserver, kcm and scheduler guards
    r = await run("master-0", Command.of("pcs", "status", privileged=True))
    assert r.ok, r.stderr
    lines = r.stdout.splitlines()
    assert "  * Online: [ master-0 ]" in lines and "  * OFFLINE: [ master-1 ]" in lines
    etcd = lines.index("  * Clone Set: etcd-clone [etcd]:")
    assert lines[etcd + 1:etcd + 3] == ["    * Started: [ master-0 ]",
                                        "    * Stopped: [ master-1 ]"]
    assert "partition with quorum" in r.stdout
    r = await run("master-0", Command.of("pcs", "resource", "status", privileged=True))
    assert r.ok and "etcd-clone" in r.stdout and "stonith" not in r.stdout
    r = await run("master-0", Command.of("pcs", "resource", "disable", "etcd",
                                         privileged=True))
    assert r.exit_status == 1 and "not available in this drill build" in r.stderr
    r = await run("master-0", Command.of("pcs", "status"))
    assert r.exit_status == 1 and "Run the same command as root" in r.stderr
    r = await run("master-0", Command.of("sudo", "pcs", "status"))  # the hint's words
    assert r.ok and "  * OFFLINE: [ master-1 ]" in r.stdout.splitlines()
    r = await run("master-0", Command.of("cat", "/etc/corosync/corosync.conf"))
    assert r.ok and "two_node: 1" in r.stdout and "name: master-1" in r.stdout


async def test_hosts_of_an_ordinary_cluster_have_no_pcs(drill):
    backend = await drill("healthy-4.20", speed=SPEED)
    run = backend.fleet.run_one
    r = await run("master-0", Command.of("sudo", "pcs", "status"))  # as a trainee types it
    assert r.exit_status == 1 and r.stderr.strip() == "sudo: pcs: command not found"
    r = await run("master-0", Command.of("pcs", "status", privileged=True))  # sudo -n sh -c
    assert r.exit_status == 127 and r.stderr.strip() == "sh: line 1: pcs: command not found"
    r = await run("master-0", Command.of("test", "-e", "/usr/sbin/pcs"))
    assert r.exit_status == 1
    r = await run("master-0", Command.of("ls", "/etc/kubernetes/manifests", privileged=True))
    assert "etcd-pod.yaml" in r.stdout


# --- the drill section's validation ----------------------------------------------------------

BASE = """
name: t
description: d
control_plane: 3
workers: 1
backup: {host: master-0}
api:
  pending_csrs:
    - {name: csr-bad, username: "system:node:x", signer: serving}
"""
GOOD_DRILL = """
drill:
  objective: "o"
  runbook: restore
  rto_minutes: 30
  ideal: {recovery_host: master-0}
  expected_score: 100
  hints: ["h"]
  traps:
    - {kind: approve-csr, name: csr-bad, detail: "d"}
  faults:
    - {at: {step: RST-04, event: started}, action: drop-ssh, host: worker-0, for_seconds: 5}
"""


def write(tmp_path, text):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return str(path)


def test_a_good_drill_section_loads(tmp_path):
    path = write(tmp_path, BASE + GOOD_DRILL)
    drill = load_drill(path)
    assert drill.faults[0].host == "worker-0"
    assert drill.ideal.run_args("restore") == ["--host", "master-0"]
    assert drill.ideal.override is False and drill.ideal.skipped == ()
    build_cluster(path)
    # an ideal path that itself overrides a failed check and skips a failed step says so
    path = write(tmp_path, BASE + GOOD_DRILL.replace(
        "ideal: {recovery_host: master-0}",
        "ideal: {recovery_host: master-0, override: true, skipped: [RST-16]}"))
    drill = load_drill(path)
    assert drill.ideal.override is True and drill.ideal.skipped == ("RST-16",)


@pytest.mark.parametrize("old, new, message", [
    ("runbook: restore", "runbook: restor", "drill.runbook must be one of backup, defrag"),
    ("rto_minutes: 30", "rto_minutes: -1", "drill.rto_minutes must be a number above 0"),
    ("expected_score: 100", "expected_score: 101", "drill.expected_score must be a whole"),
    ("kind: approve-csr", "kind: approve-everything", "drill.traps[0].kind: unknown trap kind"),
    ("name: csr-bad, detail", "name: csr-other, detail",
     "drill.traps[0].name 'csr-other' is not one of api.pending_csrs' names"),
    ("action: drop-ssh", "action: reboot", "drill.faults[0].action must be one of drop-host"),
    ("host: worker-0,", "host: master-9,", "drill.faults[0].host 'master-9' is not a host"),
    ("event: started", "event: begun", "drill.faults[0].at.event must be one of started"),
    ("step: RST-04", "step: step-four", "drill.faults[0].at.step must be a runbook step ID"),
    ("for_seconds: 5", "for_seconds: 5, pod: etcd",
     "drill.faults[0].pod does not go with action drop-ssh"),
    ("for_seconds: 5", "alarm: NOSPACE", "drill.faults[0].alarm does not go with action drop-ssh"),
    ("ideal: {recovery_host: master-0}", "ideal: {host: master-0}",
     "drill.ideal.host goes with drill.runbook backup or defrag"),
    ("ideal: {recovery_host: master-0}", "ideal: {recovery_host: master-0, colour: red}",
     "drill.ideal: unknown key 'colour'"),
    ("ideal: {recovery_host: master-0}", "ideal: {recovery_host: master-0, override: yes!}",
     "drill.ideal.override must be true or false"),
    ("ideal: {recovery_host: master-0}", "ideal: {recovery_host: master-0, skipped: [four]}",
     "drill.ideal.skipped[0] must be a runbook step ID"),
    ("hints: [\"h\"]", "hints: h", "drill.hints must be a list"),
    ("  objective: \"o\"\n", "", "drill.objective is missing"),
])
def test_a_bad_drill_section_names_the_file_and_the_key(tmp_path, old, new, message):
    assert old in GOOD_DRILL
    path = write(tmp_path, BASE + GOOD_DRILL.replace(old, new))
    with pytest.raises(ConfigError) as e:
        load_drill(path)
    assert e.value.message.startswith(f"{path}: ")
    assert message in e.value.message
    with pytest.raises(ConfigError):  # a drill cannot start on it either
        build_cluster(path)
    r = etcd_dr("status", "--drill", "--scenario", path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("backup, message", [
    ("{host: master-0, colour: red}", "backup: unknown key 'colour'"),
    ("[{host: master-0}, {host: master-0, version: 4.12}]",
     "backup[1].version must be an OpenShift release"),
    ("[]", "backup must be a mapping or a list"),
    ("{host: worker-0}", "backup.host 'worker-0' is not a control-plane host"),
])
def test_bad_backups_are_named(tmp_path, backup, message):
    path = write(tmp_path, BASE.replace("backup: {host: master-0}", f"backup: {backup}"))
    with pytest.raises(ConfigError) as e:
        build_cluster(path)
    assert message in e.value.message
    assert e.value.message.startswith(f"scenario t ({path}): ")


def test_a_backup_list_places_each_pair_and_its_manifest(tmp_path):
    path = write(tmp_path, BASE.replace(
        "backup: {host: master-0}",
        "backup:\n  - {dir: /home/core/a, taken_minutes_ago: 60, version: \"4.12.28\"}\n"
        "  - {dir: /home/core/a, taken_minutes_ago: 30}\n"))
    cluster = build_cluster(path)
    files = sorted(p for p in cluster.host("master-0").files if p.startswith("/home/core/a/"))
    assert [f.rsplit("/", 1)[1].split("_")[0] for f in files] == \
        ["etcd-dr-manifest", "snapshot", "snapshot", "static", "static"]
    manifest = json.loads(cluster.host("master-0").files[files[0]])
    assert manifest["version"] == "4.12.28" and manifest["made_by"] == "etcd-dr"
    assert files[1].endswith(manifest["snapshot"])


# --- the ideal paths -------------------------------------------------------------------------

def steps_named(drill) -> set[str]:
    """Every step a drill section names: traps, faults, retries, actions."""
    return ({t.step for t in drill.traps if t.step} |
            {f.at.step for f in drill.faults if f.at.step} | set(drill.ideal.retry) |
            {a.at.step for a in drill.ideal.actions if a.at.step})


def test_scenario_faults_are_ones_the_injector_takes():
    for s in list_scenarios():
        for fault in load_drill(s.name).faults:
            assert check_fault(fault) == [], (s.name, fault)


ONE_SHOT = [s.name for s in list_scenarios()
            if (d := load_drill(s.name)).runbook and not (d.ideal.wait_minutes or d.ideal.retry
                                                          or d.ideal.actions)]

# `etcd-dr run` along a scenario's ideal path, run once per test process and read by two
# tests: this module's, and test_session_scenarios' replay of its journal by a drill session
# (the same command; before, each ran it, 15 whole drills twice). Both tests of a scenario
# are in one xdist group, so they run on one worker, this module's first; run alone, the
# other test runs it itself. A failed run is handed to both, and both fail on it.
_IDEAL_RUNS: dict[str, tuple[subprocess.CompletedProcess, Path]] = {}


def shared_run_params(names: list[str]) -> list:
    """The scenario names as parameters, each in its own xdist group: the tests that read a
    scenario's shared ideal run (ideal_run, waited_run) run on one worker."""
    return [pytest.param(name, marks=pytest.mark.xdist_group(f"ideal-run-{name}"))
            for name in names]


def ideal_run(name: str, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """`etcd-dr run RUNBOOK --drill --scenario NAME --speed 300 --yes [ideal options]`
    and its journal, once per process."""
    if name not in _IDEAL_RUNS:
        drill = load_drill(name)
        journal = tmp_path_factory.mktemp(f"ideal-{name}") / "j.jsonl"
        r = etcd_dr("run", drill.runbook, "--drill", "--scenario", name, "--speed",
                    str(SPEED), "--yes", "--journal", str(journal),
                    *drill.ideal.run_args(drill.runbook))
        _IDEAL_RUNS[name] = (r, journal)
    return _IDEAL_RUNS[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", shared_run_params(ONE_SHOT))
def test_the_ideal_path_runs_headless_to_the_end(name, tmp_path_factory):
    """`etcd-dr run RUNBOOK --drill --scenario NAME --speed 300 --yes [ideal options]`."""
    drill = load_drill(name)
    r, journal = ideal_run(name, tmp_path_factory)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    records = list(read_journal(journal))
    assert records[-1]["step"] == "-" and records[-1]["event"] == "finished"
    planned = records[0]["params"]
    assert steps_named(drill) <= set(records[0]["steps"])  # the drill names real steps
    if drill.runbook in ("restore", "quorum-restore"):
        assert planned["recovery_host"] == drill.ideal.recovery_host
        if drill.ideal.path:
            assert planned["path"] == drill.ideal.path
        assert not [r for r in records if r["event"] == "override"]
    elif drill.ideal.host:
        assert planned["host"] == drill.ideal.host
    # the drill session (tui.drill.session) scores this journal as the scenario expects
    assert DrillSession.from_journal(journal).score().as_dict()["score"] == \
        drill.expected_score
    sent = " ".join(r.get("command") or "" for r in records)
    for trap in drill.traps_of("approve-csr"):
        assert f"approve {trap.name}" not in sent
        assert any(r.get("csr") == trap.name and r["event"] == "skipped" for r in records)


@pytest.mark.slow
@pytest.mark.parametrize("name, kinds", [
    ("two-snapshots", {"override-preflight", "wrong-backup"}),
    ("backup-other-zstream", {"override-preflight", "wrong-backup"}),
])
def test_overriding_the_blocked_backup_is_counted_as_the_scenario_says(name, kinds, tmp_path):
    """The deliberate mistake: --override past the preflight instead of choosing the right
    directory; the session counts the scenario's traps (10 points each)."""
    journal = tmp_path / "j.jsonl"
    etcd_dr("run", "restore", "--drill", "--scenario", name, "--speed", str(SPEED), "--yes",
            "--override", "it will do", "--journal", str(journal))
    session = DrillSession.from_journal(journal)
    assert {m.kind for m in session.mistakes} == kinds
    details = " ".join(m.detail for m in session.mistakes)
    for trap in load_drill(name).traps:
        assert trap.detail in details
    assert session.score().as_dict()["score"] == 100 - 10 * len(kinds)


async def run_ideal(name: str, tmp_path) -> tuple[list[dict], Operator, Backend, float]:
    """The ideal path in-process, with what it does besides the runbook: a wait before the
    start (drill.ideal.wait_minutes), retries of the steps that fail once (drill.ideal.retry),
    and commands on a host's shell at a journal event (drill.ideal.actions, as an operator in
    another terminal), with the scenario's faults injected (tui.drill.inject). Returns the journal, the operator, the backend, and the drill minutes on the fair clock."""
    drill = load_drill(name)
    backend = Backend(BackendSpec(scenario=name, speed=SPEED))
    await backend.start(wait=True)
    cluster = backend.lab.cluster
    if drill.ideal.wait_minutes:
        await asyncio.sleep(cluster.clock.real_seconds(drill.ideal.wait_minutes * 60))
    tasks, results = [], []

    async def act(action):
        r = await backend.fleet.run_one(action.host, Command.of(
            *shlex.split(action.command), privileged=True, timeout=60))
        results.append((action, r))

    class ActingJournal(Journal):
        def write(self, step, event, hosts=(), **extra):
            record = super().write(step, event, hosts, **extra)
            for action in drill.ideal.actions:
                if (action.at.step, action.at.event) == (step, event):
                    tasks.append(asyncio.ensure_future(act(action)))
            return record

    params = {"backup_dir": drill.ideal.backup_dir or "/home/core/assets/backup"}
    if drill.runbook == "backup":
        params["host"] = drill.ideal.host
    elif drill.runbook == "defrag":
        params.update(wait=60.0, compact=False)
    elif drill.ideal.recovery_host:
        params["recovery_host"] = drill.ideal.recovery_host
    operator = Operator(retry=drill.ideal.retry, backend=backend)
    ctx = RunContext(backend=backend, journal=ActingJournal(tmp_path / "j.jsonl", drill.runbook),
                     operator=operator, params=params, time_scale=SPEED)
    runbook = await resolve_runbook(registry()[drill.runbook], ctx)
    schedule = FaultSchedule(cluster, backend.lab, list(drill.faults))
    schedule.start()
    try:
        await Runner(runbook, ctx).run()
    finally:
        schedule.stop()
        ctx.journal.close()
        await asyncio.gather(*tasks)
    assert not schedule.pending and all(f["ok"] for f in schedule.fired), schedule.fired
    for action, r in results:
        assert r.ok, f"{action.command}: {r.stderr or r.error}"
    assert len(results) == len(drill.ideal.actions)
    records = list(read_journal(tmp_path / "j.jsonl"))
    # the drill minutes as the session measures the RTO, on the fair drill clock (tui.pace):
    # the cluster's waits and commands in simulated time, the console's own processing not
    # at all (on the raw simulated clock at x300, each real second the busy test machine
    # spends is five drill minutes); plus the wait before the start, the trainee's
    parts = pace_split(records[0].get("pace"), records[-1].get("pace"))
    assert parts is not None, "a drill's journal lines carry the fair clock's readings"
    return records, operator, backend, drill.ideal.wait_minutes + sum(parts.values()) / 60


WITH_WAITS = [s.name for s in list_scenarios() if s.name not in ONE_SHOT
              and load_drill(s.name).runbook]
# run_ideal's outcome (the journal's records, the failures the operator saw, the drill
# minutes), once per test process and read by two tests, as _IDEAL_RUNS above: this
# module's, and test_session_scenarios' replay by a drill session
_WAITED_RUNS: dict[str, tuple[list[dict], list, float]] = {}


async def waited_run(name: str, tmp_path_factory) -> tuple[list[dict], list, float]:
    if name not in _WAITED_RUNS:
        backend = None
        try:
            records, operator, backend, minutes = await run_ideal(
                name, tmp_path_factory.mktemp(f"ideal-{name}"))
        finally:
            if backend is not None:
                await backend.close()
        _WAITED_RUNS[name] = (records, list(operator.failures), minutes)
    return _WAITED_RUNS[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", shared_run_params(WITH_WAITS))
async def test_the_ideal_path_with_its_waits_retries_and_shell_actions_ends_in_time(
        name, tmp_path_factory):
    drill = load_drill(name)
    records, failures, minutes = await waited_run(name, tmp_path_factory)
    assert records[-1]["step"] == "-" and records[-1]["event"] == "finished"
    assert steps_named(drill) <= set(records[0]["steps"])
    assert not [r for r in records if r["event"] == "override"]
    assert minutes <= drill.rto_minutes, f"{minutes:.0f} drill minutes"
    # the steps the ideal path retries are the ones that failed, each at least once
    assert {s for s, _ in failures} == set(drill.ideal.retry), failures
    if drill.faults:
        assert [r["action"] for r in records if r["event"] == "fault"] == \
            [f.action for f in drill.faults]


async def test_the_headless_restore_sets_the_webhook_to_ignore_and_back_to_fail(tmp_path):
    """No shell action any more: RST-15 lists policy-guard, sets it to Ignore before it
    deletes the OVN pods and back to Fail once they run; the run ends (exit 0)."""
    r = etcd_dr("run", "restore", "--drill", "--scenario", "webhook-blocks-ovn", "--speed",
                str(SPEED), "--yes", "--journal", str(tmp_path / "j.jsonl"))
    assert r.returncode == 0, r.stderr
    assert "policy-guard" in r.stdout and "image-signature" not in r.stdout
    patch = ("oc patch validatingwebhookconfiguration policy-guard --type=json -p "
             "'[{\"op\":\"replace\",\"path\":\"/webhooks/0/failurePolicy\",\"value\":\"%s\"}]'")
    out = r.stdout.splitlines()
    ignore = out.index(f"[RST-15] $ {patch % 'Ignore'}")
    fail = out.index(f"[RST-15] $ {patch % 'Fail'}")
    deletes = [i for i, line in enumerate(out) if "delete pod -l app=ovnkube" in line]
    assert ignore < deletes[0] < deletes[-1] < fail
    assert "STILL failurePolicy Ignore" not in r.stderr
    records = read_journal(tmp_path / "j.jsonl")
    done = [r["command"] for r in records if r["event"] == "finished" and "oc patch valid"
            in (r.get("command") or "")]
    assert done == [patch % "Ignore", patch % "Fail"]  # it ends with failurePolicy Fail
    assert records[-1]["event"] == "finished"


# --- the console opens each new drill ---------------------------------------------------------

@pytest.mark.parametrize("name", NEW + CURRENT)
async def test_etcd_dr_drill_opens_each_new_scenario_on_its_briefing(name, tmp_path,
                                                                     monkeypatch):
    """`etcd-dr drill --scenario NAME`: the briefing shows the objective, then the status
    view shows every host of the scenario (lost ones as unreachable)."""
    from tests.conftest import populated, wait_until
    from tui.app import make_app

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    drill = load_drill(name)
    cluster = build_cluster(name)
    app = make_app(BackendSpec(scenario=name, speed=SPEED), drill_session=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BriefingScreen",
                         what="the briefing")
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert " ".join(drill.objective.split())[:60] in " ".join(text.split())
        await pilot.press("enter")
        if cluster.api.topology == "DualReplica":
            # no etcd static pod there, so no etcdctl container for the default etcdctl
            # prefix: the status view has hosts and the API, but no member table
            settled = lambda: app.snapshot is not None and app.snapshot.hosts and all(  # noqa
                h.state not in ("connecting",) for h in app.snapshot.hosts)
            await wait_until(pilot, settled, timeout=30, what="the status")
        else:
            await wait_until(pilot, lambda: populated(app), timeout=30, what="the status")
        states = {h.name: h.state for h in app.snapshot.hosts}
        assert set(states) == {h.name for h in cluster.hosts}
        for h in cluster.hosts:
            assert (states[h.name] == "connected") == h.up, (h.name, states[h.name])
