"""`etcd-dr watch JOURNAL` (and `etcd-dr report JOURNAL --follow`): follow a running journal
read-only, like `tail -f`, one readable line per journal line, for a trainer, an approver or
an incident commander.

It never opens the journal for writing (the console that writes it truncates a torn tail
when it resumes; this only reads). A last line still being written (no newline yet) waits
until it is whole. Following ends when the runbook-level `finished` or `failed` line arrives
— or, in a drill session (a `session` line), when the session's `score` line does — or when
the caller stops it (Ctrl-C in the CLI).
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

from tui.durations import format_duration
from tui.errors import ConfigError

_CORE = ("time", "runbook", "step", "event", "hosts")


def _clock(text: object) -> str:
    """2026-11-27T11:06:57.174+00:00 -> 11:06:57.174 (the journal's own zone)."""
    try:
        return datetime.fromisoformat(str(text)).strftime("%H:%M:%S.%f")[:-3]
    except ValueError:
        return str(text)


def _short(value: object, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def format_record(r: dict) -> str:
    """One journal line as one line of text."""
    step, event = str(r.get("step", "?")), str(r.get("event", "?"))
    hosts = r.get("hosts") if isinstance(r.get("hosts"), list) else []
    where = f" [{', '.join(map(str, hosts))}]" if hosts else ""
    head = f"{_clock(r.get('time', ''))}  {step:<9}"
    if "command" in r:
        command = _short(r["command"], 300)
        if str(r["command"]).startswith("#"):
            return f"{head} note: {_short(str(r['command']).lstrip('# '))}"
        if event == "started":
            return f"{head} ${where} {command}"
        took = r.get("duration")
        took = f" in {format_duration(took)}" if isinstance(took, (int, float)) else ""
        status = r.get("exit_status")
        result = f"exit {status}" if status is not None else event
        error = f": {_short(r['error'])}" if r.get("error") else ""
        via = f" via {r['transport']}" if r.get("transport") else ""
        mark = "FAILED " if event == "failed" else ""
        return f"{head} {mark}{result}{took}{via}{where}{error}  ({_short(command, 80)})"
    if event == "planned":
        params = r.get("params") if isinstance(r.get("params"), dict) else {}
        bits = [f"{k} {params[k]}" for k in ("path", "recovery_host", "host", "wait")
                if params.get(k) not in (None, "")]
        steps = r.get("steps")
        if isinstance(steps, list):
            bits.append(f"{len(steps)} steps")
        if r.get("scenario"):
            bits.append(f"scenario {r['scenario']}")
        if isinstance(r.get("speed"), (int, float)):
            bits.append(f"speed x{r['speed']:g}")
        return f"{head} PLANNED {r.get('runbook')}" + (f" ({', '.join(bits)})" if bits else "")
    if step == "-" and event == "finished":
        return f"{head} FINISHED {r.get('runbook')}"
    if step == "-" and event == "failed":
        return f"{head} FAILED {r.get('runbook')}: {_short(r.get('error') or '')}"
    if event == "override":
        return f"{head} OVERRIDE{where}: {_short(r.get('reason') or '')}"
    if event == "confirmed":
        if r.get("by"):
            return f"{head} confirmed{where} with its phase, asked at {r['by']}"
        covers = f" for {', '.join(r['covers'])}" if r.get("covers") else ""
        return f"{head} confirmed{where} ({r.get('kind')}){covers}"
    if event == "resumed":
        return f"{head} RESUMED" + (f" ({r['in_flight']} was under way)"
                                    if r.get("in_flight") else "")
    if event == "session":
        bits = [f"{k} {r[k]}" for k in ("scenario", "speed", "rto_minutes") if r.get(k)]
        return f"{head} DRILL SESSION ({', '.join(bits)}): {_short(r.get('objective') or '')}"
    if event == "hint":
        return f"{head} HINT {r.get('n', '')}: {_short(r.get('text') or '')}"
    if event == "mistake":
        at = f" at {r['at_step']}" if r.get("at_step") not in (None, "", "-") else ""
        return f"{head} MISTAKE ({r.get('kind')}){at}: {_short(r.get('detail') or '')}"
    if event == "fault":
        return f"{head} FAULT {r.get('action')}" + (f" {r['host']}" if r.get("host") else "") \
            + (f": {_short(r['detail'])}" if r.get("detail") else "")
    if event == "score":
        return f"{head} SCORE {r.get('score')}" + (f" ({_short(r['reason'])})"
                                                   if r.get("reason") else "")
    if step == "-" and r.get("for_step"):
        return f"{_clock(r.get('time', ''))}  {str(r['for_step']):<9} {event}{where}: " \
               f"{_short(r.get('reason') or r.get('warning') or '')}"
    text = r.get("detail") or r.get("reason") or r.get("error")
    if "member" in r:
        where += f" member {r['member']}"
        if "wait_s" in r:
            where += f", wait {r['wait_s']:g}s"
        if "reclaimed" in r:
            where += f", {r['reclaimed'] / 1048576:.0f} MB reclaimed"
    extra = f": {_short(text)}" if text else ""
    if "api" in r:
        extra = f" API {_short(r['api'], 120)}" + extra
    return f"{head} {event}{where}{extra}"


class JournalFollower:
    """Reads the complete lines appended to a journal since the last call (read-only)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._offset = 0  # end of the last complete line read
        self._ident: tuple[int, int] | None = None
        self.restarted = False  # the file was replaced or shortened: read again from 0

    def poll(self) -> list[dict | str]:
        """New records; an unreadable complete line comes back as a string saying so."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise ConfigError(f"cannot read the journal ({e.strerror})",
                              where=str(self.path)) from None
        try:
            st = os.fstat(fd)
            ident = (st.st_dev, st.st_ino)
            self.restarted = False
            if self._ident is not None and (ident != self._ident or st.st_size < self._offset):
                # replaced, or cut below what was read (a resume only ever cuts a torn tail,
                # which was never read): read it again from the start
                self._offset, self.restarted = 0, True
            self._ident = ident
            if st.st_size <= self._offset:
                return []
            data = os.pread(fd, st.st_size - self._offset, self._offset)
        finally:
            os.close(fd)
        cut = data.rfind(b"\n")
        if cut < 0:
            return []  # a line still being written: wait for its newline
        complete = data[:cut + 1]
        self._offset += len(complete)
        out: list[dict | str] = []
        for raw in complete.split(b"\n"):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                out.append("(a journal line is not JSON: skipped)")
                continue
            if isinstance(record, dict) and {"time", "step", "event"} <= record.keys():
                out.append(record)
            else:
                out.append("(a journal line without time/step/event: skipped)")
        return out


def is_end(record: dict) -> bool:
    """The runbook-level line that ends a run."""
    return record.get("step") == "-" and record.get("event") in ("finished", "failed") \
        and "command" not in record


def follow(path: str | os.PathLike, emit: Callable[[str], None], *, interval: float = 0.2,
           stop: threading.Event | None = None, timeout: float | None = None,
           records: list[dict] | None = None, score_grace: float = 5.0) -> dict | None:
    """Emit a line per journal line until the run ends; returns the line that ended it, or
    None when stopped (`stop` set, or `timeout` seconds passed). Complete records are also
    appended to `records` when given (the report of `report --follow`).

    In a drill session (a `session` line) the session's `score` line ends it; the score is
    written just after the runbook's end, so after a runbook-level end the follow waits up to
    `score_grace` seconds for it (a runbook that is not the drill's own ends no session)."""
    p = Path(path)
    if not p.exists() and not p.parent.is_dir():
        raise ConfigError("the journal's directory does not exist", where=str(p.parent))
    follower = JournalFollower(p)
    deadline = None if timeout is None else time.monotonic() + timeout
    in_session = False
    said_waiting = False
    ended: dict | None = None  # the runbook's end, in a session: waiting for the score
    grace_until = 0.0
    while True:
        batch = follower.poll()
        if follower.restarted:
            emit("(the journal was replaced: reading it from the start)")
            if records is not None:
                records.clear()
        if not batch and not p.exists() and not said_waiting:
            emit(f"(waiting for {p} to appear)")
            said_waiting = True
        for item in batch:
            if isinstance(item, str):
                emit(item)
                continue
            if records is not None:
                records.append(item)
            emit(format_record(item))
            if item.get("event") == "session":
                in_session = True
            if in_session and item.get("event") == "score":
                return item
            if is_end(item):
                if not in_session:
                    return item
                ended, grace_until = item, time.monotonic() + score_grace
        if ended is not None and time.monotonic() >= grace_until:
            return ended
        if stop is not None and stop.is_set():
            return None
        if deadline is not None and time.monotonic() >= deadline:
            return None
        if stop is not None:
            stop.wait(interval)
        else:
            time.sleep(interval)
