"""The event loop's lateness, which excuses a probe that timed out while the controller was busy."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tidegate.controller import looplag, runtime
from tidegate.model import errors

from .test_runtime_ready import FakeCache


def test_worst_since_counts_samples_in_the_window_and_a_pending_one() -> None:
    lag = looplag.LoopLag(interval=0.25)
    lag.record(100.0, 0.1)
    lag.record(101.0, 3.0)
    lag.record(102.0, 0.2)
    assert lag.worst_since(101.5, now=102.1) == 0.2  # the 3 s sample is older than the window
    assert lag.worst_since(100.5, now=102.1) == 3.0
    # no sample for 4 s although one is due every 0.25 s: the loop is at least that late
    assert abs(lag.worst_since(101.5, now=106.0) - 3.75) < 1e-9


async def test_a_blocked_loop_is_too_busy_and_an_idle_one_is_not() -> None:
    task = looplag.start()
    try:
        await asyncio.sleep(0.6)
        since = time.monotonic()
        await asyncio.sleep(0.3)
        assert not looplag.too_busy_since(since, 5.0)
        since = time.monotonic()
        time.sleep(3.0)  # noqa: ASYNC251 - the loop itself is blocked: it can hear nothing
        await asyncio.sleep(0.3)
        assert looplag.too_busy_since(since, 5.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not looplag.too_busy_since(0.0, 5.0)  # nothing samples once it stopped


class SilentClient:
    """A ``ping`` that times out after blocking the loop, or is refused at once."""

    def __init__(self, *, block: float) -> None:
        self.block = block

    async def ping(self, *, within: float) -> None:
        time.sleep(self.block)  # noqa: ASYNC251 - the controller's own work holds the loop
        raise errors.ClusterUnreachableError("no answer to get /version of cluster dev")


def _runtime(client: SilentClient) -> runtime.ClusterRuntime:
    return runtime.ClusterRuntime(
        cluster=cast(Any, SimpleNamespace(name="dev", server="https://dev:6443")),
        config=cast(Any, None),
        client=cast(Any, client),
        cache=cast(Any, FakeCache(kinds=3)),
    )


async def test_a_probe_that_timed_out_while_the_loop_was_blocked_gives_no_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime, "PROBE_TIMEOUT", 0.4)
    task = looplag.start()
    try:
        await asyncio.sleep(0.3)
        assert await _runtime(SilentClient(block=0.6))._answer() == ""
        # refused at once: a verdict, however busy the loop was before
        assert "no answer" in await _runtime(SilentClient(block=0.0))._answer()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # nothing samples the loop: a timeout is a verdict, as before
    assert "no answer" in await _runtime(SilentClient(block=0.6))._answer()
