"""Coalescing the pipeline stream's changes (pure logic, and the message loop over an in-memory
feed): a burst of changes is one message, a steady trickle is one message per ``longest``,
LISTED comes once and covers what came before it, idle streams get keepalives; and the cap on
open pipeline streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from tidegate.api import burst, errors, pipeline_watch
from tidegate.kube import discovery
from tidegate.model import errors as tg_errors
from tidegate.testenv import wait


def test_a_burst_is_sent_once_it_is_quiet() -> None:
    b = burst.Burst(quiet=0.2, longest=1.0)
    assert b.due() is None
    for i in range(50):
        b.add("Stage" if i % 2 else "Freight", 10.0 + i * 0.001)
    assert b.due() == pytest.approx(10.049 + 0.2)  # quiet after the last change
    assert b.take() == burst.Batch(("Freight", "Stage"), 50)
    assert b.due() is None and b.take() == burst.Batch((), 0)


def test_a_steady_trickle_is_sent_at_the_latest_after_longest() -> None:
    b = burst.Burst(quiet=0.2, longest=1.0)
    for i in range(100):
        b.add("Promotion", 5.0 + i * 0.1)  # never quiet for 0.2 s
    assert b.due() == pytest.approx(6.0)  # the first change + longest
    b.clear()
    assert b.due() is None


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="quiet <= longest"):
        burst.Burst(quiet=2.0, longest=1.0)
    with pytest.raises(ValueError, match="0 < quiet"):
        burst.Burst(quiet=0.0, longest=1.0)


class Clock:
    """The loop's time, advanced by hand between the changes it is told about."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _feed() -> pipeline_watch.Feed:
    return pipeline_watch.Feed(pipeline_watch.KINDS, burst.Burst(quiet=0.05, longest=0.5))


async def _next(stream: AsyncGenerator[Any, None]) -> Any:
    return await asyncio.wait_for(anext(stream), 5)


async def test_fifty_changes_make_one_message() -> None:
    feed = _feed()
    stream = pipeline_watch.messages("shop", feed, 0.2, asyncio.get_running_loop().time)
    for kind in pipeline_watch.KINDS:
        feed.has_listed(kind)
    assert await _next(stream) == {"result": {"type": "LISTED", "project": "shop"}}
    waiting = asyncio.ensure_future(_next(stream))
    await asyncio.sleep(0)  # the loop waits for news
    now = asyncio.get_running_loop().time()
    for i in range(50):
        feed.changed("Stage" if i < 40 else "Promotion", now)
    message = await waiting
    assert message == {
        "result": {
            "type": "CHANGED",
            "project": "shop",
            "kinds": ["Promotion", "Stage"],
            "changes": 50,
        }
    }
    assert await _next(stream) is None  # nothing more: a keepalive, not a second CHANGED
    await stream.aclose()


async def test_listed_comes_once_and_covers_the_changes_before_it() -> None:
    feed = _feed()
    clock = Clock()
    stream = pipeline_watch.messages("shop", feed, 0.01, clock)
    feed.has_listed("Stage")
    feed.changed("Stage", clock.now)  # a change while the other kinds still list
    for kind in pipeline_watch.KINDS:
        feed.has_listed(kind)
    assert (await _next(stream))["result"]["type"] == "LISTED"
    assert feed.burst.due() is None  # the page's read after LISTED covers that change
    feed.changed("Freight", clock.now)
    clock.now += 0.06  # quiet for longer than `quiet`
    assert await _next(stream) == {
        "result": {"type": "CHANGED", "project": "shop", "kinds": ["Freight"], "changes": 1}
    }
    assert await _next(stream) is None  # idle: a keepalive
    await stream.aclose()


async def test_a_trickle_is_sent_after_longest_even_if_never_quiet() -> None:
    feed = _feed()
    feed.announced = True
    clock = Clock()
    stream = pipeline_watch.messages("shop", feed, 30.0, clock)
    start = clock.now
    while clock.now - start < 0.5:  # one change every 0.01 s: never 0.05 s quiet
        feed.changed("Promotion", clock.now)
        clock.now += 0.01
    message = await _next(stream)
    assert message["result"]["type"] == "CHANGED" and message["result"]["changes"] == 50
    await stream.aclose()


def test_streams_beyond_the_cap_are_refused_with_retry_after() -> None:
    before = pipeline_watch.open_streams()
    held = [pipeline_watch.admit("shop", limit=before + 2) for _ in range(2)]
    with pytest.raises(errors.ApiError) as refused:
        pipeline_watch.admit("shop", limit=before + 2)
    assert refused.value.status == 503
    assert refused.value.headers == {"Retry-After": str(pipeline_watch.RETRY_AFTER_SECONDS)}
    assert "pipeline stream of project shop" in refused.value.message
    held[0].release()
    held[0].release()  # idempotent: the place is given back once
    assert pipeline_watch.open_streams() == before + 1
    again = pipeline_watch.admit("shop", limit=before + 2)
    for slot in (again, held[1]):
        slot.release()
    assert pipeline_watch.open_streams() == before


class NoKargo:
    """A management cluster without Kargo's CRDs."""

    name = "mgmt"

    async def resource(self, group: str, kind: str) -> object:
        raise tg_errors.UnknownKindError(f"cluster mgmt does not serve kind {kind!r}")


async def test_a_cluster_without_kargo_gets_a_clear_404() -> None:
    client: Any = NoKargo()
    with pytest.raises(errors.ApiError) as missing:
        await pipeline_watch.resources(client)
    assert missing.value.status == 404
    assert "promotion is not installed on the management cluster" in missing.value.message
    assert "kargo.akuity.io" in missing.value.message and "Warehouse" in missing.value.message


class Listed:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.resource_version = "1"


class Quiet:
    """A cluster whose lists are empty and whose watches wait; it counts the open watches."""

    name = "mgmt"

    def __init__(self) -> None:
        self.watching = 0

    async def list(self, res: Any, **_: Any) -> Listed:
        return Listed()

    async def watch_events(self, res: Any, **_: Any) -> AsyncGenerator[tuple[str, Any], None]:
        self.watching += 1
        try:
            await asyncio.Event().wait()
            yield ("BOOKMARK", {})
        finally:
            self.watching -= 1


async def test_the_watches_end_and_the_place_is_given_back_when_the_client_goes() -> None:
    client: Any = Quiet()
    verbs = frozenset({"list", "watch"})
    found = [
        discovery.APIResource("kargo.akuity.io", "v1alpha1", k, k.lower() + "s", True, verbs)
        for k in pipeline_watch.KINDS
    ]
    before = pipeline_watch.open_streams()
    slot = pipeline_watch.admit("shop")
    stream = pipeline_watch.follow(client, "shop", found, 30.0, slot)
    assert await _next(stream) == {"result": {"type": "LISTED", "project": "shop"}}
    await wait.eventually(lambda: client.watching == len(pipeline_watch.KINDS), within=5)
    await stream.aclose()  # what the server does when the client disconnects
    assert client.watching == 0
    assert pipeline_watch.open_streams() == before
