"""DEF-MAN: which members a defrag run passes over, and on what evidence.

A member is passed over only on this run's evidence: its DEF-MAN-3 line in the journal, or a
file smaller than when this run sent its defrag (only a defrag shrinks an etcd file). A low
fragmentation reading is no evidence: etcd counts the pages its last write freed as in use
until the next write, so right after a compaction a member can read near 0% fragmented with
most of its file free (seen on the real etcd 3.4 lab: the NOSPACE test's third member was
passed over as "already compact" and stayed over its quota). The lab's kill-and-resume test is
in tests/test_lab_defrag.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tests.cli_runner import run_cli
from tui.journal import read_journal
from tui.runbooks.defrag import MB, done_in_this_run, recommendation

SCENARIOS = Path(__file__).resolve().parent.parent / "assets" / "scenarios"
T = "2026-12-05T03:14:15.926+00:00"


def checked(member, before, after, step="DEF-MAN-3", event="finished"):
    return {"time": T, "step": step, "event": event, "member": member,
            "db_size_before": before, "db_size_after": after}


def sent(member, size, step="DEF-MAN-2"):
    return {"time": T, "step": step, "event": "started", "member": member, "db_size": size,
            "timeout_s": 33}


@pytest.mark.parametrize("records, size_now, why", [
    ([], 100 * MB, "nothing journaled"),
    ([sent("master-1", 100 * MB)], 100 * MB, "sent, and the file is the same size"),
    ([sent("master-1", 100 * MB)], 120 * MB, "sent, and the file grew"),
    ([sent("master-1", 100 * MB)], None, "sent, and no size now"),
    ([sent("master-2", 100 * MB)], 10 * MB, "another member's defrag was sent"),
    ([checked("master-2", 100 * MB, 10 * MB)], 10 * MB, "another member was checked"),
    ([checked("master-1", 100 * MB, None)], 10 * MB, "a check with no size after"),
    ([checked("master-1", 100 * MB, "10")], 10 * MB, "a size after that is not a number"),
    ([checked("master-1", 100 * MB, 10 * MB, event="failed")], 10 * MB, "a failed check"),
    ([checked("master-1", 100 * MB, 10 * MB, step="DEF-MAN-4")], 10 * MB, "another step"),
    ([{**sent("master-1", 100 * MB), "db_size": "100"}], 10 * MB, "a size that is not a number"),
    ([{**sent("master-1", 100 * MB), "event": "finished"}], 10 * MB, "not a started line"),
])
def test_no_evidence_means_the_member_is_defragmented(records, size_now, why):
    assert done_in_this_run(records, "master-1", size_now) == ("", None), why


def test_the_journals_check_line_is_evidence():
    why, size = done_in_this_run([sent("master-1", 100 * MB),
                                  checked("master-1", 100 * MB, 10 * MB)], "master-1", 99 * MB)
    assert size == 10 * MB
    assert why == "defragmented earlier in this run (03:14:15 UTC: 100.0 MB -> 10.0 MB, journal)"


def test_a_file_smaller_than_when_the_defrag_was_sent_is_evidence():
    # the later send counts: a retry after a timeout sends again with the size then
    records = [sent("master-1", 100 * MB), sent("master-1", 90 * MB, step="DEF-MAN-2")]
    why, size = done_in_this_run(records, "master-1", 12 * MB)
    assert size == 12 * MB
    assert why == ("the defrag this run sent at 03:14:15 UTC finished while the console was "
                   "not watching: the file was 90.0 MB then, 12.0 MB now")
    assert done_in_this_run(records, "master-1", 95 * MB) == ("", None)  # under the first only


def test_members_that_read_unfragmented_are_defragmented_all_the_same(tmp_path):
    """Every member reads 1% fragmented (142 MB, 140 MB in use), as a follower can right after
    a compaction: each is still defragmented, none journaled already-done."""
    doc = yaml.safe_load((SCENARIOS / "healthy.yaml").read_text())
    doc.setdefault("etcd", {})["in_use_mb"] = 140
    scenario = tmp_path / "reads-compact.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    journal = tmp_path / "j.jsonl"
    r = run_cli("run", "defrag", "--drill", "--scenario", str(scenario), "--speed", "600",
                "--wait", "60s", "--yes", "--journal", str(journal), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    records = read_journal(journal)
    assert not [x for x in records if x["event"] == "already-done"], r.stdout
    commands = [x for x in records if x["event"] == "started" and " defrag" in x.get("command", "")]
    assert sorted(h for x in commands for h in x["hosts"]) == ["master-0", "master-1", "master-2"]
    checks = [x["member"] for x in records if x["step"] == "DEF-MAN-3" and x["event"] == "finished"]
    assert sorted(checks) == ["master-0", "master-1", "master-2"]


def test_under_nospace_every_member_is_recommended_whatever_it_reads():
    reads_compact = SimpleNamespace(db_size=142 * MB, db_size_in_use=140 * MB,
                                    fragmentation=2 / 142)
    quota = 8 * 1024 * MB
    assert recommendation(reads_compact, quota) == (False, "1% fragmented: little to gain")
    yes, why = recommendation(reads_compact, quota, nospace=True)
    assert yes and why == "NOSPACE: every member, then disarm"
    no_sizes = SimpleNamespace(db_size=None, db_size_in_use=None, fragmentation=None)
    assert recommendation(no_sizes, quota) == (False, "no size data")
    assert recommendation(no_sizes, quota, nospace=True)[0]
