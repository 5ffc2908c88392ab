"""The status Events Argo CD writes about an Application, and when an operation ended (pure)."""

from __future__ import annotations

from typing import Any

from tidegate.controller import events

OP = {"initiatedBy": {"username": "alice"}, "sync": {"revision": "main"}}


def app(
    sync: str = "OutOfSync",
    health: str = "Healthy",
    *,
    op_state: dict[str, Any] | None = None,
    operation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"sync": {"status": sync}, "health": {"status": health}}
    if op_state is not None:
        status["operationState"] = op_state
    out: dict[str, Any] = {"metadata": {"name": "a"}, "status": status}
    if operation is not None:
        out["operation"] = operation
    return out


def done(phase: str, started: str = "t1") -> dict[str, Any]:
    return {"phase": phase, "startedAt": started, "finishedAt": "t2", "operation": OP}


def test_first_sight_yields_nothing_even_with_a_finished_operation() -> None:
    after = app("Synced", op_state=done("Succeeded"))
    assert events.app_events(None, after) == []
    assert not events.completed(None, after)


def test_sync_and_health_changes_are_resource_updated_events() -> None:
    specs = events.app_events(app("OutOfSync", "Progressing"), app("Synced", "Healthy"))
    assert specs == [
        events.EventSpec("ResourceUpdated", "Updated sync status: OutOfSync -> Synced"),
        events.EventSpec("ResourceUpdated", "Updated health status: Progressing -> Healthy"),
    ]
    assert events.app_events(app(), app()) == []


def test_completion_counts_once_when_operation_is_cleared() -> None:
    start = app(op_state={"phase": "Running", "startedAt": "t1"}, operation=OP)
    mid = app(op_state=done("Succeeded"), operation=OP)  # final phase, outcome not yet written
    final = app("Synced", op_state=done("Succeeded"))
    assert not events.completed(start, mid)
    assert events.completed(mid, final)
    assert not events.completed(final, final)


def test_a_new_operation_after_a_finished_one_completes_again() -> None:
    assert events.completed(app(op_state=done("Succeeded")), app(op_state=done("Error", "t5")))
