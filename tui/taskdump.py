"""Where a stuck process waits: every asyncio task's stack, on a signal.

A hung event loop idles in select(), so a thread dump (faulthandler, py-spy) shows nothing of
which coroutine waits for what. With ETCD_DR_TASK_DUMP=1 in its environment, `etcd-dr`
prints every task's stack to stderr on SIGUSR2 and goes on; the test suite uses the same
dump for its own event loops before a test times out (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

ENV = "ETCD_DR_TASK_DUMP"


def dump_tasks(signum=None, frame=None, *, file=None, note: str = "") -> None:
    """Print every task of the event loop running in this thread (a signal handler runs in
    the main thread, between two bytecodes of the loop)."""
    out = file or sys.stderr
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        print(f"--- task dump{note}: no event loop runs in the main thread", file=out)
        return
    tasks = asyncio.all_tasks(loop)
    print(f"--- task dump{note}: {len(tasks)} asyncio task(s)", file=out)
    idle_pumps = 0
    for task in tasks:
        chain = await_chain(task.get_coro())
        if any(where.endswith(" in _get_message") for where in chain):
            idle_pumps += 1  # a widget's message loop waiting for its next message
            continue
        print(f"--- {task.get_name()}: {task.get_coro()!r}", file=out)
        for where in chain:
            print(f"    {where}", file=out)
    if idle_pumps:
        print(f"--- and {idle_pumps} Textual message loop(s) waiting for a message", file=out)
    out.flush()


def await_chain(coro, limit: int = 30) -> list[str]:
    """Where a suspended coroutine waits, outermost first: each awaited coroutine's (or
    generator's) file, line and function, then the future or object at the bottom."""
    chain = []
    while coro is not None and len(chain) < limit:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) \
            or getattr(coro, "ag_frame", None)
        if frame is None:
            chain.append(f"awaits {coro!r:.200}")
            break
        code = frame.f_code
        chain.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None) \
            or getattr(coro, "ag_await", None)
    return chain


def install_from_env() -> None:
    """SIGUSR2 dumps the tasks when ETCD_DR_TASK_DUMP is set (left alone otherwise)."""
    if os.environ.get(ENV) and hasattr(signal, "SIGUSR2"):
        signal.signal(signal.SIGUSR2, dump_tasks)
