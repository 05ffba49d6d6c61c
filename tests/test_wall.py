"""The readiness wall on drill fleets: `etcd-dr wall --json` (in-process fleet and `lab serve
--clusters` children), its read-only promise, and the Textual wall driven by a pilot."""

from __future__ import annotations

import gc
import json
import signal
import subprocess
import sys
import time

from tests.cli_runner import run_cli
from tests.conftest import wait_until
from tui.drill.fleetlab import FLEET_PLAN, DrillFleet, fleet_plan
from tui.fleet.batch import Batch, commands_of
from tui.fleet.readonly import refusal
from tui.wall.backups import planned_commands
from tui.wall.probe import Wall
from tui.wall.readiness import SEVERITY

CONTRACT_KEYS = {"name", "version", "verdict", "members", "leader", "db_size_max",
                 "fragmentation_max", "alarms", "encryption", "backup"}
BACKUP_KEYS = {"newest", "age_s", "host", "verified", "encryption_config"}


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _check_contract(rows: list[dict]) -> None:
    for row in rows:
        assert CONTRACT_KEYS <= set(row), row
        assert set(row["members"]) >= {"up", "total"}
        assert BACKUP_KEYS <= set(row["backup"])
        assert row["verdict"] in SEVERITY
        assert isinstance(row["alarms"], list) or row["alarms"] is None
    ranks = [SEVERITY[r["verdict"]] for r in rows]
    assert ranks == sorted(ranks), "worst first"


def test_the_fleet_plan_is_mixed_and_deterministic():
    plan = fleet_plan(30)
    assert plan == fleet_plan(30)
    assert len({m.address_base for m in plan}) == 30
    assert {"recent", "old", "none"} <= {m.backup for m in plan}
    assert len({m.scenario for m in plan}) == len({s for s, _ in FLEET_PLAN}) > 5
    assert len({m.name for m in plan}) == 30


def test_wall_drill_json_one_line_per_cluster_worst_first():
    r = run_cli("wall", "--drill", "--clusters", "6", "--json", timeout=120)
    assert r.returncode == 1, r.stderr  # not every cluster is ready
    rows = _lines(r.stdout)
    assert len(rows) == 6 and len({row["name"] for row in rows}) == 6
    _check_contract(rows)
    by_name = {row["name"]: row for row in rows}
    ready = by_name["drill-00-healthy-4.20"]
    assert ready["verdict"] == "ready", ready["reasons"]
    assert ready["members"] == {"up": 3, "total": 3} and ready["leader"] == "master-2"
    assert ready["backup"]["verified"] is True and ready["backup"]["host"] == "master-0"
    assert 0 < ready["backup"]["age_s"] < 24 * 3600
    missing = by_name["drill-01-healthy"]
    assert missing["verdict"] == "at-risk" and missing["backup"]["newest"] is None
    assert any("no backup" in reason for reason in missing["reasons"])
    old = by_name["drill-02-healthy-4.20"]
    assert old["verdict"] == "at-risk" and old["backup"]["age_s"] > 3 * 24 * 3600
    assert any("old (over 24h00m)" in reason for reason in old["reasons"])
    assert by_name["drill-03-host-down"]["verdict"] == "degraded"
    assert by_name["drill-03-host-down"]["members"] == {"up": 2, "total": 3}
    nospace = by_name["drill-04-nospace"]
    assert nospace["verdict"] == "at-risk"
    assert {"alarm": "NOSPACE", "member": "master-0"} in nospace["alarms"]


def test_wall_bad_input_exits_2_with_a_message(tmp_path):
    for args in (["wall", "--json"], ["wall", str(tmp_path / "nothing"), "--json"],
                 ["wall", str(tmp_path), "--json"], ["wall", str(tmp_path), "--drill"],
                 ["wall", str(tmp_path), "--clusters", "3"],
                 ["wall", "--drill", "--backup-dir", "relative/dir", "--json"],
                 ["lab", "serve", "--clusters", "3"],
                 ["lab", "serve", "--inventory-dir", str(tmp_path)],
                 ["lab", "serve", "--clusters", "3", "--inventory-dir", str(tmp_path),
                  "--scenario", "healthy"],
                 ["lab", "serve"]):
        r = run_cli(*args, timeout=30)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("etcd-dr: ") and "Traceback" not in r.stderr


