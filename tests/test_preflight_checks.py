"""The restore's preflight checks on hand-built facts, no SSH: each check is a small pure
function of one frozen PreflightFacts, and evidence that is missing, ambiguous or bad never
passes (the tool's rule: when unsure, say so and show what was seen; never guess "fine")."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from tui.runbooks.restore.preflight import PREFLIGHT_CHECKS, PreflightFacts, PreflightItem
from tui.runbooks.restore.preflight_checks import run_checks
from tui.runbooks.restore_checks import BackupCheck, Candidate, restore_path

HOSTS = ("master-0", "master-1", "master-2")
DIR = "/home/core/assets/backup"
TS = "2026-11-28_084040"
BACKUP = BackupCheck(True, (), TS, f"snapshot_{TS}.db", f"static_kuberesources_{TS}.tar.gz")
KEYS = {"master-0": "SHA256:aaa", "master-1": "SHA256:bbb", "master-2": "SHA256:ccc"}


def candidate(host: str, index: int, eligible: bool = True) -> Candidate:
    return Candidate(host, (eligible, True, index),
                     ("reachable over SSH with sudo", f"raft index {index}"), eligible)


CANDIDATES = (candidate("master-0", 300), candidate("master-1", 200), candidate("master-2", 100))


def green(**changes) -> PreflightFacts:
    """A restore from a clean backup on master-0 of a 4.14 cluster whose API answers, every
    host up: nothing blocks. `changes` replaces fields."""
    version, source = "4.14.38", "the API's ClusterVersion"
    facts = PreflightFacts(
        procedure="restore", control_plane=HOSTS, reachable=HOSTS, confirmed_lost={},
        lost_evidence={}, unproven={}, lost_wait=0.0, fencing=(), candidates=CANDIDATES,
        recovery_host="master-0", sudo_refusals=(), backup_host="master-0", backup_dir=DIR,
        backup_where=f"master-0:{DIR}", backup_listed=True,
        backup_listing=f"{BACKUP.snapshot}\n{BACKUP.static_kuberesources}", backup=BACKUP,
        snapshot_status=(True, "etcdutl snapshot status: hash 1, revision 2, 3 keys"),
        manifest={"version": version, "encryption": "aescbc"}, version=version,
        version_source=source, inventory_version=None,
        detected_path=restore_path(version, source), encryption="aescbc",
        tarball=f"{DIR}/{BACKUP.static_kuberesources}",
        tarball_listing=(True, "static-pod-resources/kube-apiserver-pod-7/secrets/"
                               "encryption-config/encryption-config\n"),
        scripts=(("/usr/local/bin/cluster-restore.sh", True),), keepalived_hosts=(),
        api_reachable=True, api_version=version, api_error=None, proxy={}, host_keys=KEYS)
    return dataclasses.replace(facts, **changes)


def quorum(**changes) -> PreflightFacts:
    """A quorum restore of a 4.18 cluster without quorum (API down), master-0 with the
    highest raft index, master-1 and master-2 lost on evidence."""
    version, source = "4.18.5", "the inventory's cluster.version"
    base = dict(procedure="quorum-restore", reachable=("master-0",),
                lost_evidence={"master-1": "confirmed lost by the operator",
                               "master-2": "confirmed lost by the operator"},
                confirmed_lost={"master-1": "", "master-2": ""},
                backup_host=None, backup_where="", backup_listed=False, backup_listing="",
                backup=None, snapshot_status=None, manifest=None, version=version,
                version_source=source, inventory_version=version,
                detected_path=restore_path(version, source), encryption=None, tarball="",
                tarball_listing=None, scripts=(("/usr/local/bin/quorum-restore.sh", True),),
                api_reachable=False, api_version=None, api_error="refused",
                host_keys={"master-0": "SHA256:aaa"})
    return green(**{**base, **changes})


def items(facts: PreflightFacts) -> dict[str, PreflightItem]:
    return {i.key: i for i in run_checks(facts)}


def test_every_check_is_a_documented_pure_function_of_the_facts():
    for check in PREFLIGHT_CHECKS:
        assert inspect.isfunction(check) and not inspect.iscoroutinefunction(check), check
        assert (check.__doc__ or "").strip(), f"{check.__name__} says nothing of what it checks"
        assert list(inspect.signature(check).parameters) == ["facts"], check.__name__
    facts = green()
    assert run_checks(facts) == run_checks(facts)  # the same facts, the same report
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.recovery_host = "master-1"


def test_green_facts_pass_every_check_in_the_reports_order():
    report = run_checks(green())
    assert [i.key for i in report] == ["ssh", "sudo", "recovery", "backup", "snapshot",
                                       "zstream", "encryption", "path", "scripts",
                                       "keepalived", "api", "identity"]
    assert all(i.ok for i in report), [i for i in report if not i.ok]


def test_a_green_quorum_restore_reads_no_backup():
    report = items(quorum())
    assert not {"backup", "snapshot", "dirty", "zstream", "encryption"} & set(report)
    assert report["recovery"].ok and report["recovery"].blocking
    assert report["path"].ok and "QRS" in report["path"].detail
    assert not report["ssh"].ok and not report["ssh"].blocking  # lost on evidence: a warning
    assert not report["lost"].ok and not report["lost"].blocking


# each row: facts a check must not pass, the item's key, blocking, overridable, and words
# its detail must show (what was seen, or what is unknown)
NOT_PASSING = {
    "a host that times out is not proven lost": (
        green(reachable=("master-0", "master-1"),
              unproven={"master-2": "timeout (ssh: timed out): not proof that it is lost"}),
        "ssh", True, False, "master-2: timeout"),
    "refused for a moment only is not lost yet": (
        green(reachable=("master-0",), lost_wait=50.0,
              unproven={"master-1": "connection refused for 10 s only",
                        "master-2": "no route to host for 5 s only"}),
        "ssh", True, False, "refused for 10 s only"),
    "a host confirmed lost that answers": (
        green(confirmed_lost={"master-1": "powered off"}),
        "lost-confirmed", True, False, "master-1: it answers over SSH"),
    "a host confirmed lost that is no control-plane host": (
        green(confirmed_lost={"worker-7": ""}),
        "lost-confirmed", True, False, "worker-7: not a control-plane host"),
    "Pacemaker seen on a host": (
        green(fencing=("master-0 has Pacemaker's /usr/sbin/pcs",)),
        "topology", True, False, "master-0 has Pacemaker's /usr/sbin/pcs"),
    "sudo asks for a password": (
        green(sudo_refusals=("master-2: sudo: a password is required",)),
        "sudo", True, True, "master-2: sudo: a password is required"),
    "no recovery host": (
        green(recovery_host=None, reachable=()), "recovery", True, True,
        "no reachable control-plane host"),
    "a recovery host that does not answer": (
        green(recovery_host="master-2", reachable=("master-0", "master-1")),
        "recovery", True, True, "master-2 is not reachable over SSH"),
    "a recovery host that is no control-plane host": (
        green(recovery_host="worker-0"), "recovery", True, True,
        "worker-0 is not a control-plane host"),
    "a learner as the recovery host": (
        green(candidates=(candidate("master-0", 300, eligible=False),) + CANDIDATES[1:]),
        "recovery", True, True, "learner"),
    "a learner for a quorum restore": (
        quorum(candidates=(candidate("master-0", 300, eligible=False),) + CANDIDATES[1:]),
        "recovery", True, False, "learner"),
    "a quorum restore from a member behind another": (
        quorum(recovery_host="master-1", reachable=("master-0", "master-1"),
               lost_evidence={"master-2": "gone"}),
        "recovery", True, True, "not the member with the highest raft index, master-0"),
    "a backup directory that cannot be listed": (
        green(backup_listed=False, backup=None, backup_listing="Permission denied",
              snapshot_status=None, manifest=None, tarball_listing=None),
        "backup", True, True, f"cannot list master-0:{DIR}: Permission denied"),
    "a backup directory on a host that does not answer": (
        green(backup_listed=False, backup=None, backup_listing="master-2 is not reachable",
              backup_where=f"master-2:{DIR}", snapshot_status=None, manifest=None,
              tarball_listing=None),
        "backup", True, True, "master-2 is not reachable"),
    "two backups in one directory": (
        green(backup=BackupCheck(False, (f"{DIR} holds 2 snapshot(s) and 2 tarball(s)",)),
              snapshot_status=None, manifest=None, tarball_listing=None),
        "backup", True, True, "holds 2 snapshot(s)"),
    "a snapshot no tool can read": (
        green(snapshot_status=(False, "the snapshot is empty or unreadable: 0")),
        "snapshot", True, True, "empty or unreadable"),
    "a backup forced past its checks": (
        green(backup=dataclasses.replace(BACKUP, dirty=True)),
        "dirty", False, True, "may be inconsistent"),
    "no manifest: the backup's release is unknown": (
        green(manifest=None), "zstream", False, True, "its release cannot be checked"),
    "a manifest, but no cluster version to hold it against": (
        green(api_reachable=False, api_version=None, inventory_version=None,
              manifest={"encryption": "aescbc"}),
        "zstream", False, True, "cannot be checked"),
    "a backup from another z-stream": (
        green(manifest={"version": "4.14.37", "encryption": "aescbc"}),
        "zstream", True, True, "backup manifest 4.14.37, cluster 4.14.38"),
    "an encrypted cluster, a tarball without its encryption-config": (
        green(tarball_listing=(True, "static-pod-resources/kube-apiserver-pod-7/\n")),
        "encryption", True, True, "no encryption-config"),
    "a tarball tar cannot list": (
        green(tarball_listing=(False, "gzip: stdin: unexpected end of file")),
        "encryption", False, True, "unexpected end of file"),
    "an unknown version": (
        green(version=None, detected_path=None, api_version=None,
              version_source="no source (API down, no backup manifest, no cluster.version)"),
        "path", True, True, "the cluster version is unknown"),
    "a quorum restore of an unknown version": (
        quorum(version=None, detected_path=None, inventory_version=None,
               version_source="no source"),
        "path", False, True, "the version is unknown (no source)"),
    "a quorum restore before 4.18": (
        quorum(version="4.16.20", detected_path=restore_path("4.16.20", "the inventory")),
        "path", True, False, "quorum-restore.sh exists from 4.18 on"),
    "another procedure without a reason": (
        green(chosen_path="4.18+"), "path", True, True, "a reason is required"),
    "another procedure while the version is unknown": (
        green(chosen_path="4.18+", version=None, detected_path=None, version_source="none"),
        "path", True, True, "version unknown (none)"),
    "a restore script missing": (
        green(scripts=(("/usr/local/bin/cluster-restore.sh", False),
                       ("/usr/local/bin/disable-etcd.sh", True))),
        "scripts", True, True, "missing on master-0: /usr/local/bin/cluster-restore.sh"),
    "the API does not answer": (
        green(api_reachable=False, api_error="connection refused"),
        "api", False, True, "not reachable (connection refused)"),
    "the recovery host under two names": (
        green(host_keys={**KEYS, "master-2": KEYS["master-0"]}),
        "identity", True, False, "master-2 and master-0 present the same SSH host key"),
}


@pytest.mark.parametrize("name", NOT_PASSING)
def test_missing_ambiguous_or_bad_evidence_never_passes(name):
    facts, key, blocking, overridable, words = NOT_PASSING[name]
    item = items(facts).get(key)
    assert item is not None, f"{name}: no {key} item at all"
    assert not item.ok, f"{name}: {item}"
    assert (item.blocking, item.overridable) == (blocking, overridable), item
    assert words in item.detail, item.detail


def test_the_report_blocks_on_each_blocking_row():
    for name, (facts, key, blocking, _, _) in NOT_PASSING.items():
        failing = [i.key for i in run_checks(facts) if i.blocking and not i.ok]
        assert (key in failing) == blocking, (name, failing)


def test_lost_hosts_are_named_with_their_evidence_and_only_warn():
    facts = green(reachable=("master-0",),
                  lost_evidence={"master-2": "the API says Machine m2 is Failed",
                                 "master-1": "confirmed lost by the operator: disk failed"})
    report = items(facts)
    assert report["ssh"].detail == "open to master-0; lost: master-1, master-2"
    assert report["lost"].detail.startswith(
        "master-1: confirmed lost by the operator: disk failed; "
        "master-2: the API says Machine m2 is Failed")
    assert not report["ssh"].blocking and not report["lost"].blocking


def test_a_check_that_does_not_apply_gives_no_item():
    report = items(green(scripts=None, tarball_listing=None, snapshot_status=None))
    assert not {"scripts", "encryption", "snapshot", "dirty"} & set(report)
    # the recovery host does not answer: nothing said of its identity
    assert "identity" not in items(green(recovery_host="master-2",
                                         reachable=("master-0", "master-1")))


def test_a_recovery_host_key_not_seen_does_not_pass():
    """Unseen is unknown, not "no twin": the item fails, blocks, and a typed reason may
    override it."""
    item = items(green(host_keys={**KEYS, "master-0": None}))["identity"]
    assert not item.ok and item.blocking and item.overridable, item
    assert "unknown" in item.detail and "master-0" in item.detail
