"""Objects the refresh's server-side dry run rejects become one ComparisonError condition that
lists each of them; the condition goes when the problems do."""

from __future__ import annotations

from typing import Any

from tidegate.controller import appstatus
from tidegate.controller import compare as cmp
from tidegate.health import status as health_status
from tidegate.model import application as model_app
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


def _status(problems: tuple[tuple[ResourceKey, str], ...], conditions: Any) -> dict[str, Any]:
    result = cmp.Comparison(
        revisions=("a" * 40,),
        source_types=("Directory",),
        targets=[],
        live={},
        resources=[],
        sync_status=SyncStatusCode.OUT_OF_SYNC,
        health=health_status.healthy(),
        problems=problems,
    )
    return appstatus.comparison_status(APP, result, conditions=conditions, at=AT)


def test_problems_are_one_comparison_error_listing_each_object() -> None:
    web = ResourceKey("apps", "Deployment", "web", "web")
    gizmo = ResourceKey("example.com", "Gizmo", "", "spinner")
    status = _status(
        (
            (gizmo, "cluster dev does not serve kind 'Gizmo'"),
            (
                web,
                "dry-run apply Deployment.apps web/web on cluster dev: .spec.replicaz: "
                "field not declared in schema (InternalError 500)",
            ),
        ),
        conditions=[{"type": "SyncError", "message": "kept", "lastTransitionTime": AT}],
    )
    by_type = {c["type"]: c["message"] for c in status["conditions"]}
    assert by_type["SyncError"] == "kept"
    assert by_type["ComparisonError"].splitlines() == [
        "server-side dry run rejected 2 object(s); a sync would fail its validation and apply "
        "nothing:",
        "- Deployment.apps web/web: .spec.replicaz: field not declared in schema "
        "(InternalError 500)",
        "- Gizmo.example.com spinner: cluster dev does not serve kind 'Gizmo'",
    ]
    assert status["sync"]["status"] == "OutOfSync"


def test_no_problems_clears_the_condition() -> None:
    old = [{"type": "ComparisonError", "message": "rejected", "lastTransitionTime": AT}]
    assert _status((), conditions=old)["conditions"] is None