def test_wall_over_inventories_written_by_lab_serve_children(tmp_path):
    """A fleet served by another process (as the benchmark does), read by `wall DIR`; a
    broken inventory beside them is a row of its own, not the end of the wall; and the
    backup `etcd-dr run backup` takes is what the wall then finds, verified."""
    fleet_dir = tmp_path / "fleet"
    lab = subprocess.Popen([sys.executable, "-m", "tui.cli", "lab", "serve", "--clusters", "3",
                            "--inventory-dir", str(fleet_dir)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(list(fleet_dir.glob("*.yaml"))) < 3:
            assert lab.poll() is None, lab.stderr.read()
            assert time.monotonic() < deadline, "lab serve --clusters wrote no inventories"
            time.sleep(0.1)
        (fleet_dir / "zz-broken.yml").write_text("cluster: {}\nhosts: []\n")
        r = run_cli("wall", str(fleet_dir), "--json", timeout=120)
        # the nightly job backs up the cluster that had none: the wall finds it ready
        backup = run_cli("run", "backup", "--inventory", fleet_dir / "drill-01-healthy.yaml",
                         "--keep", "3", "--yes", timeout=120)
        assert backup.returncode == 0, backup.stdout + backup.stderr
        after = run_cli("wall", fleet_dir / "drill-01-healthy.yaml", "--json", timeout=120)
    finally:
        lab.send_signal(signal.SIGINT)
        lab.wait(timeout=30)
    assert lab.returncode == 0
    rows = _lines(r.stdout)
    assert r.returncode == 1, r.stderr
    _check_contract(rows)
    assert [row["name"] for row in rows] == ["zz-broken", "drill-01-healthy",
                                             "drill-02-healthy-4.20", "drill-00-healthy-4.20"]
    assert rows[0]["verdict"] == "down" and "inventory" in rows[0]["reasons"][0]
    assert [row["verdict"] for row in rows[1:]] == ["at-risk", "at-risk", "ready"]
    assert all(row["drill"] for row in rows[1:])
    (backed_up,) = _lines(after.stdout)
    assert after.returncode == 0 and backed_up["verdict"] == "ready", backed_up["reasons"]
    assert backed_up["backup"]["verified"] is True and backed_up["backup"]["age_s"] < 600
    assert backed_up["backup"]["verified_by"] == "etcd-dr manifest"  # the drill's gap


async def test_the_wall_sends_only_read_only_commands_through_read_only_backends(monkeypatch):
    """Every command any probe sends (status and backups), as sent, is in the read-only
    grammar; and the backends themselves are read-only, so the fleet would refuse the rest."""
    from tui.fleet.fleet import Fleet

    for command in planned_commands("/var/backups/etcd"):
        assert refusal(command) is None, command
    sent = []
    real = Fleet.run_one

    async def recording(self, host, command, *args, **kw):
        sent.append(command)
        return await real(self, host, command, *args, **kw)

    monkeypatch.setattr(Fleet, "run_one", recording)
    wall = Wall(fleet=DrillFleet(3), timeout=60)
    try:
        await wall.start()
        for probe in wall.probes:
            assert probe.backend.read_only and probe.backend.spec.read_only
        rows = await wall.refresh()
        for probe in wall.probes:
            assert probe.backend.fleet.read_only and probe.backend.api.read_only
    finally:
        await wall.close()
    assert [r.verdict for r in rows] == ["at-risk", "at-risk", "ready"]
    assert all(refusal(c) is None for c in sent), [c for c in sent if refusal(c) is not None]
    assert any(isinstance(c, Batch) for c in sent)  # the status look's three reads
    sent = [part for c in sent for part in commands_of(c)]
    programs = {c.stages[0][0].rsplit("/", 1)[-1] for c in sent if c.prefix is None}
    assert {"ls", "date", "stat", "tar", "cat"} <= programs
    assert any(c.prefix is not None for c in sent)  # the status's etcdctl
    assert all(refusal(c) is None for c in sent), [c for c in sent if refusal(c) is not None]


async def test_a_look_lists_the_status_hosts_backups_in_its_batch(monkeypatch):
    """Each look at a cluster: one batch on the host the members are read from, carrying
    that host's backup listing after the three member reads, and one `ls` on each other
    host; nothing else once the newest pair has been checked (three SSH channels a look,
    not four)."""
    from tui.fleet.fleet import Fleet

    calls = []
    real = Fleet.run_one

    async def recording(self, host, command, *args, **kw):
        calls.append((host, command))
        return await real(self, host, command, *args, **kw)

    monkeypatch.setattr(Fleet, "run_one", recording)
    wall = Wall(fleet=DrillFleet(1), timeout=60)
    try:
        await wall.refresh()  # connects, and checks the newest pair once
        calls.clear()
        [row] = await wall.refresh()
    finally:
        await wall.close()

    [(status_host, batch)] = [(h, c) for h, c in calls if isinstance(c, Batch)]
    parts = commands_of(batch)
    assert len(parts) == 4 and parts[-1].stages[0][0] == "ls", parts
    alone = sorted((h, c.stages[0][0]) for h, c in calls if not isinstance(c, Batch))
    assert alone == [(h, "ls") for h in ("master-0", "master-1", "master-2")
                     if h != status_host]
    assert row.backup is not None and row.backup.listed == ("master-0", "master-1", "master-2")
    assert row.verdict == "ready" and row.backup.newest


async def test_pilot_rows_appear_worst_first_enter_opens_status_escape_returns():
    from screens.wall import ClusterStatusScreen, WallApp, WallScreen, WallTable
    from tui.widgets.members import MembersTable

    app = WallApp(Wall(fleet=DrillFleet(3), timeout=60), interval=30)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: app.rows is not None and len(app.rows) == 3,
                         timeout=60, what="the wall's first look")
        # what lives as long as the wall is kept out of the full collections that paused
        # keys for 65-85 ms at 100 clusters (bench/wall.py)
        await wait_until(pilot, lambda: gc.get_freeze_count() > 0, what="gc.freeze()")
        table = app.screen.query_one(WallTable)
        assert table.row_count == 3
        verdicts = [str(table.get_row_at(i)[0]).strip() for i in range(3)]
        assert verdicts == ["at-risk", "at-risk", "ready"]
        keys = {b.key: b.description for _, b, enabled, _ in
                app.screen.active_bindings.values() if b.show and enabled}
        assert keys.get("enter") == "Open status" and "question_mark" in keys and "q" in keys
        head = str(app.screen.query_one("#wall-head").render())
        assert "3 clusters: 2 at-risk, 1 ready" in head and "read-only" in head
        table.focus()
        table.move_cursor(row=2)
        await pilot.pause()
        assert "drill-00-healthy-4.20" in str(app.screen.query_one("#wall-reasons").render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ClusterStatusScreen),
                         what="the status screen")
        status = app.screen
        await wait_until(pilot, lambda: status.query_one(MembersTable).row_count == 3,
                         what="the members of the opened cluster")
        assert app.backend.read_only
        assert app.backend.inventory.cluster_name == "drill-00-healthy-4.20"
        banner = str(status.query_one("#banner").render())
        # a drill served elsewhere: its scenario is not known here, and not shown as "?"
        assert "DRILL // drill-00-healthy-4.20 // simulated, not a real cluster" in banner
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, WallScreen), what="the wall")
        assert app.backend is None
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "WallHelpScreen",
                         what="help")
        assert "status screen (read-only)" in app.screen.query_one("Markdown").source
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, WallScreen), what="the wall")
        await pilot.press("q")
    assert app.return_code in (0, None)
    assert gc.get_freeze_count() == 0  # handed back to the collector when the wall ended


