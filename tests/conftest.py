"""Shared fixtures: the console on a drill cluster, driven headless."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

# --- byte code is cached -----------------------------------------------------------------------
#
# This machine's environment sets PYTHONDONTWRITEBYTECODE=1 (CI's may too), so every process
# the suite started (four workers, their CLI zygotes, each `lab serve`, each fresh
# interpreter) compiled the console's 40,000 lines from source again, 0.7 s of CPU each, and
# each worker rewrote every test module's asserts afresh (pytest caches that as byte code
# too). The suite writes __pycache__ as Python does by default (git ignores it); the workers
# and every child inherit this environment.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

from tui.app import make_app
from tui.backend import BackendSpec
from tui.quiet import skip_disabled_ssh_logs

skip_disabled_ssh_logs()  # as `etcd-dr` does at start: what is logged is the same

# --- headless pilots do not paint --------------------------------------------------------------
#
# A headless app (`run_test`) still composes every frame's strips (Compositor.render_update)
# and then hands them to a `_display` that drops them unread: profiling the pilot-driven drills
# showed half their CPU there (29 s of a 58 s ideal path). Tests see the screen through
# widgets' state, their own `render()`, and snapshot tests' `export_screenshot` (a full render
# of its own), never through those frames, so the top screen's refresh only clears what
# painting would have cleared. Layout, focus, mouse hit-testing and every widget's render on
# demand are untouched. ETCD_DR_TEST_PAINT=1 paints as the app would.
if os.environ.get("ETCD_DR_TEST_PAINT") != "1":
    from textual.screen import Screen

    _paint = Screen._compositor_refresh

    def _compositor_refresh_unpainted(self) -> None:
        app = self.app
        if app.is_headless and not app.is_inline and self is app.screen:
            self._compositor._dirty_regions.clear()
            self._dirty_widgets.clear()
            app._update_mouse_over(self)
            return
        _paint(self)

    Screen._compositor_refresh = _compositor_refresh_unpainted


FIXED_NOW = 1_795_000_000.0  # a fixed wall clock for screens whose text shows ages
SNAPSHOTS = Path(__file__).parent / "__snapshots__"


# --- running on several workers (pytest-xdist, `-n 2 --dist loadgroup` in CI) ---------------

@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks
def pytest_collection_modifyitems(config, items):
    """A module whose tests share a module- or class-scoped fixture (test_report's journals:
    four whole CLI drills) runs on one worker: spread over two, each would build it."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        scopes = {d.scope for defs in info.name2fixturedefs.values() for d in defs}
        if scopes & {"module", "class", "package"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def pytest_deselected(items):
    for item in items:
        _DESELECTED_MODULES.add(item.nodeid.split("::")[0])


_DESELECTED_MODULES: set[str] = set()
_UNUSED_SNAPSHOTS: set[str] = set()


def _unused_snapshots(items) -> list[str]:
    """Snapshot files no collected test writes, in the snapshot directories of modules that
    were collected whole: what syrupy reports (and fails the run on) when the suite runs in
    one process, and leaves out on pytest-xdist's workers."""
    from syrupy.extensions.single_file import SingleFileSnapshotExtension
    from syrupy.location import PyTestLocation

    names: dict[str, set[str]] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        if module in _DESELECTED_MODULES or not isinstance(item, pytest.Function):
            continue
        loc = PyTestLocation(item)
        names.setdefault(Path(module).stem, set()).add(
            SingleFileSnapshotExtension.get_snapshot_name(test_location=loc))
    unused = []
    for stem, written in names.items():
        folder = SNAPSHOTS / stem
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            base = path.name.rsplit(".", 1)[0]  # test_x[p].svg, test_x[p].1.svg (2nd assert)
            head, _, index = base.rpartition(".")
            # test_x[p][name].svg: an assert with a name (tests/sized_snapshots.py)
            named = base[:base.rfind("[")] if base.endswith("]") else None
            if base not in written and not (index.isdigit() and head in written) \
                    and named not in written:
                unused.append(str(path.relative_to(SNAPSHOTS.parent.parent)))
    return unused


def pytest_collection_finish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a worker: its controller judges (pytest_testnodedown)
        workeroutput["unused_snapshots"] = _unused_snapshots(session.items)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _UNUSED_SNAPSHOTS.update(getattr(node, "workeroutput", {}).get("unused_snapshots", ()))


def _ignores_unused(config) -> bool:
    return bool(config.getoption("update_snapshots", False)
                or config.getoption("warn_unused_snapshots", False))


def pytest_sessionfinish(session, exitstatus):
    if _UNUSED_SNAPSHOTS and not _ignores_unused(session.config) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _UNUSED_SNAPSHOTS:
        verdict = ("left in place" if _ignores_unused(config)
                   else "the run fails: delete them, or run their tests with --snapshot-update")
        terminalreporter.write_sep("-", "snapshots no test uses")
        for path in sorted(_UNUSED_SNAPSHOTS):
            terminalreporter.write_line(f"  {path}")
        terminalreporter.write_line(f"{len(_UNUSED_SNAPSHOTS)} unused snapshot file(s): {verdict}")


@pytest.fixture(autouse=True)
def private_state_home(tmp_path_factory, monkeypatch):
    """Every test gets an XDG state directory of its own: no test reads or writes the
    operator's ~/.local/state/etcd-dr (an unfinished drill journal there would put the
    resume dialog in front of a test's screen), and no test sees another's journals."""
    state = tmp_path_factory.mktemp("xdg-state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


# --- a hang says where it hangs ------------------------------------------------------------------
#
# pytest-timeout's report of a stuck async test shows the event loop idling in select(): every
# coroutine is parked, so the thread stacks say nothing. Ten seconds before the timeout, a
# timer thread signals the main thread, whose handler (run between two bytecodes of the loop)
# prints every asyncio task's stack into the test's captured output. A child `etcd-dr` run
# through tests/cli_runner.py is given up on (and asked for its own tasks) before the timeout.
_HANG_NOTICE = 10.0


def _dump_tasks(signum, frame) -> None:
    from tui.taskdump import dump_tasks

    dump_tasks(note=f" ({_HANG_NOTICE:.0f} s before the test's timeout)")


@pytest.fixture(autouse=True)
def hang_watchdog(request):
    import signal
    import threading

    timeout = float(request.config.getoption("timeout", None) or request.config.getini("timeout")
                    or 0)
    marker = request.node.get_closest_marker("timeout")
    if marker is not None and marker.args:
        timeout = float(marker.args[0])
    if timeout <= _HANG_NOTICE or threading.current_thread() is not threading.main_thread():
        yield
        return
    from tests import cli_runner

    cli_runner.TEST_DEADLINE = time.monotonic() + timeout - 1
    previous = signal.signal(signal.SIGUSR2, _dump_tasks)
    main = threading.main_thread().ident
    timer = threading.Timer(timeout - _HANG_NOTICE, signal.pthread_kill, (main, signal.SIGUSR2))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR2, previous)
        cli_runner.TEST_DEADLINE = None


async def wait_until(pilot, predicate, timeout: float = 15.0, what: str = "condition"):
    """Poll `predicate` until it holds. The loop sleeps between looks rather than calling
    pilot.pause(): a pause first waits until every widget of the screen has handled a
    callback it posts to each, and at 50 looks a second that was most of a pilot-driven
    drill's CPU (44,000 of its 54,000 messages). The app runs in the same event loop, so
    its messages, timers and workers go on while this sleeps."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class _ThinkingClock:
    """The real clock a drill's fair clock reads (tui.drill.model.DrillPace), plus the pauses
    a simulated trainee took without really waiting."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


_THINKING = random.Random(14)


async def trainee_pause(app, low: float = 2.0, high: float = 5.0, *, real: bool = False
                        ) -> float:
    """A trainee reading and deciding for 2-5 s before a decision (issue 14: a careful
    trainee's pace). real=True sleeps it out; otherwise the drill's fair clock is moved on
    by that much (it counts a person's time at real speed), so a test does not sit through
    every pause. Returns the seconds."""
    seconds = _THINKING.uniform(low, high)
    if real:
        await asyncio.sleep(seconds)
        return seconds
    pace = app.backend.pace
    clock = pace._real
    if not isinstance(clock, _ThinkingClock):
        pace._settle()
        clock = pace._real = _ThinkingClock()
    pace._settle()
    clock.offset += seconds
    return seconds


def populated(app) -> bool:
    s = app.snapshot
    return bool(s and s.members and all(h.state not in ("connecting",) for h in s.hosts))


@pytest.fixture
def drill_app():
    def build(scenario: str = "healthy", **kw):
        spec_kw = {k: kw.pop(k) for k in ("read_only", "frozen_clock", "speed") if k in kw}
        return make_app(BackendSpec(scenario=scenario, **spec_kw), **kw)

    return build


@asynccontextmanager
async def drill_fleets(tmp_path, default_clock=None):
    """Start drill labs and a Fleet on each, through the real SSH path; stop them after.

    Yields start(scenario="healthy", clock=None): a scenario name, or YAML text starting
    with a newline (an inline scenario); clock: a SimClock, else default_clock() if given.
    """
    from tui.drill.lab import DrillLab
    from tui.fleet.fleet import Fleet

    labs, fleets = [], []

    async def start(scenario="healthy", clock=None):
        if scenario.startswith("\n"):
            path = tmp_path / f"scenario{len(labs)}.yaml"
            path.write_text(scenario)
            scenario = str(path)
        if clock is None and default_clock is not None:
            clock = default_clock()
        lab = DrillLab(scenario, workdir=tmp_path / f"lab{len(labs)}", clock=clock)
        inventory = await lab.start()
        fleet = Fleet(inventory)
        await fleet.start()
        labs.append(lab)
        fleets.append(fleet)
        return lab, fleet

    try:
        yield start
    finally:
        for fleet in fleets:
            await fleet.close()
        for lab in labs:
            await lab.stop()


async def press_button(app, pilot, selector: str) -> None:
    """Press a dialog's button once the dialog is mounted, and wait until that dialog (this
    instance: the next one may be another of the same kind) has gone."""
    await wait_until(pilot, lambda: bool(app.screen.query(selector)), what=selector)
    dialog = app.screen
    await pilot.pause()
    dialog.query_one(selector).press()
    await wait_until(pilot, lambda: app.screen is not dialog, what=f"{selector} to take effect")


async def answer_confirmation(app, pilot) -> None:
    """Go ahead on the ConfirmStepScreen on top as an operator would: type what it asks for
    (the host or the cluster name) and press Enter when it is a typed confirmation, else
    press "Go ahead"; wait until that dialog has gone."""
    from textual.widgets import Input

    dialog = app.screen
    if not getattr(dialog, "typed", False):
        await press_button(app, pilot, "#yes")
        return
    await wait_until(pilot, lambda: bool(dialog.query(Input)), what="the confirmation's input")
    await pilot.pause()
    box = dialog.query_one(Input)
    box.focus()
    box.value = dialog.request.expected
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.screen is not dialog,
                     what=f"the typed confirmation of {dialog.request.step.id} to take effect")
