"""The wall's probes on a loop of their own (tui/wall/thread.py), and fleet events handed
back to the loop that subscribed (tui/fleet/events.py): a key on the wall never waits behind
a hundred clusters' SSH traffic, and a status screen opened from the wall is never called
from the probes' thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.conftest import wait_until
from tui.fleet.events import EventSource, FleetEvent
from tui.wall.thread import LoopThread


async def test_a_coroutine_runs_on_the_thread_and_its_result_or_error_comes_back():
    probes = LoopThread()
    try:
        async def where() -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

        assert await probes.run(where()) == "etcd-dr-wall-probes"

        async def fails() -> None:
            raise ValueError("no answer")

        with pytest.raises(ValueError, match="no answer"):
            await probes.run(fails())
    finally:
        probes.stop()
    assert probes._thread is None


async def forever(cancelled: threading.Event) -> None:
    """Sleeps until cancelled, and says so."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        cancelled.set()
        raise


async def test_cancelling_the_caller_cancels_the_coroutine_on_the_thread():
    probes = LoopThread()
    cancelled = threading.Event()

    try:
        task = asyncio.create_task(probes.run(forever(cancelled)))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(cancelled.wait, 5)
    finally:
        probes.stop()


async def test_stop_cancels_what_still_runs_and_joins_the_thread():
    probes = LoopThread()
    probes.start()
    thread = probes._thread
    cancelled = threading.Event()

    asyncio.run_coroutine_threadsafe(forever(cancelled), probes._loop)
    await asyncio.sleep(0.1)
    probes.stop()
    assert not thread.is_alive() and cancelled.is_set()


class Source(EventSource):
    def __init__(self):
        self.status = {}
        self._listeners = []


def emitted_from_another_thread(source: Source, text: str) -> None:
    """The event emitted on a thread of its own while this loop waits (blocked)."""
    thread = threading.Thread(target=source._note, args=("master-0", text))
    thread.start()
    thread.join()


async def test_an_event_from_another_thread_reaches_the_listener_on_its_own_loop():
    source = Source()
    heard: list[tuple[str, str]] = []
    source.subscribe(lambda e: heard.append((e.text, threading.current_thread().name)))
    here = threading.current_thread().name
    emitted_from_another_thread(source, "from elsewhere")
    assert heard == []  # not called on the emitting thread: queued for this loop
    await asyncio.sleep(0.05)
    assert heard == [("from elsewhere", here)]
    source._note("master-0", "from here")  # the same thread: at once
    assert heard[-1] == ("from here", here)


async def test_a_listener_unsubscribed_before_the_event_crossed_hears_nothing():
    source = Source()
    heard: list[FleetEvent] = []
    unsubscribe = source.subscribe(heard.append)
    emitted_from_another_thread(source, "late")
    unsubscribe()
    await asyncio.sleep(0.05)
    assert heard == []


async def test_pilot_the_wall_looks_on_the_probes_thread_and_draws_on_its_own():
    from screens.wall import WallApp
    from tui.drill.fleetlab import DrillFleet
    from tui.wall.probe import ClusterProbe, Wall

    threads: set[str] = set()
    real = ClusterProbe.refresh

    async def refresh(self):
        threads.add(threading.current_thread().name)
        return await real(self)

    ClusterProbe.refresh = refresh
    try:
        app = WallApp(Wall(fleet=DrillFleet(1), timeout=60), interval=600)
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_until(pilot, lambda: app.rows is not None and len(app.rows) == 1,
                             timeout=60, what="the wall's first look")
            assert threads == {"etcd-dr-wall-probes"}
            assert threading.current_thread().name != "etcd-dr-wall-probes"
            thread = app.probes._thread
            await pilot.press("q")
        assert not thread.is_alive()  # the probes closed, their loop stopped, on the way out
    finally:
        ClusterProbe.refresh = real


def test_a_listener_whose_loop_has_closed_is_skipped_not_an_error():
    """(an app gone while its fleet still runs elsewhere)"""
    source = Source()
    heard: list[FleetEvent] = []

    async def subscribe() -> None:
        source.subscribe(heard.append)

    thread = threading.Thread(target=asyncio.run, args=(subscribe(),))
    thread.start()
    thread.join()  # asyncio.run closed that loop on the way out
    source._note("master-0", "nobody there")  # no RuntimeError from the closed loop
    assert heard == []
