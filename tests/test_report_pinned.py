"""The whole report of two real drill journals, pinned: the JSON `etcd-dr report --format json`
prints and the Markdown it prints by default, byte for byte. The journals were written by the
drill (a defrag with a 2 s wait, and a lost-two-hosts restore watched by a drill session with a
hint, a mistake and a score); the expected files are the reports of the build that wrote them.
A change to how a report is made shows here as a diff: if it is meant, regenerate with
`python -m tests.test_report_pinned` and read the diff before committing it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tui.journal import read_journal
from tui.report import Summary, render_markdown, summarize, summarize_typed

HERE = Path(__file__).resolve().parent / "fixtures" / "report"
JOURNALS = ("defrag", "restore-drill-session")


def reports(name: str) -> tuple[str, str]:
    """(JSON, Markdown) of the fixture journal NAME, as `etcd-dr report` renders them."""
    summary = summarize(read_journal(HERE / f"{name}.jsonl"), f"{name}.jsonl")
    return json.dumps(summary, indent=2, ensure_ascii=False) + "\n", render_markdown(summary)


@pytest.mark.parametrize("name", JOURNALS)
def test_the_whole_report_is_what_it_was(name):
    as_json, as_md = reports(name)
    assert as_json == (HERE / f"{name}.json").read_text()
    assert as_md == (HERE / f"{name}.md").read_text()


def test_the_typed_summary_is_what_the_json_says():
    """`summarize_typed`: the same report as typed passes, for callers that read fields."""
    records = read_journal(HERE / "defrag.jsonl")
    summary = summarize_typed(records, "defrag.jsonl")
    assert isinstance(summary, Summary)
    pinned = json.loads((HERE / "defrag.json").read_text())
    assert summary.run.status == pinned["status"] == "finished"
    assert summary.run.runbooks == ("defrag",)
    assert [s.step for s in summary.timeline.steps] == [s["step"] for s in pinned["steps"]]
    leader = records[0]["params"]["order"][-1]
    def_man_2 = next(s for s in summary.timeline.steps if s.step == "DEF-MAN-2")
    assert next(p.outcome for p in def_man_2.per_host if p.host == leader) == \
        "nothing of its own"
    assert summary.totals.commands_sent == len(summary.commands) == len(pinned["commands"])
    assert summary.totals.time_waiting_s == round(
        sum(w.duration_s for w in summary.timeline.waits), 3) == pinned["totals"]["time_waiting_s"]
    assert [o.reason for o in summary.notes.overrides] == \
        [r["reason"] for r in records if r["event"] == "override"]
    with pytest.raises(AttributeError):  # a summary is a value: passes do not edit each other's
        summary.totals.commands_sent = 0  # type: ignore[misc]


if __name__ == "__main__":  # regenerate the expected files
    for journal in JOURNALS:
        as_json, as_md = reports(journal)
        (HERE / f"{journal}.json").write_text(as_json)
        (HERE / f"{journal}.md").write_text(as_md)
        print(f"wrote {journal}.json and {journal}.md", file=sys.stderr)
