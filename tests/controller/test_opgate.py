"""The operation gate: user-requested syncs first, a limit that follows the API servers."""

from __future__ import annotations

import asyncio

import pytest

from tidegate.controller import opgate
from tidegate.kube import pressure
from tidegate.kube.pressure import Sample


@pytest.mark.parametrize(
    ("limit", "sample", "before", "waiting", "expected"),
    [
        (8, Sample(1.0, 3), 2, True, 4),  # a new 429: halve
        (1, Sample(1.0, 3), 2, True, 1),  # never below one
        (8, Sample(2.5, 2), 2, True, 7),  # latency rising: one less
        (8, Sample(1.2, 2), 2, True, 9),  # steady and work waiting: one more
        (32, Sample(1.0, 0), 0, True, 32),  # at the ceiling
        (8, Sample(1.0, 0), 0, False, 8),  # nothing waiting: unchanged
    ],
)
def test_adjust(limit: int, sample: Sample, before: int, waiting: bool, expected: int) -> None:
    got = opgate.adjust(limit, sample, throttled_before=before, waiting=waiting, ceiling=32)
    assert got == expected


def test_pressure_trend_rises_when_requests_slow_down_and_counts_429s() -> None:
    seen = pressure.Pressure()
    for _ in range(50):
        seen.record(0.01, 200)
    assert seen.sample().trend == pytest.approx(1.0)
    for _ in range(5):
        seen.record(0.2, 200)
    seen.record(0.2, 429)
    sample = seen.sample()
    assert sample.trend > opgate.SLOW_TREND and sample.throttled == 1
    assert pressure.worst([sample, Sample(1.0, 2)]) == Sample(sample.trend, 3)


def test_user_requested_operations_are_admitted_before_automated_ones() -> None:
    async def scenario() -> list[str]:
        gate = opgate.OperationGate(initial=1, ceiling=1, sample=Sample)
        order: list[str] = []
        await gate.acquire(manual=False)  # one automated sync holds the only slot

        async def op(name: str, manual: bool) -> None:
            await gate.acquire(manual=manual)
            order.append(name)
            gate.release()

        tasks = [asyncio.create_task(op(f"auto-{i}", False)) for i in range(3)]
        tasks.append(asyncio.create_task(op("user", True)))
        await asyncio.sleep(0)  # let every task queue (no timing: they all wait on the gate)
        assert gate.waiting == 4
        gate.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["user", "auto-0", "auto-1", "auto-2"]


def test_the_limit_grows_while_the_servers_keep_up_and_halves_on_429() -> None:
    async def scenario() -> tuple[int, int]:
        current = Sample(1.0, 0)
        gate = opgate.OperationGate(initial=2, ceiling=16, sample=lambda: current)
        for _ in range(2):
            await gate.acquire(manual=False)
        waiters = [asyncio.create_task(gate.acquire(manual=False)) for _ in range(10)]
        await asyncio.sleep(0)
        gate.release()  # steady, work waiting: the limit grows and admits more than one
        await asyncio.sleep(0)
        grown = gate.limit
        current = Sample(1.0, 1)  # the server answered 429
        gate.release()
        halved = gate.limit
        for task in waiters:
            task.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        return grown, halved

    grown, halved = asyncio.run(scenario())
    assert grown == 3 and halved == 1
