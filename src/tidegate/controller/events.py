"""The Kubernetes Events Argo CD writes about an Application, from two copies of it (pure).

Reasons and messages as Argo CD's application controller writes them (its ``logAppEvent``):

- ``OperationStarted``: ``Initiated automated sync to '<revision>'`` for an automated sync, or
  ``<user> initiated sync to <revision>`` (the actor from ``operation.initiatedBy``);
- ``OperationCompleted``: ``Sync operation to <revision> succeeded`` (Normal) or
  ``... failed: <message>`` (Warning); ``Partial sync operation`` when it named resources;
- ``ResourceUpdated``: ``Updated sync status: A -> B`` and ``Updated health status: A -> B``.

:func:`app_events` compares the copy stored before with the new one; the first sight of an app
(after a restart) yields nothing, so a restart does not repeat history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.kube.events import NORMAL, WARNING, EventSpec

OPERATION_STARTED = "OperationStarted"
OPERATION_COMPLETED = "OperationCompleted"
RESOURCE_UPDATED = "ResourceUpdated"
COMPLETED_PHASES = ("Succeeded", "Failed", "Error")


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("status") or {}


def operation_state(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _status(obj).get("operationState") or {}


def _finished(obj: Mapping[str, Any]) -> bool:
    """The operation's end is recorded: a final phase and ``operation`` cleared (the last
    step of a sync may persist its final phase before the outcome is written)."""
    return operation_state(obj).get("phase") in COMPLETED_PHASES and not obj.get("operation")


def completed(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    """Whether ``after`` records the end of an operation ``before`` did not (never on first
    sight: a restarted controller does not count or announce old operations again)."""
    if before is None or not _finished(after):
        return False
    if not _finished(before):
        return True
    return operation_state(before).get("startedAt") != operation_state(after).get("startedAt")


def _revision(op_state: Mapping[str, Any]) -> str:
    sync = (op_state.get("operation") or {}).get("sync") or {}
    return str((op_state.get("syncResult") or {}).get("revision") or sync.get("revision") or "HEAD")


def actor(op_state: Mapping[str, Any]) -> str:
    """Who started the operation: the user, or ``automated sync policy``."""
    initiated = (op_state.get("operation") or {}).get("initiatedBy") or {}
    if initiated.get("automated"):
        return "automated sync policy"
    return str(initiated.get("username") or "Unknown user")


def app_events(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[EventSpec]:
    if before is None:
        return []
    out: list[EventSpec] = []
    old_op, new_op = operation_state(before), operation_state(after)
    if new_op.get("startedAt") and new_op.get("startedAt") != old_op.get("startedAt"):
        initiated = (new_op.get("operation") or {}).get("initiatedBy") or {}
        revision = _revision({"operation": new_op.get("operation")})
        if initiated.get("automated"):
            message = f"Initiated automated sync to '{revision}'"
        else:
            message = f"{actor(new_op)} initiated sync to {revision}"
        out.append(EventSpec(OPERATION_STARTED, message))
    if completed(before, after):
        sync = (new_op.get("operation") or {}).get("sync") or {}
        words = ["Partial sync operation" if sync.get("resources") else "Sync operation"]
        words += ["to", _revision(new_op)]
        if new_op.get("phase") == "Succeeded":
            out.append(EventSpec(OPERATION_COMPLETED, " ".join([*words, "succeeded"])))
        else:
            words += ["failed:", str(new_op.get("message") or "")]
            out.append(EventSpec(OPERATION_COMPLETED, " ".join(words), WARNING))
    for field, label in (("sync", "sync"), ("health", "health")):
        old = str((_status(before).get(field) or {}).get("status") or "")
        new = str((_status(after).get(field) or {}).get("status") or "")
        if new and old != new:
            out.append(EventSpec(RESOURCE_UPDATED, f"Updated {label} status: {old} -> {new}"))
    return out


__all__ = ["NORMAL", "WARNING", "EventSpec", "app_events", "completed"]
