"""The jq worker pool: results, batching, and the bounds (time, memory) that protect the loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tidegate.model import errors
from tidegate.sandbox import jqpool

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
    "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
}
NEVER_ENDS = "def f: f; f"


@pytest.fixture
async def pool() -> AsyncIterator[jqpool.JqPool]:
    made = jqpool.JqPool(workers=2, timeout=1.0)
    yield made
    await made.aclose()


async def test_paths_of_a_batch(pool: jqpool.JqPool) -> None:
    found = await pool.paths(
        [DEPLOYMENT, {"kind": "ConfigMap"}],
        [
            (0, ".spec.replicas"),
            (0, ".metadata.labels[]"),
            (0, '.spec.template.spec.containers[] | select(.name == "c") | .image'),
            (1, ".spec.replicas"),
            (1, ".data[]"),  # iterating a missing field: no match, as in Argo CD
        ],
    )
    assert found == [
        [["spec", "replicas"]],
        [["metadata", "labels", "a"], ["metadata", "labels", "b"]],
        [["spec", "template", "spec", "containers", 0, "image"]],
        [["spec", "replicas"]],
        [],
    ]
    assert pool.calls == 1


async def test_an_expression_that_is_not_a_path_is_reported_as_a_string(
    pool: jqpool.JqPool,
) -> None:
    (found,) = await pool.paths([DEPLOYMENT], [(0, ".spec.replicas + 1")])
    assert isinstance(found, str) and "path" in found.lower()


async def test_a_never_ending_expression_times_out_and_names_its_job(
    pool: jqpool.JqPool,
) -> None:
    with pytest.raises(jqpool.JqLimitError) as caught:
        await pool.paths([DEPLOYMENT], [(0, ".spec"), (0, NEVER_ENDS), (0, ".metadata")])
    assert caught.value.job == 1
    assert isinstance(caught.value, errors.LimitExceededError)
    assert str(caught.value) == (
        f"jq expression {NEVER_ENDS!r} did not finish within the timeout of 1s"
    )
    assert pool.replaced == 1
    # The pool recovers: a fresh worker answers the next call.
    assert await pool.paths([DEPLOYMENT], [(0, ".spec.replicas")]) == [[["spec", "replicas"]]]


async def test_a_memory_hungry_expression_is_stopped_by_the_memory_limit() -> None:
    pool = jqpool.JqPool(workers=1, timeout=120.0, memory_bytes=256 * 1024 * 1024)
    try:
        with pytest.raises(jqpool.JqLimitError) as caught:
            await pool.paths([{}], [(0, "[range(1e18)] | .[0]")])
        assert caught.value.job == 0
        assert "memory limit of 256 MiB" in str(caught.value)
    finally:
        await pool.aclose()


async def test_a_stuck_expression_stalls_neither_the_loop_nor_other_calls() -> None:
    pool = jqpool.JqPool(workers=2, timeout=60.0)
    try:
        stuck = asyncio.create_task(pool.paths([DEPLOYMENT], [(0, NEVER_ENDS)]))
        ticks = 0
        for _ in range(20):  # the loop keeps running while a worker spins
            await asyncio.sleep(0.01)
            ticks += 1
        found = await pool.paths([DEPLOYMENT], [(0, ".spec.replicas")])
        assert found == [[["spec", "replicas"]]]
        assert ticks == 20 and not stuck.done()
        stuck.cancel()  # a cancelled call kills its worker: the next call gets a fresh one
        with pytest.raises(asyncio.CancelledError):
            await stuck
        assert pool.replaced == 1
        assert await pool.paths([DEPLOYMENT], [(0, ".kind")]) == [[["kind"]]]
    finally:
        await pool.aclose()


async def test_no_jobs_costs_no_worker(pool: jqpool.JqPool) -> None:
    assert await pool.paths([DEPLOYMENT], []) == []
    assert pool.calls == 0


async def test_an_idle_worker_killed_from_outside_is_replaced_transparently(
    pool: jqpool.JqPool,
) -> None:
    assert await pool.paths([DEPLOYMENT], [(0, ".kind")]) == [[["kind"]]]
    (idle,) = pool._idle  # the worker that answered, now idle
    idle.proc.kill()
    await idle.proc.wait()
    assert await pool.paths([DEPLOYMENT], [(0, ".spec.replicas")]) == [[["spec", "replicas"]]]
    assert pool.replaced == 1
