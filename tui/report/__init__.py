"""`etcd-dr report JOURNAL`: any journal (a drill's or a real incident's) as the evidence
bundle of a post-incident review: Markdown for people, JSON for scripts.

Everything here is derived from the journal's lines alone (the runbook catalog only adds step
titles and says which steps are waits); a journal cut short by a crash, a resumed run, a
failed run, and lines this module does not know (later extensions) all render.

A summary is made by passes over the lines, each a function returning a frozen dataclass:
`run_outcome` (run.py: runbook, parameters, status), `step_timeline` (steps.py: steps, per
host, waits), `commands_sent` and `host_reports` (commands.py), `journal_notes` (notes.py:
overrides, confirmations, skips, resumes, a drill session's lines), `drill_clock` and
`totals_of` (totals.py); `summarize_typed` composes them into a `Summary`, whose `to_json()` is
what `summarize` returns and `etcd-dr report --format json` prints.

How the numbers are made (README "The journal" says the same for operators):
- a step runs from its first line to its last one; per host, from the first to the last of
  that host's own lines in it (its commands, a defrag member), else the whole step when the
  step never acted host by host;
- a command's duration is the `duration` its end line carries, else its end minus its start;
- waiting: the polling of a wait step (from its last command or API call, or its start, until
  its check held) and explicit waits (lines with `wait_s`, DEF-MAN-4) — `waiting` events are
  not journaled, and waits inside a custom action count in their step's duration only;
- time to recovery: the first `planned` line to the runbook-level `finished` line.
"""

from tui.report.commands import Command, HostReport, commands_sent, host_reports
from tui.report.lines import ENDS, SESSION_EVENTS
from tui.report.notes import Notes, Override, Resume, Skip, journal_notes
from tui.report.render import render_markdown, render_report
from tui.report.run import RunOutcome, run_outcome
from tui.report.steps import HostInStep, Step, Timeline, Wait, step_timeline
from tui.report.summary import Summary, summarize, summarize_typed
from tui.report.totals import DrillClock, Totals, drill_clock, totals_of

__all__ = [
    "ENDS", "SESSION_EVENTS", "Command", "DrillClock", "HostInStep", "HostReport", "Notes",
    "Override", "Resume", "RunOutcome", "Skip", "Step", "Summary", "Timeline", "Totals", "Wait",
    "commands_sent", "drill_clock", "host_reports", "journal_notes", "render_markdown",
    "render_report", "run_outcome", "step_timeline", "summarize", "summarize_typed", "totals_of",
]
