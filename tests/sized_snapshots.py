"""Snapshots of one running app at several terminal sizes (issue #14: screens that fit).

pytest-textual-snapshot's `snap_compare` starts an app for every picture; a drill console
takes seconds to start, so these tests start one app, resize its terminal and compare the
screen at each size with tests/__snapshots__/<module>/<test>[<what>-<W>x<H>].svg, through
the same syrupy snapshot files and SVG normalisation as `snap_compare`:
`pytest FILE --snapshot-update` regenerates them. A mismatch is also handed to the plugin's
HTML report (snapshot_report.html), as its own comparisons are.

Beside the picture, each size can be checked for text an operator must see there (`see`):
a check that says what is missing, where a picture only says that something changed.
ETCD_DR_SNAPSHOT_TEXT=DIR also writes each screen as plain text to DIR, to read them all.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

from rich.console import Console

SIZES = ((80, 24), (100, 30), (120, 34), (160, 50))


def screen_text(app) -> str:
    """The screen as plain text, as the snapshot draws it (dialogs over what they cover)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False,
                      safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True))
    return console.export_text()


def _flat(text: str) -> str:
    """Screen text with its line ends, box edges and scrollbars gone, for `in` checks of
    wrapped text."""
    for ch in "│┃▌▐╎▎▊█▁▂▃▄▅▆▇▔▏▕▉▋▍":
        text = text.replace(ch, " ")
    return " ".join(text.split())


class SizedSnapshots:
    """`await shots.check(pilot, "status", see=[...])`: the screen at every size in SIZES,
    compared with its snapshot; `shots.assert_all()` at the end fails with every mismatch."""

    def __init__(self, snapshot, request, sizes=SIZES):
        from pytest_textual_snapshot import SVGImageExtension

        self.snapshot = snapshot.use_extension(SVGImageExtension)
        self.request = request
        self.sizes = sizes
        self.failures: list[str] = []

    async def settle(self, pilot) -> str:
        """Let a resize reach the screen (the app applies it after 1/120 s) and every
        widget that redraws for a new width (wrapped text, a table's columns) lay out
        again: until the screen is the same twice. Returns it as text."""
        await pilot.pause(0.05)
        last, same = None, 0
        for _ in range(40):
            # a layout Textual has scheduled but not yet made (a banner that wraps on
            # fewer lines now) is made before the look, not 0.1 s after the snapshot
            pilot.app.screen.refresh(layout=True)
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()  # every widget of the screen has handled its messages
            await pilot.pause(0.01)
            text = screen_text(pilot.app)
            same = same + 1 if text == last else 0
            if same == 3:
                break
            last = text
        return text

    async def check(self, pilot, what: str, *, see=(), settle=None, sizes=None,
                    problems=None) -> None:
        """`see`: texts that must be on the screen at every size (wrapped or not), or a
        callable (width, height) -> those texts. `settle(pilot)`: waits, after a resize,
        for what the screen redraws for a new size. `problems(width, height)`: what else
        is wrong at that size (a list of sentences, empty when nothing is)."""
        app = pilot.app
        for width, height in sizes or self.sizes:
            await pilot.resize_terminal(width, height)
            text = await self.settle(pilot)
            if settle is not None:
                await settle(pilot)
                text = await self.settle(pilot)
            name = f"{what}-{width}x{height}"
            if os.environ.get("ETCD_DR_SNAPSHOT_TEXT"):
                out = Path(os.environ["ETCD_DR_SNAPSHOT_TEXT"])
                out.mkdir(parents=True, exist_ok=True)
                (out / f"{self.request.node.name}[{name}].txt").write_text(text)
            flat = _flat(text)
            wanted = see(width, height) if callable(see) else see
            missing = [t for t in wanted if _flat(t) not in flat]
            if missing:
                self.failures.append(f"{name}: not on the screen: {missing}\n{text}")
            for problem in (problems(width, height) if problems else ()):
                self.failures.append(f"{name}: {problem}\n{text}")
            svg = app.export_screenshot(title=app.title, simplify=True)
            if not self.snapshot(name=name) == svg:
                self.failures.append(f"{name}: differs from its snapshot (see "
                                     f"snapshot_report.html)\n{text}")
                self._report(name, svg)

    def _report(self, name: str, svg: str) -> None:
        """The mismatch for pytest-textual-snapshot's HTML report (best effort: its data
        format is the plugin's own)."""
        try:
            from pytest_textual_snapshot import (PseudoApp, PseudoConsole,
                                                 node_to_report_path)

            result = self.snapshot.executions[self.snapshot.num_executions - 1]
            node = self.request.node
            path, line, test_name = node.reportinfo()
            console = Console(legacy_windows=False, force_terminal=True)
            data = (False, result.recalled_data or "", svg,
                    PseudoApp(PseudoConsole(console.legacy_windows, console.size)),
                    path, line, f"{test_name}[{name}]", node.function.__doc__ or "", "",
                    result.recalled_data is not None)
            target = node_to_report_path(node)
            Path(f"{target}_{name}").write_bytes(pickle.dumps(data))
        except Exception:  # the report is a convenience; the test fails either way
            pass

    def assert_all(self) -> None:
        assert not self.failures, "\n\n".join(self.failures)
