"""The journal: one JSON object per line, appended and fsync'd (format: shared CONTRACTS.md).

A line is on disk before the step it describes acts, and again after it ends, so a console
killed at any moment can tell what was done, what was under way, and what was not begun.
Secrets never reach the file: every value is redacted before it is written.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from tui.errors import ConfigError
from tui.secrets import REDACTED, redact  # noqa: F401 - the one redactor (tui/secrets.py)
from tui.files import fsync_directory, open_private, os_problem, refuse_unusual, write_all

EVENTS = ("planned", "started", "finished", "failed", "skipped", "already-done", "confirmed",
          "override", "resumed",
          # drill sessions (issue #7): runbook-level lines (step "-") beside a runbook's own
          "session", "hint", "mistake", "fault", "score")
# runbook-level lines that carry the process's stamps (see stamp_runbook_lines)
STAMPED_EVENTS = ("planned", "resumed")

# Whoever wants to see journal lines as they are written (a drill's fault schedule, a
# session's scoring): called with the journal and the record, after it is on disk. Process-
# wide because the screens and the headless runner each open their own Journal.
_listeners: list[Callable[["Journal", dict], None]] = []
# keys every `planned`/`resumed` line of this process carries (a drill's speed and scenario)
_stamps: list[dict] = []
# keys every line of this process carries, read when the line is written (a drill's `pace`:
# its fair clock's reading, tui.pace); a line that has the key already keeps its own
_line_stamps: list[tuple[str, Callable[[], Any]]] = []


def add_listener(listener: Callable[["Journal", dict], None]) -> Callable[[], None]:
    """See every record any Journal of this process writes; returns the unsubscribe. A
    listener that raises is logged and skipped: the line stays written."""
    _listeners.append(listener)

    def remove() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return remove


def stamp_runbook_lines(**keys: Any) -> Callable[[], None]:
    """Add `keys` to every `planned` and `resumed` line written from now on (a drill backend
    stamps its `speed` and `scenario`: a journal says at what speed its times were lived);
    returns the undo."""
    stamp = dict(keys)
    _stamps.append(stamp)

    def undo() -> None:
        for i, other in enumerate(_stamps):
            if other is stamp:
                del _stamps[i]
                return

    return undo



def stamp_every_line(key: str, value: Callable[[], Any]) -> Callable[[], None]:
    """Add `key: value()` to every line written from now on (unless the line has `key`);
    returns the undo."""
    stamp = (key, value)
    _line_stamps.append(stamp)

    def undo() -> None:
        for i, other in enumerate(_line_stamps):
            if other is stamp:
                del _line_stamps[i]
                return

    return undo


_OPEN_HINT = "Give --journal a path to a new or existing regular file on a writable disk"


def default_journal_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return Path(base) / "etcd-dr" / "journals"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Journal:
    """Append-only JSON lines, each fsync'd before `write` returns."""

    def __init__(self, path: str | os.PathLike, runbook: str, *, secrets: Iterable[str] = (),
                 clock=_now):
        self.path = Path(path)
        self.runbook = runbook
        self.secrets = set(secrets)
        self._clock = clock
        self._broken: ConfigError | None = None  # a write failed: every later one fails too
        # O_NOFOLLOW, a regular file of its own (never a link, device or directory), 0600;
        # a disk error is a ConfigError naming the path (tui.files)
        self._fd, created = open_private(self.path, what="the journal", hint=_OPEN_HINT,
                                         append=True, tighten_existing=False)
        try:
            if created:
                _fsync_dir(self.path.parent)
            else:
                self._adopt_existing()
                _drop_torn_tail(self._fd)
        except ConfigError:
            os.close(self._fd)
            self._fd = -1
            raise
        except OSError as e:
            os.close(self._fd)
            self._fd = -1
            raise ConfigError(f"cannot write the journal ({os_problem(e)})",
                              where=str(self.path), hint=_OPEN_HINT) from None

    def _adopt_existing(self) -> None:
        """An existing file is appended to only when it is a journal (empty, or JSON lines):
        `--journal /etc/passwd` run as root must not gain a line, nor a new mode. A journal
        of this user's that others can read is made 0600, as the contract says."""
        st = os.fstat(self._fd)
        first = os.pread(self._fd, 1, 0)  # not st_size: /proc's files say 0 and are not
        if first and first != b"{":
            raise ConfigError("refused to write the journal: the file exists and is not an "
                              "etcd-dr journal (JSON lines)", where=str(self.path),
                              hint="Give --journal a new file, or an etcd-dr journal to resume")
        if st.st_uid == os.geteuid() and st.st_mode & 0o7177:
            os.fchmod(self._fd, 0o600)

    def add_secret(self, secret: str) -> None:
        if secret:
            self.secrets.add(secret)

    def write(self, step: str, event: str, hosts: Iterable[str] = (), **extra: Any) -> dict:
        if event not in EVENTS:
            raise ValueError(f"unknown journal event {event!r}")
        record = {"time": self._clock(), "runbook": self.runbook, "step": step, "event": event,
                  "hosts": list(hosts)}
        if step == "-" and event in STAMPED_EVENTS:
            for stamp in _stamps:
                record.update(stamp)
        record.update(extra)
        for key, value in _line_stamps:
            if key not in record:
                try:
                    record[key] = value()
                except Exception:  # a stamp's bug must not stop a line from being written
                    logging.getLogger(__name__).exception("journal stamp %r failed", key)
        record = redact(record, self.secrets)
        line = json.dumps(record, sort_keys=False, ensure_ascii=False) + "\n"
        self._append(line.encode("utf-8"))
        for listener in list(_listeners):
            try:
                listener(self, record)
            except Exception:  # an observer's bug must not fail the step being journaled
                logging.getLogger(__name__).exception("journal listener %r failed", listener)
        return record

    def _append(self, data: bytes) -> None:
        """Write and fsync one line, or stop the run: a line that is not on disk must not
        be followed by the act it describes. After a failure the journal stays broken (part
        of the line may be on disk; the next open cuts it), so no later step goes on
        without its line, whoever catches the first error."""
        if self._broken is not None:
            raise self._broken
        if self._fd < 0:
            raise ConfigError("the journal is closed", where=str(self.path))
        try:
            write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError as e:
            self._broken = ConfigError(
                f"cannot write the journal ({os_problem(e)}); the run stopped here, as "
                f"nothing may be sent without its journal line",
                where=str(self.path),
                hint="Free space on (or fix) that file system, then run the same command "
                     "again: it resumes from this journal (a real cluster's run; a drill's "
                     "cluster died with its process). Or move the journal to a writable disk "
                     "and give its new path to --journal")
            raise self._broken from None

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        if self._fd >= 0:
            try:
                empty = os.fstat(self._fd).st_size == 0
            except OSError:
                empty = False
            try:
                os.close(self._fd)
            except OSError:  # a failed close of a file already fsync'd line by line
                pass
            self._fd = -1
            if empty:  # a run refused before its first line leaves no journal behind
                try:
                    self.path.unlink()
                except OSError:
                    pass

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drop_torn_tail(fd: int) -> None:
    """Cut a last line that a crash left without its newline (read_journal ignores it):
    a line appended after it would be glued onto it, and the whole line, no longer the
    last, would make the journal unreadable."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    keep = size
    while keep > 0:
        start = max(0, keep - 65536)
        block = os.pread(fd, keep - start, start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            keep = start + cut + 1
            break
        keep = start
    os.ftruncate(fd, keep)
    os.fsync(fd)


def _fsync_dir(path: Path) -> None:
    fsync_directory(path)


def check_journal_path(path: str | os.PathLike) -> None:
    """Before anything starts: a --journal that can never be written (a symbolic link, a
    directory, a device, under a file) is refused now, naming the path. Changes nothing;
    the Journal itself checks again when it opens the file."""
    p = Path(path)
    refuse_unusual(p, what="the journal", hint=_OPEN_HINT)


def read_journal(path: str | os.PathLike) -> list[dict]:
    """Every complete record; a torn last line (a crash mid-write) is ignored."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("the journal file does not exist", where=str(p)) from None
    except OSError as e:
        raise ConfigError(f"cannot read the journal ({e.strerror})", where=str(p)) from None
    records = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            if number == len(lines):  # the last line, cut short by a crash
                break
            raise ConfigError("a journal line is not JSON", where=f"{p}, line {number}",
                              hint="The file was edited or damaged") from None
        if not isinstance(record, dict) or not {"time", "runbook", "step", "event"} <= record.keys():
            raise ConfigError("a journal line lacks time/runbook/step/event",
                              where=f"{p}, line {number}")
        records.append(record)
    return records


