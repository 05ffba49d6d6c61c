"""`etcd-dr report JOURNAL`: any journal (a drill's or a real incident's) as the evidence
bundle of a post-incident review: Markdown for people, JSON for scripts.

Everything here is derived from the journal's lines alone (the runbook catalog only adds step
titles and says which steps are waits); a journal cut short by a crash, a resumed run, a
failed run, and lines this module does not know (later extensions) all render.

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

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Iterable

from tui import pace
from tui.durations import format_duration
from tui.journal import read_journal
from tui.secrets import redact

SESSION_EVENTS = ("session", "hint", "mistake", "fault", "score")
# steps journaled inside another step's action, with no Step of their own in the catalog
_SUB_TITLES = {"DEF-MAN-3": "Check the member's database shrank",
               "DEF-MAN-4": "Wait between members, then check the member answers"}
ENDS = ("finished", "failed", "skipped", "already-done")
_CORE_KEYS = ("time", "runbook", "step", "event", "hosts")


def _t(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


def _ts(text: Any, missing: float = float("-inf")) -> float:
    """A time as a number to order by (a naive or unreadable one cannot break the order)."""
    t = _t(text)
    try:
        return t.timestamp() if t is not None else missing
    except (OverflowError, OSError, ValueError):
        return missing


def _secs(a: Any, b: Any) -> float | None:
    ta, tb = _t(a), _t(b)
    if ta is None or tb is None:
        return None
    try:
        return round(max(0.0, (tb - ta).total_seconds()), 3)
    except TypeError:  # one with a timezone, one without
        return None


def _hosts(r: dict) -> list[str]:
    h = r.get("hosts")
    return [str(x) for x in h] if isinstance(h, list) else []


def _is_command(r: dict) -> bool:
    return "command" in r


def _is_note(r: dict) -> bool:
    """The runner's "# etcd-dr notes, before acting: ..." lines: facts kept, nothing sent."""
    return _is_command(r) and str(r.get("command", "")).startswith("#")


def _is_api(r: dict) -> bool:
    return "api" in r and not _is_command(r)


def _is_sub(r: dict) -> bool:
    """A line about part of a step (a command, an API call, one defrag member)."""
    return _is_command(r) or _is_api(r) or "member" in r


def _extra(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in _CORE_KEYS}


# --- the runbook catalog: titles and wait steps -----------------------------------------------

def _catalog(runbooks: Iterable[str], params: dict) -> dict[str, Any]:
    """step ID -> Step of the runbooks the journal ran (empty when not in this build)."""
    out: dict[str, Any] = {}
    try:
        from tui.runbooks import registry

        reg = registry()
        for name in runbooks:
            if name == "restore":
                from tui.runbooks.restore import PATH_KEYS, restore_runbook

                chosen = params.get("path")
                keys = [chosen] if chosen in PATH_KEYS else list(PATH_KEYS)
                for key in keys:
                    for s in restore_runbook(key).steps:
                        out.setdefault(s.id, s)
            elif name in reg:
                for s in reg[name].steps:
                    out.setdefault(s.id, s)
    except Exception:  # noqa: BLE001 - a report renders without titles rather than not at all
        return out
    return out


# --- the summary --------------------------------------------------------------------------------

def _pair_intervals(lines: list[dict]) -> list[dict]:
    """Sub-lines of one step paired start -> end by (hosts, member, command); an end line
    without a start is an interval of its `duration` (or a point)."""
    open_: dict[tuple, dict] = {}
    out = []
    unended: list[dict] = []  # started again before an end: the first never had a result
    for r in lines:
        key = (tuple(_hosts(r)), r.get("member"), r.get("command"), "api" in r)
        if r["event"] == "started":
            if key in open_:
                unended.append(open_[key])
            open_[key] = r
            continue
        if r["event"] not in ENDS:
            continue
        start = open_.pop(key, None)
        end = r["time"]
        duration = r.get("duration") if isinstance(r.get("duration"), (int, float)) else None
        if start is not None:
            begin = start["time"]
            if duration is None:
                duration = _secs(begin, end)
        else:
            t = _t(end)
            begin = end
            if t is not None and duration is not None:
                from datetime import timedelta

                begin = (t - timedelta(seconds=duration)).isoformat(timespec="milliseconds")
        out.append({"start": begin, "end": end, "hosts": _hosts(r), "member": r.get("member"),
                    "event": r["event"], "duration_s": duration, "start_line": start,
                    "line": r})
    for start in unended + list(open_.values()):  # no end line (yet)
        out.append({"start": start["time"], "end": None, "hosts": _hosts(start),
                    "member": start.get("member"), "event": "started", "duration_s": None,
                    "start_line": start, "line": start})
    return out


