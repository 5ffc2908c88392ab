"""Operation slots: at most ``per_cluster`` operations on one cluster, ``workers`` in all; the
operations queued behind a busy cluster hold no shared slot, so another cluster's operation
starts at once."""

from __future__ import annotations

import asyncio

from tidegate.controller import opslots


async def _hold(slots: opslots.OperationSlots, cluster: str, release: asyncio.Event) -> None:
    async with slots.hold(cluster):
        await release.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_one_cluster_never_takes_every_slot() -> None:
    slots = opslots.OperationSlots(workers=3)
    assert slots.per_cluster == 2  # all but one by default
    release = asyncio.Event()
    busy = [asyncio.create_task(_hold(slots, "https://a", release)) for _ in range(5)]
    await _settle()
    assert slots.running == {"https://a": 2}
    other = asyncio.create_task(_hold(slots, "https://b", release))
    await _settle()
    assert slots.running == {"https://a": 2, "https://b": 1}
    release.set()
    await asyncio.gather(*busy, other)
    assert not slots.running


async def test_the_shared_limit_still_bounds_many_clusters() -> None:
    slots = opslots.OperationSlots(workers=2, per_cluster=2)
    release = asyncio.Event()
    tasks = [asyncio.create_task(_hold(slots, c, release)) for c in ("a", "b", "c", "a")]
    await _settle()
    assert sum(slots.running.values()) == 2
    release.set()
    await asyncio.gather(*tasks)


def test_a_single_processor_is_its_own_cluster_limit() -> None:
    assert opslots.OperationSlots(workers=1).per_cluster == 1
    assert opslots.OperationSlots(workers=4, per_cluster=1).per_cluster == 1
