"""Leader election of the fleet-wide controllers (leader.py): one Lease per controller kind,
held through the shard Lease logic, the work running only in its holder.

Same stand-ins as tests/controller/test_leases.py (an in-memory Lease store with the API
server's compare-and-swap, a fake monotonic clock). The same code against the real API server
and two real controller processes: tests/controller/e2e/test_singleton_replicas.py."""

from __future__ import annotations

import asyncio

import pytest
from tests.controller.test_leases import SETTINGS, Clock, Store

from tidegate.controller import leader, leases, sharding
from tidegate.kube import fence
from tidegate.model import errors

LEASE = f"{leases.PREFIX}-leader-applicationset"


class Work:
    """The controller's work: records each term, tries a write when asked to."""

    def __init__(self) -> None:
        self.terms = 0
        self.cancelled = 0
        self.write = asyncio.Event()
        self.writes: list[str] = []  # "sent" or the FenceError
        self.started = asyncio.Event()

    async def __call__(self) -> None:
        self.terms += 1
        self.started.set()
        try:
            while True:
                await self.write.wait()
                self.write.clear()
                try:
                    fence.check("PUT", "Application x")
                    self.writes.append("sent")
                except errors.FenceError as exc:
                    self.writes.append(str(exc))
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


def replica(
    store: Store, clock: Clock, name: str, *, kind: str = "applicationset"
) -> tuple[leader.Singleton, Work]:
    work = Work()
    settings = sharding.ShardingSettings(replicas=2, identity=name, **SETTINGS)  # type: ignore[arg-type]
    single = leader.Singleton(
        kind, work, store=store, namespace="argocd", settings=settings, clock=clock
    )
    return single, work


async def rounds(clock: Clock, *replicas: leader.Singleton, seconds: float) -> None:
    """Step every retry period for ``seconds`` of fake time, letting the work tasks run; at
    every instant at most one replica leads."""
    end = clock.now + seconds
    while clock.now < end:
        for r in replicas:
            await r.lease.step()
            await asyncio.sleep(0)
            assert_exclusive(*replicas)
        clock.now += SETTINGS["retry_period"]
        assert_exclusive(*replicas)


def assert_exclusive(*replicas: leader.Singleton) -> None:
    leading = [r.lease.identity for r in replicas if r.lease.leads()]
    assert len(leading) <= 1, f"{leading} all lead"


async def stop(*replicas: leader.Singleton) -> None:
    for r in replicas:
        r._stop(0)
    await asyncio.sleep(0)


async def test_one_replica_leads_at_once_the_other_stands_by() -> None:
    store, clock = Store(), Clock()
    a, a_work = replica(store, clock, "a")
    b, b_work = replica(store, clock, "b")
    await rounds(clock, a, b, seconds=SETTINGS["lease_duration"] * 2)
    assert a.lease.leads() and a.running and a_work.terms == 1
    assert not b.lease.leads() and not b.running and b_work.terms == 0
    lease = store.objects[LEASE]
    assert lease["spec"]["holderIdentity"] == "a"
    assert lease["metadata"]["labels"][leases.LABEL_ROLE] == "leader"
    assert leases.LABEL_SHARD not in lease["metadata"]["labels"]
    assert list(store.objects) == [LEASE]  # no member Leases of its own
    await stop(a, b)


async def test_each_kind_has_its_own_lease() -> None:
    store, clock = Store(), Clock()
    appsets, _ = replica(store, clock, "a", kind="applicationset")
    notify, _ = replica(store, clock, "b", kind="notifications")
    await rounds(clock, appsets, seconds=2)
    await rounds(clock, notify, seconds=2)
    assert appsets.lease.leads() and notify.lease.leads()
    assert sorted(store.objects) == [LEASE, f"{leases.PREFIX}-leader-notifications"]
    await stop(appsets, notify)


async def test_leader_leases_are_not_counted_as_shard_replicas() -> None:
    store, clock = Store(), Clock()
    single, _ = replica(store, clock, "a")
    shards = leases.ShardLeases(
        store=store,
        namespace="argocd",
        settings=sharding.ShardingSettings(replicas=2, identity="a", **SETTINGS),  # type: ignore[arg-type]
        clock=clock,
    )
    for _ in range(3):
        await single.lease.step()
        await shards.step()
        clock.now += 1
    assert shards.members == 1 and shards.held() == {0, 1}
    await stop(single)