@dataclass
class JournalState:
    """What a journal says about its run: enough to resume it."""

    runbook: str
    params: dict
    done: set[str] = field(default_factory=set)  # finished, already-done or skipped steps
    in_flight: str | None = None  # started, never ended: its check decides on resume
    failed: str | None = None
    finished: bool = False  # the runbook itself ended (finished or aborted)
    aborted: bool = False
    facts: dict = field(default_factory=dict)  # what finished steps learned (e.g. snapshot)
    # a drill's run: the id of the drill process's simulated cluster its `planned`/`resumed`
    # lines carry ("" for a drill journal from before the id); None: a real cluster's run
    drill: str | None = None

    @classmethod
    def from_records(cls, records: list[dict]) -> "JournalState":
        if not records:
            raise ConfigError("the journal is empty: nothing to resume")
        planned = next((r for r in records if r["step"] == "-" and r["event"] == "planned"), None)
        if planned is None:
            raise ConfigError("the journal has no 'planned' line: not a runbook journal")
        state = cls(runbook=planned["runbook"], params=dict(planned.get("params") or {}))
        open_steps: list[str] = []
        for r in records:
            step, event = r["step"], r["event"]
            if "command" in r:
                if event == "finished":  # what a command's output said (see the runner)
                    state.facts.update(r.get("facts") or {})
                continue  # per-command lines; the step's own lines decide
            if step == "-":
                if event in STAMPED_EVENTS and ("drill" in r or "scenario" in r):
                    state.drill = str(r.get("drill") or "")
                if event in ("finished", "failed"):
                    state.finished = True
                    state.aborted = event == "failed"
                continue
            if event == "started":
                open_steps.append(step)
            elif event in ("finished", "already-done", "skipped"):
                state.done.add(step)
                state.facts.update(r.get("facts") or {})
                state.failed = None if state.failed == step else state.failed
                open_steps = [s for s in open_steps if s != step]
            elif event == "failed":
                state.failed = step
                open_steps = [s for s in open_steps if s != step]
        state.in_flight = open_steps[-1] if open_steps else None
        return state


def load_state(path: str | os.PathLike) -> JournalState:
    return JournalState.from_records(read_journal(path))
