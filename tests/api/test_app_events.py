"""The API server's Events for users' changes to Applications, as Argo CD's server words them.
Pure."""

from __future__ import annotations

import datetime

import pytest

from tidegate.api import app_events

APP = {
    "metadata": {"name": "web", "namespace": "argocd"},
    "spec": {"destination": {"server": "https://dev", "namespace": "web"}},
}
NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("action", "path", "reason", "message"),
    [
        ("create", "/api/v1/applications", "ResourceCreated", "alice created application"),
        ("update", "/api/v1/applications/web", "ResourceUpdated", "alice updated application"),
        (
            "update",
            "/api/v1/applications/web/spec",
            "ResourceUpdated",
            "alice updated application spec",
        ),
        ("delete", "/api/v1/applications/web", "ResourceDeleted", "alice deleted application"),
    ],
)
def test_changes_are_worded_as_argo_cd_does(
    action: str, path: str, reason: str, message: str
) -> None:
    event = app_events.app_event(action, path, APP, actor="alice", now=NOW)
    assert event is not None
    assert (event["reason"], event["message"], event["type"]) == (reason, message, "Normal")
    assert event["source"] == {"component": "tidegate-server"}
    assert event["metadata"]["annotations"]["user"] == "alice"


def test_no_event_for_other_actions_or_a_nameless_object() -> None:
    assert (
        app_events.app_event("sync", "/api/v1/applications/web/sync", APP, actor="a", now=NOW)
        is None
    )
    assert app_events.app_event("create", "/api/v1/applications", {}, actor="a", now=NOW) is None
    unknown = app_events.app_event("delete", "/x", APP, actor="", now=NOW)
    assert unknown is not None and unknown["message"] == "Unknown user deleted application"
    assert "user" not in unknown["metadata"]["annotations"]
