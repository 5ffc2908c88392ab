"""Shard Leases (leases.py): claims, rebalancing, takeover, and the race two replicas must not
both win. The Lease store is an in-memory stand-in with the API server's compare-and-swap on
``resourceVersion``; time is a fake monotonic clock, so a replica can be "paused" (not stepped)
for exactly as long as a test wants. The same code against the real API server is exercised by
tests/controller/e2e/test_shard_replicas.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tidegate.controller import leases, sharding
from tidegate.model import errors


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Store:
    """Leases by name, with create-if-absent and replace-if-unchanged."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.broken = False  # every call fails (the API server is unreachable)

    def _check(self) -> None:
        if self.broken:
            raise errors.ClusterUnreachableError("management cluster unreachable")

    def _stamp(self, lease: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        stored = copy.deepcopy(lease)
        stored["metadata"]["resourceVersion"] = str(self.version)
        self.objects[stored["metadata"]["name"]] = stored
        return copy.deepcopy(stored)

    async def list(self) -> list[dict[str, Any]]:
        self._check()
        return [copy.deepcopy(o) for o in self.objects.values()]

    async def create(self, lease: dict[str, Any]) -> dict[str, Any]:
        self._check()
        if lease["metadata"]["name"] in self.objects:
            raise errors.KubeConflictError("exists", code=409, reason="AlreadyExists")
        return self._stamp(lease)

    async def replace(self, lease: dict[str, Any]) -> dict[str, Any]:
        self._check()
        current = self.objects.get(lease["metadata"]["name"])
        if current is None:
            raise errors.KubeNotFoundError("gone", code=404)
        if current["metadata"]["resourceVersion"] != lease["metadata"].get("resourceVersion"):
            raise errors.KubeConflictError("stale", code=409, reason="Conflict")
        return self._stamp(lease)

    async def delete(self, name: str) -> None:
        self._check()
        self.objects.pop(name, None)

    async def aclose(self) -> None:
        pass

    def holder(self, shard: int) -> str:
        lease = self.objects.get(f"{leases.PREFIX}-shard-{shard}") or {}
        return str((lease.get("spec") or {}).get("holderIdentity") or "")


SETTINGS = {"lease_duration": 6, "renew_deadline": 4.0, "retry_period": 1.0}


def replica(
    store: Store, clock: Clock, name: str, *, replicas: int = 2, shard: int | None = None
) -> tuple[leases.ShardLeases, list[tuple[str, int]]]:
    log: list[tuple[str, int]] = []
    settings = sharding.ShardingSettings(replicas=replicas, shard=shard, identity=name, **SETTINGS)  # type: ignore[arg-type]
    return (
        leases.ShardLeases(
            store=store,
            namespace="argocd",
            settings=settings,
            on_acquired=lambda s: log.append(("acquired", s)),
            on_lost=lambda s: log.append(("lost", s)),
            clock=clock,
        ),
        log,
    )


async def rounds(clock: Clock, *replicas: leases.ShardLeases, seconds: float) -> None:
    """Step ``replicas`` every retry period for ``seconds`` of fake time; at every instant at
    most one replica owns each shard."""
    end = clock.now + seconds
    while clock.now < end:
        for r in replicas:
            await r.step()
            assert_exclusive(*replicas)
        clock.now += SETTINGS["retry_period"]
        assert_exclusive(*replicas)


def assert_exclusive(*replicas: leases.ShardLeases) -> None:
    for shard in range(replicas[0].settings.replicas):
        owners = [r.identity for r in replicas if r.owns(shard)]
        assert len(owners) <= 1, f"shard {shard} owned by {owners}"


async def test_a_lone_replica_takes_every_shard_and_a_second_one_gets_its_share() -> None:
    store, clock = Store(), Clock()
    a, a_log = replica(store, clock, "a", replicas=4)
    await rounds(clock, a, seconds=2)
    assert a.held() == {0, 1, 2, 3}
    assert sorted(s for event, s in a_log if event == "acquired") == [0, 1, 2, 3]
    b, _ = replica(store, clock, "b", replicas=4)
    await rounds(clock, a, b, seconds=4)
    assert len(a.held()) == 2 and len(b.held()) == 2
    assert a.held() | b.held() == {0, 1, 2, 3}
    assert all(store.holder(s) in ("a", "b") for s in range(4))


async def test_a_dead_replicas_shards_move_after_the_lease_duration_not_before() -> None:
    store, clock = Store(), Clock()
    a, _ = replica(store, clock, "a")
    b, b_log = replica(store, clock, "b")
    await rounds(clock, a, b, seconds=4)
    assert len(a.held()) == 1 and len(b.held()) == 1
    (lost_shard,) = a.held()
    died_at = clock.now  # a stops stepping: killed
    await rounds(clock, b, seconds=SETTINGS["lease_duration"] - 1)
    assert not b.owns(lost_shard), "taken before the lease duration had passed"
    await rounds(clock, b, seconds=3)
    assert b.held() == {0, 1}
    assert ("acquired", lost_shard) in b_log
    assert clock.now - died_at <= SETTINGS["lease_duration"] + 3 * SETTINGS["retry_period"]


async def test_a_paused_holder_has_stopped_before_another_replica_takes_its_shard() -> None:
    """The forced race: a holds shard 0 and is paused (SIGSTOP, a long GC, a stalled VM) past
    its lease; b takes the shard; a wakes up still *believing* it holds it. At no instant do
    both own it, a's writes are fenced from the moment it wakes, and its next round gives the
    shard up instead of taking it back."""
    store, clock = Store(), Clock()
    a, a_log = replica(store, clock, "a", replicas=1)
    b, b_log = replica(store, clock, "b", replicas=1)
    await rounds(clock, a, seconds=2)
    await rounds(clock, a, b, seconds=2)
    assert a.owns(0) and not b.owns(0)
    # a is paused: only b runs, for longer than the lease
    await rounds(clock, b, seconds=SETTINGS["lease_duration"] + 2)
    assert b.owns(0) and store.holder(0) == "b"
    # a wakes up: its bookkeeping still lists shard 0, but its deadline has passed
    assert not a.owns(0)
    with pytest.raises(errors.FenceError, match="does not hold shard 0"):
        a.require(0, "apply ConfigMap x")
    await rounds(clock, a, b, seconds=SETTINGS["lease_duration"] * 2)
    assert ("lost", 0) in a_log and b.owns(0) and not a.owns(0)
    assert [e for e in b_log if e[0] == "acquired"] == [("acquired", 0)]


async def test_a_holder_that_cannot_renew_stops_before_the_lease_can_be_taken() -> None:
    store, clock = Store(), Clock()
    a, a_log = replica(store, clock, "a", replicas=1)
    await rounds(clock, a, seconds=2)
    last_renewal = clock.now - SETTINGS["retry_period"]
    store.broken = True  # a can reach nothing (b, elsewhere, still could)
    stopped_at = None
    while stopped_at is None:
        await a.step()
        if not a.owns(0):
            stopped_at = clock.now
        clock.now += 0.5
    assert ("lost", 0) in a_log
    # the earliest another replica may take the shard: lease duration after the last renewal
    assert stopped_at < last_renewal + SETTINGS["lease_duration"]


async def test_a_pinned_replica_holds_only_its_shard_and_waits_for_it() -> None:
    store, clock = Store(), Clock()
    a, _ = replica(store, clock, "a", replicas=2)
    await rounds(clock, a, seconds=2)
    assert a.held() == {0, 1}
    pinned, _ = replica(store, clock, "pinned", replicas=2, shard=1)
    await rounds(clock, a, pinned, seconds=4)
    assert pinned.held() == {1} and a.held() == {0}


async def test_shutdown_releases_the_shards_at_once() -> None:
    store, clock = Store(), Clock()
    a, _ = replica(store, clock, "a")
    b, _ = replica(store, clock, "b")
    await rounds(clock, a, b, seconds=4)
    await a.release_all()
    assert a.held() == frozenset()
    await rounds(clock, b, seconds=SETTINGS["retry_period"] * 2)
    assert b.held() == {0, 1}  # without waiting for the lease duration
