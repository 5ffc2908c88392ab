"""The Kubernetes Events Argo CD writes about an Application's status, from two copies of it
(pure).

``ResourceUpdated``: ``Updated sync status: A -> B`` and ``Updated health status: A -> B``, as
Argo CD's application controller writes them when a refresh changes them.

The operation's own events (``OperationStarted`` naming the user, ``OperationCompleted``) are
written where the operation runs, with its audit entry (``controller/journal.py``), so each is
written once; :func:`completed` here only tells the sync counters when an operation ended.
:func:`app_events` compares the copy stored before with the new one; the first sight of an app
(after a restart) yields nothing, so a restart does not repeat history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.kube.events import EventSpec

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


def app_events(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[EventSpec]:
    if before is None:
        return []
    out: list[EventSpec] = []
    for field in ("sync", "health"):
        old = str((_status(before).get(field) or {}).get("status") or "")
        new = str((_status(after).get(field) or {}).get("status") or "")
        if new and old != new:
            out.append(EventSpec(RESOURCE_UPDATED, f"Updated {field} status: {old} -> {new}"))
    return out


__all__ = ["EventSpec", "app_events", "completed"]
