"""A custom health check that fails to run (Lua error, broken limit) shows as one non-blocking
CustomHealthCheckWarning condition listing each resource and why; it goes when they do."""

from __future__ import annotations

from typing import Any

from tidegate.controller import appstatus
from tidegate.controller import compare as cmp
from tidegate.health import registry
from tidegate.health import status as health_status
from tidegate.model import application as model_app
from tidegate.model import overrides
from tidegate.model.enums import SyncStatusCode
from tidegate.model.keys import ResourceKey

APP = model_app.parse_application(
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/r.git", "path": "web"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
        },
    }
)
AT = "2026-01-01T00:00:00Z"
KEY = "resource.customizations.health.example.com_Gadget"


def _gadget(name: str) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Gadget",
            "metadata": {"name": name, "namespace": "web"}}  # fmt: skip


def _state(obj: dict[str, Any], health: health_status.HealthStatus | None) -> cmp.ResourceState:
    key = ResourceKey.of(obj)
    return cmp.ResourceState(key, "v1", obj, obj, SyncStatusCode.SYNCED, health, False, False,
                             None)  # fmt: skip


def _status(states: list[cmp.ResourceState], conditions: Any) -> dict[str, Any]:
    result = cmp.Comparison(
        revisions=("a" * 40,), source_types=("Directory",), targets=[], live={},
        resources=states, sync_status=SyncStatusCode.SYNCED,
        health=health_status.unknown(), problems=(),
    )  # fmt: skip
    return appstatus.comparison_status(APP, result, conditions=conditions, at=AT)


def _checks(script: str) -> registry.HealthChecks:
    found, problems = overrides.parse({KEY: script})
    assert problems == []
    return registry.HealthChecks.from_overrides(found)


def test_failing_scripts_are_one_warning_listing_each_resource() -> None:
    checks = _checks("error('no luck')\n")
    states = [_state(_gadget(n), checks.assess(_gadget(n))) for n in ("b", "a")]
    assert all(s.health is not None and s.health.check_error for s in states)
    status = _status(states, [{"type": "SyncError", "message": "kept", "lastTransitionTime": AT}])
    by_type = {c["type"]: c["message"] for c in status["conditions"]}
    assert by_type["SyncError"] == "kept"
    message = by_type[appstatus.CUSTOM_HEALTH_CHECK_WARNING]
    assert message.startswith("custom health check failed for 2 resource(s): Gadget web/a: ")
    assert message.count(f"Lua script {KEY}: ") == 2
    assert "no luck" in message
    # Fixed script: the warning goes, the other condition stays.
    fixed = _checks("return {status = 'Healthy'}\n")
    healthy = [_state(_gadget("a"), fixed.assess(_gadget("a")))]
    status = _status(healthy, status["conditions"])
    assert [c["type"] for c in status["conditions"]] == ["SyncError"]


def test_a_script_that_reports_unknown_itself_is_no_failure() -> None:
    checks = _checks("return {status = 'Unknown', message = 'not yet'}\n")
    status = _status([_state(_gadget("a"), checks.assess(_gadget("a")))], None)
    assert status["conditions"] is None
