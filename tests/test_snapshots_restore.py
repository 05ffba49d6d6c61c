"""Snapshot tests of the restore wizard's setup phase at two terminal sizes, fixed clocks.

Regenerate after an intended change with
`pytest tests/test_snapshots_restore.py --snapshot-update` and review the SVGs in
tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from tests.conftest import FIXED_NOW, populated, wait_until
from tui.app import make_app
from tui.backend import BackendSpec

pytest.importorskip("tui.runbooks.restore", reason="the restore runbooks are not built yet")


class _FixedDatetime(datetime):
    """The drill's simulated clock starts at "now" (backup names carry it): a fixed now."""

    @classmethod
    def now(cls, tz=None):
        return datetime.fromtimestamp(FIXED_NOW, tz or timezone.utc)


@pytest.fixture
def fixed_dates(monkeypatch):
    import tui.drill.model
    import tui.runbooks.restore.common
    import tui.runbooks.restore.preflight

    monkeypatch.setattr(tui.drill.model, "datetime", _FixedDatetime)
    monkeypatch.setattr(tui.runbooks.restore.common, "datetime", _FixedDatetime)
    monkeypatch.setattr(tui.runbooks.restore.preflight, "datetime", _FixedDatetime)


def _app():
    return make_app(BackendSpec(scenario="lost-two-hosts", frozen_clock=True),
                    refresh_interval=3600, clock=lambda: FIXED_NOW)


async def _setup_ready(pilot):
    app = pilot.app
    await wait_until(pilot, lambda: populated(app), what="first snapshot")
    await pilot.press("R")
    await wait_until(pilot, lambda: app.current_mode == "restore", what="the wizard")
    screen = app.screen
    await wait_until(pilot, lambda: screen.report is not None and not screen.checking,
                     timeout=30, what="the preflight")
    # lost only on evidence: the refusing hosts are confirmed lost (a fixed text, where the
    # refusals' duration would vary from run to run)
    screen.confirmed_lost = {"master-1": "drill: the machine is gone",
                             "master-2": "drill: the machine is gone"}
    screen.action_recheck()
    await wait_until(pilot, lambda: screen.lost_hosts == ["master-1", "master-2"]
                     and not screen.checking, timeout=30, what="the hosts confirmed lost")
    # the preflight names the drill API's port and the recovery host's key, new on every
    # run: fixed text in their place
    screen.report.items = [replace(i, detail=_fixed(i.detail)) for i in screen.report.items]
    screen._show_preflight_table()
    screen.query_one("#run-log").scroll_home(animate=False)
    await pilot.pause(0.2)
    await pilot.pause()


def _fixed(detail: str) -> str:
    detail = re.sub(r"127\.0\.3\.250:\d+", "127.0.3.250:6443", detail)
    return re.sub(r"SHA256:[A-Za-z0-9+/=]+", "SHA256:(the drill host's key)", detail)


@pytest.mark.parametrize("size", [(120, 40), (200, 60)])
def test_restore_wizard_setup(snap_compare, fixed_dates, size, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert snap_compare(_app(), terminal_size=size, run_before=_setup_ready)
