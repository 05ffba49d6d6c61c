"""The wall's cells as text (the screen styles them): an unknown is `?`, never a blank."""

from __future__ import annotations

from tui.status.render import human_bytes, percent
from tui.wall.readiness import ClusterReadiness, age_text

# ENC: the encryption type; BACKUP: the newest pair's age; ENC CFG: whether its tarball
# carries the encryption config
WALL_COLUMNS = ("VERDICT", "CLUSTER", "VERSION", "MEMBERS", "LEADER", "DB MAX", "FRAG",
                "ALARMS", "ENC", "BACKUP", "VERIFIED", "ENC CFG", "WHY")
UNKNOWN = "?"


def _yes_no(value: bool | None, *, unknown: str = UNKNOWN) -> str:
    return unknown if value is None else ("yes" if value else "no")


def wall_cells(row: ClusterReadiness) -> list[str]:
    """One row's cells, in WALL_COLUMNS order."""
    backup = row.backup
    has_pair = backup is not None and backup.newest is not None
    if backup is None or not backup.listed:
        age = pair_cell = UNKNOWN  # nobody could say whether there is a backup
    elif not has_pair:
        age, pair_cell = "none", "-"
    else:
        age, pair_cell = age_text(backup.age_s), ""
    members = (f"{UNKNOWN}/{row.members_total if row.members_total is not None else UNKNOWN}"
               if row.members_up is None else f"{row.members_up}/{row.members_total}")
    alarms = UNKNOWN if row.alarms is None else (
        ", ".join(sorted({alarm for alarm, _ in row.alarms})) or "-")
    return [
        row.verdict,
        row.name,
        row.version or UNKNOWN,
        members,
        row.leader or ("-" if row.members_up is not None else UNKNOWN),
        human_bytes(row.db_size_max) if row.db_size_max is not None else UNKNOWN,
        percent(row.fragmentation_max) if row.fragmentation_max is not None else UNKNOWN,
        alarms,
        row.encryption or UNKNOWN,
        age,
        _yes_no(backup.verified) if has_pair else pair_cell,
        _yes_no(backup.encryption_config) if has_pair else pair_cell,
        row.reasons[0] if row.reasons else "",
    ]


def summary(rows: list[ClusterReadiness]) -> str:
    """`12 clusters: 1 down, 3 at-risk, 2 degraded, 6 ready`."""
    counts = {}
    for row in rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    parts = [f"{counts[v]} {v}" for v in ("down", "at-risk", "degraded", "ready") if v in counts]
    return f"{len(rows)} cluster{'s' if len(rows) != 1 else ''}" + \
        (": " + ", ".join(parts) if parts else "")
