"""The Events Argo CD writes about an Application, from two copies of it (pure)."""

from __future__ import annotations

from typing import Any

from tidegate.controller import events

MANUAL_OP = {"initiatedBy": {"username": "alice"}, "sync": {"revision": "main"}}
AUTO_OP = {"initiatedBy": {"automated": True}, "sync": {"revision": "abc123"}}


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


def running(op: dict[str, Any], started: str = "t1") -> dict[str, Any]:
    return {"phase": "Running", "startedAt": started, "operation": op}


def done(op: dict[str, Any], phase: str, started: str = "t1", message: str = "") -> dict[str, Any]:
    return {
        "phase": phase,
        "startedAt": started,
        "finishedAt": "t2",
        "message": message,
        "operation": op,
        "syncResult": {"revision": "f" * 40},
    }


def test_first_sight_yields_nothing_even_with_a_finished_operation() -> None:
    after = app(op_state=done(MANUAL_OP, "Succeeded"))
    assert events.app_events(None, after) == []
    assert not events.completed(None, after)


def test_manual_operation_start_names_the_user() -> None:
    before = app(operation=MANUAL_OP)
    after = app(op_state=running(MANUAL_OP), operation=MANUAL_OP)
    assert events.app_events(before, after) == [
        events.EventSpec("OperationStarted", "alice initiated sync to main")
    ]


def test_automated_operation_start() -> None:
    after = app(op_state=running(AUTO_OP), operation=AUTO_OP)
    specs = events.app_events(app(operation=AUTO_OP), after)
    assert specs == [events.EventSpec("OperationStarted", "Initiated automated sync to 'abc123'")]


def test_completion_counts_once_when_operation_is_cleared() -> None:
    mid = app(op_state={**done(MANUAL_OP, "Succeeded"), "syncResult": {}}, operation=MANUAL_OP)
    final = app("Synced", op_state=done(MANUAL_OP, "Succeeded"))
    start = app(op_state=running(MANUAL_OP), operation=MANUAL_OP)
    assert not events.completed(start, mid)  # final phase persisted, outcome not yet written
    assert events.completed(mid, final)
    assert not events.completed(final, final)
    specs = events.app_events(mid, final)
    assert (
        events.EventSpec("OperationCompleted", f"Sync operation to {'f' * 40} succeeded") in specs
    )
    assert events.EventSpec("ResourceUpdated", "Updated sync status: OutOfSync -> Synced") in specs


def test_failure_is_a_warning_with_the_message_and_partial_syncs_say_so() -> None:
    op = {"initiatedBy": {"username": "bob"}, "sync": {"resources": [{"kind": "ConfigMap"}]}}
    before = app(op_state=running(op), operation=op)
    after = app(op_state=done(op, "Failed", message="one or more objects failed to apply"))
    (spec,) = [s for s in events.app_events(before, after) if s.reason == "OperationCompleted"]
    assert spec.type == "Warning"
    assert spec.message == (
        f"Partial sync operation to {'f' * 40} failed: one or more objects failed to apply"
    )


def test_a_new_operation_after_a_finished_one_completes_again() -> None:
    first = app(op_state=done(MANUAL_OP, "Succeeded", started="t1"))
    second = app(op_state=done(MANUAL_OP, "Error", started="t5"))
    assert events.completed(first, second)


def test_health_change() -> None:
    specs = events.app_events(app(health="Progressing"), app(health="Healthy"))
    assert specs == [
        events.EventSpec("ResourceUpdated", "Updated health status: Progressing -> Healthy")
    ]
