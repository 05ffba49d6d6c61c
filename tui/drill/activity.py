"""Background activity of a live cluster: writes keep raft indexes and revisions moving.

Without it a drill's numbers would stand still, which no real cluster's do. It follows the
simulated clock, so a frozen clock (snapshot tests) freezes it too.
"""

from __future__ import annotations

import asyncio

from tui.drill.model import DrillCluster

WRITES_PER_SECOND = 40.0  # a quiet 3-node cluster: leases, events, endpoint updates


def advance(cluster: DrillCluster, sim_seconds: float) -> None:
    """Apply `sim_seconds` of writes: only a cluster with a leader takes writes."""
    etcd = cluster.etcd
    if sim_seconds <= 0 or etcd.leader() is None:
        return
    writes = int(sim_seconds * WRITES_PER_SECOND)
    if writes <= 0:
        return
    etcd.revision += writes
    for m in etcd.members:
        if m.running and not m.defragging:
            m.raft_index += writes
            m.raft_applied_index = m.raft_index


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