def _merge(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of (start, end) timestamps."""
    total, cur = 0.0, None
    for a, b in sorted(intervals):
        if cur is None or a > cur[1]:
            if cur is not None:
                total += cur[1] - cur[0]
            cur = [a, b]
        else:
            cur[1] = max(cur[1], b)
    if cur is not None:
        total += cur[1] - cur[0]
    return round(total, 3)


def _speed(records: list[dict]) -> float | None:
    for r in records:
        for source in (r, r.get("params") if isinstance(r.get("params"), dict) else {}):
            v = source.get("speed")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
                return float(v)
    return None


def _fair_clock(records: list[dict], first_plan: dict | None, finished_line: dict | None,
                score_line: dict | None) -> dict | None:
    """A drill journal's fair-clock times (tui.pace), or None when its lines carry none: the
    split from the drill's start (its `session` line, else the first reading) to its end (its
    `score` line, else the last reading), and the time from the first plan to recovery."""
    session = next((r for r in records if r.get("event") == "session"
                    and isinstance(r.get("pace"), dict)), None)
    start = session["pace"] if session else pace.first_reading(records)
    end = score_line["pace"] if score_line and isinstance(score_line.get("pace"), dict) \
        else pace.last_reading(records)
    parts = pace.split(start, end)
    if parts is None:
        return None
    to_recovery = pace.split(first_plan.get("pace") if first_plan else None,
                             finished_line.get("pace") if finished_line else None)
    return {"split": {**{k: round(v, 3) for k, v in parts.items()},
                      "total": round(sum(parts.values()), 3)},
            "to_recovery": round(sum(to_recovery.values()), 3) if to_recovery else None}


def summarize(records: list[dict], path: str | None = None) -> dict:
    """The report as one JSON-able dict (keys documented in README "The journal")."""
    # a journal written by an older etcd-dr, or edited by hand, may hold what today's
    # redactor knows to be a secret: a report never shows it
    records = redact(records)
    planned = [r for r in records if r["step"] == "-" and r["event"] == "planned"]
    first_plan = planned[0] if planned else None
    params = dict(first_plan.get("params") or {}) if first_plan else {}
    runbooks = list(dict.fromkeys(r["runbook"] for r in planned))
    catalog = _catalog(runbooks, params)
    speed = _speed(records)

    # runbook-level outcome: the last runbook-level finished/failed line
    ends = [r for r in records if r["step"] == "-" and r["event"] in ("finished", "failed")
            and not _is_command(r)]
    end_line = ends[-1] if ends else None
    if end_line is None:
        status = "unfinished" if first_plan else "no runbook"
    else:
        status = "finished" if end_line["event"] == "finished" else "failed"
    finished_line = next((r for r in reversed(ends) if r["event"] == "finished"), None)

    # steps, in order of first appearance
    by_step: dict[str, list[dict]] = {}
    for r in records:
        if r["event"] in SESSION_EVENTS:
            continue  # listed with the session, whatever step they name
        if r["step"] == "-":
            if r.get("for_step"):
                by_step.setdefault(str(r["for_step"]), []).append(r)
            continue
        by_step.setdefault(r["step"], []).append(r)

    steps, waits = [], []
    host_spans: dict[str, list[tuple[float, float]]] = {}
    host_steps: dict[str, list[str]] = {}
    for sid, lines in by_step.items():
        own = [r for r in lines if r["step"] == sid and not _is_sub(r)
               and r["event"] not in ("override", "confirmed")]
        if not own and not any(r["step"] == "-" or _is_sub(r) for r in lines):
            continue  # only an override or a confirmation names it: listed with those
        subs = [r for r in lines if r["step"] == sid and _is_sub(r) and not _is_note(r)]
        host_skips = [r for r in lines if r["step"] == "-"]
        timed = [r for r in lines if r["step"] == sid and r["event"] != "confirmed"]
        intervals = _pair_intervals(subs)
        start = next((r["time"] for r in timed if r["event"] == "started"),
                     timed[0]["time"] if timed else lines[0]["time"])
        starts_own = [i for i, r in enumerate(own) if r["event"] == "started"]
        ends_own = [i for i, r in enumerate(own) if r["event"] in ENDS]
        detail = None
        if own and ends_own and (not starts_own or ends_own[-1] > starts_own[-1]):
            last = own[ends_own[-1]]
            outcome = last["event"]
            end = last["time"]
            detail = last.get("detail") or last.get("reason") or last.get("error")
        elif own and starts_own:
            outcome, end = "under way", None
        elif intervals:
            unended = [_ts(i["start"]) for i in intervals if i["event"] == "started"]
            ended = [i for i in intervals if i["event"] != "started"]
            last_end = max((_ts(i["end"]) for i in ended), default=None)
            if unended and (last_end is None or max(unended) > last_end):
                outcome, end = "under way", None  # its latest part has no end yet
            else:
                outcome = "failed" if ended[-1]["event"] == "failed" else "finished"
                end = max((i["end"] for i in ended), key=_ts)
        else:
            outcome, end = (own[-1]["event"] if own else "noted"), (lines[-1]["time"])
        if end is not None:  # a part still open when its step ended ended with it
            for i in intervals:
                if i["end"] is None:
                    if _is_command(i["line"]):
                        # its result stays unknown (a console killed mid-command): a point
                        i.update(end=i["start"], duration_s=None, closed=True)
                    else:  # a member's part: it lasted until its step ended
                        i.update(end=end, duration_s=_secs(i["start"], end), closed=True,
                                 event="failed" if outcome == "failed" else outcome)
        hosts: list[str] = []
        for r in lines:
            for h in _hosts(r):
                if h not in hosts:
                    hosts.append(h)
        step_hosts = next((_hosts(r) for r in own if _hosts(r)), []) or hosts
        failures = sum(1 for r in own if r["event"] == "failed")
        step_def = catalog.get(sid)
        entry: dict[str, Any] = {
            "step": sid, "title": getattr(step_def, "title", None) or _SUB_TITLES.get(sid),
            "parent": (sid[:-1] if re.fullmatch(r".*\d[a-z]", sid) and sid[:-1] in by_step
                       else None),
            "hosts": step_hosts, "start": start, "end": end,
            "duration_s": _secs(start, end) if end else None, "outcome": outcome,
            "detail": detail, "failures": failures,
            "attempts": max(1, sum(1 for r in own if r["event"] == "started")) if own else 1,
            "commands": sum(1 for i in intervals if _is_command(i["line"])
                            or _is_api(i["line"])),
            "waiting_s": 0.0,
        }
        # waiting: explicit waits (wait_s), then a wait step's polling after its last action
        for i in intervals:
            src = i["start_line"] or i["line"]
            if "wait_s" in src and i["end"]:
                d = _secs(i["start"], i["end"]) or 0.0
                waits.append({"step": sid, "hosts": i["hosts"], "member": i["member"],
                              "start": i["start"], "end": i["end"], "duration_s": d,
                              "why": f"wait of {src['wait_s']:g}s"
                                     + (f" after {i['member']}" if i["member"] else "")})
                entry["waiting_s"] += d
        if getattr(step_def, "wait", None) is not None and end and outcome in ("finished",
                                                                               "failed"):
            actions = [i["end"] for i in intervals if i["end"] and (_is_command(i["line"])
                                                                    or _is_api(i["line"]))
                       and _ts(i["end"]) <= _ts(end)]
            since = max(actions + [start], key=_ts)
            d = _secs(since, end) or 0.0
            if d > 0:
                waits.append({"step": sid, "hosts": step_hosts, "member": None, "start": since,
                              "end": end, "duration_s": d,
                              "why": "polling its check until it held"
                                     if outcome == "finished" else
                                     "polling its check until it gave up"})
                entry["waiting_s"] += d
        entry["waiting_s"] = round(entry["waiting_s"], 3)
        # per host: the lines naming that host alone, else the whole step
        per_host = []
        skipped_hosts = {h: r.get("reason") for r in host_skips for h in _hosts(r)}
        for h in hosts:
            mine = [i for i in intervals if i["hosts"] == [h]]
            if h in skipped_hosts and not mine:
                per_host.append({"host": h, "start": None, "end": None, "duration_s": None,
                                 "outcome": "skipped", "reason": skipped_hosts[h],
                                 "commands": 0, "commands_failed": 0})
                continue
            if mine:
                h_start = min((i["start"] for i in mine), key=lambda x: _ts(x, float("inf")))
                done = [i["end"] for i in mine if i["end"]]
                h_end = max(done, key=_ts) \
                    if done and all(i["end"] for i in mine) else None
                h_out = "failed" if any(i["event"] == "failed" for i in mine) else \
                    "under way" if h_end is None else \
                    outcome if any(i.get("closed") for i in mine) else \
                    ("already-done" if all(i["event"] == "already-done" for i in mine)
                     else "finished")
            elif any(len(i["hosts"]) == 1 for i in intervals):
                # the step acted host by host, and never on this one (the leader in
                # DEF-MAN-2, the one etcdctl source in DEF-MAN-6 for the others)
                per_host.append({"host": h, "start": None, "end": None, "duration_s": None,
                                 "outcome": "nothing of its own", "commands": 0,
                                 "commands_failed": 0})
                continue
            else:
                h_start, h_end, h_out = start, end, outcome
            cmds = [i for i in mine if _is_command(i["line"])]
            per_host.append({
                "host": h, "start": h_start, "end": h_end,
                "duration_s": _secs(h_start, h_end) if h_end else None, "outcome": h_out,
                "commands": len(cmds),
                "commands_failed": sum(1 for i in cmds if i["event"] == "failed"),
            })
            a, b = _ts(h_start), _ts(h_end)
            if a != float("-inf") and b != float("-inf") and b >= a:
                host_spans.setdefault(h, []).append((a, b))
            host_steps.setdefault(h, [])
            if sid not in host_steps[h]:
                host_steps[h].append(sid)
        entry["per_host"] = per_host
        steps.append(entry)

    steps.sort(key=lambda st: _ts(st["start"]))  # stable: ties keep their order

    # commands (and API calls) sent
    commands = []
    for sid, lines in by_step.items():
        for i in _pair_intervals([r for r in lines if r["step"] == sid and not _is_note(r)
                                  and (_is_command(r) or _is_api(r))]):
            line = i["line"]
            outcome = {"started": "no result in the journal"}.get(i["event"], i["event"])
            commands.append({
                "time": i["start"], "end": i["end"], "step": sid,
                "host": i["hosts"][0] if len(i["hosts"]) == 1 else None, "hosts": i["hosts"],
                "command": line.get("command") if _is_command(line) else line.get("api"),
                "kind": "api" if _is_api(line) else
                        ("cluster" if not i["hosts"] else "host"),
                "transport": line.get("transport"),
                "exit_status": line.get("exit_status") if i["end"] else None,
                "duration_s": i["duration_s"], "outcome": outcome,
                "error": line.get("error") if i["end"] else None,
            })
    commands.sort(key=lambda c: _ts(c["time"]))

    hosts_out = []
    all_hosts = list(dict.fromkeys(h for s in steps for h in (p["host"] for p in s["per_host"])))
    for h in all_hosts:
        mine = [c for c in commands if c["host"] == h]
        hosts_out.append({
            "host": h, "steps": host_steps.get(h, []), "busy_s": _merge(host_spans.get(h, [])),
            "commands": len(mine),
            "commands_failed": sum(1 for c in mine if c["outcome"] == "failed"),
            "command_time_s": round(sum(c["duration_s"] or 0.0 for c in mine), 3),
            "skipped_in": [s["step"] for s in steps for p in s["per_host"]
                           if p["host"] == h and p["outcome"] == "skipped"],
        })

    def events(name: str) -> list[dict]:
        return [{"time": r["time"], "step": r["step"], "hosts": _hosts(r), **_extra(r)}
                for r in records if r["event"] == name]

    overrides = [{"time": r["time"], "step": r["step"], "hosts": _hosts(r),
                  "reason": r.get("reason")} for r in records if r["event"] == "override"]
    confirmations = [{"time": r["time"], "step": r["step"], "hosts": _hosts(r),
                      "kind": r.get("kind"), **({"expected": r["expected"]}
                                                if "expected" in r else {}),
                      # a phase's question, and the steps that went ahead on it
                      **{k: r[k] for k in ("phase", "covers", "by") if k in r}}
                     for r in records if r["event"] == "confirmed"]
    skips = [{"time": r["time"], "step": r.get("for_step") or r["step"], "hosts": _hosts(r),
              "reason": r.get("reason") or r.get("warning"),
              "whole_step": r["step"] != "-"}
             for r in records if r["event"] == "skipped" and not _is_sub(r)]
    session = next((_extra(r) for r in records if r["event"] == "session"), None)
    score_line = next((r for r in reversed(records) if r["event"] == "score"), None)
    step_failures = sum(s["failures"] for s in steps)
    ttr = _secs(first_plan["time"], finished_line["time"]) \
        if first_plan and finished_line else None
    waiting = round(sum(w["duration_s"] for w in waits), 3)
    counts: dict[str, int] = {}
    for s in steps:
        if s["parent"] is None:
            counts[s["outcome"]] = counts.get(s["outcome"], 0) + 1
    totals = {
        "time_to_recovery_s": ttr,
        "elapsed_s": _secs(records[0]["time"], records[-1]["time"]) if records else None,
        "time_waiting_s": waiting,
        "commands_sent": len(commands),
        "commands_failed": sum(1 for c in commands if c["outcome"] == "failed"),
        "failures": step_failures,
        "steps": counts,
        "overrides": len(overrides), "confirmations": len(confirmations),
        "hints": sum(1 for r in records if r["event"] == "hint"),
        "mistakes": sum(1 for r in records if r["event"] == "mistake"),
        "faults": sum(1 for r in records if r["event"] == "fault"),
        "speed": speed,
    }
    fair = _fair_clock(records, first_plan, finished_line, score_line)
    if fair is not None:
        # a drill's fair clock (tui.pace): the same readings the debrief takes its split from
        totals["drill_time"] = fair["split"]
        totals["drill_time_to_recovery_s"] = fair["to_recovery"]
        totals["drill_time_waiting_s"] = fair["split"]["waiting"]
    elif speed and speed != 1:
        totals["drill_time_to_recovery_s"] = round(ttr * speed, 3) if ttr is not None else None
        totals["drill_time_waiting_s"] = round(waiting * speed, 3)
    in_flight = next((s["step"] for s in reversed(steps) if s["outcome"] == "under way"), None)
    return {
        "journal": path, "runbook": runbooks[0] if runbooks else None, "runbooks": runbooks,
        "title": _title(runbooks, params), "status": status,
        "scenario": next((r["scenario"] for r in records
                          if r["event"] in ("planned", "session") and r.get("scenario")), None),
        "error": end_line.get("error") if end_line and end_line["event"] == "failed" else None,
        "params": params, "started": records[0]["time"] if records else None,
        "ended": records[-1]["time"] if records else None,
        "recovered_at": finished_line["time"] if finished_line else None,
        "in_flight": in_flight, "totals": totals, "steps": steps, "hosts": hosts_out,
        "commands": commands, "waits": waits, "overrides": overrides,
        "confirmations": confirmations, "skips": skips,
        "resumes": [{"time": r["time"], "in_flight": r.get("in_flight")}
                    for r in records if r["step"] == "-" and r["event"] == "resumed"],
        "session": session, "faults": events("fault"), "hints": events("hint"),
        "mistakes": events("mistake"),
        "score": _extra(score_line) if score_line else None,
    }


def _title(runbooks: list[str], params: dict) -> str | None:
    if not runbooks:
        return None
    try:
        from tui.runbooks import registry

        name = runbooks[0]
        if name == "restore" and params.get("path"):
            from tui.runbooks.restore import restore_runbook

            return restore_runbook(params["path"]).title
        rb = registry().get(name)
        return rb.title if rb is not None else None
    except Exception:  # noqa: BLE001
        return None


# --- Markdown -----------------------------------------------------------------------------------

def _dur(seconds: Any, speed: float | None = None) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    text = format_duration(seconds)
    if speed and speed != 1:
        text += f" (drill {format_duration(seconds * speed)})"
    return text


def _clock(text: Any) -> str:
    t = _t(text)
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
        rows.append(("Drill speed", f"x{t.get('speed') or 1:g} (durations: journal clock; "
                                    f"drill time is the fair clock's)"))
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
