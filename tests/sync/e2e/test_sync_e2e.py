"""Whole sync operations on the real ``dev`` cluster: create, waves, hooks."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.health import registry as health_registry
from tidegate.kube import client as kube_client
from tidegate.model import constants
from tidegate.model.enums import OperationPhase
from tidegate.testenv.wait import eventually

from .conftest import (
    Run,
    Writes,
    annotated,
    configmap,
    deployment,
    hook,
    job,
    key,
    result_of,
    service,
)

pytestmark = pytest.mark.e2e


def health(obj: dict[str, Any] | None) -> str | None:
    found = health_registry.assess(obj)
    return found.status.value if found else None


async def test_create_reaches_succeeded_with_field_manager_and_tracking(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    targets = [deployment("web"), service("web"), configmap("settings", mode="fast")]
    state = await run.sync(targets)

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert state.message == "successfully synced (all tasks run)"
    assert {(r.kind, r.status.value, r.hook_phase) for r in state.record.results} == {
        ("Deployment", "Synced", "Succeeded"),
        ("Service", "Synced", "Succeeded"),
        ("ConfigMap", "Synced", "Succeeded"),
    }
    assert {r.message for r in state.record.results} == {"created"}
    for kind, name, group in [("Deployment", "web", "apps"), ("Service", "web", ""),
                              ("ConfigMap", "settings", "")]:  # fmt: skip
        live = await dev.get(key(kind, namespace, name, group))
        managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
        assert ("tidegate", "Apply") in managers, (kind, managers)
        tracking = live["metadata"]["annotations"][constants.ANNOTATION_TRACKING_ID]
        assert tracking == f"{run.app}:{group}/{kind}:{namespace}/{name}"

    # The last wave is not waited for (Argo CD's issue 1715): the Deployment becomes healthy
    # after the operation ended, so poll for it instead of expecting it at once.
    async def web_healthy() -> bool:
        return health(await dev.get(key("Deployment", namespace, "web", "apps"))) == "Healthy"

    await eventually(web_healthy)
    # Server-side apply with forced conflicts and strict validation, each object once, after
    # one validating dry run of every object that came before any real write.
    applies = [w for w in writes.log if w.method == "PATCH"]
    assert len(applies) == 3
    assert all(w.params["force"] == "true" for w in applies)
    assert all(w.params["fieldValidation"] == "Strict" for w in applies)
    checked = [w for w in writes.everything[:3] if w.dry_run]
    assert sorted(w.name for w in checked) == ["settings", "web", "web"]
    assert all(w.params["fieldValidation"] == "Strict" for w in checked)
    assert len(writes.dry_runs) == 3
    assert [s.phase for s in run.persisted][-1] is OperationPhase.SUCCEEDED

    again = await run.sync(targets)
    assert again.phase is OperationPhase.SUCCEEDED
    assert {r.message for r in again.record.results} == {"unchanged"}


async def test_wave_1_is_applied_only_once_wave_0_is_healthy(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    targets = [
        annotated(deployment("backend", replicas=3), sync_wave="0"),
        annotated(configmap("frontend-config", ready="yes"), sync_wave="1"),
    ]

    async def backend_health() -> str | None:
        return health(await dev.get_or_none(key("Deployment", namespace, "backend", "apps")))

    writes.probe("configmaps", "frontend-config", backend_health)
    state = await run.sync(targets)

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert writes.order() == ["deployments/backend", "configmaps/frontend-config"]
    # Observed at the moment wave 1 was sent: wave 0 was healthy (3 pods Running and Ready).
    assert writes.observed[("configmaps", "frontend-config")] == "Healthy"
    waits = [s.message for s in run.persisted if s.message.startswith("waiting for")]
    assert any("healthy state of Deployment.apps" in m for m in waits)


async def test_presync_job_completes_before_wave_0_and_postsync_runs_last(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    targets = [
        hook(job("migrate"), "PreSync"),
        configmap("settings", a="1"),
        annotated(deployment("web"), sync_wave="1"),
        hook(job("smoke-test"), "PostSync"),
    ]

    async def job_health(name: str) -> str | None:
        return health(await dev.get_or_none(key("Job", namespace, name, "batch")))

    async def web_health() -> str | None:
        return health(await dev.get_or_none(key("Deployment", namespace, "web", "apps")))

    writes.probe("configmaps", "settings", lambda: job_health("migrate"))
    writes.probe("jobs", "smoke-test", web_health)
    state = await run.sync(targets, kinds=[("batch", "Job")])

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert writes.order() == [
        "jobs/migrate",
        "configmaps/settings",
        "deployments/web",
        "jobs/smoke-test",
    ]
    assert writes.observed[("configmaps", "settings")] == "Healthy"  # the Job had completed
    assert writes.observed[("jobs", "smoke-test")] == "Healthy"  # wave 1 was healthy
    hooks = [w for w in writes.log if w.plural == "jobs" and w.method != "DELETE"]
    assert {w.method for w in hooks} == {"POST"}  # hooks are created, not applied
    for name, phase in [("migrate", "PreSync"), ("smoke-test", "PostSync")]:
        result = result_of(state, "Job", name)
        assert (result.hook_type.value, result.hook_phase.value, result.sync_phase.value) == (
            phase,
            "Succeeded",
            phase,
        )


async def test_failing_hook_fails_the_sync_and_runs_the_syncfail_hook(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    # kwok completes every scheduled Job pod; a Job that cannot be scheduled and has a 1 s
    # deadline is failed by the real Job controller (DeadlineExceeded).
    targets = [
        hook(job("migrate", unschedulable=True, deadline=1), "PreSync"),
        configmap("settings", a="1"),
        hook(job("notify-failure"), "SyncFail"),
    ]
    state = await run.sync(targets, kinds=[("batch", "Job")])

    assert state.phase is OperationPhase.FAILED
    assert "hook Job.batch" in state.message and "migrate failed" in state.message
    failed = result_of(state, "Job", "migrate")
    assert failed.hook_phase.value == "Failed"
    assert writes.sent("configmaps", "settings") == 0  # wave 0 never ran
    on_fail = result_of(state, "Job", "notify-failure")
    assert (on_fail.sync_phase.value, on_fail.hook_phase.value) == ("SyncFail", "Succeeded")
    live = await dev.get(key("Job", namespace, "migrate", "batch"))
    conditions = {c["type"]: c.get("reason") for c in live["status"]["conditions"]}
    assert conditions.get("Failed") == "DeadlineExceeded"


async def test_hook_rejected_by_the_api_server_fails_validation_before_anything_runs(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    broken = hook(job("migrate"), "PreSync")
    broken["spec"]["template"]["spec"]["containers"] = []
    targets = [broken, configmap("settings", a="1"), hook(job("notify-failure"), "SyncFail")]
    state = await run.sync(targets, kinds=[("batch", "Job")])

    assert state.phase is OperationPhase.FAILED
    assert state.message.startswith("one or more objects failed to apply (dry run)")
    failed = result_of(state, "Job", "migrate")
    assert failed.status.value == "SyncFailed"
    assert "spec.template.spec.containers: Required value" in failed.message
    assert "(Invalid 422)" in failed.message
    # The hook was dry-run created; nothing was written, not even the SyncFail hook (as in
    # Argo CD, a failed validation ends the operation before any phase runs).
    assert ("jobs", "migrate") in {(w.plural, w.name) for w in writes.dry_runs}
    assert writes.log == []
    assert [r.name for r in state.record.results] == ["migrate"]


async def test_hook_succeeded_policy_deletes_the_hook(
    run: Run, dev: kube_client.KubeClient, namespace: str
) -> None:
    targets = [hook(job("migrate"), "PreSync", "HookSucceeded"), configmap("settings", a="1")]
    state = await run.sync(targets, kinds=[("batch", "Job")])

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert result_of(state, "Job", "migrate").hook_phase.value == "Succeeded"

    async def gone() -> bool:
        return await dev.get_or_none(key("Job", namespace, "migrate", "batch")) is None

    await eventually(gone)


async def test_before_hook_creation_replaces_the_previous_hook(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    targets = [hook(job("migrate"), "PreSync"), configmap("settings", a="1")]
    first = await run.sync(targets, kinds=[("batch", "Job")])
    assert first.phase is OperationPhase.SUCCEEDED, first.message
    old_uid = (await dev.get(key("Job", namespace, "migrate", "batch")))["metadata"]["uid"]

    second = await run.sync(targets, kinds=[("batch", "Job")])
    assert second.phase is OperationPhase.SUCCEEDED, second.message
    new = await dev.get(key("Job", namespace, "migrate", "batch"))
    assert new["metadata"]["uid"] != old_uid
    assert health(new) == "Healthy"
    methods = [w.method for w in writes.log if (w.plural, w.name) == ("jobs", "migrate")]
    assert methods == ["POST", "DELETE", "POST"]


async def test_generate_name_hook_gets_a_stable_tracked_name(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str
) -> None:
    generated = hook(job("unused"), "PreSync")
    del generated["metadata"]["name"]
    generated["metadata"]["generateName"] = "migrate-"
    state = await run.sync([generated, configmap("settings", a="1")], kinds=[("batch", "Job")])

    assert state.phase is OperationPhase.SUCCEEDED, state.message
    jobs = [r for r in state.record.results if r.kind == "Job"]
    assert len(jobs) == 1 and jobs[0].name.startswith("migrate-")
    live = await dev.get(key("Job", namespace, jobs[0].name, "batch"))
    assert live["metadata"]["annotations"][constants.ANNOTATION_TRACKING_ID] == (
        f"{run.app}:batch/Job:{namespace}/{jobs[0].name}"
    )
    assert writes.sent("jobs", jobs[0].name) == 1
