"""Resume after the driver is dropped mid-sync, terminate, and retry, on the real cluster."""

from __future__ import annotations

import asyncio

import pytest

from tidegate.kube import client as kube_client
from tidegate.model.enums import OperationPhase
from tidegate.sync import operation

from .conftest import Run, Writes, annotated, configmap, deployment, hook, job, key, result_of

pytestmark = pytest.mark.e2e


async def test_a_new_driver_resumes_from_the_persisted_record_without_reapplying(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    targets = [
        hook(job("migrate"), "PreSync"),
        annotated(deployment("backend", replicas=3), sync_wave="0"),
        annotated(configmap("frontend", a="1"), sync_wave="1"),
    ]
    killed = asyncio.Event()

    async def persist_then_die(state: operation.OperationState) -> None:
        await run.persist(state)
        backend = [r for r in state.record.results if r.name == "backend"]
        if backend and backend[0].running:
            killed.set()
            await asyncio.Event().wait()  # the process "dies" here: nothing after runs

    first = asyncio.create_task(
        run.sync(targets, persist=persist_then_die, kinds=[("batch", "Job")])
    )
    await asyncio.wait_for(killed.wait(), 60)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert writes.order() == ["jobs/migrate", "deployments/backend"]
    writes.log.clear()

    persisted = operation.OperationState.from_status(run.persisted[-1].to_status())
    assert persisted.phase is OperationPhase.RUNNING
    state = await run.sync(targets, recorded=persisted, kinds=[("batch", "Job")])

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    # The new driver applied only what the record did not hold: wave 1.
    assert writes.order() == ["configmaps/frontend"]
    backend = await dev.get(key("Deployment", namespace, "backend", "apps"))
    assert backend["metadata"]["generation"] == 1
    assert result_of(state, "Job", "migrate").hook_phase.value == "Succeeded"
    assert result_of(state, "Deployment", "backend").hook_phase.value == "Succeeded"


async def test_terminate_stops_the_operation_and_its_running_hook(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    targets = [hook(job("wait-forever", unschedulable=True), "PreSync"), configmap("settings")]
    asked = asyncio.Event()

    async def persist(state: operation.OperationState) -> None:
        await run.persist(state)
        if any(r.name == "wait-forever" and r.running for r in state.record.results):
            asked.set()  # e.g. `tidegate app terminate-op` once the hook runs

    async def should_terminate() -> bool:
        return asked.is_set()

    state = await run.sync(
        targets, persist=persist, should_terminate=should_terminate, kinds=[("batch", "Job")]
    )

    assert (state.phase, state.message) == (OperationPhase.FAILED, "operation terminated")
    assert OperationPhase.TERMINATING in [s.phase for s in run.persisted]
    stopped = result_of(state, "Job", "wait-forever")
    assert (stopped.hook_phase.value, stopped.message) == ("Failed", "terminated")
    assert writes.sent("configmaps", "settings") == 0
    assert [w.method for w in writes.log if w.name == "wait-forever"] == ["POST", "DELETE"]


async def test_retry_reruns_the_failed_operation_with_backoff(
    run: Run, writes: Writes, namespace: str
) -> None:
    broken = configmap("settings")
    broken["data"] = {"bad key!": "x"}  # invalid data key: rejected by the API server
    policy = operation.RetryPolicy.from_spec(
        {"limit": 2, "backoff": {"duration": "50ms", "factor": 2, "maxDuration": "1s"}}
    )
    state = await run.sync([broken], retry_policy=policy)

    assert state.phase is OperationPhase.FAILED
    assert state.retry_count == 2
    assert "a valid config key must consist of" in state.message
    # Each attempt is stopped by its validating dry run: three dry runs, nothing applied.
    assert [w.name for w in writes.dry_runs] == ["settings"] * 3
    assert writes.sent("configmaps", "settings") == 0
    retrying = [s.message for s in run.persisted if "Retrying attempt" in s.message]
    assert [m.rsplit("Retrying ", 1)[1] for m in retrying] == [
        "attempt #1 in 0.05s",
        "attempt #2 in 0.1s",
    ]
    # Every attempt ran its own validation and recorded its own failure.
    for attempt in range(3):
        states = [s for s in run.persisted if s.retry_count == attempt]
        assert [(r.name, r.status.value) for r in states[-1].record.results] == [
            ("settings", "SyncFailed")
        ]
