"""A report's summary: the passes over a journal's lines, composed. `summarize_typed` is the
typed entry point; `summarize` its JSON (what `etcd-dr report --format json` prints)."""

from __future__ import annotations

from dataclasses import dataclass

from tui.report.catalog import step_catalog
from tui.report.commands import Command, HostReport, commands_sent, host_reports
from tui.report.notes import Notes, journal_notes
from tui.report.run import RunOutcome, run_outcome
from tui.report.steps import Timeline, step_timeline
from tui.report.totals import Totals, drill_clock, totals_of
from tui.secrets import redact


@dataclass(frozen=True)
class Summary:
    journal: str | None  # the journal's path as given
    run: RunOutcome
    timeline: Timeline
    commands: tuple[Command, ...]
    hosts: tuple[HostReport, ...]
    notes: Notes
    totals: Totals

    def to_json(self) -> dict:
        """The report as one JSON-able dict (keys documented in README "The journal")."""
        return {
            "journal": self.journal, **self.run.to_json(),
            "in_flight": self.timeline.in_flight, "totals": self.totals.to_json(),
            "steps": [s.to_json() for s in self.timeline.steps],
            "hosts": [h.to_json() for h in self.hosts],
            "commands": [c.to_json() for c in self.commands],
            "waits": [w.to_json() for w in self.timeline.waits],
            **self.notes.to_json(),
        }


def summarize_typed(records: list[dict], path: str | None = None) -> Summary:
    # a journal written by an older etcd-dr, or edited by hand, may hold what today's
    # redactor knows to be a secret: a report never shows it
    records = redact(records)
    run = run_outcome(records)
    timeline = step_timeline(records, step_catalog(run.runbooks, run.params))
    commands = commands_sent(records)
    notes = journal_notes(records)
    return Summary(journal=path, run=run, timeline=timeline, commands=commands,
                   hosts=host_reports(timeline, commands), notes=notes,
                   totals=totals_of(records, run, timeline, commands, notes,
                                 drill_clock(records, run)))


def summarize(records: list[dict], path: str | None = None) -> dict:
    """The report as one JSON-able dict (keys documented in README "The journal")."""
    return summarize_typed(records, path).to_json()
