"""``spec.restartAt``: which pods a restart replaces (timestamps have whole seconds)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any, cast

from tidegate.model.keys import ResourceKey
from tidegate.rollouts import restart

AT = "2026-12-07T08:55:08Z"
NOW = datetime.datetime(2026, 12, 7, 8, 55, 9, tzinfo=datetime.UTC)


class Pods:
    """A cluster with these pods: lists them, records deletions."""

    def __init__(self, *created: str) -> None:
        self.pods = [
            {"metadata": {"name": f"web-{i}", "creationTimestamp": stamp}}
            for i, stamp in enumerate(created)
        ]
        self.deleted: list[str] = []

    async def resource(self, *_: Any) -> object:
        return object()

    async def list(self, _res: object, **_: Any) -> Any:
        return SimpleNamespace(items=self.pods)

    async def delete(self, key: ResourceKey) -> None:
        self.deleted.append(key.name)


def rollout() -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"replicas": 2, "restartAt": AT, "selector": {"matchLabels": {"app": "web"}}},
    }


async def run(pods: Pods, status: dict[str, Any]) -> None:
    ctx = SimpleNamespace(now=NOW, template={}, wake_in=lambda _seconds: None)
    await restart.step(cast(Any, pods), rollout(), cast(Any, ctx), status)


async def test_a_pod_made_in_the_requests_own_second_is_replaced() -> None:
    pods = Pods("2026-12-07T08:50:00Z", AT)  # the second one: created as the restart was asked
    status: dict[str, Any] = {"availableReplicas": 2}
    await run(pods, status)
    assert pods.deleted == ["web-0"]  # the oldest first, one at a time
    replacement = {"metadata": {"name": "web-2", "creationTimestamp": "2026-12-07T08:55:10Z"}}
    pods.pods = [*pods.pods[1:], replacement]
    await run(pods, status)
    assert pods.deleted == ["web-0", "web-1"] and "restartedAt" not in status


async def test_restarted_once_every_pod_is_newer() -> None:
    pods = Pods("2026-12-07T08:55:09Z", "2026-12-07T08:55:11Z")
    status: dict[str, Any] = {"availableReplicas": 2}
    await run(pods, status)
    assert pods.deleted == [] and status["restartedAt"] == AT
