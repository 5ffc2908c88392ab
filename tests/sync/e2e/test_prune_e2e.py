"""Pruning on the real ``dev`` cluster: foreground by default, Prune=false, allowEmpty."""

from __future__ import annotations

import asyncio

import pytest

from tidegate.kube import client as kube_client
from tidegate.model.enums import OperationPhase

from .conftest import Run, Writes, annotated, configmap, deployment, key, result_of

pytestmark = pytest.mark.e2e


async def _replica_sets(dev: kube_client.KubeClient, namespace: str) -> list[str]:
    res = await dev.resource("apps", "ReplicaSet")
    return [o["metadata"]["name"] for o in (await dev.list(res, namespace=namespace)).items]


async def test_prune_removes_an_object_no_longer_in_git_with_foreground_deletion(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    first = await run.sync([configmap("keep", a="1"), deployment("old", replicas=1)])
    assert first.phase is OperationPhase.SUCCEEDED, first.message
    # The sync does not wait for its last wave's health: wait here for the ReplicaSet that the
    # real Deployment controller creates, so the prune below has something to cascade to.
    deadline = asyncio.get_running_loop().time() + 30
    while not await _replica_sets(dev, namespace):
        assert asyncio.get_running_loop().time() < deadline, "no ReplicaSet appeared"
        await asyncio.sleep(0.1)

    state = await run.sync([configmap("keep", a="1")], prune=True, kinds=[("apps", "Deployment")])

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    pruned = result_of(state, "Deployment", "old")
    assert (pruned.status.value, pruned.hook_phase.value, pruned.message) == (
        "Pruned",
        "Succeeded",
        "pruned",
    )
    deletes = [w for w in writes.log if w.method == "DELETE"]
    assert [(w.plural, w.name, w.body["propagationPolicy"]) for w in deletes] == [
        ("deployments", "old", "Foreground")
    ]
    assert await dev.get_or_none(key("Deployment", namespace, "old", "apps")) is None
    # Foreground: the owner went only after its ReplicaSets; none is left behind.
    assert await _replica_sets(dev, namespace) == []
    assert await dev.get_or_none(key("ConfigMap", namespace, "keep")) is not None


async def test_prune_propagation_policy_option(run: Run, writes: Writes) -> None:
    await run.sync([configmap("keep"), configmap("old")])
    state = await run.sync(
        [configmap("keep")], prune=True, sync_options=["PrunePropagationPolicy=background"]
    )
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    deletes = [w.body["propagationPolicy"] for w in writes.log if w.method == "DELETE"]
    assert deletes == ["Background"]


async def test_prune_false_keeps_the_object(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    precious = annotated(configmap("precious", a="1"), sync_options="Prune=false")
    await run.sync([configmap("keep"), precious])

    state = await run.sync([configmap("keep")], prune=True)

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    skipped = result_of(state, "ConfigMap", "precious")
    assert (skipped.status.value, skipped.message) == ("PruneSkipped", "ignored (no prune)")
    assert not any(w.method == "DELETE" for w in writes.log)
    assert await dev.get_or_none(key("ConfigMap", namespace, "precious")) is not None


async def test_without_prune_nothing_is_deleted(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    await run.sync([configmap("keep"), configmap("old")])
    state = await run.sync([configmap("keep")])
    assert result_of(state, "ConfigMap", "old").message == "ignored (requires pruning)"
    assert await dev.get_or_none(key("ConfigMap", namespace, "old")) is not None


async def test_allow_empty_false_refuses_to_prune_everything(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    await run.sync([configmap("a"), configmap("b")])

    state = await run.sync([], prune=True, allow_empty=False)

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    for name in ("a", "b"):
        result = result_of(state, "ConfigMap", name)
        assert result.status.value == "PruneSkipped"
        assert "allowEmpty is false" in result.message
        assert await dev.get_or_none(key("ConfigMap", namespace, name)) is not None
    assert not any(w.method == "DELETE" for w in writes.log)

    emptied = await run.sync([], prune=True, allow_empty=True)
    assert emptied.phase is OperationPhase.SUCCEEDED, emptied.message
    assert {r.status.value for r in emptied.record.results} == {"Pruned"}
    assert await dev.get_or_none(key("ConfigMap", namespace, "a")) is None
