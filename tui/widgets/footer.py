"""Textual's Footer, rebuilt only when the keys it shows change, and never cutting a key off.

The stock Footer recomposes (unmounts and mounts a widget per key) whenever the screen's
bindings are refreshed: on every focus change and every refresh_bindings() call. Under a
flood of host output that repeated rebuild was what made keys wait; the keys on show rarely
change, so most rebuilds can be skipped.

The stock Footer is one row: keys past the terminal's width are cut (at 100 columns the
status view lost R, h and D). This one tightens its spacing when the keys do not fit, and
takes a second row when they still do not: every key it shows is on the screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class QuietFooter(Footer):
    DEFAULT_CSS = """
    QuietFooter.-rows { layout: vertical; height: 2; }
    QuietFooter.-rows HorizontalGroup { height: 1; }
    """

    _shown_keys: tuple | None = None
    _fit: tuple[bool, int] | None = None  # (compact, rows) the keys were laid out in

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

    # --- fitting the keys to the width ------------------------------------------------------

    def _items(self) -> list[tuple[str, str, str, str, bool, str, str]]:
        """(key, display, description, action, enabled, tooltip, classes) per key shown,
        the command palette's last: the keys the stock Footer shows, one per action."""
        app = self.app
        active = self.screen.active_bindings
        seen: set[str] = set()
        items = []
        for _, binding, enabled, tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            items.append((binding.key, app.get_key_display(binding), binding.description,
                          binding.action, enabled, tooltip, ""))
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            found = active.get(app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _, binding, enabled, _ = found
                items.append((binding.key, app.get_key_display(binding), binding.description,
                              binding.action, enabled, binding.tooltip or binding.description,
                              "-command-palette"))
        return items

    @staticmethod
    def _width(item, compact: bool) -> int:
        _, display, description, *_ = item
        # stock styles: " k " + "desc " spaced; compact: "k desc" and a margin of 1
        return len(display) + len(description) + (2 if compact else 3) \
            + (2 if "-command-palette" in item[-1] else 0)

    def _layout(self, items, width: int) -> tuple[bool, int]:
        """(compact, rows): the stock spacing on one row if the keys fit, compact on one
        row if they fit that way, else compact on two rows."""
        if not width:
            return False, 1
        if sum(self._width(i, False) for i in items) <= width:
            return False, 1
        if sum(self._width(i, True) for i in items) <= width:
            return True, 1
        return True, 2

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        items = self._items()
        width = self.app.size.width  # the footer spans the screen (its own size may be 0)
        compact, rows = self._fit = self._layout(items, width)
        self.set_reactive(Footer.compact, compact)
        self.set_class(compact, "-compact")
        self.set_class(rows > 1, "-rows")

        def key(item) -> FooterKey:
            key_, display, description, action, enabled, tooltip, classes = item
            widget = FooterKey(key_, display, description, action, disabled=not enabled,
                               tooltip=tooltip, classes=classes)
            # born with the footer's spacing: a FooterKey starts compact and its binding
            # then unsets it, two restyles of the key against the whole stylesheet, on every
            # rebuild (about 4% of a drill's CPU)
            widget.set_reactive(FooterKey.compact, compact)
            widget.set_class(compact, "-compact", update=False)
            return widget.data_bind(compact=Footer.compact)

        if rows == 1:
            for item in items:
                yield key(item)
            return
        # two rows: as many keys as fit on the first, in their order; the rest below
        first, used = [], 0
        for n, item in enumerate(items):
            used += self._width(item, True)
            if used > width:
                break
            first.append(item)
        with HorizontalGroup():
            for item in first:
                yield key(item)
        with HorizontalGroup():
            for item in items[len(first):]:
                yield key(item)

    def on_resize(self) -> None:
        if self._bindings_ready and self._fit is not None and \
                self._layout(self._items(), self.app.size.width) != self._fit:
            self.call_after_refresh(self.recompose)
