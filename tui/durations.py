"""Durations as the inventory and CLI write them: 500ms, 10s, 2m, 1h, 1h30m."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: object) -> float:
    """Seconds for a duration string; a bare number means seconds. Raises ValueError.

    Every duration etcd-dr reads is a wait or a timeout, so it must be finite and more than
    zero: NaN, infinity, 0 and negatives are refused here, once, for the inventory and the CLI.
    """
    if isinstance(text, bool) or not isinstance(text, (int, float, str)):
        raise ValueError(f"not a duration: {_shown(text)} (write it like 10s, 2m or 1h)")
    if isinstance(text, (int, float)):
        try:
            seconds = float(text)
        except OverflowError:
            seconds = math.inf
    elif text.strip().startswith("-"):
        _parse_text(text.strip()[1:], shown=text)  # "-10s" is negative, "-x" not a duration
        seconds = -1.0
    else:
        seconds = _parse_text(text)
    if math.isnan(seconds):
        raise ValueError(f"not a duration: {_shown(text)} (write it like 10s, 2m or 1h)")
    if math.isinf(seconds):
        raise ValueError(f"the duration {_shown(text)} is too long (it must be finite)")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {_shown(text)}")
    if seconds == 0:
        raise ValueError(f"a duration must be more than zero: {_shown(text)}")
    return seconds


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _parse_text(text: str, shown: str | None = None) -> float:
    s = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"not a duration: {_shown(shown if shown is not None else text)} "
                         f"(write it like 10s, 2m or 1h)")
    return total


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    m, s = divmod(int(seconds), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"
