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
from tui.report import render_markdown, summarize

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


if __name__ == "__main__":  # regenerate the expected files
    for journal in JOURNALS:
        as_json, as_md = reports(journal)
        (HERE / f"{journal}.json").write_text(as_json)
        (HERE / f"{journal}.md").write_text(as_md)
        print(f"wrote {journal}.json and {journal}.md", file=sys.stderr)
