"""The engine's side of sharding (shards.py): which apps are a replica's, and the fence of a
piece of work, which stays shut once it refused a write (a sync that saw a refused dry run as
a failed resource must not write that failure when the Lease is renewed a moment later)."""

from __future__ import annotations

import pytest

from tidegate.controller import appstate, clusters, sharding, shards
from tidegate.kube import config as kube_config
from tidegate.model import errors

from .test_leases import Clock, Store

MGMT = kube_config.ClusterConfig(server="https://127.0.0.1:1")


def cluster_secret(name: str, shard: int) -> dict[str, object]:
    secret = clusters.cluster_secret(
        name=name,
        server=f"https://{name}.example:6443",
        config=kube_config.ClusterConfig(server=f"https://{name}.example:6443", bearer_token="t"),
        namespace="argocd",
        shard=shard,
    )
    secret["metadata"]["uid"] = f"uid-{name}"
    return secret


def app(server: str) -> dict[str, object]:
    return {"metadata": {"name": "a"}, "spec": {"destination": {"server": server}}}


async def held_shards(clock: Clock) -> shards.Shards:
    registry = clusters.ClusterRegistry(
        [cluster_secret("one", 0), cluster_secret("two", 1)], management=MGMT
    )
    settings = sharding.ShardingSettings(
        replicas=2, shard=1, lease_duration=6, renew_deadline=4.0, retry_period=1.0
    )
    found = shards.Shards(
        settings=settings,
        store=Store(),
        namespace="argocd",
        registry=lambda: registry,
        states=appstate.AppStates(),
        ensure_operation=lambda _state: None,
        request_all=lambda: None,
        keep_clusters=lambda _servers: None,
    )
    found.leases.clock = clock
    await found.leases.step()
    return found


async def test_only_the_apps_of_held_shards_are_this_replicas() -> None:
    got = await held_shards(Clock())
    assert got.owns_app(app("https://two.example:6443"))
    assert not got.owns_app(app("https://one.example:6443"))
    assert not got.owns_app(app("https://nowhere.example"))  # unknown: shard 0, not held


async def test_a_fence_that_refused_once_stays_shut_after_a_renewal() -> None:
    clock = Clock()
    got = await held_shards(clock)
    work, other = got.fence_of(1), got.fence_of(1)
    work("apply ConfigMap a")  # held: passes
    clock.now += 5  # past the renew deadline: this replica stalled
    with pytest.raises(errors.FenceError, match="does not hold shard 1"):
        work("dry-run apply ConfigMap b")
    await got.leases.step()  # renewed again (still its Lease)
    assert got.leases.owns(1)
    with pytest.raises(errors.FenceError, match="an earlier write of this work was refused"):
        work("patch Application a")  # the same work: its outcome must not be written
    other("patch Application a")  # other work, never refused, goes through
