"""Textual's Footer, rebuilt only when the keys it shows change.

The stock Footer recomposes (unmounts and mounts a widget per key) whenever the screen's
bindings are refreshed: on every focus change and every refresh_bindings() call. Under a
flood of host output that repeated rebuild was what made keys wait; the keys on show rarely
change, so most rebuilds can be skipped.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class QuietFooter(Footer):
    _shown_keys: tuple | None = None

    def _visible_keys(self, screen: Screen) -> tuple:
        return tuple((binding.key, binding.description, enabled, tooltip)
                     for (_, binding, enabled, tooltip) in screen.active_bindings.values()
                     if binding.show)

    def bindings_changed(self, screen: Screen) -> None:
        keys = self._visible_keys(screen)
        if keys == self._shown_keys and self._bindings_ready:
            return
        self._shown_keys = keys
        super().bindings_changed(screen)
