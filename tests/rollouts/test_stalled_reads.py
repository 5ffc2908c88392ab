"""A Rollout Progressing with nothing written for a while reads its ReplicaSets from the API
server instead of the shared cache (a missed watch event must not hold it for good)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from tidegate.model.keys import ResourceKey
from tidegate.rollouts import controller, names

UID = "u-1"


def rollout(phase: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "shop", "uid": UID, "resourceVersion": "5"},
        "status": {"phase": phase},
    }


def replica_set(version: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-old",
            "namespace": "shop",
            "resourceVersion": version,
            "ownerReferences": [{"kind": "Rollout", "name": "web", "uid": UID, "controller": True}],
        },
        "status": {"replicas": replicas},
    }


class ApiServer:
    """``get_or_none`` answers the ReplicaSet as the API server has it now."""

    name = "dev"

    def __init__(self) -> None:
        self.gets: list[ResourceKey] = []

    async def get_or_none(self, key: ResourceKey) -> dict[str, Any] | None:
        self.gets.append(key)
        return replica_set("9", 0)


async def test_stalled_progressing_rollouts_read_replica_sets_fresh() -> None:
    api = ApiServer()
    ctl = controller.Controller(cast(Any, api))
    ctl.store.put_owned("ReplicaSet", replica_set("7", 3))  # the cache missed its last event
    now = asyncio.get_running_loop().time()
    key = ("shop", "web")

    # Written recently: the cache is trusted.
    ctl.last_write[key] = now
    cached = await ctl._replica_sets(rollout(names.PHASE_PROGRESSING))
    assert [rs["status"]["replicas"] for rs in cached] == [3] and api.gets == []

    # Not Progressing: the cache is trusted, however long ago the last write was.
    ctl.last_write[key] = now - controller.STALL_SECONDS - 1
    assert (await ctl._replica_sets(rollout("Healthy")))[0]["status"]["replicas"] == 3
    assert api.gets == []

    # Progressing with nothing written for STALL_SECONDS: read from the API server.
    fresh = await ctl._replica_sets(rollout(names.PHASE_PROGRESSING))
    assert [rs["status"]["replicas"] for rs in fresh] == [0]
    assert api.gets == [ResourceKey("apps", "ReplicaSet", "shop", "web-old")]
