"""Built-in resource actions (Python) and their precedence against argocd-cm's Lua ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tidegate.lua.actions import ActionError, ResourceActions
from tidegate.lua.builtin_actions import RESTARTED_AT, WithBuiltins
from tidegate.model import overrides

NOW = dt.datetime(2026, 12, 6, 12, 30, 5, tzinfo=dt.UTC)


def _registry(custom: dict[str, str] | None = None) -> WithBuiltins:
    found = {key: overrides.ResourceOverride(actions=text) for key, text in (custom or {}).items()}
    return WithBuiltins(ResourceActions.from_overrides(found), clock=lambda: NOW)


def _obj(api_version: str, kind: str, **parts: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": "w", "namespace": "ns", "uid": "u-1"}, **parts}  # fmt: skip


def _names(registry: WithBuiltins, obj: dict[str, Any]) -> dict[str, bool]:
    return {a.name: a.disabled for a in registry.list(obj)}


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
def test_restart_stamps_the_pod_template(kind: str) -> None:
    obj = _obj("apps/v1", kind, spec={"template": {"metadata": {"labels": {"a": "b"}}}})
    [done] = _registry().run(obj, "restart")
    assert done.operation == "patch"
    assert done.resource["spec"]["template"]["metadata"] == {
        "labels": {"a": "b"}, "annotations": {RESTARTED_AT: "2026-12-06T12:30:05Z"}
    }  # fmt: skip
    assert "annotations" not in obj["spec"]["template"]["metadata"]  # the input is untouched


def test_deployment_offers_pause_or_resume() -> None:
    registry = _registry()
    running = _obj("apps/v1", "Deployment", spec={})
    assert _names(registry, running) == {"pause": False, "restart": False}
    paused = registry.run(running, "pause")[0].resource
    assert paused["spec"]["paused"] is True
    assert _names(registry, paused) == {"restart": False, "resume": False}
    assert "paused" not in registry.run(paused, "resume")[0].resource["spec"]
    with pytest.raises(ActionError, match="action 'resume' is not available"):
        registry.run(running, "resume")


def test_rollout_actions_and_their_disabled_states() -> None:
    registry = _registry()
    paused = _obj("argoproj.io/v1alpha1", "Rollout", spec={"paused": True},
                  status={"pauseConditions": [{"reason": "CanaryPauseStep"}]})  # fmt: skip
    assert _names(registry, paused) == {
        "abort": False, "promote-full": False, "restart": False, "resume": False, "retry": True
    }  # fmt: skip
    resumed = registry.run(paused, "resume")[0].resource
    assert "pauseConditions" not in resumed["status"] and "paused" not in resumed["spec"]
    aborted = registry.run(resumed, "abort")[0].resource
    assert aborted["status"]["abort"] is True
    assert _names(registry, aborted)["retry"] is False
    with pytest.raises(ActionError, match="action 'abort' is disabled"):
        registry.run(aborted, "abort")
    assert "abort" not in registry.run(aborted, "retry")[0].resource["status"]
    assert registry.run(resumed, "promote-full")[0].resource["status"]["promoteFull"] is True
    assert registry.run(resumed, "restart")[0].resource["spec"]["restartAt"] == (
        "2026-12-06T12:30:05Z"
    )
    with pytest.raises(ActionError, match="action 'resume' is disabled"):
        registry.run(resumed, "resume")


def test_cronjob_create_job() -> None:
    cron = _obj("batch/v1", "CronJob", spec={"jobTemplate": {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
    }})  # fmt: skip
    [done] = _registry().run(cron, "create-job")
    assert done.operation == "create"
    job = done.resource
    assert job["kind"] == "Job" and job["metadata"]["name"] == f"w-{int(NOW.timestamp())}"
    assert job["metadata"]["namespace"] == "ns"
    assert job["metadata"]["labels"] == {"app": "x"}
    assert job["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    assert job["metadata"]["ownerReferences"] == [{
        "apiVersion": "batch/v1", "kind": "CronJob", "name": "w", "uid": "u-1",
        "blockOwnerDeletion": True, "controller": True,
    }]  # fmt: skip
    assert job["spec"] == cron["spec"]["jobTemplate"]["spec"]


CUSTOM = """
discovery.lua: |
  return {restart = {displayName = "Custom restart"}, scale = {}}
definitions:
- name: restart
  action.lua: |
    obj.metadata.labels = {restarted = "custom"}
    return obj
- name: scale
  action.lua: |
    obj.spec.replicas = 5
    return obj
"""


def test_custom_actions_replace_builtins_unless_merged() -> None:
    deploy = _obj("apps/v1", "Deployment", spec={"template": {}})
    replaced = _registry({"apps/Deployment": CUSTOM})
    assert _names(replaced, deploy) == {"restart": False, "scale": False}
    with pytest.raises(ActionError, match="action 'pause' is not available"):
        replaced.run(deploy, "pause")

    merged = _registry({"apps/Deployment": CUSTOM + "mergeBuiltinActions: true\n"})
    assert _names(merged, deploy) == {"pause": False, "restart": False, "scale": False}
    assert [a.display_name for a in merged.list(deploy) if a.name == "restart"] == [
        "Custom restart"
    ]
    # the custom restart wins over the built-in one of the same name
    assert merged.run(deploy, "restart")[0].resource["metadata"]["labels"] == {
        "restarted": "custom"
    }
    assert merged.run(deploy, "pause")[0].resource["spec"]["paused"] is True


def test_kinds_without_actions() -> None:
    with pytest.raises(ActionError, match="no actions are configured for ConfigMap"):
        _registry().run(_obj("v1", "ConfigMap"), "restart")
    assert _registry().list(_obj("v1", "ConfigMap")) == []
