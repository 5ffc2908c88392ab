"""Operation slots: at most ``per_cluster`` operations on one cluster, the gate's limit in all;
the operations queued behind a busy cluster hold no shared slot, so another cluster's operation
starts at once."""

from __future__ import annotations

import asyncio

from tidegate.controller import opgate, opslots
from tidegate.kube import pressure


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


def _steady_gate(initial: int, ceiling: int) -> opgate.OperationGate:
    return opgate.OperationGate(initial=initial, ceiling=ceiling, sample=pressure.Sample)


async def _hold_until(
    slots: opslots.OperationSlots, cluster: str, done: asyncio.Event, *, manual: bool = False,
    order: list[str] | None = None, name: str = "",
) -> None:  # fmt: skip
    async with slots.hold(cluster, manual=manual):
        if order is not None:
            order.append(name)
        await done.wait()


async def test_a_fleet_on_one_cluster_lets_the_adaptive_gate_grow() -> None:
    """Operations waiting for their cluster's slot count as waiting for the gate: the limit
    grows (the API server keeps up) and the cluster's share with it (all of it but one)."""
    slots = opslots.OperationSlots(workers=2, gate=_steady_gate(2, 8))
    done = [asyncio.Event() for _ in range(10)]
    tasks = [asyncio.create_task(_hold_until(slots, "https://a", d)) for d in done]
    await _settle()
    assert slots.running == {"https://a": 1} and slots.per_cluster == 1
    done[0].set()
    await _settle()
    assert slots.gate.limit == 3 and slots.running == {"https://a": 2}
    for event in done:
        event.set()
    await asyncio.gather(*tasks)
    assert not slots.running


async def test_a_fixed_per_cluster_limit_stays_fixed_and_does_not_grow_the_gate() -> None:
    slots = opslots.OperationSlots(workers=2, per_cluster=1, gate=_steady_gate(2, 8))
    done = [asyncio.Event() for _ in range(4)]
    tasks = [asyncio.create_task(_hold_until(slots, "https://a", d)) for d in done]
    await _settle()
    done[0].set()
    await _settle()
    assert slots.gate.limit == 2 and slots.running == {"https://a": 1}
    for event in done:
        event.set()
    await asyncio.gather(*tasks)


async def test_user_requested_operations_take_their_clusters_slot_first() -> None:
    slots = opslots.OperationSlots(workers=2)  # one slot per cluster
    order: list[str] = []
    first, rest = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold_until(slots, "a", first, order=order, name="auto-0"))
    await _settle()
    waiting = [
        asyncio.create_task(_hold_until(slots, "a", rest, order=order, name=f"auto-{i}"))
        for i in (1, 2)
    ]
    waiting.append(
        asyncio.create_task(_hold_until(slots, "a", rest, manual=True, order=order, name="user"))
    )
    await _settle()
    rest.set()
    first.set()
    await asyncio.gather(holder, *waiting)
    assert order == ["auto-0", "user", "auto-1", "auto-2"]


async def test_cancelled_while_waiting_for_the_gate_gives_the_cluster_slot_back() -> None:
    slots = opslots.OperationSlots(workers=1, per_cluster=1)
    done = asyncio.Event()
    holder = asyncio.create_task(_hold_until(slots, "a", done))
    await _settle()
    blocked = asyncio.create_task(_hold_until(slots, "b", done))  # b's slot, then the gate
    await _settle()
    blocked.cancel()
    await asyncio.gather(blocked, return_exceptions=True)
    done.set()
    await holder
    again = asyncio.Event()
    again.set()
    await asyncio.wait_for(_hold_until(slots, "b", again), timeout=5)  # b's slot is free
    assert not slots.running
