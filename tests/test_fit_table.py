"""FitTable gives way on narrow screens by wrapping its flexible columns, at word breaks."""

from __future__ import annotations

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
