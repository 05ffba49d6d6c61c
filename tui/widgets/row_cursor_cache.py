"""DataTable's line cache, keyed for a row cursor.

Textual's DataTable keys each rendered line by where the cursor is (its line cache key holds
`cursor_coordinate`), so every cursor move renders every visible line again: about 40 ms of
CPU per key on the readiness wall's hundred rows, and a held arrow key keeps a core busy.
With a row cursor a line only depends on whether its own row is the cursor's (or the
mouse's) row. This cache puts exactly that in the key in place of the coordinates, so a move
renders the two rows it changes and the other lines come from the cache.

Textual's key is private: (y, x1, x2, width, cursor, hover, base style, cursor type,
show hover, update count, pseudo classes). A key of any other shape, or any other cursor
type, is used as it is, as Textual would (tests/test_row_cursor_cache.py renders every line
after every move both ways and compares).
"""

from __future__ import annotations

from typing import Any

from textual.cache import LRUCache
from textual.coordinate import Coordinate


class RowCursorLineCache(LRUCache):
    def __init__(self, table: Any, maxsize: int = 1000) -> None:
        super().__init__(maxsize)
        self._table = table

    def _key(self, key: Any) -> Any:
        table = self._table
        if table.cursor_type != "row" or not isinstance(key, tuple) or len(key) != 11:
            return key
        y, x1, x2, width, cursor, hover, *rest = key
        if not (isinstance(cursor, Coordinate) and isinstance(hover, Coordinate)):
            return key
        try:
            row_key, _ = table._get_offsets(y)
        except LookupError:
            return key
        rows = table._row_locations
        row = rows.get(row_key) if row_key in rows else -1
        return (y, x1, x2, width, cursor.row == row, hover.row == row, *rest)

    def __contains__(self, key: Any) -> bool:
        return super().__contains__(self._key(key))

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._key(key))

    def set(self, key: Any, value: Any) -> None:
        super().set(self._key(key), value)

    __setitem__ = set

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._key(key), default)
