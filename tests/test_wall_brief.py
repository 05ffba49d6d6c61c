"""The readiness wall's brief API look: ClusterApi.snapshot(brief=True) asks the drill API
server for the version and the encryption only (5 requests), StatusCollector and ClusterProbe
pass it through unless the probe is `detailed`, and the cluster opened from the wall gets the
full look at once (its nodes panel says "not read yet" until then) and the brief one again
once it is closed. Requests are counted where the drill API server handles them."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest

from tests.conftest import wait_until
from tui.cluster.api import ClusterApi
from tui.drill.apiserver import DrillApiServer
from tui.drill.fleetlab import DrillFleet
from tui.wall.probe import Wall

BRIEF_PATHS = {
    "/apis/config.openshift.io/v1/clusterversions/version",
    "/apis/config.openshift.io/v1/apiservers/cluster",
    "/apis/operator.openshift.io/v1/openshiftapiservers/cluster",
    "/apis/operator.openshift.io/v1/kubeapiservers/cluster",
    "/apis/operator.openshift.io/v1/authentications/cluster",
}
FULL_ONLY = {
    "/api/v1/nodes",
    "/api/v1/namespaces/openshift-etcd/pods",
    "/apis/operator.openshift.io/v1/etcds/cluster",
    "/api/v1/namespaces/openshift-etcd/configmaps/etcd-disable-defrag",
}
NODES = "/api/v1/nodes"


class Requests:
    """Every request the drill API servers of this process handle: (cluster name, path).
    `hold`: a path whose answers wait until `release` is set (a threading.Event: the wall's
    probes, and with them its drill fleet, run on a loop of their own)."""

    def __init__(self):
        self.seen: list[tuple[str, str]] = []
        self.hold: str | None = None
        self.release = threading.Event()
        self.held = 0

    def paths(self, cluster: str | None = None) -> Counter:
        return Counter(p for c, p in self.seen if cluster is None or c == cluster)

    def clear(self) -> None:
        self.seen.clear()


@pytest.fixture
def requests(monkeypatch) -> Requests:
    """Patched before any lab starts: the server's route takes its handler at start()."""
    out = Requests()
    real = DrillApiServer._handle

    async def counting(self, request):
        out.seen.append((self.cluster.name, request.path))
        if out.hold is not None and request.path == out.hold:
            out.held += 1
            while not out.release.is_set():
                await asyncio.sleep(0.01)
        return await real(self, request)

    monkeypatch.setattr(DrillApiServer, "_handle", counting)
    return out


async def test_brief_snapshot_asks_five_paths_and_the_full_one_nine(tmp_path, requests):
    from tui.drill.lab import DrillLab

    lab = DrillLab("healthy", workdir=tmp_path / "lab")
    await lab.start()
    api = ClusterApi(str(lab.kubeconfig_path), "admin")
    try:
        brief = await api.snapshot(brief=True)
        brief_paths = requests.paths()
        requests.clear()
        full = await api.snapshot()
        full_paths = requests.paths()
    finally:
        await api.close()
        await lab.stop()
    assert brief.reachable and brief.brief, brief.error
    assert brief_paths == Counter(BRIEF_PATHS)  # exactly these, each once
    assert brief.version == full.version and brief.version
    assert brief.encryption_type == full.encryption_type
    assert set(brief.encrypted) == {"openshiftapiserver", "kubeapiserver", "authentication"}
    assert brief.nodes == [] and brief.etcd_pods == [] and brief.etcd_conditions == {}
    assert brief.auto_defrag is None
    assert full.reachable and not full.brief, full.error
    assert full_paths == Counter(BRIEF_PATHS | FULL_ONLY)
    assert len(full.nodes) >= 3 and all(n.ready for n in full.nodes)
    assert len(full.etcd_pods) == 3 and full.auto_defrag.startswith("enabled")


async def test_the_probe_looks_briefly_unless_detailed(requests):
    wall = Wall(fleet=DrillFleet(1), timeout=60)
    try:
        await wall.start()
        (probe,) = wall.probes
        assert probe.detailed is False
        await wall.refresh()
        assert set(requests.paths()) == BRIEF_PATHS, requests.paths()
        assert probe.snapshot.api.brief and probe.snapshot.api.nodes == []
        assert probe.readiness.verdict == "ready", probe.readiness.reasons
        requests.clear()
        probe.detailed = True
        await probe.refresh()
        assert set(requests.paths()) == BRIEF_PATHS | FULL_ONLY, requests.paths()
        assert not probe.snapshot.api.brief and len(probe.snapshot.api.nodes) >= 3
        requests.clear()
        probe.detailed = False
        await wall.refresh()
        assert set(requests.paths()) == BRIEF_PATHS, requests.paths()
    finally:
        await wall.close()


async def test_pilot_opened_cluster_gets_the_full_look_then_brief_again(requests):
    from screens.wall import ClusterStatusScreen, WallApp, WallScreen, WallTable
    from tui.widgets.panel import InfoPanel

    app = WallApp(Wall(fleet=DrillFleet(1), timeout=60), interval=600)
    async with app.run_test(size=(160, 40)) as pilot:
        try:
            await wait_until(pilot, lambda: app.rows is not None and len(app.rows) == 1,
                             timeout=60, what="the wall's first look")
            (probe,) = app.wall.probes
            assert probe.snapshot.api.brief
            assert NODES not in requests.paths()
            # the full look's nodes wait until released: the screen shows the brief look
            requests.hold = NODES
            app.screen.query_one(WallTable).focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ClusterStatusScreen),
                             what="the status screen")
            status = app.screen

            def nodes_text() -> str:
                return status.query_one("#nodes", InfoPanel)._text or ""

            await wait_until(pilot, lambda: requests.held >= 1,
                             what="the full look's nodes request")
            await wait_until(pilot,
                             lambda: "not read yet (the wall's brief look)" in nodes_text(),
                             what="the nodes panel's 'not read yet'")
            requests.release.set()
            await wait_until(pilot, lambda: "3/3 Ready" in nodes_text(), timeout=20,
                             what="'3/3 Ready' in the nodes panel")
            assert not app.snapshot.api.brief and probe.detailed is True
            assert "master-0: Ready" in nodes_text()
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, WallScreen), what="the wall")
            requests.clear()
            looked = app.looked_at
            await pilot.press("r")  # the wall's next look: brief again
            await wait_until(pilot, lambda: app.looked_at != looked, timeout=30,
                             what="the wall's next look")
            assert set(requests.paths()) == BRIEF_PATHS, requests.paths()
            assert probe.detailed is False and probe.snapshot.api.brief
            await pilot.press("q")
        finally:  # a held request would keep the labs' servers from stopping
            requests.release.set()
