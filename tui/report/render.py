"""A report as Markdown, for people (the post-incident review's evidence bundle), or as
JSON, for scripts."""

from __future__ import annotations

import json
from typing import Any

from tui.durations import format_duration
from tui.journal import read_journal
from tui.report.lines import parse_time
from tui.report.summary import summarize

# --- Markdown -----------------------------------------------------------------------------------

def _dur(seconds: Any, speed: float | None = None) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    text = format_duration(seconds)
    if speed and speed != 1:
        text += f" (drill {format_duration(seconds * speed)})"
    return text


def _clock(text: Any) -> str:
    t = parse_time(text)
    return t.strftime("%H:%M:%S.%f")[:-3] if t else ""


def _cell(value: Any, limit: int = 160) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _code(value: Any, limit: int = 160) -> str:
    text = _cell(value, limit).replace("`", "'")
    return f"`{text}`" if text else ""


def render_markdown(s: dict) -> str:
    t = s["totals"]
    fair = t.get("drill_time")
    # a fair-clock journal says its drill times apart; an older one, wall time x speed
    speed = None if fair else t.get("speed")
    name = s["runbook"] or ("drill session" if s["session"] is not None else "journal")
    title = s["title"] or name
    out = [f"# {name}: {s['status']}", "",
           f"Incident report: {title}.", ""]
    outcome = {"finished": "recovered: the runbook finished",
               "failed": f"FAILED: {s['error'] or 'the runbook stopped'}",
               "unfinished": "UNFINISHED: the journal ends before the runbook did"
                             + (f" ({s['in_flight']} under way)" if s["in_flight"] else ""),
               "no runbook": "no runbook was planned in this journal"}[s["status"]]
    rows = [("Outcome", outcome), ("Journal", s["journal"]),
            ("Runbook", ", ".join(s["runbooks"]) or None),
            ("Drill scenario", s["scenario"]),
            ("First line", s["started"]), ("Last line", s["ended"]),
            ("Time to recovery", _dur(t["time_to_recovery_s"], speed)
             if t["time_to_recovery_s"] is not None else "not recovered in this journal"),
            ("Time waiting", _dur(t["time_waiting_s"], speed)),
            ("Elapsed (first to last line)", _dur(t["elapsed_s"], speed)),
            ("Commands sent", f"{t['commands_sent']} ({t['commands_failed']} failed)"),
            ("Failures (failed steps)", t["failures"]),
            ("Steps", ", ".join(f"{n} {k}" for k, n in t["steps"].items())),
            ("Overrides", t["overrides"]), ("Confirmations", t["confirmations"])]
    if fair:
        rows.insert(rows.index(next(r for r in rows if r[0] == "Time waiting")), (
            "Drill time (fair clock)",
            f"{format_duration(fair['total'])}: running commands "
            f"{format_duration(fair['commands'])}, waiting for checks "
            f"{format_duration(fair['waiting'])}, deciding {format_duration(fair['deciding'])}"
            + (f"; to recovery {format_duration(t['drill_time_to_recovery_s'])}"
               if t.get("drill_time_to_recovery_s") is not None else "")))
        rows.append(("Drill speed", (f"x{t.get('speed') or 1:g} (durations: journal clock; "
                                     f"drill time is the fair clock's)")))
    elif speed:
        rows.append(("Drill speed", f"x{speed:g}" + (" (durations: journal clock, then drill "
                                                     "time)" if speed != 1 else "")))
    if s["session"] is not None or t["hints"] or t["mistakes"] or t["faults"]:
        rows += [("Hints", t["hints"]), ("Mistakes", t["mistakes"]), ("Faults", t["faults"])]
    if s["score"] is not None:
        rows.append(("Score", s["score"].get("score")))
    out += ["| | |", "|---|---|"] + [f"| {k} | {_cell(v, 400)} |" for k, v in rows
                                     if v not in (None, "")]

    params = {k: v for k, v in s["params"].items()
              if k not in ("proxy", "preflight", "candidates") and v not in (None, "", [], {})}
    if params:
        out += ["", "## Parameters", ""]
        out += [f"- {k}: {_cell(json.dumps(v) if not isinstance(v, str) else v, 300)}"
                for k, v in params.items()]
    pre = s["params"].get("preflight")
    if isinstance(pre, list) and pre:
        out += ["", "## Preflight", "", "| check | result | blocking | detail |",
                "|---|---|---|---|"]
        for i in pre:
            if isinstance(i, dict):
                # a check that is not blocking warns; only a blocking one fails
                verdict = "ok" if i.get("ok") else ("FAILED" if i.get("blocking") else "warning")
                out.append(f"| {_cell(i.get('title'))} | {verdict} "
                           f"| {'yes' if i.get('blocking') else 'no'} | "
                           f"{_cell(i.get('detail'), 300)} |")

    if s["session"] is not None:
        sess = s["session"]
        out += ["", "## Drill session", ""]
        for k in ("scenario", "objective", "speed", "rto_minutes"):
            if sess.get(k) is not None:
                out.append(f"- {k}: {_cell(sess[k], 400)}")
    if s["score"] is not None:
        out += ["", "## Score", "", f"- score: {s['score'].get('score')}"]
        breakdown = s["score"].get("breakdown")
        if isinstance(breakdown, dict):
            out += [f"- {k}: {_cell(v)}" for k, v in breakdown.items()]
        elif isinstance(breakdown, list):
            for b in breakdown:
                if isinstance(b, dict) and "what" in b:
                    out.append(f"- {_cell(b['what'], 300)}: {b.get('points')}")
                else:
                    out.append(f"- {_cell(b if not isinstance(b, dict) else json.dumps(b), 300)}")
        for key in ("reason", "elapsed_drill_seconds", "rto_minutes", "minutes_late"):
            if s["score"].get(key) is not None:
                out.append(f"- {key}: {_cell(s['score'][key], 300)}")
    for name, heading, keys in (("faults", "Faults injected", ("action", "host", "detail", "ok")),
                                ("hints", "Hints taken", ("n", "text")),
                                ("mistakes", "Mistakes", ("kind", "detail"))):
        if s[name]:
            out += ["", f"## {heading}", "", "| time | step | " + " | ".join(keys) + " |",
                    "|---|---|" + "---|" * len(keys)]
            for e in s[name]:
                step = e.get("at_step") or (e.get("step") if e.get("step") != "-" else "")
                step = "" if step == "-" else step
                out.append(f"| {_clock(e['time'])} | {_cell(step)} | "
                           + " | ".join(_cell(e.get(k), 300) for k in keys) + " |")

    if s["overrides"]:
        out += ["", "## Overrides (with the operator's reasons)", ""]
        out += [f"- OVERRIDE: {_cell(o['reason'], 600)} "
                f"({o['step'] if o['step'] != '-' else 'the run'}"
                + (f" on {', '.join(o['hosts'])}" if o["hosts"] else "")
                + f", at {_clock(o['time'])})" for o in s["overrides"]]
    if s["confirmations"]:
        out += ["", "## Confirmations", "", "| time | step | hosts | kind |", "|---|---|---|---|"]
        out += [f"| {_clock(c['time'])} | {c['step']} | {_cell(', '.join(c['hosts']))} | "
                f"{_cell(c['kind'])} |" for c in s["confirmations"]]

    out += ["", "## Timeline", "",
            "| step | title | hosts | outcome | start | end | duration | waiting | detail |",
            "|---|---|---|---|---|---|---|---|---|"]
    for st in s["steps"]:
        name = st["step"] if st["parent"] is None else f"↳ {st['step']}"
        outcome = st["outcome"] + (f" ({st['failures']} failed attempt(s))"
                                   if st["failures"] and st["outcome"] != "failed" else "")
        out.append(f"| {name} | {_cell(st['title'])} | {_cell(', '.join(st['hosts']))} | "
                   f"{outcome} | {_clock(st['start'])} | {_clock(st['end'])} | "
                   f"{_dur(st['duration_s'], speed)} | "
                   f"{_dur(st['waiting_s'], speed) if st['waiting_s'] else ''} | "
                   f"{_cell(st['detail'], 200)} |")

    out += ["", "## Per host", ""]
    if s["hosts"]:
        out += ["| host | busy | commands | failed | command time | steps | skipped in |",
                "|---|---|---|---|---|---|---|"]
    else:
        out.append("No line names a host: every step went through the API or the console.")
    for h in s["hosts"]:
        out.append(f"| {h['host']} | {_dur(h['busy_s'], speed)} | {h['commands']} | "
                   f"{h['commands_failed']} | {_dur(h['command_time_s'], speed)} | "
                   f"{_cell(', '.join(h['steps']), 300)} | "
                   f"{_cell(', '.join(h['skipped_in']), 300)} |")
    rows = [(st, p) for st in s["steps"] for p in st["per_host"]]
    if rows:
        out += ["", "### Steps by host", "",
                "| step | host | outcome | start | end | duration | commands |",
                "|---|---|---|---|---|---|---|"]
        for st, p in rows:
            outcome = p["outcome"] + (f": {_cell(p.get('reason'))}" if p.get("reason") else "")
            cmds = f"{p['commands']}" + (f" ({p['commands_failed']} failed)"
                                         if p["commands_failed"] else "")
            out.append(f"| {st['step']} | {p['host']} | {outcome} | {_clock(p['start'])} | "
                       f"{_clock(p['end'])} | {_dur(p['duration_s'], speed)} | {cmds} |")

    if s["waits"]:
        out += ["", "## Waits", "", "| step | hosts | start | end | duration | what |",
                "|---|---|---|---|---|---|"]
        out += [f"| {w['step']} | {_cell(', '.join(w['hosts']))} | {_clock(w['start'])} | "
                f"{_clock(w['end'])} | {_dur(w['duration_s'], speed)} | {_cell(w['why'])} |"
                for w in s["waits"]]
    if s["commands"]:
        out += ["", "## Commands sent", "",
                "| time | step | where | command | exit | duration | outcome |",
                "|---|---|---|---|---|---|---|"]
        for c in s["commands"]:
            where = c["host"] or (f"API{' via ' + c['transport'] if c['transport'] else ''}"
                                  if c["kind"] != "host" else ", ".join(c["hosts"]))
            if c["kind"] == "cluster" and c["transport"]:
                where = f"cluster ({c['transport']})"
            elif c["kind"] == "cluster":
                where = "cluster"
            outcome = c["outcome"] + (f": {_cell(c['error'], 200)}" if c["error"] else "")
            out.append(f"| {_clock(c['time'])} | {c['step']} | {_cell(where)} | "
                       f"{_code(c['command'], 300)} | "
                       f"{'' if c['exit_status'] is None else c['exit_status']} | "
                       f"{_dur(c['duration_s'], speed)} | {outcome} |")
    if s["skips"]:
        out += ["", "## Skipped", "", "| time | step | hosts | reason |", "|---|---|---|---|"]
        out += [f"| {_clock(k['time'])} | {k['step']} | {_cell(', '.join(k['hosts']))} | "
                f"{_cell(k['reason'], 300)} |" for k in s["skips"]]
    if s["resumes"]:
        out += ["", "## Resumes", ""]
        out += [f"- {r['time']}: resumed" + (f" ({r['in_flight']} was under way)"
                                            if r["in_flight"] else "") for r in s["resumes"]]
    out += ["", "Times are the journal's (UTC offset as written); durations in the journal's "
                "clock" + (f", then in drill time at x{speed:g}" if speed and speed != 1
                           else "") + "."
            + (" The run was resumed: a duration that spans a resume includes the time it "
               "was stopped." if s["resumes"] else "")]
    return "\n".join(out) + "\n"


def render_report(path: str, fmt: str = "md") -> str:
    records = read_journal(path)
    summary = summarize(records, str(path))
    if fmt == "json":
        return json.dumps(summary, indent=2, ensure_ascii=False)
    return render_markdown(summary)
