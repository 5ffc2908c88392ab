"""The reflector's decisions, with a scripted client: relist on 410, backoff on failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tidegate.kube import client as kube_client
from tidegate.kube import clients as kube_clients
from tidegate.kube import config as kube_config
from tidegate.kube import discovery, watch
from tidegate.model import errors

RES = discovery.APIResource("", "v1", "ConfigMap", "configmaps", True, frozenset({"list", "watch"}))


def cm(name: str, rv: str) -> dict[str, Any]:
    return {"kind": "ConfigMap", "metadata": {"name": name, "resourceVersion": rv}}


class ScriptedClient:
    """``lists``: results of successive lists; ``watches``: successive watch scripts, each a
    list of events or an exception raised after them."""

    name = "fake"

    def __init__(self, lists: list[Any], watches: list[list[Any]]) -> None:
        self.lists = lists
        self.watches = watches
        self.watch_versions: list[str] = []

    async def list(self, res: Any, **_: Any) -> kube_client.ListResult:
        item = self.lists.pop(0)
        if isinstance(item, Exception):
            raise item
        return kube_client.ListResult(item[0], item[1])

    async def watch_events(
        self, res: Any, *, resource_version: str, **_: Any
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        self.watch_versions.append(resource_version)
        for step in self.watches.pop(0):
            if isinstance(step, Exception):
                raise step
            yield step


async def collect(client: ScriptedClient, n: int, **kwargs: Any) -> tuple[list[Any], list[float]]:
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    events = []
    gen = watch.reflect(client, RES, sleep=sleep, **kwargs)  # type: ignore[arg-type]
    async for event in gen:
        events.append(event)
        if len(events) == n:
            break
    await gen.aclose()
    return events, sleeps


async def test_relist_after_gone_event_and_after_410_answer() -> None:
    gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    client = ScriptedClient(
        lists=[([cm("a", "5")], "10"), ([cm("a", "5"), cm("b", "12")], "20"), ([], "30")],
        watches=[
            [
                ("ADDED", cm("c", "11")),
                ("BOOKMARK", {"metadata": {"resourceVersion": "15"}}),
                ("ERROR", gone),
            ],
            [errors.KubeApiError("watch: gone", code=410)],
            [("MODIFIED", cm("d", "31"))],
        ],
    )
    events, sleeps = await collect(client, 6)
    assert [(e.type, e.reason) for e in events] == [
        ("RELISTED", "initial"),
        ("ADDED", ""),
        ("BOOKMARK", ""),
        ("RELISTED", "expired"),
        ("RELISTED", "expired"),
        ("MODIFIED", ""),
    ]
    assert events[2].resource_version == "15"
    assert client.watch_versions == ["10", "20", "30"]
    assert sleeps == []  # a relist is not a failure: no backoff


async def test_failures_back_off_and_resume_from_the_last_version() -> None:
    down = errors.ClusterUnreachableError("cluster fake is unreachable")
    client = ScriptedClient(
        lists=[down, ([], "10")],
        watches=[[("ADDED", cm("a", "11")), down], [("ADDED", cm("b", "12"))]],
    )
    events, sleeps = await collect(
        client, 5, backoff=watch.Backoff(initial=1.0, maximum=8.0, jitter=0.0)
    )
    assert [e.type for e in events] == ["ERROR", "RELISTED", "ADDED", "ERROR", "ADDED"]
    assert "unreachable" in events[0].reason
    assert sleeps == [1.0, 1.0]  # reset after the successful list, then first step again
    assert client.watch_versions == ["10", "11"]  # resumed, no relist


def test_backoff_grows_to_the_maximum_with_jitter() -> None:
    backoff = watch.Backoff(initial=0.5, maximum=4.0, jitter=0.5)
    delays = [backoff.next() for _ in range(6)]
    bases = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(b * 0.5 <= d <= b for d, b in zip(delays, bases, strict=True))
    backoff.reset()
    assert backoff.next() <= 0.5


@pytest.mark.parametrize("same", [True, False])
async def test_client_set_reuses_until_config_changes(same: bool) -> None:
    clients = kube_clients.ClientSet()
    cfg = kube_config.ClusterConfig(server="https://127.0.0.1:1", name="c", insecure=True)
    first = await clients.get(cfg)
    second = await clients.get(cfg if same else cfg.with_limits(qps=5))
    assert (first is second) == same
    await clients.aclose()
