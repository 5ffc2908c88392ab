"""Polling with a deadline for tests and benchmarks (never a bare sleep as synchronisation)."""

from __future__ import annotations

import asyncio
import inspect
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
