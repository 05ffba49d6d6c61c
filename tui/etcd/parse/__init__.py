"""Readers for etcdctl 3.4/3.5/3.6 output: endpoint status/health, member list, alarms, defrag,
`snapshot status` (etcdctl or etcdutl), and OpenShift's /var/lib/etcd/revision.json.

Every reader takes what etcdctl really prints (see tests/fixtures/etcdctl/) and returns frozen
dataclasses. Output that cannot be read raises `ParseError` and nothing else, because the
console shows `str(error)` to the operator and must never leak a Python traceback.

Facts about the real output that shape these readers:
- JSON prints IDs as uint64 decimals and omits false/zero/empty fields (`leader` is absent
  when there is no leader, `isLearner` when false, `errors` when empty).
- Tables print IDs as `%x` (no zero padding), sizes humanized in SI units ("1.4 MB"), right
  aligned, and wrap cells wider than 30 characters at spaces onto continuation lines whose
  first column is empty.
- A failing endpoint is not in stdout at all: etcdctl prints the others, writes
  `Failed to get the status of endpoint URL (ERR)` to stderr and exits 1.
- etcdctl 3.4 prints `endpoint health` in simple format to stderr; 3.5 prints the healthy
  lines to stdout and the unhealthy ones to stderr.
- etcd 3.6 (OpenShift 4.21 and later) adds `storageVersion`, `dbSizeQuota` and
  `downgradeInfo` to each endpoint status, and etcdutl 3.6 prints a `version` (the
  snapshot's storage version, "" for a snapshot of etcd < 3.6) after `totalSize` in
  `snapshot status`. tests/fixtures/etcdctl/3.6/README.md says where each name comes from.

The readers live by what they read: endpoints (status, health), members (member list),
maintenance (alarms, defrag), snapshots (snapshot status, revision.json), and common for what
they share (errors, JSON fields, tables and their cells). Import them from here.
"""

from __future__ import annotations

from tui.etcd.parse.common import command_error, member_id_hex, parse_human_bytes
from tui.etcd.parse.endpoints import (EndpointHealth, EndpointStatus, EndpointStatusResult,
                                      parse_endpoint_health, parse_endpoint_status)
from tui.etcd.parse.maintenance import Alarm, DefragResult, parse_alarm_list, parse_defrag
from tui.etcd.parse.members import Member, parse_member_list
from tui.etcd.parse.snapshots import (RevisionFile, SnapshotStatus, parse_revision_json,
                                      parse_snapshot_status)

__all__ = [
    "Alarm",
    "DefragResult",
    "EndpointHealth",
    "EndpointStatus",
    "EndpointStatusResult",
    "Member",
    "RevisionFile",
    "SnapshotStatus",
    "command_error",
    "member_id_hex",
    "parse_alarm_list",
    "parse_defrag",
    "parse_endpoint_health",
    "parse_endpoint_status",
    "parse_human_bytes",
    "parse_member_list",
    "parse_revision_json",
    "parse_snapshot_status",
]
