"""Shared fixtures: the console on a drill cluster, driven headless."""

from __future__ import annotations

import asyncio

import pytest

from tui.app import make_app
from tui.backend import BackendSpec

FIXED_NOW = 1_795_000_000.0  # a fixed wall clock for screens whose text shows ages


async def wait_until(pilot, predicate, timeout: float = 15.0, what: str = "condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def populated(app) -> bool:
    s = app.snapshot
    return bool(s and s.members and all(h.state not in ("connecting",) for h in s.hosts))


@pytest.fixture
def drill_app():
    def build(scenario: str = "healthy", **kw):
        spec_kw = {k: kw.pop(k) for k in ("read_only", "frozen_clock", "speed") if k in kw}
        return make_app(BackendSpec(scenario=scenario, **spec_kw), **kw)

    return build
