"""`etcd-dr report JOURNAL`: a journal as a timeline (Markdown for people, JSON for scripts)."""

from __future__ import annotations

import json
from datetime import datetime

from tui.journal import JournalState, read_journal


def _t(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def summarize(records: list[dict]) -> dict:
    state = JournalState.from_records(records)
    steps: dict[str, dict] = {}
    for r in records:
        if r["step"] == "-" or "command" in r:
            continue
        s = steps.setdefault(r["step"], {"step": r["step"], "events": [], "hosts": []})
        s["events"].append(r["event"])
        s["hosts"] = r.get("hosts") or s["hosts"]
        if r["event"] == "started" and "start" not in s:
            s["start"] = r["time"]
        if r["event"] in ("finished", "already-done", "skipped", "failed"):
            s["end"], s["outcome"] = r["time"], r["event"]
            s["detail"] = r.get("detail") or r.get("reason") or r.get("error")
    first, last = _t(records[0]["time"]), _t(records[-1]["time"])
    status = "finished" if state.finished and not state.aborted else \
        "aborted" if state.aborted else "unfinished"
    return {"runbook": state.runbook, "status": status, "params": state.params,
            "started": records[0]["time"], "ended": records[-1]["time"],
            "duration_s": (last - first).total_seconds() if first and last else None,
            "in_flight": state.in_flight, "steps": list(steps.values()),
            "commands": [{k: r.get(k) for k in ("time", "step", "hosts", "event", "command",
                                                  "exit_status", "error")}
                         for r in records if "command" in r and r["event"] != "started"],
            "overrides": [r.get("reason") for r in records if r["event"] == "override"]}


def render_report(path: str, fmt: str = "md") -> str:
    summary = summarize(read_journal(path))
    if fmt == "json":
        return json.dumps(summary, indent=2)
    lines = [f"# {summary['runbook']}: {summary['status']}", "",
             f"- journal: {path}", f"- started: {summary['started']}",
             f"- last entry: {summary['ended']}"]
    if summary["duration_s"] is not None:
        lines.append(f"- duration: {summary['duration_s']:.0f} s")
    params = {k: v for k, v in summary["params"].items() if k != "proxy"}
    if params:
        lines.append("- parameters: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    for reason in summary["overrides"]:
        lines.append(f"- OVERRIDE: {reason}")
    if summary["in_flight"]:
        lines.append(f"- under way when the journal ends: {summary['in_flight']}")
    lines += ["", "| step | hosts | outcome | started | ended | detail |",
              "|---|---|---|---|---|---|"]
    for s in summary["steps"]:
        lines.append(f"| {s['step']} | {', '.join(s['hosts'])} | {s.get('outcome', 'under way')}"
                     f" | {s.get('start', '')} | {s.get('end', '')} | "
                     f"{(s.get('detail') or '').replace('|', '/')} |")
    if summary["commands"]:
        lines += ["", "## Commands", ""]
        for c in summary["commands"]:
            status = c["exit_status"] if c["error"] is None else c["error"]
            lines.append(f"- {c['time']} {c['step']} {', '.join(c['hosts'] or [])}: "
                         f"`{c['command']}` -> {status}")
    return "\n".join(lines)
