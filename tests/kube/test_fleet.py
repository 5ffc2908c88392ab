"""kube.fleet.Fleet: one runner per registered cluster, restarted with a growing pause after
failures, stopped when its cluster goes or its settings change, bound again when its feed
closes (fake clients: no I/O)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tidegate.kube import config as kube_config
from tidegate.kube import fleet


class FakeClient:
    def __init__(self, config: kube_config.ClusterConfig) -> None:
        self.name = config.name
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


class Runner:
    def __init__(self, client: Any, log: list[str], fail: bool) -> None:
        self.client, self.log, self.fail = client, log, fail

    async def run(self) -> None:
        self.log.append(f"start {self.client.name}")
        if self.fail:
            raise RuntimeError("cannot reach it")
        await asyncio.Event().wait()


def cfg(name: str, token: str = "t") -> kube_config.ClusterConfig:
    return kube_config.ClusterConfig(server=f"https://{name}", name=name, bearer_token=token)


async def test_one_runner_per_cluster_stopped_and_restarted_on_change() -> None:
    log: list[str] = []
    clients: list[FakeClient] = []

    async def bind(_server: str, config: kube_config.ClusterConfig) -> fleet.Binding:
        clients.append(FakeClient(config))
        return fleet.Binding(clients[-1], None, owned=True)  # type: ignore[arg-type]

    ships: fleet.Fleet[Runner] = fleet.Fleet(
        "test", lambda b: Runner(b.client, log, False), bind=bind
    )
    await ships.sync([("https://a", cfg("a")), ("https://b", cfg("b"))])
    await asyncio.sleep(0)
    assert sorted(log) == ["start a", "start b"]
    assert len(ships.runners()) == 2

    await ships.sync([("https://a", cfg("a", token="new"))])  # b gone, a's settings changed
    await asyncio.sleep(0)
    assert sorted(log) == ["start a", "start a", "start b"]
    assert [c.closed for c in clients] == [True, True, False]
    assert list(ships.members) == ["https://a"]
    await ships.aclose()
    assert all(c.closed for c in clients)


async def test_a_failing_runner_restarts_with_a_growing_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(fleet.asyncio, "sleep", sleep)
    log: list[str] = []

    async def bind(_server: str, config: kube_config.ClusterConfig) -> fleet.Binding:
        return fleet.Binding(FakeClient(config), None, owned=True)  # type: ignore[arg-type]

    ships: fleet.Fleet[Runner] = fleet.Fleet(
        "test", lambda b: Runner(b.client, log, True), bind=bind
    )
    await ships.sync([("https://a", cfg("a"))])
    while len(pauses) < 8:
        await real_sleep(0)
    await ships.aclose()
    assert pauses[:8] == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    assert log[:8] == ["start a"] * 8


async def test_a_closed_feed_binds_again_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(fleet.asyncio, "sleep", sleep)

    class Replaced(Runner):
        async def run(self) -> None:
            self.log.append(f"start {self.client.name}")
            raise fleet.kube_feed.FeedClosedError("runtime replaced")

    async def bind(_server: str, config: kube_config.ClusterConfig) -> fleet.Binding:
        return fleet.Binding(FakeClient(config), None)  # type: ignore[arg-type]

    log: list[str] = []
    ships: fleet.Fleet[Runner] = fleet.Fleet(
        "test", lambda b: Replaced(b.client, log, False), bind=bind
    )
    await ships.sync([("https://a", cfg("a"))])
    while len(pauses) < 3:
        await real_sleep(0)
    bindings = ships.members["https://a"].bindings
    await ships.aclose()
    assert pauses[:3] == [fleet.REBIND_SECONDS] * 3
    assert bindings >= 3
