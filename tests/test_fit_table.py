"""FitTable gives way on narrow screens by wrapping its flexible columns, at word breaks."""

from __future__ import annotations

from functools import partial

from textual.app import App, ComposeResult

from tui.widgets.fit_table import FitTable

DETAIL = "runs on every control-plane host but the recovery host"


class OneTable(App):
    def compose(self) -> ComposeResult:
        yield FitTable(id="t", flex=("detail", "hosts"))

    def on_mount(self) -> None:
        table = self.query_one(FitTable)
        table.add_column("STEP", key="step")
        table.add_column("HOSTS", key="hosts")
        table.add_column("DETAIL", key="detail")
        table.add_row("RST-04", "master-0, master-1, master-2", DETAIL)


def drawn_detail(table: FitTable) -> list[str]:
    """The DETAIL column's lines as the table draws them."""
    start = sum(c.get_render_width(table) for c in table.ordered_columns[:2])
    end = start + table.columns["detail"].get_render_width(table)
    height = table.rows[next(iter(table.rows))].height
    return [table.render_line(y).text[start:end].strip() for y in range(1, height + 1)]


async def test_a_narrow_column_wraps_between_words_not_inside_one():
    app = OneTable()
    async with app.run_test(size=(52, 12)) as pilot:
        await pilot.pause()
        await pilot.pause()
        table = app.query_one(FitTable)
        column = table.columns["detail"]
        assert not column.auto_width and column.width < len(DETAIL)  # it gave way
        # not below its longest word: HOSTS, the next column to give way, gave some
        assert column.width >= len("control-plane")
        assert table.columns["hosts"].width < len("master-0, master-1, master-2")
        # the whole table is on the screen: nothing to scroll sideways to
        assert sum(c.get_render_width(table) for c in table.ordered_columns) <= \
            table.scrollable_content_region.width
        lines = drawn_detail(table)
        assert " ".join(lines).split() == DETAIL.split(), lines  # no word cut in two
        assert len(lines) > 1


class ManyRows(App):
    def compose(self) -> ComposeResult:
        yield FitTable(id="t", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(FitTable)
        table.add_column("N", key="n")
        table.add_column("WHAT", key="what")
        for i in range(40):
            table.add_row(str(i), f"row {i}", key=str(i))


async def test_a_moved_row_cursor_draws_two_rows_again_not_the_screen(monkeypatch):
    """(a key held on the wall's hundred rows drew every row at every key: the console's
    busiest work during refreshes). What is drawn is the same as the stock table's."""
    from textual.widgets import DataTable

    import tests.conftest as conftest
    from textual.screen import Screen

    if hasattr(conftest, "_paint"):  # painted as the app would (test pilots do not paint)
        monkeypatch.setattr(Screen, "_compositor_refresh", conftest._paint)
    app = ManyRows()
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(FitTable)
        table.focus()
        await pilot.pause()
        drawn: list[int] = []
        real = table._get_row_style
        table._get_row_style = lambda row_index, style: (drawn.append(row_index),
                                                         real(row_index, style))[1]
        table.move_cursor(row=3)
        await pilot.pause()
        assert set(drawn) <= {0, 3}, sorted(set(drawn))
        drawn.clear()
        table.move_cursor(row=25)  # scrolled: the rows newly on the screen, and 3 and 25
        await pilot.pause()
        assert table.scroll_y > 0
        on_screen_before = set(range(int(table.scroll_y), 18))  # rows 0-17 were on screen
        assert drawn and not on_screen_before & set(drawn), sorted(set(drawn))
        ours = [list(table.render_line(y)) for y in range(table.size.height)]
        # the stock table's drawing of the same lines (text and styles), its caches cleared
        table._render_line_in_row = partial(DataTable._render_line_in_row, table)
        table._line_cache.clear()
        table._row_render_cache.clear()
        stock = [list(table.render_line(y)) for y in range(table.size.height)]
        assert ours == stock and any(s.style and s.style.bgcolor for line in ours for s in line)
