"""Background activity of a live cluster: writes keep raft indexes and revisions moving.

Without it a drill's numbers would stand still, which no real cluster's do. It follows the
simulated clock, so a frozen clock (snapshot tests) freezes it too.

Writes also churn the database: history compaction frees pages that etcd reuses but the file
never gives back until a defrag, so each write leaves the file a little bigger while the data
in use stays where it is, and fragmentation creeps up (FREE_BYTES_PER_WRITE: ~18 MiB per
simulated hour, so a healthy 142 MB member needs hours to look fragmented). Writes stop while
a NOSPACE (or CORRUPT) alarm is active, and a write batch that meets a member over its quota
raises NOSPACE again (tui.drill.faults). Each step first brings timed events (defrags,
elections) up to the clock.
"""

from __future__ import annotations

import asyncio

from tui.drill import faults
from tui.drill.model import DrillCluster

WRITES_PER_SECOND = 40.0  # a quiet 3-node cluster: leases, events, endpoint updates
# bytes of free pages (compacted history) each write leaves in the file: 5 KiB per simulated
# second at WRITES_PER_SECOND, 18 MiB per simulated hour
FREE_BYTES_PER_WRITE = 128


def advance(cluster: DrillCluster, sim_seconds: float) -> None:
    """Apply `sim_seconds` of writes: only a cluster with a leader takes writes, and none
    while an alarm refuses them or a file is over the quota (which raises NOSPACE)."""
    faults.tick(cluster)
    etcd = cluster.etcd
    leader = etcd.leader()
    if sim_seconds <= 0 or leader is None:
        return
    if leader.defragging:  # proposals wait for a leader that answers (or a new one)
        return
    if faults.writes_refused(cluster):  # maintenance mode: reads and deletes only
        return
    writes = int(sim_seconds * WRITES_PER_SECOND)
    if writes <= 0:
        return
    if faults.raise_nospace(cluster):  # the batch fails the quota check
        return
    etcd.revision += writes
    for m in etcd.members:
        if m.running and not m.defragging:
            m.raft_index += writes
            m.raft_applied_index = m.raft_index
            m.db_size += writes * FREE_BYTES_PER_WRITE


async def activity_forever(cluster: DrillCluster, interval: float = 0.5) -> None:
    last = cluster.clock.now()
    carry = 0.0
    while True:
        await asyncio.sleep(interval)
        now = cluster.clock.now()
        elapsed = now - last + carry
        last = now
        whole = int(elapsed * WRITES_PER_SECOND) / WRITES_PER_SECOND
        carry = elapsed - whole
        advance(cluster, whole)
