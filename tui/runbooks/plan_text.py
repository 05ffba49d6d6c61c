"""The words of a plan step, for every runbook and every front end (issue #14 item 3).

`etcd-dr run RUNBOOK --dry-run` prints them, the console's runbook screens write them in
their log before a run, and the restore wizard's step panel shows its highlighted step with
them: one function, so the console and the headless plan cannot say a step differently.

    BAK-4  Run cluster-backup.sh  [master-1] (mutating; confirm: yes/no)
        <what the step does>
        SKIPPED: <why>            (when it will not run: then nothing below, as nothing
                                   of it is sent)
        WARNING: <the step's warning>
        master-1$ <each command, in the order it is sent>
        API: <the API call>
        waits: every 15s, up to 1800s (drill time, x60)
"""

from __future__ import annotations

from collections.abc import Iterable

from tui.runbooks.model import Confirm, Wait


def flags(safety: str, confirm: str) -> str:
    """"mutating; confirm: yes/no": the step's safety and the confirmation it asks."""
    return safety + (f"; confirm: {confirm}" if confirm != Confirm.NONE.value else "")


def wait_text(wait: Wait | None, note: str = "") -> str | None:
    """"every 15s, up to 1800s" (+ the drill's time note), or None for a step that does not
    wait."""
    if wait is None:
        return None
    return f"every {wait.interval:g}s, up to {wait.timeout:g}s{note}"


def step_lines(*, id: str, title: str, where: str, flags: str, explain: str,
               skip_reason: str | None = None, warning: str = "",
               commands: Iterable[tuple[str, str]] = (), api: str | None = None,
               wait: str | None = None) -> list[str]:
    """A plan step in the words every front end uses (see the module's docstring)."""
    out = [f"{id}  {title}  [{where}] ({flags})", f"    {explain}"]
    if skip_reason:
        out.append(f"    SKIPPED: {skip_reason}")
        return out  # its commands are not sent: listing them would say they were
    if warning:
        out.append(f"    WARNING: {warning}")
    out += [f"    {host}$ {command}" for host, command in commands]
    if api:
        out.append(f"    API: {api}")
    if wait:
        out.append(f"    waits: {wait}")
    return out
