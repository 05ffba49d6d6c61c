"""A Static that ignores being told what it already shows.

Screens refresh their texts on every run event, snapshot and clock tick, and most of those
calls hand a label the words it already has. Textual's Static lays the whole screen out
again after every update (it cannot know the size did not change), and on the restore
screen those layouts were a sixth of a drill's CPU (bench/RESULTS.md, 2026-12-04). An
update with the same content at the same width is skipped here; anything else is shown as
Static shows it.
"""

from __future__ import annotations

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


class SteadyStatic(Static):
    """Skips an update that changes nothing: the same content at the same width. After a
    resize the first update is always made, as Static makes it: an auto-height widget
    docked at an edge needs that second layout to take its height for the new width."""

    _steady_width: int | None = None

    def update(self, content="", *, layout: bool = True) -> None:
        width = self.content_region.width
        if width == self._steady_width and same_content(content, self.content):
            return
        self._steady_width = width
        super().update(content, layout=layout)
