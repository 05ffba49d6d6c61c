"""Readers of the space maintenance commands: `etcdctl alarm list` (and `alarm disarm`) and
`etcdctl defrag`, which members finished and which failed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tui.errors import ParseError
from tui.etcd.parse.common import (command_error, first_char, json_object, load_json, opt_uint,
                                   parse_error, uint)


@dataclass(frozen=True)
class Alarm:
    member_id: int
    alarm: str  # NOSPACE | CORRUPT | NONE


@dataclass(frozen=True)
class DefragResult:
    finished: tuple[str, ...]  # endpoints etcdctl reported as defragmented
    failed: dict[str, str] = field(default_factory=dict)  # endpoint -> error
    error: str | None = None  # command-level error, when etcdctl failed before any member

    @property
    def ok(self) -> bool:
        return bool(self.finished) and not self.failed and self.error is None


# --- alarms --------------------------------------------------------------------------------

_ALARMS = "alarm list"
_ALARM_LINE = re.compile(r"^memberID:(\d{1,20}) alarm:([A-Z]+)\s*$")
_ALARM_TYPES = {0: "NONE", 1: "NOSPACE", 2: "CORRUPT"}


def parse_alarm_list(stdout: str) -> tuple[Alarm, ...]:
    """Read `etcdctl alarm list` (and `alarm disarm`, which prints the same lines).

    No alarm prints nothing. `-w json` gives the alarm as its enum number.
    """
    try:
        return _parse_alarm_list(stdout)
    except ParseError:
        raise
    except Exception as exc:
        raise parse_error(_ALARMS, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_alarm_list(stdout: str) -> tuple[Alarm, ...]:
    if not isinstance(stdout, str):
        raise parse_error(_ALARMS, "output is not text", repr(stdout))
    if first_char(stdout) == "{":
        data = json_object(load_json(stdout, _ALARMS), "the output", _ALARMS, stdout)
        items = data.get("alarms", [])
        if not isinstance(items, list):
            raise parse_error(_ALARMS, "alarms is not a list", stdout)
        alarms = []
        for item in items:
            item = json_object(item, "an alarm", _ALARMS, stdout)
            raw_type = item.get("alarm", 0)
            if isinstance(raw_type, str) and raw_type.isupper():
                kind = raw_type
            elif isinstance(raw_type, int) and not isinstance(raw_type, bool):
                kind = _ALARM_TYPES.get(raw_type, str(raw_type))
            else:
                raise parse_error(_ALARMS, "an alarm type is not a name or number", stdout)
            alarms.append(Alarm(opt_uint(item, "memberID", _ALARMS, stdout), kind))
        return tuple(alarms)
    alarms = []
    for raw in stdout.splitlines():
        if not raw.strip():
            continue
        m = _ALARM_LINE.match(raw.strip())
        if not m:
            raise parse_error(_ALARMS, "a line is not 'memberID:N alarm:TYPE'", raw)
        alarms.append(Alarm(uint(int(m.group(1)), "memberID", _ALARMS, raw), m.group(2)))
    return tuple(alarms)


# --- defrag --------------------------------------------------------------------------------

_DEFRAG = "defrag"
_FINISHED = re.compile(r"^Finished defragmenting etcd member\[(.+?)\]")
_DEFRAG_FAILED = re.compile(r"^Failed to defragment etcd member\[(.+?)\] \((.*)\)\s*$")


def parse_defrag(stdout: str, stderr: str = "", exit_status: int = 0) -> DefragResult:
    """Read `etcdctl defrag`: which members finished and which failed, with the error."""
    try:
        return _parse_defrag(stdout, stderr, exit_status)
    except ParseError:
        raise
    except Exception as exc:
        raise parse_error(_DEFRAG, f"unexpected {type(exc).__name__}", stdout) from None


def _parse_defrag(stdout: str, stderr: str, exit_status: int) -> DefragResult:
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        raise parse_error(_DEFRAG, "output is not text", repr(stdout))
    finished: list[str] = []
    for raw in stdout.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _FINISHED.match(line)
        if not m:
            raise parse_error(_DEFRAG,
                              "a line is not 'Finished defragmenting etcd member[...]'", raw)
        finished.append(m.group(1))
    failed: dict[str, str] = {}
    for raw in stderr.splitlines():
        m = _DEFRAG_FAILED.match(raw.strip())
        if m:
            failed[m.group(1)] = m.group(2)
    error = command_error(stderr)
    if not finished and not failed:
        if exit_status == 0:
            raise parse_error(_DEFRAG, "no member in the output", stdout + stderr)
        if error is None:
            error = f"etcdctl exited with status {exit_status}"
    return DefragResult(finished=tuple(finished), failed=failed, error=error)
