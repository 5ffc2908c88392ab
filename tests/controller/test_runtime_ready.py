"""ClusterRuntime.ready: waits for the live cache's first sync, but gives up at once when the
cluster is known to be unreachable (so a refresh never holds a worker for the whole wait)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any, cast

import pytest

from tidegate.controller import runtime


@dataclasses.dataclass
class FakeState:
    synced: bool
    kinds: int
    error: str


class FakeCache:
    """The two things ``ready`` reads from a ClusterCache: ``state`` and ``wait_synced``."""

    def __init__(self, *, kinds: int = 0, error: str = "") -> None:
        self.kinds, self.error = kinds, error
        self._synced = asyncio.Event()

    @property
    def state(self) -> FakeState:
        return FakeState(self._synced.is_set(), self.kinds, self.error)

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def sync(self) -> None:
        self._synced.set()


def runtime_with(cache: FakeCache) -> runtime.ClusterRuntime:
    return runtime.ClusterRuntime(
        cluster=cast(Any, None),
        config=cast(Any, None),
        client=cast(Any, None),
        cache=cast(Any, cache),
    )


async def later(delay: float, action: Any) -> None:
    await asyncio.sleep(delay)  # drives the fake's clock, not a test synchronisation
    action()


def set_error(cache: FakeCache) -> Any:
    return lambda: setattr(cache, "error", "discover /api: connection refused")


CASES = [
    # id, cache kinds, cache error at start, event after 0.1 s, wait, expected, max seconds
    ("synced already", 3, "", None, 10.0, True, 0.5),
    ("discovery failed: at once", 0, "discover /api: refused", None, 10.0, False, 0.5),
    ("syncs during the wait", 3, "", "sync", 10.0, True, 1.0),
    ("discovery fails during the wait", 0, "", "error", 10.0, False, 1.0),
    ("a kind's error is not enough", 3, "list pods: forbidden", "sync", 10.0, True, 1.0),
    ("nothing happens: the wait ends", 0, "", None, 0.3, False, 1.0),
]


@pytest.mark.parametrize(
    ("kinds", "error", "event", "wait", "expected", "within"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_ready(
    kinds: int, error: str, event: str | None, wait: float, expected: bool, within: float
) -> None:
    cache = FakeCache(kinds=kinds, error=error)
    if event is None and expected:
        cache.sync()
    rt = runtime_with(cache)
    helper = None
    if event == "sync":
        helper = asyncio.create_task(later(0.1, cache.sync))
    elif event == "error":
        helper = asyncio.create_task(later(0.1, set_error(cache)))
    started = time.monotonic()
    assert await rt.ready(wait) is expected
    assert time.monotonic() - started < within
    if helper is not None:
        await helper
    assert rt.unreachable() is (not cache.state.synced and kinds == 0 and bool(cache.error))
