"""Defects of issue #14 in the restore wizard, as the operator sees them: the step panel
follows the recovery host at once, and RST-19's panel and confirmation name one
forceRedeploymentReason."""

from __future__ import annotations

import re

import pytest
from textual.widgets import DataTable

from tests.conftest import answer_confirmation, populated, wait_until

pytest.importorskip("tui.runbooks.restore", reason="the restore runbooks are not built yet")


async def _open(app, pilot):
    await wait_until(pilot, lambda: populated(app), what="first snapshot")
    await pilot.press("R")
    await wait_until(pilot, lambda: app.current_mode == "restore", what="the restore wizard")
    return app.screen


async def _checked(pilot, screen, timeout=30):
    await wait_until(pilot, lambda: screen.report is not None and not screen.checking
                     and not screen.report.lost_wait and not screen._preflight_busy,
                     timeout=timeout, what=f"the preflight ({screen.preflight_error})")
    await pilot.pause()


def _panel(screen) -> str:
    return str(screen.query_one("#step-detail").render())


async def test_the_rst_01_panel_names_the_new_recovery_host_at_once(drill_app):
    app = drill_app("healthy", speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        await _checked(pilot, screen)
        first = screen.recovery_host
        assert screen._shown_step() == "RST-01"
        assert f"[{first}]" in _panel(screen), _panel(screen)
        # one wording (issue 14 item 3): the panel says the step as the dry run prints it
        for line in screen.restore_plan.step("RST-01").lines():
            assert line.strip() in _panel(screen), (line, _panel(screen))
        table = screen.query_one("#candidates", DataTable)
        other = next(table.get_row_at(i)[1] for i in range(table.row_count)
                     if table.get_row_at(i)[1] != first)
        table.focus()
        table.move_cursor(row=table.get_row_index(other))
        await pilot.press("enter")
        await pilot.pause()
        # at once, before the re-check for it ends, and with the cursor still on RST-01
        assert screen.recovery_host == other
        assert screen._shown_step() == "RST-01"
        assert f"[{other}]" in _panel(screen) and f"[{first}]" not in _panel(screen)
        # and after the re-check for the new host
        await wait_until(pilot, lambda: screen.report is not None and not screen.checking
                         and screen.report.recovery_host == other, timeout=30,
                         what=f"the preflight for {other}")
        await pilot.pause()
        assert f"[{other}]" in _panel(screen), _panel(screen)


_REASON = re.compile(r"recovery-\d{14}")


async def test_rst_19_panel_and_confirmation_name_the_runs_redeployment_reason(drill_app):
    app = drill_app("lost-two-hosts", speed=600)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open(app, pilot)
        await _checked(pilot, screen)
        assert screen.start_blocked() is None
        planned = _REASON.findall(" ".join(
            c for cs in screen.planned["RST-19"].commands.values() for c in cs))
        assert planned, screen.planned["RST-19"]
        # the run stamps its own reason when it starts: a second later than the plan shown
        await pilot.pause(1.1)
        await pilot.press("g")
        while True:
            await wait_until(pilot, lambda: type(app.screen).__name__ in (
                "ConfirmStepScreen", "FailureScreen"), timeout=120,
                what="the RST-19 confirmation")
            assert type(app.screen).__name__ == "ConfirmStepScreen", app.screen.error
            # RST-19 is confirmed with its phase (RST-17 asks for RST-17, RST-19, RST-23)
            if "RST-19" in (app.screen.request.step.id, *app.screen.request.covers):
                break
            await answer_confirmation(app, pilot)
        asked = set(_REASON.findall(" ".join(app.screen.request.commands)))
        assert len(asked) == 1, app.screen.request.commands
        table = screen.query_one("#steps", DataTable)
        table.move_cursor(row=table.get_row_index("RST-19"))
        await pilot.pause()
        assert screen._shown_step() == "RST-19"
        shown = set(_REASON.findall(_panel(screen)))
        assert shown == asked, (_panel(screen), asked)
        # the run sends what both said
        await answer_confirmation(app, pilot)
        await wait_until(pilot, lambda: screen._step_state["RST-19"] in ("done", "failed"),
                         timeout=60, what="RST-19 to end")
        etcd = app.backend.lab.cluster.api.operators["etcds"]
        assert etcd.spec.get("forceRedeploymentReason") == asked.pop()
