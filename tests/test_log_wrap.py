"""The log panes' `w`: long lines wrapped (a long command whole, continuation rows indented)
or one row each, scrolled sideways; wrapped again at a new width; never a secret, whole or in
parts, because lines are redacted before they are cut into rows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from tests.conftest import populated, wait_until
from tui import secrets
from tui.backend import BackendSpec
from tui.widgets.redacted_log import CONTINUED, fold

LONG = ("$ sudo -n sh -c 'crictl exec \"$(crictl ps --name '\"'\"'^etcdctl$'\"'\"' --state "
        "running -q | head -n 1)\" env -u ETCDCTL_ENDPOINTS etcdctl --endpoints="
        "https://127.0.3.2:2379 --command-timeout=194s defrag'")


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=300),
                      max_size=5),
       width=st.integers(min_value=12, max_value=200))
def test_fold_keeps_every_character_in_rows_that_fit(lines, width):
    rows = fold(lines, width)
    assert all(cell_len(row) <= width for row in rows)
    # each line is its first row and its continuation rows, without their indent
    again, i = [], 0
    for line in lines:
        text = rows[i]
        i += 1
        while i < len(rows) and len(text) < len(line) and rows[i].startswith(CONTINUED):
            text += rows[i][len(CONTINUED):]
            i += 1
        again.append(text)
    assert again == lines and i == len(rows)


def test_a_short_line_is_one_row_and_a_tab_is_spaces():
    assert fold(["ok", "a\tb"], 20) == ["ok", "a       b"]


@pytest.fixture
def clean_registry():
    secrets.forget_all()
    yield
    secrets.forget_all()


async def test_w_wraps_every_pane_and_w_again_gives_one_row_each(clean_registry):
    from textual.notifications import Notify

    from screens.status import StatusScreen
    from tui.app import make_app

    app = make_app(BackendSpec(scenario="healthy-4.20"), refresh_interval=3600)
    said: list[str] = []

    def hook(message) -> None:
        if isinstance(message, Notify):
            said.append(message.notification.message)

    async with app.run_test(size=(160, 50), message_hook=hook) as pilot:
        await wait_until(pilot, lambda: populated(app) and isinstance(app.screen, StatusScreen),
                         what="the status view")
        pane = app.screen.query_one("#log-master-0")
        other = app.screen.query_one("#log-master-1")
        pane.write_lines([LONG, "short"])
        width = pane.scrollable_content_region.width
        assert cell_len(LONG) > width  # a pane of a third of the screen cannot show it whole
        assert list(pane.lines)[-2:] == [LONG, "short"]
        await wait_until(pilot, lambda: pane.virtual_size.width >= len(LONG),
                         what="one row each: the pane scrolls sideways")

        await pilot.press("w")
        await wait_until(pilot, lambda: pane.wrapping and other.wrapping, what="wrapping")
        rows = list(pane.lines)
        at = rows.index(LONG[:width])
        tail = [r for r in rows[at + 1:] if r.startswith(CONTINUED)]
        assert LONG[:width] + "".join(r[len(CONTINUED):] for r in tail) == LONG
        assert rows[at + 1 + len(tail)] == "short"
        assert all(cell_len(r) <= width for r in rows)
        assert pane.virtual_size.width <= width  # nothing to scroll sideways
        assert any("wrap long lines" in text for text in said), said  # it says what it did

        # a secret where a row is cut: redacted before, so no part of it is in any row
        secret = "s3cr3t-T0KEN-abcdefghijklmnop"
        secrets.register(secret)
        pane.write_lines(["x" * (width - 10) + secret + " and more"])
        await pilot.pause()
        for part in (secret, secret[:10], secret[-10:]):
            assert all(part not in row for row in pane.lines), list(pane.lines)[-3:]

        # a new width: the rows are made again for it
        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: pane.scrollable_content_region.width != width,
                         what="the resize")
        narrower = pane.scrollable_content_region.width
        await wait_until(pilot, lambda: all(cell_len(r) <= narrower for r in pane.lines)
                         and LONG[:narrower] in pane.lines, what="the rows wrapped again")

        await pilot.press("w")
        await wait_until(pilot, lambda: not pane.wrapping, what="one row each")
        rows = list(pane.lines)
        assert rows[rows.index(LONG) + 1] == "short"
        assert LONG[:width] not in rows  # no wrapped row is left
