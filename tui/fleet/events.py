"""What the fleet reports: one RunResult per host and command, and the FleetEvents its
listeners (host panes, journal, status) hear; EventSource is the listener list and the host
state changes it announces, shared by the fleet's parts."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tui.fleet.hoststate import HostState, HostStatus


@dataclass(frozen=True)
class RunResult:
    host: str
    exit_status: int | None  # None: the command did not complete (see error)
    stdout: str
    stderr: str
    duration: float
    error: str | None = None  # connection lost, timeout, host not connected, sudo denied,
    # output over its cap
    timed_out: bool = False
    # bytes of output each stream sent (stdout/stderr hold at most the command's cap of it);
    # over_cap: a stream went over its cap and was cut (error says so; never ok)
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    over_cap: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and self.error is None


class FleetEventKind(StrEnum):
    """What a FleetEvent says about one host (a kind not listed is refused)."""

    STATE = "state"  # the connection's state changed (state, and text: why)
    COMMAND = "command"  # a command was sent (text: as the panes show it)
    OUTPUT = "output"  # complete lines a command printed (lines, stream)
    RESULT = "result"  # a command ended (result, and text: its exit in words)
    NOTE = "note"  # anything else (a command cancelled, a key trusted)


@dataclass(frozen=True)
class FleetEvent:
    """What listeners (host panes, journal, status) hear from the fleet."""

    kind: FleetEventKind  # a plain string is accepted and made a FleetEventKind (or refused)
    host: str
    text: str = ""
    stream: str = "stdout"  # for "output": stdout | stderr
    lines: tuple[str, ...] = ()  # for "output": the complete lines that just arrived
    state: HostState | None = None
    result: RunResult | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FleetEventKind(self.kind))


Listener = Callable[[FleetEvent], None]


@dataclass(frozen=True, eq=False)
class Subscription:
    """A listener, and the loop and thread it subscribed from (where it is called)."""

    listener: Listener
    loop: asyncio.AbstractEventLoop | None
    thread: int


class EventSource:
    """The fleet's listeners, and the host state changes and notes it tells them."""

    status: dict[str, HostStatus]
    _listeners: list[Subscription]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """`listener` hears every event from now on, on the thread that subscribed: a
        fleet run on another thread's loop (the wall's probes) hands each event to the
        subscriber's loop, never calling a screen from the wrong thread."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: called where the event is emitted
            loop = None
        sub = Subscription(listener, loop, threading.get_ident())
        self._listeners.append(sub)
        return lambda: self._listeners.remove(sub) if sub in self._listeners else None

    def _emit(self, event: FleetEvent) -> None:
        here = threading.get_ident()
        for sub in list(self._listeners):
            if sub.loop is not None and sub.thread != here:
                try:
                    sub.loop.call_soon_threadsafe(self._deliver, sub, event)
                except RuntimeError:  # that loop has closed (its app is gone): nobody hears
                    pass
                continue
            self._deliver(sub, event)

    def _deliver(self, sub: Subscription, event: FleetEvent) -> None:
        if sub not in self._listeners:
            return  # unsubscribed while the event crossed threads
        try:
            sub.listener(event)
        except Exception:  # a broken pane must not break the fleet
            pass

    def _set_state(self, host: str, state: HostState, error: str | None = None, **kw) -> None:
        st = self.status[host]
        changed = st.state != state or st.error != error
        st.state, st.error = state, error
        st.reconnecting = kw.get("reconnecting", False)
        st.fingerprint = kw.get("fingerprint", st.fingerprint if state.name.startswith("HOST_KEY")
                                else None)
        if changed:
            st.since = time.time()
            text = state.value + (f": {error}" if error else "")
            self._emit(FleetEvent(FleetEventKind.STATE, host, text=text, state=state))

    def _note(self, host: str, text: str) -> None:
        self._emit(FleetEvent(FleetEventKind.NOTE, host, text=text))
