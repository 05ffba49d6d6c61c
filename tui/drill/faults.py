"""Timed etcd events of the drill cluster: defrags that take time, leader moves, the quota.

Everything here follows the simulated clock (tui.drill.model.SimClock) and is applied lazily:
`tick(cluster)` brings the cluster up to the clock's time. The drill's etcdctl ticks before
each command and while it waits, and the background writes (tui.drill.activity) tick every
half second, so nothing needs a task of its own, and a test can `clock.advance(...)` and
call `tick` (or `activity.advance`) to see what would have happened meanwhile.

- A defrag (`schedule_defrag`) blocks its member for `defrag_seconds(db_size)` simulated
  seconds (`EtcdMember.defrag_window`); the member answers nothing meanwhile, then its file
  shrinks to about what is in use. A second defrag of a member that is still busy waits for
  the first. A member that stops mid-defrag keeps its old file (bbolt writes the compacted
  copy to a temporary file and only renames it at the end).
- A leader blocked by its own defrag for longer than an election timeout loses the
  leadership: its followers hear no heartbeats and elect another member (new term). etcd does
  not move leadership for a defrag on purpose; this is what a long blocking one causes.
- `move_leader` moves the leadership at once (fault injection); a scenario's
  `etcd.leader_moves_after_seconds` does it once, that long after the drill starts.
- Quota: a member whose file is at or over `quota_backend_bytes` refuses writes and raises a
  NOSPACE alarm (`raise_nospace`), as etcd's quota applier does; with a NOSPACE (or CORRUPT)
  alarm active no writes are taken (`writes_refused`) until `etcdctl alarm disarm`, and a
  disarm while a file is still over the quota is followed by a new alarm at the next write.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from tui.drill import controllers
from tui.drill.model import DrillCluster, EtcdMember

__all__ = [
    "DEFRAG_BYTES_PER_SECOND", "DEFRAG_MIN_SECONDS", "DEFRAG_SPARE_BYTES",
    "ELECTION_TIMEOUT_SECONDS", "DefragPlan", "defrag_seconds", "move_leader",
    "schedule_defrag", "tick", "wait_until", "over_quota", "raise_nospace", "writes_refused",
]

MB = 1024 * 1024
PAGE = 4096  # bbolt's page size
# How fast a member rewrites its db file: about 1 simulated second per 100 MB of file, at
# least DEFRAG_MIN_SECONDS. An 8 GB member (the nospace scenario) takes ~82 s.
DEFRAG_BYTES_PER_SECOND = 100 * MB
DEFRAG_MIN_SECONDS = 1.0
# What a defragmented file keeps beyond the data in use: a few spare pages (meta, freelist).
DEFRAG_SPARE_BYTES = 4 * PAGE
# Followers call an election when the leader is silent this long (OpenShift runs etcd with
# --election-timeout=1000ms; a drill uses a longer, rounder figure so short defrags of small
# leaders stay quiet and long ones visibly move the leadership).
ELECTION_TIMEOUT_SECONDS = 5.0

_REFUSING_ALARMS = ("NOSPACE", "CORRUPT")


def defrag_seconds(db_size: int, bytes_per_second: float = DEFRAG_BYTES_PER_SECOND) -> float:
    """Simulated seconds a defrag of a `db_size`-byte file blocks its member (a scenario's
    etcd.defrag_mb_per_s gives a slower, busy disk)."""
    return max(DEFRAG_MIN_SECONDS, db_size / bytes_per_second)


def compacted_size(member: EtcdMember) -> int:
    """The file size right after a defrag: the pages in use plus a few spare ones."""
    in_use = max(member.db_size_in_use, 0)
    return -(-in_use // PAGE) * PAGE + DEFRAG_SPARE_BYTES


@dataclass(frozen=True)
class DefragPlan:
    """What one `etcdctl defrag` request of one member comes to."""
    finished: bool  # done within the command's timeout: "Finished defragmenting ..."
    returns_at: float  # simulated time etcdctl gets the answer or gives up
    start: float | None  # when the member starts rewriting (None: it never got to it)
    end: float | None  # when the member is done and answers again


def schedule_defrag(cluster: DrillCluster, member: EtcdMember, at: float,
                    timeout: float) -> DefragPlan:
    """A defrag request reaching `member` at simulated time `at`, its client giving up after
    `timeout` simulated seconds. The member's defrag window is set (or extended, when it is
    still busy with an earlier defrag: the request waits for that one first); the defrag goes
    on after the client gives up, as a real one does. `tick` applies the window."""
    deadline = at + timeout
    window = member.defrag_window
    if member.defragging and window is None:  # blocked for good (set by hand): never answers
        return DefragPlan(False, deadline, None, None)
    begin = max(at, window[1]) if window is not None else at
    if begin >= deadline:  # still busy with the earlier one when the client gives up
        return DefragPlan(False, deadline, None, None)
    size = member.db_size if window is None else compacted_size(member)
    end = begin + defrag_seconds(size, cluster.etcd.defrag_bytes_per_second)
    member.defrag_window = (window[0] if window is not None else begin, end)
    if end <= deadline:
        return DefragPlan(True, end, begin, end)
    return DefragPlan(False, deadline, begin, end)


def _finish_defrag(cluster: DrillCluster, member: EtcdMember) -> None:
    member.defrag_window = None
    member.defragging = False
    member.db_size = min(member.db_size, compacted_size(member))
    member.freed_unreleased = 0  # the new file has no free pages to speak of
    # it applies what the leader committed while it was busy
    leader = cluster.etcd.leader()
    if leader is not None and leader is not member:
        member.raft_index = max(member.raft_index, leader.raft_index)
    member.raft_applied_index = member.raft_index


def _answers(cluster: DrillCluster, member: EtcdMember) -> bool:
    host = cluster.host(member.name)
    return member.running and not member.defragging and (host is None or host.up)


def move_leader(cluster: DrillCluster, to: str | int | None = None, *,
                rng: random.Random | None = None) -> EtcdMember | None:
    """Elect another leader now (new raft term): `to` (a member name or ID) or, by default,
    one of the other voting members that answer. None when no election can succeed (too few
    voting members answer); ValueError when `to` cannot lead."""
    etcd = cluster.etcd
    voters = etcd.voting_members()
    answering = [m for m in voters if _answers(cluster, m)]
    candidates = [m for m in answering if m.member_id != etcd.leader_id]
    if to is not None:
        wanted = etcd.member_by_name(to) if isinstance(to, str) else etcd.member(to)
        if wanted is None or wanted not in candidates:
            raise ValueError(f"{to!r} cannot become the leader (it must be another voting "
                             f"member that answers)")
        candidates = [wanted]
    # the candidate needs votes from a majority of the voting members, itself included
    if not candidates or len(answering) * 2 <= len(voters):
        return None
    chosen = (rng or random.Random(f"{etcd.cluster_id}/{etcd.raft_term}")).choice(candidates)
    etcd.leader_id = chosen.member_id
    etcd.raft_term += 1
    cluster.changed()
    return chosen


def tick(cluster: DrillCluster, now: float | None = None) -> bool:
    """Apply what is due by simulated time `now` (default: the clock's): defrags starting and
    ending, an election when the leader's defrag outlasts the election timeout, a scheduled
    leader move. True when something changed (listeners were told)."""
    now = cluster.clock.now() if now is None else now
    etcd = cluster.etcd
    changed = False
    for m in etcd.members:
        window = m.defrag_window
        if window is None:
            continue
        if not m.running:  # stopped mid-defrag: the old file stays, nothing was given back
            m.defrag_window = None
            m.defragging = False
            changed = True
        elif now >= window[0] and not m.defragging:
            m.defragging = True
            changed = True
    leader = etcd.member(etcd.leader_id) if etcd.leader_id is not None else None
    if leader is not None and leader.defrag_window is not None:
        start, end = leader.defrag_window
        if end - start > ELECTION_TIMEOUT_SECONDS and now >= start + ELECTION_TIMEOUT_SECONDS:
            changed = move_leader(cluster) is not None or changed
    for m in etcd.members:
        if m.defrag_window is not None and now >= m.defrag_window[1]:
            _finish_defrag(cluster, m)
            changed = True
    if etcd.leader_move_at is not None and now >= etcd.leader_move_at:
        etcd.leader_move_at = None
        move_leader(cluster)
        changed = True
    if changed:
        cluster.changed()
    # the in-cluster controllers (machines, rollouts, CSRs, OVN pods) follow the same clock

    changed = controllers.tick(cluster, now) or changed
    return changed


async def wait_until(cluster: DrillCluster, when: float) -> None:
    """Really wait until simulated time `when`, ticking on the way (so `clock.advance` ends
    the wait early). With a frozen clock, apply what is due by then at once. The time is a
    host program's (the fair clock's "commands", tui.pace)."""
    clock = cluster.clock
    began = clock.now()
    try:
        while True:
            # one reading of the clock for both: ticked at a `now` just short of `when`, a
            # check against a later reading could return with the defrag's end not applied
            now = clock.now()
            tick(cluster, now=now)
            left = when - now
            if left <= 0:
                return
            real = clock.real_seconds(left)
            if real <= 0:  # frozen: time will not come; jump to it
                tick(cluster, now=when)
                return
            await asyncio.sleep(min(real, 0.05))
    finally:
        clock._count("commands", began, min(when, clock.now()))


def over_quota(cluster: DrillCluster) -> list[EtcdMember]:
    """Running members whose db file has reached the quota (etcd compares the file size)."""
    quota = cluster.etcd.quota_backend_bytes
    return [m for m in cluster.etcd.members if m.running and quota and m.db_size >= quota]


def raise_nospace(cluster: DrillCluster, served: EtcdMember | None = None) -> bool:
    """A write meets the quota checks: True when some file is at the quota (the write is
    refused). As in etcd, the member that takes the request raises NOSPACE for itself if its
    own file is over (quotaKVServer), and when no NOSPACE alarm is active yet every member
    whose apply hits the quota raises its own (applyEntryNormal)."""
    over = over_quota(cluster)
    if any(name == "NOSPACE" for _, name in cluster.etcd.alarms):
        over_raising = [m for m in over if m is served]
    else:
        over_raising = over
    added = False
    for m in over_raising:
        if (m.member_id, "NOSPACE") not in cluster.etcd.alarms:
            cluster.etcd.alarms.append((m.member_id, "NOSPACE"))
            added = True
    if added:
        cluster.changed()
    return bool(over)


def writes_refused(cluster: DrillCluster) -> bool:
    """An active NOSPACE (maintenance mode: reads and deletes only) or CORRUPT alarm."""
    return any(name in _REFUSING_ALARMS for _, name in cluster.etcd.alarms)
