"""Plain-text rendering of a status snapshot, and the formatting both the CLI and UI use."""

from __future__ import annotations

from tui.etcd.parse import member_id_hex
from tui.status.snapshot import MemberView, StatusSnapshot


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" or size >= 100 else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # unreachable


def percent(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def member_cells(m: MemberView) -> list[str]:
    """The members table's cells, in MEMBER_COLUMNS order. The leader is marked `*`."""
    name = ("* " if m.is_leader else "  ") + m.name + (" (learner)" if m.is_learner else "")
    return [
        name,
        member_id_hex(m.member_id),
        m.endpoint.split("://", 1)[-1],  # the scheme is always https on OpenShift
        m.version or "-",
        human_bytes(m.db_size),
        human_bytes(m.db_size_in_use),
        percent(m.fragmentation),
        percent(m.quota_use()),
        "-" if m.raft_term is None else str(m.raft_term),
        "-" if m.raft_index is None else str(m.raft_index),
        "-" if m.raft_applied_index is None else str(m.raft_applied_index),
        "; ".join(m.errors) or "-",
    ]


MEMBER_COLUMNS = ["MEMBER", "ID", "ENDPOINT", "VERSION", "DB SIZE", "IN USE", "FRAG", "QUOTA",
                  "TERM", "INDEX", "APPLIED", "ERRORS"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def render_text(snap: StatusSnapshot) -> str:
    kind = "DRILL cluster" if snap.drill else "cluster"
    version = snap.cluster_version or "version unknown"
    out = [f"{kind} {snap.cluster_name} ({version}): "
           f"{'HEALTHY' if snap.healthy else 'DEGRADED'}", ""]
    out.append(_table(["HOST", "ADDRESS", "ROLE", "SSH", "DETAIL"],
                      [[h.name, h.address, h.role, h.state, h.error or ""] for h in snap.hosts]))
    out.append("")
    if snap.members:
        stale = "  (STALE: last good data)" if snap.etcd_stale else ""
        out.append(f"etcd members, from {snap.etcd_source}{stale}")
        out.append(_table(MEMBER_COLUMNS, [member_cells(m) for m in snap.members]))
    else:
        out.append(f"etcd members: unknown ({snap.etcd_error})")
    out.append("")
    if snap.alarms:
        for a in snap.alarms:
            out.append(f"ALARM {a.alarm} on {a.member or member_id_hex(a.member_id)}")
    else:
        out.append("alarms: none")
    api = snap.api
    if api.reachable:
        conds = ", ".join(f"{k} {c.reason or c.status}" if c else f"{k} -"
                          for k, c in api.encrypted.items())
        out.append(f"encryption: {api.encryption_type} ({conds})")
        not_ready = [n.name for n in api.nodes if not n.ready]
        if api.brief:
            out.append("nodes: not read (a brief look)")
        else:
            out.append(f"nodes: {len(api.nodes) - len(not_ready)}/{len(api.nodes)} Ready"
                       + (f" (NotReady: {', '.join(not_ready)})" if not_ready else ""))
        ni = api.etcd_conditions.get("NodeInstallerProgressing")
        if ni:
            out.append(f"etcd operator: {ni.reason or ni.status}: {ni.message or ''}".rstrip(": "))
    elif not api.configured:
        out.append(f"API: off - {api.error}")
    else:
        out.append(f"API: unreachable - {api.error}")
    if snap.problems:
        out.append("")
        out.append("problems:")
        out.extend(f"  - {p}" for p in snap.problems)
    return "\n".join(out)
