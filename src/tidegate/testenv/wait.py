"""Polling with a deadline for tests and benchmarks (never a bare sleep as synchronisation)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None] | T | None],
    *,
    within: float = 30.0,
    every: float = 0.05,
) -> T:
    """Call ``probe`` (plain or async) until it returns something truthy, and return that;
    fail with AssertionError, showing the last value, after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {value!r})")
        await asyncio.sleep(every)


def eventually_blocking(
    probe: Callable[[], T | None],
    *,
    within: float = 30.0,
    every: float = 0.1,
    what: str = "condition",
) -> T:
    """:func:`eventually` for synchronous callers (tests and benchmarks outside an event loop):
    poll ``probe`` until it returns something truthy and return that; fail naming ``what`` and
    the last value after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within}s (last: {value!r})")
        time.sleep(every)
