"""The row-cursor line cache (tui/widgets/row_cursor_cache.py) never shows a stale line.

On the readiness wall's table, random cursor moves (arrow keys, jumps, scrolling past the
bottom), hover moves, focus changes and cell updates: after each, every visible line as the
cache gives it equals the line rendered from nothing (every DataTable cache cleared). And a
move renders only the rows it changes: the point of the cache.
"""

from __future__ import annotations

import random

from textual.app import App
from textual.coordinate import Coordinate
from textual.widgets import Input

from screens.wall import WallTable
from tui.wall.readiness import ClusterReadiness
from tui.widgets.row_cursor_cache import RowCursorLineCache

VERDICTS = ("ready", "at-risk", "degraded", "down")


def rows(n: int, salt: int = 0) -> list[ClusterReadiness]:
    return [ClusterReadiness(f"cluster-{i:03d}", VERDICTS[(i + salt) % 4],
                             (f"reason {i} {salt}: a few words to wrap " * (i % 3),),
                             "4.16.3", 3 - (i + salt) % 2, 3, f"master-{i % 3}",
                             180_000_000 + i * salt, 0.12, (), "identity", None,
                             source=f"/x/c{i}.yaml") for i in range(n)]


def screen_lines(table) -> list[list]:
    return [list(table.render_line(y)) for y in range(table.size.height)]


def fresh_lines(table) -> list[list]:
    table._clear_caches()
    return screen_lines(table)


class _App(App):
    def compose(self):
        yield WallTable()
        yield Input()


async def test_every_line_the_cache_gives_is_the_line_rendered_afresh():
    rng = random.Random(7)
    app = _App()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(WallTable)
        assert isinstance(table._line_cache, RowCursorLineCache)
        table.show(rows(60))
        table.focus()
        await pilot.pause()
        for step in range(30):
            action = rng.choice(("down", "up", "pagedown", "home", "end", "jump", "hover",
                                 "update", "focus"))
            if action in ("down", "up", "pagedown", "home", "end"):
                await pilot.press(action)
            elif action == "jump":
                table.move_cursor(row=rng.randrange(60))
            elif action == "hover":
                table.hover_coordinate = Coordinate(rng.randrange(-1, 60), 0)
            elif action == "update":
                table.show(rows(60, salt=step))
            else:
                (app.query_one(Input) if table.has_focus else table).focus()
            await pilot.pause()
            cached = screen_lines(table)
            assert cached == fresh_lines(table), f"step {step}: {action}"


async def test_a_cursor_move_renders_only_the_rows_it_changes():
    app = _App()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(WallTable)
        table.show(rows(10))
        table.focus()
        await pilot.pause()
        screen_lines(table)
        rendered = []
        real = table._render_line_in_row

        def counting(row_key, *args, **kw):
            rendered.append(row_key)
            return real(row_key, *args, **kw)

        table._render_line_in_row = counting
        await pilot.press("down")
        screen_lines(table)
        # the row the cursor left and the row it reached (each of their lines), no other
        assert len(set(rendered)) == 2, rendered
