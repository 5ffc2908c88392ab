"""The controller's operation journal: Argo CD's event reasons and messages, the Event object
and the audit entry, from the Application and its operation. Pure."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tidegate.controller import journal

APP: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "argocd", "uid": "u-1", "resourceVersion": "7"},
    "spec": {
        "project": "team",
        "source": {"repoURL": "https://git.example/r.git", "targetRevision": "main"},
        "destination": {"server": "https://dev", "namespace": "web"},
    },
    "status": {"sync": {"revision": "old111"}},
}
AUTOMATED = {
    "sync": {"revision": "abc123"},
    "initiatedBy": {"username": "tidegate-controller", "automated": True},
}
BY_ALICE = {"sync": {"revision": "abc123"}, "initiatedBy": {"username": "alice"}}
PARTIAL = {"sync": {"resources": [{"kind": "ConfigMap", "name": "x"}]}, "initiatedBy": {}}


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (AUTOMATED, "Initiated automated sync to 'abc123'"),
        (BY_ALICE, "alice initiated sync to abc123"),
        (PARTIAL, "Unknown user initiated partial sync to main"),
        (
            {"sync": {"revisions": ["a1", "b2"]}, "initiatedBy": {"username": "bo"}},
            "bo initiated sync to a1, b2",
        ),
    ],
)
def test_started_messages_are_argo_cds(operation: dict[str, Any], message: str) -> None:
    assert journal.started_message(operation, APP) == message


def test_completed_messages_are_argo_cds() -> None:
    ok = journal.completed_message(BY_ALICE, succeeded=True, message="done", revision="abc123")
    assert ok == "Sync operation to abc123 succeeded"
    failed = journal.completed_message(PARTIAL, succeeded=False, message="boom", revision="abc")
    assert failed == "Partial sync operation to abc failed: boom"


def test_the_event_names_the_app_the_actor_and_the_destination() -> None:
    now = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.UTC)
    event = journal.event(
        APP, reason=journal.STARTED, kind="Normal", message="m", user="alice", now=now
    )
    assert event["metadata"]["name"] == f"web.{int(now.timestamp() * 1e9):x}"
    assert event["metadata"]["namespace"] == "argocd"
    assert event["metadata"]["annotations"] == {
        "dest-server": "https://dev",
        "dest-namespace": "web",
        "user": "alice",
    }
    assert event["involvedObject"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "name": "web",
        "namespace": "argocd",
        "uid": "u-1",
        "resourceVersion": "7",
    }
    assert (event["reason"], event["type"], event["count"]) == ("OperationStarted", "Normal", 1)
    assert event["firstTimestamp"] == "2026-12-06T12:00:00Z"


def test_the_audit_entry_names_the_initiator_and_both_revisions() -> None:
    entry = journal.audit_entry(APP, AUTOMATED, succeeded=False, message="x", revision="abc123")
    assert (entry.actor, entry.action, entry.result) == ("tidegate-controller", "sync", "failed")
    assert (entry.kind, entry.project, entry.name, entry.namespace) == (
        "Application",
        "team",
        "web",
        "argocd",
    )
    assert entry.reason == "Sync operation to abc123 failed: x (revision before: old111)"
    assert journal.audit_entry(APP, BY_ALICE, succeeded=True, message="", revision="").actor == (
        "alice"
    )
