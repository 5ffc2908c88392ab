"""The render cap (pure asyncio): ``limit`` run, ``queue`` wait, the rest get 503 + Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from tidegate.api import errors, render_gate


async def _hold(gate: render_gate.RenderGate, started: list[int], i: int, go: asyncio.Event) -> int:
    async with gate.slot(f"application app-{i}"):
        started.append(i)
        await go.wait()
    return i


async def _until(predicate: object) -> None:
    assert callable(predicate)
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_limit_run_queue_wait_rest_refused() -> None:
    gate = render_gate.RenderGate(limit=2, queue=1)
    go = asyncio.Event()
    started: list[int] = []
    tasks = [asyncio.create_task(_hold(gate, started, i, go)) for i in range(3)]
    await _until(lambda: gate.admitted == 3 and len(started) == 2)
    assert started == [0, 1]  # the third waits for a slot

    with pytest.raises(errors.ApiError) as refused:
        async with gate.slot("application app-3"):
            raise AssertionError("a fourth request must not run")
    assert refused.value.status == 503
    assert refused.value.grpc_code == 14
    assert refused.value.headers == {"Retry-After": str(render_gate.RETRY_AFTER_SECONDS)}
    assert "application app-3" in refused.value.message
    assert "2 running, 1 waiting" in refused.value.message

    go.set()
    assert sorted(await asyncio.gather(*tasks)) == [0, 1, 2]
    assert started[2] == 2
    assert gate.admitted == 0
    async with gate.slot("application app-4"):  # room again
        assert gate.admitted == 1


async def test_a_waiting_request_that_goes_away_gives_its_place_back() -> None:
    gate = render_gate.RenderGate(limit=1, queue=1)
    go = asyncio.Event()
    started: list[int] = []
    running = asyncio.create_task(_hold(gate, started, 0, go))
    waiting = asyncio.create_task(_hold(gate, started, 1, go))
    await _until(lambda: gate.admitted == 2)
    waiting.cancel()  # the client disconnected
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert gate.admitted == 1
    third = asyncio.create_task(_hold(gate, started, 2, go))
    await _until(lambda: gate.admitted == 2)
    go.set()
    assert await running == 0
    assert await third == 2
    assert started == [0, 2]


async def test_an_error_in_the_body_frees_the_slot() -> None:
    gate = render_gate.RenderGate(limit=1, queue=0)
    with pytest.raises(RuntimeError):
        async with gate.slot("application a"):
            raise RuntimeError("render failed")
    assert gate.admitted == 0
    async with gate.slot("application a"):
        assert gate.admitted == 1


@pytest.mark.parametrize(("limit", "queue"), [(0, 1), (1, -1)])
def test_nonsense_sizes_are_refused(limit: int, queue: int) -> None:
    with pytest.raises(ValueError, match="render limit"):
        render_gate.RenderGate(limit=limit, queue=queue)