async def test_a_paused_leader_stops_and_is_fenced_before_the_other_takes_over() -> None:
    """The forced race: a leads and is paused past its lease; b takes over and starts the
    work; a wakes believing it leads: its writes are refused, its next round cancels its
    work, and b keeps the Lease."""
    store, clock = Store(), Clock()
    a, a_work = replica(store, clock, "a")
    b, b_work = replica(store, clock, "b")
    await rounds(clock, a, b, seconds=2)
    a_work.write.set()
    await asyncio.sleep(0)
    assert a_work.writes == ["sent"]
    # a is paused: not stepped. b may not take over before the lease duration
    taken_at = None
    start = clock.now
    for _ in range(4 * SETTINGS["lease_duration"]):
        if taken_at is not None:
            break
        await rounds(clock, b, seconds=SETTINGS["retry_period"])
        assert not (a.lease.leads() and b.lease.leads())
        if b.lease.leads():
            taken_at = clock.now
    assert taken_at is not None
    assert taken_at - start >= SETTINGS["lease_duration"] - SETTINGS["retry_period"]
    assert b.running and b_work.terms == 1
    # a wakes up: its work still runs, but no write leaves it
    assert a.running
    a_work.write.set()
    await asyncio.sleep(0)
    assert "does not lead the applicationset controller" in a_work.writes[-1]
    assert f"Lease argocd/{LEASE}" in a_work.writes[-1]
    await rounds(clock, a, b, seconds=SETTINGS["lease_duration"] * 2)
    assert not a.running and a_work.cancelled == 1
    assert b.lease.leads() and store.objects[LEASE]["spec"]["holderIdentity"] == "b"
    await stop(a, b)


async def test_a_leader_that_cannot_renew_stops_its_work_before_the_lease_can_be_taken() -> None:
    store, clock = Store(), Clock()
    a, a_work = replica(store, clock, "a")
    await rounds(clock, a, seconds=2)
    last_renewal = clock.now - SETTINGS["retry_period"]
    store.broken = True
    stopped_at = None
    for _ in range(4 * SETTINGS["lease_duration"]):
        await a.lease.step()
        await asyncio.sleep(0)
        if not a.running:
            stopped_at = clock.now
            break
        clock.now += 0.5
    assert a_work.cancelled == 1
    # the earliest another replica may take the Lease: lease duration after the last renewal
    assert stopped_at is not None and stopped_at < last_renewal + SETTINGS["lease_duration"]


async def test_run_releases_the_lease_when_stopped_so_the_other_takes_over_at_once() -> None:
    store = Store()
    fast = {"lease_duration": 30, "renew_deadline": 20.0, "retry_period": 0.01}
    settings = sharding.ShardingSettings(replicas=2, identity="a", **fast)  # type: ignore[arg-type]
    work = Work()
    single = leader.Singleton(
        "applicationset", work, store=store, namespace="ns", settings=settings
    )
    task = asyncio.create_task(single.run())
    await asyncio.wait_for(work.started.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert work.cancelled == 1
    assert store.objects[LEASE]["spec"]["holderIdentity"] == ""
    other = leader.Singleton(
        "applicationset",
        Work(),
        store=store,
        namespace="ns",
        settings=sharding.ShardingSettings(replicas=2, identity="b", **fast),  # type: ignore[arg-type]
    )
    await other.lease.step()  # no waiting for the lease duration
    assert other.lease.leads()
    await stop(other)


async def test_run_raises_what_the_work_raised_and_gives_the_lease_up() -> None:
    store = Store()
    fast = {"lease_duration": 30, "renew_deadline": 20.0, "retry_period": 0.01}
    settings = sharding.ShardingSettings(replicas=2, identity="a", **fast)  # type: ignore[arg-type]

    async def broken() -> None:
        raise errors.ConfigError("ApplicationSet CRD missing")

    single = leader.Singleton(
        "applicationset", broken, store=store, namespace="ns", settings=settings
    )
    with pytest.raises(errors.ConfigError, match="CRD missing"):
        await asyncio.wait_for(single.run(), timeout=30)
    assert store.objects[LEASE]["spec"]["holderIdentity"] == ""
