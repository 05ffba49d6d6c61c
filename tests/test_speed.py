"""Time acceleration is visible (issue #7 item 6): the drill banner shows the clock's factor,
and a drill's journal says at what speed it was lived."""

from __future__ import annotations

import pytest

from tests.conftest import populated, wait_until
from tui.backend import BackendSpec
from tui.journal import Journal, read_journal, stamp_runbook_lines
from tui.widgets.banner import ClusterBanner


@pytest.fixture(autouse=True)
def own_stamps(monkeypatch):
    """These tests see only the stamps they make (a backend another test left open would
    stamp this process's journals too)."""
    import tui.journal

    monkeypatch.setattr(tui.journal, "_stamps", [])


def banner_text(app) -> str:
    return str(app.screen.query_one(ClusterBanner).content)


@pytest.mark.parametrize("speed, shown", [(600, "time x600"), (2.5, "time x2.5")])
async def test_the_drill_banner_shows_the_speed_factor(drill_app, speed, shown):
    app = drill_app("healthy", speed=speed)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="status")
        await wait_until(pilot, lambda: "healthy" in banner_text(app), what="banner")
        text = banner_text(app)
        assert text.startswith("DRILL // ") and shown in text
        # the runbook screens carry the same banner
        await app.switch_mode("backup")
        await pilot.pause()
        assert shown in banner_text(app)


async def test_a_real_time_drill_shows_no_factor(drill_app):
    app = drill_app("healthy")
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="status")
        await wait_until(pilot, lambda: "healthy" in banner_text(app), what="banner")
        assert " x" not in banner_text(app)


async def test_a_drill_runbook_journal_carries_speed_on_its_planned_line(tmp_path):
    from tui.runbooks.headless import run_headless

    journal = tmp_path / "backup.jsonl"
    code = await run_headless("backup", BackendSpec(scenario="healthy", speed=300),
                              {"host": None, "backup_dir": "/home/core/assets/backup"},
                              yes=True, journal_path=str(journal), dry_run=False,
                              out=open(tmp_path / "out.txt", "w"))
    assert code == 0
    records = read_journal(journal)
    planned = next(r for r in records if r["step"] == "-" and r["event"] == "planned")
    assert planned["speed"] == 300 and planned["scenario"] == "healthy"
    # only the runbook-level planned line: step lines stay as they were
    assert all("speed" not in r for r in records if r is not planned)
    # the stamp ends with the backend: a later journal of this process carries none
    with Journal(tmp_path / "later.jsonl", "backup") as later:
        later.write("-", "planned", params={})
    assert "speed" not in read_journal(tmp_path / "later.jsonl")[0]


def test_stamps_go_on_planned_and_resumed_lines_only_until_undone(tmp_path):
    undo = stamp_runbook_lines(speed=60.0, scenario="nospace")
    try:
        with Journal(tmp_path / "j.jsonl", "defrag") as j:
            planned = j.write("-", "planned", params={})
            started = j.write("DEF-MAN-1", "started", ["master-0"])
            resumed = j.write("-", "resumed", params={})
            finished = j.write("-", "finished")
    finally:
        undo()
    assert planned["speed"] == 60.0 and resumed["scenario"] == "nospace"
    assert "speed" not in started and "speed" not in finished
    undo()  # twice is harmless
    with Journal(tmp_path / "k.jsonl", "defrag") as j:
        assert "speed" not in j.write("-", "planned", params={})
