"""The notes pass: what the journal records besides the steps' work: the operator's
overrides (with their reasons) and confirmations, skips, resumes, and a drill session's own
lines (the session, faults injected, hints taken, mistakes, the score).

Confirmations, a session's lines and the score stay JSON objects: they carry the line's own
keys, which later extensions add to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.report.lines import extra_keys, is_sub, line_hosts


@dataclass(frozen=True)
class Override:
    time: str
    step: str
    hosts: list[str]
    reason: Any

    def to_json(self) -> dict:
        return {"time": self.time, "step": self.step, "hosts": self.hosts,
                "reason": self.reason}


@dataclass(frozen=True)
class Skip:
    time: str
    step: str
    hosts: list[str]
    reason: Any
    whole_step: bool  # False: some hosts of a step (a runbook-level line `for_step`)

    def to_json(self) -> dict:
        return {"time": self.time, "step": self.step, "hosts": self.hosts,
                "reason": self.reason, "whole_step": self.whole_step}


@dataclass(frozen=True)
class Resume:
    time: str
    in_flight: Any  # the step that was under way when the run stopped

    def to_json(self) -> dict:
        return {"time": self.time, "in_flight": self.in_flight}


@dataclass(frozen=True)
class Notes:
    overrides: tuple[Override, ...]
    confirmations: tuple[dict, ...]
    skips: tuple[Skip, ...]
    resumes: tuple[Resume, ...]
    session: dict | None
    faults: tuple[dict, ...]
    hints: tuple[dict, ...]
    mistakes: tuple[dict, ...]
    score: dict | None

    def to_json(self) -> dict:
        return {
            "overrides": [o.to_json() for o in self.overrides],
            "confirmations": list(self.confirmations),
            "skips": [k.to_json() for k in self.skips],
            "resumes": [r.to_json() for r in self.resumes], "session": self.session,
            "faults": list(self.faults), "hints": list(self.hints),
            "mistakes": list(self.mistakes), "score": self.score,
        }


def _events(records: list[dict], name: str) -> tuple[dict, ...]:
    return tuple({"time": r["time"], "step": r["step"], "hosts": line_hosts(r),
                  **extra_keys(r)} for r in records if r["event"] == name)


def _confirmation(r: dict) -> dict:
    return {"time": r["time"], "step": r["step"], "hosts": line_hosts(r), "kind": r.get("kind"),
            **({"expected": r["expected"]} if "expected" in r else {}),
            # a phase's question, and the steps that went ahead on it
            **{k: r[k] for k in ("phase", "covers", "by") if k in r}}


def journal_notes(records: list[dict]) -> Notes:
    score_line = next((r for r in reversed(records) if r["event"] == "score"), None)
    return Notes(
        overrides=tuple(Override(time=r["time"], step=r["step"], hosts=line_hosts(r),
                                 reason=r.get("reason"))
                        for r in records if r["event"] == "override"),
        confirmations=tuple(_confirmation(r) for r in records if r["event"] == "confirmed"),
        skips=tuple(Skip(time=r["time"], step=r.get("for_step") or r["step"],
                         hosts=line_hosts(r), reason=r.get("reason") or r.get("warning"),
                         whole_step=r["step"] != "-")
                    for r in records if r["event"] == "skipped" and not is_sub(r)),
        resumes=tuple(Resume(time=r["time"], in_flight=r.get("in_flight"))
                      for r in records if r["step"] == "-" and r["event"] == "resumed"),
        session=next((extra_keys(r) for r in records if r["event"] == "session"), None),
        faults=_events(records, "fault"), hints=_events(records, "hint"),
        mistakes=_events(records, "mistake"),
        score=extra_keys(score_line) if score_line else None)
