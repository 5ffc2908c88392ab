"""The work queue's idle signal and ``Controller.refresh_all`` built on it."""

from __future__ import annotations

import asyncio

from tidegate.controller import engine, workqueue
from tidegate.kube import config as kube_config


async def _drain(queue: workqueue.WorkQueue, seen: list[str], gate: asyncio.Event) -> None:
    while True:
        name, _ = await queue.get()
        await gate.wait()
        seen.append(name)
        if name == "a" and seen.count("a") == 1:
            queue.add("a")  # re-added while processing: runs again before the queue is idle
        queue.done(name)


async def test_wait_idle_returns_once_queued_and_requeued_items_are_processed() -> None:
    queue = workqueue.WorkQueue()
    await asyncio.wait_for(queue.wait_idle(), 1)  # a new queue is idle
    seen: list[str] = []
    gate = asyncio.Event()
    worker = asyncio.create_task(_drain(queue, seen, gate))
    for name in ("a", "b", "c"):
        queue.add(name)
    waiter = asyncio.create_task(queue.wait_idle())
    await asyncio.sleep(0)
    assert not waiter.done()  # items queued, none processed
    gate.set()
    await asyncio.wait_for(waiter, 5)
    assert sorted(seen) == ["a", "a", "b", "c"]
    worker.cancel()


async def test_forgetting_the_last_queued_item_makes_the_queue_idle() -> None:
    queue = workqueue.WorkQueue()
    queue.add("gone")
    queue.forget("gone")
    await asyncio.wait_for(queue.wait_idle(), 1)


async def test_delayed_adds_do_not_count_until_they_fire() -> None:
    queue = workqueue.WorkQueue()
    queue.add_after("later", 60)
    await asyncio.wait_for(queue.wait_idle(), 1)
    queue.cancel_timers()


async def test_refresh_all_refreshes_every_app_and_returns_when_done() -> None:
    ctrl = engine.Controller(mgmt=kube_config.ClusterConfig(server="https://127.0.0.1:9"))
    refreshed: list[str] = []

    async def refresh(name: str, hard: bool) -> None:
        await asyncio.sleep(0.01)
        refreshed.append(name)

    for i in range(20):
        ctrl.states.seen(f"app-{i}", {"metadata": {"name": f"app-{i}"}})
    workers = [asyncio.create_task(ctrl.scheduler.process(refresh)) for _ in range(3)]
    try:
        await asyncio.wait_for(ctrl.refresh_all(), 5)
        assert sorted(refreshed) == sorted(ctrl.states.names())
        await asyncio.wait_for(ctrl.refresh_all(), 5)
        assert len(refreshed) == 40
    finally:
        for task in workers:
            task.cancel()
        await ctrl.mgmt.aclose()
