"""tui.etcd.parse against real etcdctl 3.4.23 / 3.5.1 output (tests/fixtures/etcdctl/), and
against etcd 3.6 output derived from etcd's source (tests/fixtures/etcdctl/3.6/README.md).

JSON fixtures are checked against `json.loads` of the same text (the oracle); tables and
simple output against the facts that do not change between capture runs (member IDs are
derived from the peer URLs and the cluster token) and against the JSON captured next to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.errors import ParseError
from tui.etcd.parse import (
    Alarm,
    EndpointStatus,
    command_error,
    member_id_hex,
    parse_alarm_list,
    parse_defrag,
    parse_endpoint_health,
    parse_endpoint_status,
    parse_human_bytes,
    parse_member_list,
    parse_revision_json,
    parse_snapshot_status,
)

FIXTURES = Path(__file__).parent / "fixtures" / "etcdctl"
VERSIONS = ("3.4", "3.5")  # captured from real binaries
ALL_VERSIONS = VERSIONS + ("3.6",)  # 3.6: derived from etcd's source, see its README

# Stable across capture runs (see the module docstring); leaders and sizes are not.
IDS = {
    "3.4": {
        "master-0": 0x337B34951B113278,
        "master-1": 0x56239D4DFD6D3E6B,
        "master-2": 0x637EAE7B2A104CC7,
    },
    "3.5": {
        "master-0": 0x51E65C812D327536,
        "master-1": 0x5DF87E5A0A20234B,
        "master-2": 0xEE9980EF69E6A593,
    },
}
ENDPOINTS = {
    "3.4": ["http://127.0.9.1:2379", "http://127.0.9.2:2379", "http://127.0.9.3:2379"],
    "3.5": ["http://127.0.9.11:2379", "http://127.0.9.12:2379", "http://127.0.9.13:2379"],
}
SERVER_VERSION = {"3.4": "3.4.23", "3.5": "3.5.1"}


@dataclass(frozen=True)
class Capture:
    stdout: str
    stderr: str
    rc: int


def load(version: str, name: str) -> Capture:
    base = FIXTURES / version / name
    return Capture(
        stdout=(base.parent / f"{name}.stdout").read_text(),
        stderr=(base.parent / f"{name}.stderr").read_text(),
        rc=int((base.parent / f"{name}.rc").read_text().strip()),
    )


def fixture_names(version: str) -> list[str]:
    return sorted(p.stem for p in (FIXTURES / version).glob("*.rc"))


def oracle(version: str, name: str):
    return json.loads(load(version, name).stdout)


def status(version: str, name: str):
    c = load(version, name)
    return parse_endpoint_status(c.stdout, c.stderr, c.rc)


def health(version: str, name: str):
    c = load(version, name)
    return parse_endpoint_health(c.stdout, c.stderr, c.rc)


versions = pytest.mark.parametrize("v", VERSIONS)


# --- the fixtures themselves -------------------------------------------------------------


@versions
def test_fixture_set_is_complete(v):
    have = set(fixture_names(v))
    for name in (
        "endpoint_status_cluster_json",
        "endpoint_status_cluster_table",
        "endpoint_status_cluster_simple",
        "member_list_json",
        "member_list_table",
        "member_list_simple",
        "alarm_list_empty",
        "nospace_alarm_list",
        "nospace_endpoint_status_cluster_json",
        "nospace_put",
        "endpoint_health_cluster_json",
        "endpoint_health_cluster_table",
        "one_down_endpoint_status_cluster_json",
        "one_down_endpoint_health_cluster_json",
        "no_quorum_endpoint_status_cluster_json",
        "no_quorum_put",
        "no_quorum_endpoint_status_json",
        "defrag",
        "version",
        "env_and_flag_endpoints",
    ):
        assert name in have, name
    for name in have:
        for ext in ("stdout", "stderr", "rc"):
            assert (FIXTURES / v / f"{name}.{ext}").exists()


def test_readme_and_capture_script_exist():
    assert (FIXTURES / "capture.sh").exists()
    readme = (FIXTURES / "README.md").read_text()
    assert "3.4.23" in readme and "3.5.1" in readme and "2026-11-27" in readme


# --- member_id_hex and sizes ------------------------------------------------------------------


def test_member_id_hex_is_16_digits():
    assert member_id_hex(0x8E9E05C52164694D) == "8e9e05c52164694d"
    assert member_id_hex(3709616533078618744) == "337b34951b113278"
    # the contract pads to 16 digits, where etcdctl's table would print "ab"
    assert member_id_hex(0x0AB) == "00000000000000ab"
    with pytest.raises(ValueError):
        member_id_hex(2**64)


@versions
def test_member_id_hex_is_what_the_table_prints(v):
    table = load(v, "member_list_table").stdout
    for member_id in IDS[v].values():
        assert f"| {member_id_hex(member_id)} |" in table


@pytest.mark.parametrize(
    "text,value",
    [("20 kB", 20_000), ("1.4 MB", 1_400_000), ("104 MB", 104_000_000), ("8.6 GB", 8_600_000_000),
     ("9 B", 9), ("0 B", 0), ("1.5 MiB", 1_572_864)],
)
def test_parse_human_bytes(text, value):
    assert parse_human_bytes(text) == value


@pytest.mark.parametrize("text", ["", "MB", "1.4", "1.4 XB", "-1 MB", "1e9 B"])
def test_parse_human_bytes_rejects(text):
    with pytest.raises(ParseError):
        parse_human_bytes(text)


def test_fragmentation():
    row = EndpointStatus("e", 1, "3.5.9", 100, 40, 1, False, 2, 3, 3, ())
    assert row.fragmentation == pytest.approx(0.6)
    assert row.is_leader
    assert EndpointStatus("e", 1, "3.3", 100, None, 2, False, 2, 3, 3, ()).fragmentation == 0
    assert EndpointStatus("e", 1, "3.5", 0, 0, 2, False, 2, 3, 3, ()).fragmentation == 0
    # in-use above the file size (a racy read) never gives a negative share
    assert EndpointStatus("e", 1, "3.5", 100, 120, 2, False, 2, 3, 3, ()).fragmentation == 0


# --- endpoint status ----------------------------------------------------------------------------


@versions
def test_status_json_healthy(v):
    result = status(v, "endpoint_status_cluster_json")
    raw = oracle(v, "endpoint_status_cluster_json")
    assert [r.endpoint for r in result.rows] == ENDPOINTS[v]
    assert [r.member_id for r in result.rows] == list(IDS[v].values())
    assert result.failed_endpoints == {} and not result.no_leader and result.error is None
    for row, entry in zip(result.rows, raw):
        s = entry["Status"]
        assert row.version == SERVER_VERSION[v]
        assert row.db_size == s["dbSize"] and row.db_size_in_use == s["dbSizeInUse"]
        assert row.leader_id == s["leader"]
        assert (row.raft_term, row.raft_index, row.raft_applied_index) == (
            s["raftTerm"], s["raftIndex"], s["raftAppliedIndex"],
        )
        assert not row.is_learner and row.errors == ()
        assert 0 < row.fragmentation < 1  # the capture compacted history before this
    leaders = [r for r in result.rows if r.is_leader]
    assert len(leaders) == 1 and result.leader == leaders[0]
    assert leaders[0].member_id == raw[0]["Status"]["leader"]


@versions
@pytest.mark.parametrize("fmt", ["table", "simple"])
def test_status_table_and_simple_agree_with_json(v, fmt):
    as_json = status(v, "endpoint_status_cluster_json")
    result = status(v, f"endpoint_status_cluster_{fmt}")
    assert [r.endpoint for r in result.rows] == ENDPOINTS[v]
    assert [r.member_id for r in result.rows] == list(IDS[v].values())
    assert result.leader is not None
    assert result.leader.member_id == as_json.leader.member_id
    assert all(r.leader_id == as_json.leader.member_id for r in result.rows)
    for row, exact in zip(result.rows, as_json.rows):
        assert row.version == exact.version
        # the table shows 2-3 significant digits ("1.4 MB")
        assert row.db_size == pytest.approx(exact.db_size, rel=0.05)
        assert row.db_size_in_use is None and row.fragmentation == 0
        assert (row.raft_term, row.raft_index) == (exact.raft_term, exact.raft_index)
    assert not result.no_leader and result.failed_endpoints == {}


@versions
def test_status_after_defrag_shows_the_smaller_file(v):
    before = status(v, "endpoint_status_cluster_table")
    after = status(v, "endpoint_status_cluster_table_after_defrag")
    assert after.rows[0].db_size < 100_000 < before.rows[0].db_size  # master-0 was defragmented
    assert after.rows[1].db_size == before.rows[1].db_size


@versions
@pytest.mark.parametrize("fmt", ["json", "table", "simple"])
def test_status_one_member_down(v, fmt):
    c = load(v, f"one_down_endpoint_status_cluster_{fmt}")
    assert c.rc == 1
    result = parse_endpoint_status(c.stdout, c.stderr, c.rc)
    assert [r.endpoint for r in result.rows] == ENDPOINTS[v][:2]
    assert result.failed_endpoints == {ENDPOINTS[v][2]: "context deadline exceeded"}
    assert not result.no_leader
    assert result.leader is not None and result.leader.member_id in IDS[v].values()


@versions
def test_status_dead_endpoint_alone(v):
    result = status(v, "dead_endpoint_status_json")
    assert result.rows == ()
    assert result.failed_endpoints == {ENDPOINTS[v][2]: "context deadline exceeded"}
    table = status(v, "dead_endpoint_status_table")
    assert table.rows == () and table.failed_endpoints == result.failed_endpoints


@versions
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_status_no_quorum_on_the_survivor(v, fmt):
    result = status(v, f"no_quorum_endpoint_status_{fmt}")
    assert result.no_leader
    (row,) = result.rows
    assert row.member_id == IDS[v]["master-0"]
    assert row.leader_id == 0 and not row.is_leader
    assert row.errors == ("etcdserver: no leader",)
    assert result.leader is None


def test_status_no_quorum_cluster_34_lists_the_survivor():
    # 3.4 serves the member list locally, so --cluster still reaches the survivor
    for fmt in ("json", "table"):
        c = load("3.4", f"no_quorum_endpoint_status_cluster_{fmt}")
        result = parse_endpoint_status(c.stdout, c.stderr, c.rc)
        assert c.rc == 1 and result.no_leader
        assert [r.endpoint for r in result.rows] == ENDPOINTS["3.4"][:1]
        assert set(result.failed_endpoints) == set(ENDPOINTS["3.4"][1:])


def test_status_no_quorum_cluster_35_cannot_list_members():
    # 3.5's member list is linearizable: without a leader, --cluster fails before any status
    for fmt in ("json", "table"):
        c = load("3.5", f"no_quorum_endpoint_status_cluster_{fmt}")
        result = parse_endpoint_status(c.stdout, c.stderr, c.rc)
        assert c.rc == 1 and result.rows == () and result.failed_endpoints == {}
        assert result.error is not None
        assert result.error.startswith("failed to fetch endpoints from etcd cluster member list")


@versions
def test_status_nospace(v):
    result = status(v, "nospace_endpoint_status_cluster_json")
    alarms = parse_alarm_list(load(v, "nospace_alarm_list").stdout)
    expected = {f"memberID:{a.member_id} alarm:NOSPACE" for a in alarms}
    assert alarms and len(result.rows) == 3
    for row in result.rows:
        assert set(row.errors) == expected
    table = status(v, "nospace_endpoint_status_cluster_table")
    assert [r.member_id for r in table.rows] == [r.member_id for r in result.rows]
    for row in table.rows:  # the wrapped ERRORS cells read back whole
        assert set(row.errors) == expected
    assert table.leader.member_id == result.leader.member_id
    assert not result.no_leader


@versions
def test_status_env_conflict_is_an_error(v):
    c = load(v, "env_and_flag_endpoints")
    result = parse_endpoint_status(c.stdout, c.stderr, c.rc)
    assert result.rows == () and "ETCDCTL_ENDPOINTS" in (result.error or "")
    assert "conflicting environment variable" in result.error


def test_status_empty_success_is_unreadable():
    with pytest.raises(ParseError):
        parse_endpoint_status("", "", 0)


# --- member list ------------------------------------------------------------------------------


@versions
@pytest.mark.parametrize("fmt", ["json", "table", "simple"])
def test_member_list(v, fmt):
    members = parse_member_list(load(v, f"member_list_{fmt}").stdout)
    assert [m.name for m in members] == ["master-0", "master-1", "master-2"]
    assert [m.member_id for m in members] == list(IDS[v].values())
    assert [m.client_urls for m in members] == [(e,) for e in ENDPOINTS[v]]
    assert [m.peer_urls for m in members] == [(e.replace(":2379", ":2380"),) for e in ENDPOINTS[v]]
    assert all(m.started and not m.is_learner for m in members)


@versions
@pytest.mark.parametrize("fmt", ["json", "table", "simple"])
def test_member_list_unstarted_learner(v, fmt):
    members = parse_member_list(load(v, f"unstarted_member_list_{fmt}").stdout)
    assert len(members) == 4
    (new,) = [m for m in members if not m.started]
    assert new.name == "" and new.client_urls == () and new.is_learner
    assert new.member_id not in IDS[v].values()
    assert new.peer_urls[0].endswith(":2380")
    raw = oracle(v, "unstarted_member_list_json")
    assert [m.member_id for m in members] == [m["ID"] for m in raw["members"]]


@versions
def test_member_list_one_down_still_lists_all(v):
    assert len(parse_member_list(load(v, "one_down_member_list_json").stdout)) == 3


def test_member_list_empty_is_unreadable():
    with pytest.raises(ParseError):
        parse_member_list("")


# --- alarms --------------------------------------------------------------------------------


@versions
def test_alarm_list(v):
    assert parse_alarm_list(load(v, "alarm_list_empty").stdout) == ()
    alarms = parse_alarm_list(load(v, "nospace_alarm_list").stdout)
    assert alarms and all(a.alarm == "NOSPACE" for a in alarms)
    nospace_ids = {r.member_id for r in status(v, "nospace_endpoint_status_cluster_json").rows}
    assert {a.member_id for a in alarms} <= nospace_ids
    # JSON gives the alarm type as its enum number; it reads back the same
    assert parse_alarm_list(load(v, "nospace_alarm_list_json").stdout) == alarms
    assert parse_alarm_list(load(v, "alarm_list_empty_json").stdout) == ()
    # disarm prints the alarms it cleared, in the same form
    assert set(parse_alarm_list(load(v, "nospace_alarm_disarm").stdout)) == set(alarms)
    assert parse_alarm_list(load(v, "alarm_list_after_disarm").stdout) == ()


def test_alarm_list_runbook_example():
    assert parse_alarm_list("memberID:12345678912345678912 alarm:NOSPACE \n") == (
        Alarm(12345678912345678912, "NOSPACE"),
    )


# --- endpoint health ------------------------------------------------------------------------


@versions
@pytest.mark.parametrize("fmt", ["json", "table", "simple", ])
def test_health_all_healthy(v, fmt):
    result = health(v, f"endpoint_health_cluster_{fmt}")
    assert sorted(h.endpoint for h in result) == ENDPOINTS[v]
    assert all(h.health and h.error is None and h.took.endswith("s") for h in result)


@versions
@pytest.mark.parametrize("fmt", ["json", "table", "simple"])
def test_health_one_down(v, fmt):
    c = load(v, f"one_down_endpoint_health_cluster_{fmt}")
    assert c.rc == 1
    result = {h.endpoint: h for h in parse_endpoint_health(c.stdout, c.stderr, c.rc)}
    assert set(result) == set(ENDPOINTS[v])
    dead = result[ENDPOINTS[v][2]]
    assert not dead.health and "context deadline exceeded" in dead.error
    assert all(result[e].health for e in ENDPOINTS[v][:2])


def test_health_simple_goes_to_stderr_on_34_and_stdout_on_35():
    c34 = load("3.4", "endpoint_health_cluster_simple")
    c35 = load("3.5", "endpoint_health_cluster_simple")
    assert c34.stdout == "" and "is healthy" in c34.stderr
    assert c35.stderr == "" and "is healthy" in c35.stdout
    assert len(parse_endpoint_health(c34.stdout, c34.stderr, c34.rc)) == 3


def test_health_no_quorum():
    result = health("3.4", "no_quorum_endpoint_health_cluster_json")
    assert len(result) == 3 and not any(h.health for h in result)
    with pytest.raises(ParseError, match="failed to fetch endpoints"):
        health("3.5", "no_quorum_endpoint_health_cluster_json")
    for v in VERSIONS:
        (only,) = health(v, "no_quorum_endpoint_health_json")
        assert not only.health and only.error == "context deadline exceeded"


def test_health_nospace_differs_between_versions():
    assert all(h.health for h in health("3.4", "nospace_endpoint_health_cluster_json"))
    result = health("3.5", "nospace_endpoint_health_cluster_json")
    assert all(not h.health and h.error == "Active Alarm(s): NOSPACE" for h in result)
    simple = health("3.5", "nospace_endpoint_health_cluster_simple")
    assert all(h.error == "failed to commit proposal: Active Alarm(s): NOSPACE" for h in simple)


# --- defrag ---------------------------------------------------------------------------------


@versions
def test_defrag(v):
    c = load(v, "defrag")
    assert parse_defrag(c.stdout, c.stderr, c.rc).finished == (ENDPOINTS[v][0],)
    c = load(v, "one_down_defrag")
    result = parse_defrag(c.stdout, c.stderr, c.rc)
    assert result.finished == (ENDPOINTS[v][0],)
    assert result.failed == {ENDPOINTS[v][2]: "context deadline exceeded"}
    assert not result.ok
    c = load(v, "no_quorum_defrag")  # defrag is local: it works without a leader
    assert parse_defrag(c.stdout, c.stderr, c.rc).ok


def test_defrag_runbook_output_and_nothing():
    out = "Finished defragmenting etcd member[https://localhost:2379]\n"
    assert parse_defrag(out, "", 0).finished == ("https://localhost:2379",)
    with pytest.raises(ParseError):
        parse_defrag("", "", 0)
    failed = parse_defrag("", "Error: context deadline exceeded\n", 1)
    assert failed.error == "context deadline exceeded" and not failed.ok


# --- etcd 3.6 (OpenShift 4.21+): derived fixtures ----------------------------------------------

IDS_36 = {"master-0": 15333893479030781122, "master-1": 9738440591730940195,
          "master-2": 9848133799069841007}
CLUSTER_36 = 3805367482018278413


def test_36_fixtures_are_marked_as_derived_and_say_where_each_name_comes_from():
    readme = (FIXTURES / "3.6" / "README.md").read_text()
    assert "DERIVED, not captured" in readme
    for source in ("ep_command.go", "rpc.pb.go", "maintenance.go", "v3_snapshot.go",
                   "printer.go", "printer_json.go"):
        assert source in readme, source
    for field_name in ("storageVersion", "dbSizeQuota", "downgradeInfo", '`version`'):
        assert field_name in readme, field_name


def test_36_status_json_reads_the_new_fields_and_the_old_ones():
    result = status("3.6", "endpoint_status_cluster_json")
    data = oracle("3.6", "endpoint_status_cluster_json")
    assert [r.endpoint for r in result.rows] == [d["Endpoint"] for d in data]
    by_id = {r.member_id: r for r in result.rows}
    assert set(by_id) == set(IDS_36.values())
    leader = result.leader
    assert leader is not None and leader.member_id == IDS_36["master-0"]
    for row, d in zip(result.rows, data):
        s = d["Status"]
        assert (row.version, row.db_size, row.db_size_in_use, row.raft_index,
                row.raft_applied_index, row.raft_term) == (
            "3.6.5", s["dbSize"], s["dbSizeInUse"], s["raftIndex"], s["raftAppliedIndex"],
            s["raftTerm"])
        assert row.storage_version == "3.6.0" and row.db_size_quota == 8 * 1024 ** 3
        assert row.downgrade_target_version is None and not row.is_learner
    assert not result.no_leader and result.error is None


def test_35_status_has_none_of_the_36_fields():
    row = status("3.5", "endpoint_status_json").rows[0]
    assert (row.storage_version, row.db_size_quota, row.downgrade_target_version) == (
        None, None, None)


def test_36_learner_and_no_leader():
    learner = status("3.6", "learner_endpoint_status_json").rows[0]
    assert learner.is_learner and learner.raft_index == 70
    lost = status("3.6", "no_quorum_endpoint_status_json")
    assert lost.no_leader and lost.rows[0].leader_id == 0 and not lost.rows[0].is_leader


def test_36_an_enabled_downgrade_is_reported():
    text = load("3.6", "endpoint_status_json").stdout.replace(
        '"downgradeInfo":{}', '"downgradeInfo":{"enabled":true,"targetVersion":"3.5.0"}')
    assert parse_endpoint_status(text).rows[0].downgrade_target_version == "3.5.0"


def test_36_member_list_and_health():
    members = parse_member_list(load("3.6", "unstarted_member_list_json").stdout)
    assert {m.name: m.member_id for m in members if m.name} == IDS_36
    (learner,) = [m for m in members if not m.started]
    assert learner.is_learner and learner.client_urls == ()
    healthy = parse_endpoint_health(*astuple_capture(load("3.6", "endpoint_health_cluster_json")))
    assert len(healthy) == 3 and all(h.health for h in healthy)


def astuple_capture(c: Capture) -> tuple[str, str, int]:
    return c.stdout, c.stderr, c.rc


@pytest.mark.parametrize("name", ["etcdutl_snapshot_status_json",
                                  "etcdutl_snapshot_status_table",
                                  "etcdutl_snapshot_status_simple"])
def test_36_snapshot_status_with_its_version_in_every_format(name):
    snap = parse_snapshot_status(load("3.6", name).stdout)
    truth = oracle("3.6", "etcdutl_snapshot_status_json")
    assert (snap.hash, snap.revision, snap.total_key, snap.version) == (
        truth["hash"], truth["revision"], truth["totalKey"], "3.6.0")
    assert abs(snap.total_size - truth["totalSize"]) < 0.05 * truth["totalSize"]


def test_36_snapshot_status_json_puts_version_after_total_size():
    text = load("3.6", "etcdutl_snapshot_status_json").stdout
    assert list(json.loads(text)) == ["hash", "revision", "totalKey", "totalSize", "version"]
    old = parse_snapshot_status(load("3.6", "etcdutl_snapshot_status_json_of_3.5_snapshot").stdout)
    assert old.version == ""  # a 3.6 etcdutl on a snapshot of etcd < 3.6


def test_35_snapshot_status_has_no_version_and_the_warning_line_is_skipped():
    out = ("Deprecated: Use `etcdutl snapshot status` instead.\n\n"
           '{"hash":4011513437,"revision":900012,"totalKey":7000,"totalSize":148074496}\n')
    snap = parse_snapshot_status(out)
    assert (snap.hash, snap.revision, snap.total_key, snap.total_size, snap.version) == (
        4011513437, 900012, 7000, 148074496, None)


@pytest.mark.parametrize("text", ["", "{}", '{"hash":1}', "+---+\n| x |\n+---+\n", "a, b",
                                  '{"hash":-1,"revision":1,"totalKey":1,"totalSize":1}'])
def test_snapshot_status_garbage_is_a_parse_error(text):
    with pytest.raises(ParseError):
        parse_snapshot_status(text)


def test_revision_json_reads_a_uint64_cluster_id_exactly():
    text = ('{"clusterId":18446744073709551615,"raftIndex":{"https://10.0.0.5:2379":'
            '9007199254740993,"https://10.0.0.6:2379":12},"maxRaftIndex":9007199254740993,'
            '"created":"2026-12-01T03:00:00Z"}')
    rev = parse_revision_json(text)
    # 2**53 + 1 and 2**64 - 1: a float detour would round both
    assert rev.cluster_id == 2**64 - 1 and rev.max_raft_index == 2**53 + 1
    assert rev.raft_index == {"https://10.0.0.5:2379": 2**53 + 1, "https://10.0.0.6:2379": 12}
    assert rev.created == "2026-12-01T03:00:00Z"


@pytest.mark.parametrize("text, needle", [
    ("", "empty"), ("cat: /var/lib/etcd/revision.json: No such file", "invalid JSON"),
    ('{"clusterId":1}', "no maxRaftIndex"), ('{"maxRaftIndex":1.2e9}', "maxRaftIndex"),
    ('{"maxRaftIndex":5,"clusterId":1.8e19}', "clusterId"),
    ('{"maxRaftIndex":5,"clusterId":18446744073709551616}', "uint64"),
])
def test_revision_json_refuses_what_it_cannot_read_exactly(text, needle):
    with pytest.raises(ParseError, match=needle) as caught:
        parse_revision_json(text)
    assert "/var/lib/etcd/revision.json" in str(caught.value)


# --- command errors -----------------------------------------------------------------------


@versions
def test_command_error(v):
    assert command_error(load(v, "no_quorum_put").stderr) == "context deadline exceeded"
    assert command_error(load(v, "nospace_put").stderr) == "etcdserver: mvcc: database space exceeded"
    assert "ETCDCTL_ENDPOINTS" in command_error(load(v, "env_and_flag_endpoints").stderr)
    assert "ETCDCTL_CACERT" in command_error(load(v, "env_and_flag_cacert").stderr)
    assert command_error(load(v, "put_ok").stderr) is None


# --- nothing but ParseError -----------------------------------------------------------------

PARSERS = {
    "status": lambda out, err, rc: parse_endpoint_status(out, err, rc),
    "health": lambda out, err, rc: parse_endpoint_health(out, err, rc),
    "defrag": lambda out, err, rc: parse_defrag(out, err, rc),
    "members": lambda out, err, rc: parse_member_list(out),
    "alarms": lambda out, err, rc: parse_alarm_list(out),
    "snapshot": lambda out, err, rc: parse_snapshot_status(out),
    "revision": lambda out, err, rc: parse_revision_json(out),
}


def only_parse_errors(parser, out: str, err: str, rc: int) -> None:
    try:
        parser(out, err, rc)
    except ParseError as exc:
        message = str(exc)
        # the catch-all in the parsers names the exception it caught: that is a reader bug
        assert "unexpected" not in message, message
        assert message


REAL_OUTPUTS = sorted(
    {(v, n) for v in ALL_VERSIONS for n in fixture_names(v) if load(v, n).stdout.strip()}
)
fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(PARSERS))
@fuzz
@given(out=st.text(), err=st.text(max_size=200), rc=st.integers(-5, 300))
def test_arbitrary_text_raises_only_parse_error(name, out, err, rc):
    only_parse_errors(PARSERS[name], out, err, rc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["Endpoint", "Status", "header", "member_id", "dbSize", "dbSizeInUse",
                         "leader", "errors", "members", "ID", "name", "peerURLs", "clientURLs",
                         "isLearner", "alarms", "memberID", "alarm", "endpoint", "health",
                         "took", "error", "version", "raftTerm", "storageVersion",
                         "dbSizeQuota", "downgradeInfo", "enabled", "targetVersion", "hash",
                         "revision", "totalKey", "totalSize", "maxRaftIndex", "clusterId",
                         "raftIndex", "created"]) | st.text(max_size=5),
        inner,
        max_size=5,
    ),
    max_leaves=20,
)


@pytest.mark.parametrize("name", sorted(PARSERS))
@fuzz
@given(value=json_values)
def test_arbitrary_json_raises_only_parse_error(name, value):
    only_parse_errors(PARSERS[name], json.dumps(value), "", 0)
    only_parse_errors(PARSERS[name], json.dumps([value]), "", 1)


@st.composite
def mutated_fixture(draw):
    v, n = draw(st.sampled_from(REAL_OUTPUTS))
    c = load(v, n)
    text = c.stdout
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        op = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "dupline", "swap"]))
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 40)))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.text(max_size=10)) + text[i:]
        elif op == "replace":
            text = text[:i] + draw(st.sampled_from(list('|+-,:"{}[]0123456789 \nx'))) + text[i + 1 :]
        elif op == "truncate":
            text = text[:i]
        elif op == "dupline":
            lines = text.splitlines(keepends=True)
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
            text = "".join(lines)
        else:
            text = text[j:] + text[:j]
    return text, c.stderr, c.rc


@pytest.mark.parametrize("name", sorted(PARSERS))
@fuzz
@given(case=mutated_fixture())
def test_mutated_real_output_raises_only_parse_error(name, case):
    out, err, rc = case
    only_parse_errors(PARSERS[name], out, err, rc)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_real_output_raises_only_parse_error(name):
    # every parser on every capture, even ones meant for another command
    for v in ALL_VERSIONS:
        for n in fixture_names(v):
            c = load(v, n)
            only_parse_errors(PARSERS[name], c.stdout, c.stderr, c.rc)


def test_deep_json_is_a_parse_error():
    with pytest.raises(ParseError):
        parse_endpoint_status("[" * 100_000 + "]" * 100_000, "", 0)
    with pytest.raises(ParseError):
        parse_member_list('{"members":[{"ID":' + "9" * 5000 + "}]}")
