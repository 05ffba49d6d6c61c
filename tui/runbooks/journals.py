"""Finding journals of runs that did not finish (a console that crashed, a killed run)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tui.errors import ConfigError
from tui.journal import JournalState, default_journal_dir, read_journal


def unfinished_journals(cluster: str | None = None,
                        paths: Iterable[str | Path] | None = None) -> list[tuple[Path, JournalState]]:
    """Unfinished runbook journals, newest first (of `cluster` when given)."""
    if paths is None:
        folder = default_journal_dir()
        if not folder.is_dir():
            return []
        candidates = sorted(folder.glob(f"{cluster}-*.jsonl" if cluster else "*.jsonl"),
                            key=lambda p: p.stat().st_mtime, reverse=True)
    else:
        candidates = [Path(p) for p in paths]
    out = []
    for path in candidates:
        try:
            state = JournalState.from_records(read_journal(path))
        except ConfigError:
            continue
        if not state.finished or state.aborted:
            out.append((path, state))
    return out
