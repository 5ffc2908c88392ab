"""ClusterRuntime's heartbeat: a synced cluster whose server stops answering is marked down
after HEARTBEAT_MISSES unanswered asks in a row (and its apps recomputed), not after the
watches' read timeout; one slow answer is not enough, and an answer again brings it back."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tidegate.controller import runtime
from tidegate.model import errors
from tidegate.testenv.wait import eventually

from .test_runtime_ready import FakeCache


class FakeClient:
    """``ping`` answers or not as ``answers`` says, counting the asks."""

    def __init__(self) -> None:
        self.answers = True
        self.asked = 0
        self.script: list[bool] = []  # answers to give first, in order

    async def ping(self, *, within: float) -> None:
        self.asked += 1
        answer = self.script.pop(0) if self.script else self.answers
        if not answer:
            raise errors.ClusterUnreachableError("get /version of cluster dev: timed out")


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "HEARTBEAT_SECONDS", 0.01)
    monkeypatch.setattr(runtime, "PROBE_SECONDS", 0.01)


def beating(client: FakeClient, calls: list[tuple[str, str]]) -> runtime.ClusterRuntime:
    cache = FakeCache(kinds=3)
    cache.sync()
    rt = runtime.ClusterRuntime(
        cluster=cast(Any, SimpleNamespace(name="dev", server="https://dev:6443")),
        config=cast(Any, None),
        client=cast(Any, client),
        cache=cast(Any, cache),
        on_down=lambda server: calls.append(("down", server)),
        on_recovered=lambda server: calls.append(("up", server)),
    )
    rt.start_heartbeat()
    return rt


async def test_a_server_that_stops_answering_is_marked_down_and_back_up() -> None:
    client, calls = FakeClient(), []  # type: ignore[var-annotated]
    rt = beating(client, calls)
    try:
        await eventually(lambda: client.asked >= 3)
        assert not rt.down_error and calls == []  # answering: asked, never marked
        client.answers = False
        await eventually(lambda: ("down", "https://dev:6443") in calls)
        assert "timed out" in rt.down_error  # the cause, as the app's condition will say
        client.answers = True
        await eventually(lambda: ("up", "https://dev:6443") in calls)
        assert rt.down_error == ""
    finally:
        rt.stop_probe()


async def test_fewer_misses_than_the_limit_in_a_row_are_not_down() -> None:
    client, calls = FakeClient(), []  # type: ignore[var-annotated]
    misses = runtime.HEARTBEAT_MISSES - 1
    client.script = [False] * misses + [True] + [False] * misses + [True]
    rt = beating(client, calls)
    try:
        await eventually(lambda: client.asked >= 2 * (misses + 1) + 2)
        assert calls == [] and rt.down_error == ""
    finally:
        rt.stop_probe()


async def test_an_unsynced_or_down_cluster_is_not_asked_by_the_heartbeat() -> None:
    client, calls = FakeClient(), []  # type: ignore[var-annotated]
    rt = beating(client, calls)
    rt.down_error = "refused"  # the probe's business, not the heartbeat's
    rt.stop_probe()
    rt.start_heartbeat()
    try:
        await asyncio.sleep(0.1)  # drives the heartbeat's clock: ten beats that must not ask
        assert client.asked == 0 and calls == []
    finally:
        rt.stop_probe()
