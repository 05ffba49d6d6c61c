"""The status screen: the read-only view of the cluster, live.

Host strip, members table (leader marked), alarms, encryption, nodes, the etcd operator's
revision state, and one live log pane per host. Each panel says where its data came from
and how old it is; data that could not be refreshed is marked STALE.
"""

from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from tui.widgets.footer import QuietFooter

from tui.etcd.parse import member_id_hex
from tui.fleet.fleet import FleetEvent
from tui.status.snapshot import StatusSnapshot
from tui.widgets.banner import ClusterBanner
from tui.widgets.host_log import FLUSH_INTERVAL, HostLog
from tui.widgets.host_strip import HostStrip, age_words
from tui.widgets.members import MembersTable
from tui.widgets.panel import InfoPanel
from tui.widgets.steady import SteadyStatic


class StatusScreen(Screen):
    """Read-only by construction: it renders snapshots and host events, nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self._panes: dict[str, HostLog] = {}
        self._unsubscribe: Callable[[], None] | None = None  # from the fleet's events

    def compose(self) -> ComposeResult:
        yield ClusterBanner(id="banner")
        yield HostStrip(id="hosts")
        yield MembersTable(id="members")
        # what is wrong, right under the members: on a short terminal it is in sight, the
        # panels' detail below it
        yield SteadyStatic("", id="problems")
        with Horizontal(id="panels"):
            yield InfoPanel("alarms", id="alarms")
            yield InfoPanel("encryption", id="encryption")
            yield InfoPanel("nodes", id="nodes")
            yield InfoPanel("etcd operator", id="operator")
        yield Horizontal(id="logs")
        yield QuietFooter()

    def on_mount(self) -> None:
        app = self.app
        backend = app.backend
        spec = backend.spec
        self.query_one(ClusterBanner).show(
            name=backend.inventory.cluster_name if backend.inventory else "starting drill",
            version=backend.inventory.cluster_version if backend.inventory else None,
            drill=spec.is_drill, read_only=backend.read_only, scenario=spec.scenario)
        self.set_interval(1.0, self._tick)
        self.set_interval(FLUSH_INTERVAL, self._flush_panes)
        # what the app collects, rendered here (the app never calls this screen)
        self.watch(app, "snapshot", self._snapshot_changed, init=True)
        self.watch(app, "started", self._backend_started, init=True)

    def _snapshot_changed(self, snap: StatusSnapshot | None) -> None:
        if snap is not None:
            self.show_snapshot(snap)

    def _backend_started(self, started: bool) -> None:
        """A pane per host, fed by the fleet's events from now on."""
        if started and self._unsubscribe is None:
            self.ensure_log_panes([h.name for h in self.app.backend.inventory.hosts])
            self._unsubscribe = self.app.backend.fleet.subscribe(self.log_event)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _flush_panes(self) -> None:
        for pane in self._panes.values():
            pane.flush()

    def _tick(self) -> None:
        if self.app.snapshot is not None:
            self.show_snapshot(self.app.snapshot)

    def ensure_log_panes(self, hosts: list[str]) -> None:
        row = self.query_one("#logs", Horizontal)
        for name in hosts:
            if name not in self._panes:
                self._panes[name] = HostLog(name)
                row.mount(self._panes[name])

    def log_event(self, event: FleetEvent) -> None:
        # called for every output line: a dict lookup, not a DOM query
        pane = self._panes.get(event.host)
        if pane is not None:
            pane.show_event(event)

    def show_snapshot(self, snap: StatusSnapshot) -> None:
        now = self.app.clock()
        backend = self.app.backend
        self.query_one(ClusterBanner).show(
            name=snap.cluster_name, version=snap.cluster_version, drill=snap.drill,
            read_only=backend.read_only, scenario=backend.spec.scenario, healthy=snap.healthy)
        self.query_one(HostStrip).set_hosts(snap.hosts, now)
        self.ensure_log_panes([h.name for h in snap.hosts])
        etcd_age = age_words(now - snap.etcd_collected_at) if snap.etcd_collected_at else "never"
        self.query_one(MembersTable).show(snap.members, source=snap.etcd_source, age=etcd_age,
                                          stale=snap.etcd_stale, error=snap.etcd_error)
        alarms = [f"{a.alarm} on {a.member or member_id_hex(a.member_id)}" for a in snap.alarms]
        self.query_one("#alarms", InfoPanel).show(
            alarms or ["none"], source=snap.etcd_source or "ssh", age=etcd_age,
            stale=snap.etcd_stale, alert=bool(alarms))
        self._show_api(snap, now)
        problems = self.query_one("#problems", Static)
        problems.update("\n".join(f"! {p}" for p in snap.problems[:4]))
        problems.display = bool(snap.problems)

    def _show_api(self, snap: StatusSnapshot, now: float) -> None:
        api = snap.api
        age = age_words(now - api.collected_at)  # bare: the panels word it
        panels = [self.query_one(f"#{i}", InfoPanel) for i in ("encryption", "nodes", "operator")]
        if not api.reachable:
            text = "API unreachable" if api.configured else "API off"
            for p in panels:
                p.show([text, api.error or ""], source="api", age=age, stale=api.configured)
            return
        enc = [f"type: {api.encryption_type}"]
        for key, c in api.encrypted.items():
            enc.append(f"{key}: {c.reason or c.status}" if c else f"{key}: -")
        panels[0].show(enc, source="api", age=age)
        if api.brief:  # the wall's brief look: the full one is on its way
            for p in panels[1:]:
                p.show(["not read yet (the wall's brief look)"], source="api", age=age,
                       stale=True)
            return
        ready = [n for n in api.nodes if n.ready]
        lines = [f"{len(ready)}/{len(api.nodes)} Ready"]
        lines += [f"{n.name}: {'Ready' if n.ready else 'NotReady'}" for n in api.nodes][:5]
        panels[1].show(lines, source="api", age=age, alert=len(ready) < len(api.nodes))
        op = []
        for key, label in (("NodeInstallerProgressing", "installer"),
                           ("EtcdMembersAvailable", "members")):
            c = api.etcd_conditions.get(key)
            op.append(f"{label}: {c.reason or c.status}" if c else f"{label}: -")
            if c and c.message:
                op.append(f"  {c.message}")
        panels[2].show(op, source="api", age=age)
