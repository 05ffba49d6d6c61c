"""The readiness wall's verdict rules (tui/wall/readiness.py), without any I/O: one status
snapshot and one look at the backups in, a verdict and its reasons out. An unknown (None)
never passes for good."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tui.cluster.api import ApiSnapshot, Condition
from tui.status.snapshot import AlarmView, HostView, MemberView, StatusSnapshot
from tui.wall.readiness import (
    VERDICTS,
    BackupFacts,
    ClusterReadiness,
    Thresholds,
    judge,
    worst_first,
)
from tui.wall.render import WALL_COLUMNS, summary, wall_cells

MB = 1024 * 1024
HOSTS = ("master-0", "master-1", "master-2")


def member(i: int, *, leader: bool = False, size: int = 140 * MB, in_use: int = 120 * MB,
           answered: bool = True, errors: tuple[str, ...] = ()) -> MemberView:
    return MemberView(name=HOSTS[i], member_id=0x1000 + i, endpoint=f"https://10.0.0.{i}:2379",
                      is_leader=leader, db_size=size if answered else None,
                      db_size_in_use=in_use if answered else None,
                      raft_index=100 if answered else None, errors=errors, host=HOSTS[i])


def snapshot(*, members=None, hosts_down=(), alarms=(), stale=False, api=None) -> StatusSnapshot:
    members = [member(0), member(1, leader=True), member(2)] if members is None else members
    hosts = [HostView(h, f"10.0.0.{i}", "control-plane",
                      "unreachable" if h in hosts_down else "connected", None, 0.0)
             for i, h in enumerate(HOSTS)]
    return StatusSnapshot(
        cluster_name="prod-east", cluster_version="4.16.3", drill=False, hosts=hosts,
        members=members, alarms=[AlarmView(0x1000, a, "master-0") for a in alarms],
        api=api or ApiSnapshot(reachable=True, encryption_type="identity"),
        collected_at=1000.0, etcd_stale=stale, etcd_error="no host answered" if stale else None)


GOOD_BACKUP = BackupFacts(directory="/home/core/assets/backup", listed=HOSTS,
                          newest="2026-12-05_010000", host="master-0",
                          snapshot="snapshot_2026-12-05_010000.db",
                          tarball="static_kuberesources_2026-12-05_010000.tar.gz",
                          age_s=3600.0, verified=True, verified_by="etcdutl snapshot status",
                          encryption_config=False)
ENCRYPTED = ApiSnapshot(reachable=True, encryption_type="aescbc",
                        encrypted={"kubeapiserver": Condition("True", "EncryptionCompleted", "")})


CASES = [
    # (what, snapshot, backup, verdict, a reason that must be listed)
    ("all well", snapshot(), GOOD_BACKUP, "ready", None),
    ("no status at all", None, None, "down", "no status"),
    ("no member answered", snapshot(stale=True), GOOD_BACKUP, "down", "no etcd member answered"),
    ("no members listed", snapshot(members=[]), GOOD_BACKUP, "down", "no etcd member answered"),
    ("one of three, no leader",
     snapshot(members=[member(0), member(1, answered=False), member(2, answered=False)],
              hosts_down=("master-1", "master-2")),
     GOOD_BACKUP, "down", "no quorum: 1/3"),
    ("quorum but no leader", snapshot(members=[member(0), member(1), member(2)]), GOOD_BACKUP,
     "down", "no leader"),
    ("one member down",
     snapshot(members=[member(0, leader=True), member(1), member(2, answered=False,
                                                          errors=("deadline exceeded",))],
              hosts_down=("master-2",)),
     GOOD_BACKUP, "degraded", "1 of 3 members down"),
    ("fragmented", snapshot(members=[member(0, leader=True, size=1000 * MB, in_use=400 * MB),
                                     member(1), member(2)]),
     GOOD_BACKUP, "degraded", "fragmentation 60% on master-0"),
    ("API unreachable", snapshot(api=ApiSnapshot(reachable=False, error="refused")),
     replace(GOOD_BACKUP, manifest_encryption="identity"), "degraded", "API unreachable"),
    ("NOSPACE", snapshot(alarms=("NOSPACE",)), GOOD_BACKUP, "at-risk", "alarm NOSPACE"),
    ("CORRUPT", snapshot(alarms=("CORRUPT",)), GOOD_BACKUP, "at-risk", "alarm CORRUPT"),
    ("no backup", snapshot(), BackupFacts(directory="/d", listed=HOSTS), "at-risk",
     "no backup"),
    ("backups unknown: nobody listed", snapshot(),
     BackupFacts(directory="/d", notes=("master-0: cannot list /d (Permission denied)",)),
     "at-risk", "backups unknown"),
    ("backups unknown: probe gave nothing", snapshot(), None, "at-risk", "backups unknown"),
    ("old backup", snapshot(), replace(GOOD_BACKUP, age_s=3 * 86400.0), "at-risk",
     "3.0d old (over 24h00m)"),
    ("age unknown", snapshot(), replace(GOOD_BACKUP, age_s=None), "at-risk", "age unknown"),
    ("does not verify", snapshot(), replace(GOOD_BACKUP, verified=False), "at-risk",
     "does not verify"),
    ("verification unknown", snapshot(), replace(GOOD_BACKUP, verified=None), "at-risk",
     "not verified (unknown)"),
    ("possibly dirty", snapshot(), replace(GOOD_BACKUP, dirty=True), "at-risk",
     "__POSSIBLY_DIRTY__"),
    ("encrypted, config in the tarball", snapshot(api=ENCRYPTED),
     replace(GOOD_BACKUP, encryption_config=True), "ready", None),
    ("encrypted, no config in the tarball", snapshot(api=ENCRYPTED), GOOD_BACKUP, "at-risk",
     "has no encryption-config"),
    ("encrypted, tarball not listed", snapshot(api=ENCRYPTED),
     replace(GOOD_BACKUP, encryption_config=None), "at-risk", "unknown whether the tarball"),
    ("encryption unknown, tarball without config",
     snapshot(api=ApiSnapshot(reachable=False, configured=False)), GOOD_BACKUP, "at-risk",
     "encryption unknown"),
    ("encryption unknown (API down), the manifest says aesgcm",
     snapshot(api=ApiSnapshot(reachable=False, error="refused")),
     replace(GOOD_BACKUP, manifest_encryption="aesgcm"), "at-risk", "encryption aesgcm"),
    ("encryption migrating", snapshot(api=ApiSnapshot(
        reachable=True, encryption_type="aescbc",
        encrypted={"kubeapiserver": Condition("False", "EncryptionInProgress", "")})),
     replace(GOOD_BACKUP, encryption_config=True), "degraded", "migration in progress"),
    ("down outranks at-risk", snapshot(stale=True), None, "down", "backups unknown"),
]


@pytest.mark.parametrize("what,snap,backup,verdict,reason", CASES, ids=[c[0] for c in CASES])
def test_verdict(what, snap, backup, verdict, reason):
    row = judge("prod-east", snap, backup, Thresholds(), error=None if snap else "timed out")
    assert row.verdict == verdict, row.reasons
    if reason is None:
        assert row.reasons == ()
    else:
        assert any(reason in r for r in row.reasons), row.reasons
    # the first reason is the verdict's own
    if row.reasons:
        assert verdict in ("down", "at-risk", "degraded")


def test_the_backup_age_threshold_is_an_option():
    row = judge("c", snapshot(), replace(GOOD_BACKUP, age_s=7200.0),
                Thresholds(max_backup_age_s=3600.0))
    assert row.verdict == "at-risk" and "2h00m old (over 1h00m)" in row.reasons[0]


def test_json_has_every_contract_key_and_unknowns_are_null():
    row = judge("prod-east", snapshot(stale=True), None)
    doc = row.to_json()
    assert {"name", "version", "verdict", "members", "leader", "db_size_max",
            "fragmentation_max", "alarms", "encryption", "backup"} <= set(doc)
    assert set(doc["members"]) == {"up", "total"}
    assert {"newest", "age_s", "host", "verified", "encryption_config"} <= set(doc["backup"])
    assert doc["members"] == {"up": None, "total": 3}
    assert doc["alarms"] is None and doc["backup"]["newest"] is None
    assert doc["backup"]["verified"] is None and doc["backup"]["encryption_config"] is None
    good = judge("prod-east", snapshot(alarms=("NOSPACE",)), GOOD_BACKUP).to_json()
    assert good["members"] == {"up": 3, "total": 3} and good["leader"] == "master-1"
    assert good["alarms"] == [{"alarm": "NOSPACE", "member": "master-0"}]
    assert good["backup"]["age_s"] == 3600 and good["backup"]["verified"] is True


def test_unknown_cells_show_a_question_mark_never_a_good_value():
    row = judge("c", snapshot(stale=True), replace(GOOD_BACKUP, verified=None, age_s=None))
    cells = dict(zip(WALL_COLUMNS, wall_cells(row)))
    assert cells["MEMBERS"] == "?/3" and cells["ALARMS"] == "?" and cells["LEADER"] == "?"
    assert cells["VERIFIED"] == "?" and cells["BACKUP"] == "?"
    none = dict(zip(WALL_COLUMNS, wall_cells(judge("c", snapshot(), BackupFacts("/d", HOSTS)))))
    assert none["BACKUP"] == "none" and none["VERIFIED"] == "-" and none["ENC CFG"] == "-"
    unasked = dict(zip(WALL_COLUMNS, wall_cells(judge("c", snapshot(), None))))
    assert unasked["BACKUP"] == unasked["VERIFIED"] == unasked["ENC CFG"] == "?"


def test_worst_first():
    rows = [ClusterReadiness(name=n, verdict=v, reasons=()) for n, v in
            [("a", "ready"), ("b", "down"), ("c", "degraded"), ("d", "at-risk"), ("e", "down")]]
    assert [r.name for r in worst_first(rows)] == ["b", "e", "d", "c", "a"]
    assert [r.verdict for r in worst_first(rows)] == ["down", "down", "at-risk", "degraded",
                                                      "ready"]
    assert VERDICTS == ("down", "at-risk", "degraded", "ready")
    assert summary(worst_first(rows)) == "5 clusters: 2 down, 1 at-risk, 1 degraded, 1 ready"
