"""The wall's probes on an event loop of their own, in a thread of their own.

A hundred clusters' SSH and API traffic is hundreds of callbacks per refresh; on the
screen's loop, a key pressed meanwhile waits behind every callback ready before it. Here
the probes (their SSH sessions, API clients and, with --drill, the drill fleet's servers)
live on this loop, and the screen's loop only awaits their results and draws. Everything a
probe owns is made, used and closed on this loop; the screen reads the finished results
(rows, snapshots), which are replaced whole, never changed in place.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "etcd-dr-wall-probes"):
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                left = asyncio.all_tasks(loop)
                for task in left:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """`coro` run on this thread's loop; its result (or exception) here. Cancelling
        the caller cancels it there."""
        self.start()
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def stop(self, timeout: float = 10.0) -> None:
        """The loop stopped (what still runs on it cancelled) and the thread joined."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = self._loop = None
