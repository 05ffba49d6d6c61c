"""A Static that ignores being told what it already shows.

Screens refresh their texts on every run event, snapshot and clock tick, and most of those
calls hand a label the words it already has. Textual's Static lays the whole screen out
again after every update (it cannot know the size did not change), and on the restore
screen those layouts were a sixth of a drill's CPU (bench/RESULTS.md, 2026-12-04). An
update with the same content at the same width is skipped here. An update whose lines are
as many and each as wide as before, none of them wrapped (a clock's next second, a count's
next value), repaints without a layout: the widget's size cannot change. Anything else is
shown as Static shows it.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


def same_content(new, old) -> bool:
    """Whether `new` draws exactly as `old`: equal strings, or Rich Texts with equal text,
    spans and style. Anything else (a Content, a table) counts as new."""
    if isinstance(new, str) and isinstance(old, str):
        return new == old
    if isinstance(new, Text) and isinstance(old, Text):
        return (new.plain == old.plain and new.spans == old.spans and new.style == old.style
                and new.justify == old.justify and new.no_wrap == old.no_wrap
                and new.overflow == old.overflow and new.end == old.end)
    return False


def _lines(content) -> list[str] | None:
    """The lines `content` shows, where that is plain: a Rich Text, or a string without
    markup. None for anything else (a Content, a table, a string with [markup])."""
    if isinstance(content, Text):
        return content.plain.split("\n")
    if isinstance(content, str) and "[" not in content:
        return content.split("\n")
    return None


def same_shape(new, old, width: int) -> bool:
    """Whether `new` takes exactly the room `old` took in `width` cells: as many lines, each
    as wide, none wider than the width (so nothing wraps, in either)."""
    if width <= 0:
        return False
    a, b = _lines(new), _lines(old)
    if a is None or b is None or len(a) != len(b):
        return False
    return all(cell_len(x) == cell_len(y) <= width for x, y in zip(a, b))


class SteadyStatic(Static):
    """Skips an update that changes nothing (the same content at the same width) and lays
    out none that keeps the size. After a resize the first two updates are made as Static
    makes them."""

    _steady_width: int | None = None
    _steady_updates = 0  # updates made at that width

    def update(self, content="", *, layout: bool = True) -> None:
        width = self.content_region.width
        if width != self._steady_width:
            self._steady_width, self._steady_updates = width, 0
        # the first two updates at a width are made as Static makes them: a docked
        # auto-height widget (the drill strip) takes its height for a new width from the
        # second layout, and kept the old one when that was skipped
        if self._steady_updates >= 2:
            if same_content(content, self.content):
                return
            if same_shape(content, self.content, width):
                layout = False  # only the words changed, not the size: repaint it
        self._steady_updates += 1
        super().update(content, layout=layout)