async def test_a_cluster_that_hangs_is_a_row_of_its_own_and_the_wall_goes_on(tmp_path):
    """A host that accepts TCP but never says a word (an SSH server wedged): that cluster's
    look ends at the wall's time limit as a `down` row that says so; the others are looked
    at meanwhile, and the next look tries it afresh."""
    import socket

    wedged = socket.socket()
    wedged.bind(("127.0.0.1", 0))
    wedged.listen(8)  # never accepted: the kernel completes the handshake, nobody speaks
    port = wedged.getsockname()[1]
    (tmp_path / "known_hosts").write_text("")
    inventory = tmp_path / "wedged.yaml"
    inventory.write_text(
        "cluster: {name: wedged}\n"
        f"ssh: {{known_hosts: {tmp_path / 'known_hosts'}, connect_timeout: 30s}}\n"
        f"hosts:\n  - {{name: master-0, address: 127.0.0.1, port: {port}}}\n")
    wall = Wall([str(inventory)], fleet=DrillFleet(1), timeout=60)
    try:
        await wall.start()
        hanging = wall.probe_for(str(inventory))
        hanging.timeout = 1.0
        started = time.monotonic()
        rows = await wall.refresh()
        assert time.monotonic() - started < 30
        by_name = {r.name: r for r in rows}
        assert by_name["wedged"].verdict == "down"
        assert by_name["wedged"].reasons[0] == "no status: no answer within 1s"
        assert by_name["drill-00-healthy-4.20"].verdict == "ready"
        assert [r.name for r in rows] == ["wedged", "drill-00-healthy-4.20"]
        first = hanging.backend
        rows = await wall.refresh()  # tried again, with a backend of its own
        assert hanging.backend is not first
        assert {r.name: r.verdict for r in rows} == {"wedged": "down",
                                                     "drill-00-healthy-4.20": "ready"}
    finally:
        await wall.close()
        wedged.close()
