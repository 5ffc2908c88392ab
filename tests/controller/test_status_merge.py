"""Status writes are JSON merge patches: a key the new status leaves out survives on the server.

So a health ``message`` from an outage ("cluster ... is unreachable") stayed on an app that had
recovered and was Healthy (found by the fleet e2e test), and every refresh rewrote the status
because it never matched. The comparison status now nulls the message when there is none, and
the controller compares statuses treating such nulls as absent keys.
"""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.controller import appstatus, engine
from tidegate.controller import compare as cmp
from tidegate.health import status as health_status
from tidegate.model import application as model_app
from tidegate.model.enums import HealthStatusCode, SyncStatusCode


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386, as the API server applies it."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = value
    return out


OUTAGE = {"status": "Unknown", "message": "cluster 'lost' (https://127.0.0.1:1) is unreachable"}


@pytest.mark.parametrize(
    ("current", "new", "same"),
    [
        (
            {"health": {"status": "Healthy"}},
            {"health": {"status": "Healthy", "message": None}},
            True,
        ),
        ({"health": OUTAGE}, {"health": {"status": "Healthy", "message": None}}, False),
        (
            {"health": {"status": "Healthy"}, "reconciledAt": "2026-01-01T00:00:00Z"},
            {"health": {"status": "Healthy"}, "reconciledAt": "2026-01-01T00:00:09Z"},
            True,
        ),
        ({"sync": {"status": "Synced", "revision": "a"}}, {"sync": {"status": "Synced"}}, False),
    ],
    ids=["null message = no message", "outage message differs", "times ignored", "key missing"],
)
def test_status_comparison(current: dict[str, Any], new: dict[str, Any], same: bool) -> None:
    assert (engine._status_sans_times(current) == engine._status_sans_times(new)) is same


def test_recovered_health_drops_the_outage_message() -> None:
    server = {"health": OUTAGE, "sync": {"status": "Unknown"}}
    patch = {"health": {"message": None, "status": "Healthy"}}
    after = merge_patch(server, patch)
    assert after["health"] == {"status": "Healthy"}
    # Written once: the next identical status compares equal to what the server has.
    assert engine._status_sans_times({**after, **patch}) == engine._status_sans_times(after)


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        (health_status.healthy(), {"status": "Healthy", "message": None}),
        (
            health_status.HealthStatus(HealthStatusCode.DEGRADED, "deadline exceeded"),
            {"status": "Degraded", "message": "deadline exceeded"},
        ),
    ],
    ids=["no message: null", "message kept"],
)
def test_comparison_status_health(health: health_status.HealthStatus, expected: Any) -> None:
    app = model_app.parse_application(
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
    result = cmp.Comparison(
        revisions=("a" * 40,),
        source_types=("Directory",),
        targets=[],
        live={},
        resources=[],
        sync_status=SyncStatusCode.SYNCED,
        health=health,
    )
    status = appstatus.comparison_status(app, result, conditions=None, at="2026-01-01T00:00:00Z")
    assert status["health"] == expected
