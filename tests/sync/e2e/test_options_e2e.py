"""Sync options on the real ``dev`` cluster: Replace, Force, Validate, dry run, CreateNamespace."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tidegate.kube import client as kube_client
from tidegate.model import constants
from tidegate.model.enums import OperationPhase
from tidegate.testenv import handle

from .conftest import Run, Writes, annotated, configmap, deployment, job, key, result_of

pytestmark = pytest.mark.e2e


async def test_replace_true_puts_the_whole_object(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    other = configmap("settings", a="0", b="kept-by-ssa")
    other["metadata"]["namespace"] = namespace
    await dev.apply(other, field_manager="someone-else")
    writes.log.clear()

    # Server-side apply takes over field a; field b stays, owned by the other manager.
    applied = await run.sync([configmap("settings", a="1")])
    assert applied.phase is OperationPhase.SUCCEEDED, applied.message
    live = await dev.get(key("ConfigMap", namespace, "settings"))
    assert live["data"] == {"a": "1", "b": "kept-by-ssa"}

    # Replace=true sends the whole object: b is gone.
    replaced = await run.sync(
        [annotated(configmap("settings", a="2"), sync_options="Replace=true")]
    )
    assert replaced.phase is OperationPhase.SUCCEEDED, replaced.message
    assert result_of(replaced, "ConfigMap", "settings").message == "replaced"
    live = await dev.get(key("ConfigMap", namespace, "settings"))
    assert live["data"] == {"a": "2"}
    assert [w.method for w in writes.log] == ["PATCH", "PUT"]

    # A missing object is created.
    created = await run.sync([annotated(configmap("fresh", a="1"), sync_options="Replace=true")])
    assert result_of(created, "ConfigMap", "fresh").message == "created"
    assert writes.log[-1].method == "POST"


async def test_immutable_field_fails_without_force_and_is_recreated_with_force(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    first = await run.sync([job("batch-run")])
    assert first.phase is OperationPhase.SUCCEEDED, first.message
    old_uid = (await dev.get(key("Job", namespace, "batch-run", "batch")))["metadata"]["uid"]

    changed = job("batch-run")
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    refused = await run.sync([changed])
    assert refused.phase is OperationPhase.FAILED
    assert "field is immutable" in result_of(refused, "Job", "batch-run").message

    forced = await run.sync([annotated(changed, sync_options="Force=true")])
    assert forced.phase is OperationPhase.SUCCEEDED, forced.message
    assert result_of(forced, "Job", "batch-run").message == "recreated"
    live = await dev.get(key("Job", namespace, "batch-run", "batch"))
    assert live["metadata"]["uid"] != old_uid
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"


async def test_force_and_replace_delete_and_create(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    await run.sync([configmap("settings", a="1")])
    old_uid = (await dev.get(key("ConfigMap", namespace, "settings")))["metadata"]["uid"]
    state = await run.sync(
        [annotated(configmap("settings", a="2"), sync_options="Force=true,Replace=true")]
    )
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    live = await dev.get(key("ConfigMap", namespace, "settings"))
    assert live["metadata"]["uid"] != old_uid and live["data"] == {"a": "2"}
    assert [w.method for w in writes.log][-2:] == ["DELETE", "POST"]


async def test_validate_false_ignores_unknown_fields(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    # fieldValidation matters for create/replace; server-side apply rejects fields outside
    # the schema whatever the validation level (and so does kubectl apply --server-side).
    odd = annotated(configmap("odd", a="1"), sync_options="Replace=true")
    odd["surprise"] = {"x": 1}
    strict = await run.sync([odd])
    assert strict.phase is OperationPhase.FAILED
    message = result_of(strict, "ConfigMap", "odd").message
    assert 'unknown field "surprise"' in message and "dry-run create ConfigMap" in message
    assert writes.dry_runs[-1].params["fieldValidation"] == "Strict"
    assert await dev.get_or_none(key("ConfigMap", namespace, "odd")) is None

    lenient = await run.sync([odd], sync_options=["Validate=false"])
    assert lenient.phase is OperationPhase.SUCCEEDED, lenient.message
    assert writes.log[-1].params["fieldValidation"] == "Ignore"
    live = await dev.get(key("ConfigMap", namespace, "odd"))
    assert live["data"] == {"a": "1"} and "surprise" not in live


async def test_dry_run_changes_nothing(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    await run.sync([configmap("old", a="1"), configmap("settings", a="1")])
    before = await dev.get(key("ConfigMap", namespace, "settings"))
    writes.log.clear()
    writes.dry_runs.clear()

    state = await run.sync(
        [configmap("settings", a="2"), deployment("web")], dry_run=True, prune=True
    )

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert {(r.kind, r.name, r.message) for r in state.record.results} == {
        ("ConfigMap", "settings", "applied (dry run)"),
        ("Deployment", "web", "created (dry run)"),
        ("ConfigMap", "old", "pruned (dry run)"),
    }
    assert writes.dry_runs and not writes.log  # a dry-run sync sends dry runs only
    assert await dev.get_or_none(key("Deployment", namespace, "web", "apps")) is None
    assert await dev.get_or_none(key("ConfigMap", namespace, "old")) is not None
    after = await dev.get(key("ConfigMap", namespace, "settings"))
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    invalid = configmap("bad")
    invalid["surprise"] = 1
    rejected = await run.sync([invalid], dry_run=True)
    assert rejected.phase is OperationPhase.FAILED
    assert "dry-run apply" in result_of(rejected, "ConfigMap", "bad").message


@pytest.fixture
def new_namespace(testbed_handle: handle.TestBed) -> Iterator[str]:
    """A namespace name that does not exist yet; deleted after the test if it was made."""
    name = f"t-new-{secrets.token_hex(4)}"
    yield name
    with testbed_handle.admin_client("dev") as client:
        client.delete(f"/api/v1/namespaces/{name}")


async def test_create_namespace_makes_an_untracked_namespace_that_is_never_pruned(
    run: Run, dev: kube_client.KubeClient, new_namespace: str
) -> None:
    targets = [configmap("settings", a="1")]
    opts = ["CreateNamespace=true"]

    dry = await run.sync(targets, sync_options=opts, namespace=new_namespace, dry_run=True)
    assert dry.phase is OperationPhase.SUCCEEDED, dry.message
    assert "is created by this sync" in result_of(dry, "ConfigMap", "settings").message
    assert await dev.get_or_none(key("Namespace", "", new_namespace)) is None

    state = await run.sync(targets, sync_options=opts, namespace=new_namespace, prune=True)
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    ns_result = result_of(state, "Namespace", new_namespace)
    assert (ns_result.sync_phase.value, ns_result.hook_phase.value) == ("PreSync", "Succeeded")
    live_ns = await dev.get(key("Namespace", "", new_namespace))
    annotations = live_ns["metadata"].get("annotations") or {}
    assert constants.ANNOTATION_TRACKING_ID not in annotations
    assert await dev.get_or_none(key("ConfigMap", new_namespace, "settings")) is not None

    again = await run.sync(
        targets, sync_options=opts, namespace=new_namespace, prune=True,
        kinds=[("", "Namespace")],
    )  # fmt: skip
    assert again.phase is OperationPhase.SUCCEEDED, again.message
    assert all(r.kind != "Namespace" for r in again.record.results)
    assert (await dev.get(key("Namespace", "", new_namespace)))["status"]["phase"] == "Active"
