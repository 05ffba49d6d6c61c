"""The run pass: which runbook the journal ran, with what parameters, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.report.catalog import runbook_title
from tui.report.lines import is_command


@dataclass(frozen=True)
class RunOutcome:
    """The runbook-level story: `status` is finished / failed (the last runbook-level end
    line says which), unfinished (planned, never ended) or no runbook (never planned)."""

    runbooks: tuple[str, ...]
    title: str | None
    status: str
    scenario: str | None
    error: Any
    params: dict
    started: str | None  # the journal's first line
    ended: str | None  # its last line
    plan_line: dict | None  # the first runbook-level `planned` line
    recovery_line: dict | None  # the last runbook-level `finished` line

    @property
    def recovered_at(self) -> str | None:
        return self.recovery_line["time"] if self.recovery_line else None

    def to_json(self) -> dict:
        return {
            "runbook": self.runbooks[0] if self.runbooks else None,
            "runbooks": list(self.runbooks), "title": self.title, "status": self.status,
            "scenario": self.scenario, "error": self.error, "params": self.params,
            "started": self.started, "ended": self.ended, "recovered_at": self.recovered_at,
        }


def run_outcome(records: list[dict]) -> RunOutcome:
    planned = [r for r in records if r["step"] == "-" and r["event"] == "planned"]
    plan_line = planned[0] if planned else None
    params = dict(plan_line.get("params") or {}) if plan_line else {}
    runbooks = list(dict.fromkeys(r["runbook"] for r in planned))
    ends = [r for r in records if r["step"] == "-" and r["event"] in ("finished", "failed")
            and not is_command(r)]
    end_line = ends[-1] if ends else None
    if end_line is None:
        status = "unfinished" if plan_line else "no runbook"
    else:
        status = "finished" if end_line["event"] == "finished" else "failed"
    return RunOutcome(
        runbooks=tuple(runbooks), title=runbook_title(runbooks, params), status=status,
        scenario=next((r["scenario"] for r in records
                       if r["event"] in ("planned", "session") and r.get("scenario")), None),
        error=end_line.get("error") if end_line and end_line["event"] == "failed" else None,
        params=params, started=records[0]["time"] if records else None,
        ended=records[-1]["time"] if records else None, plan_line=plan_line,
        recovery_line=next((r for r in reversed(ends) if r["event"] == "finished"), None))
