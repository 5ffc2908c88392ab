"""Reading an Application's status for the CLI: operations, history, wait conditions. Pure.

Works on the raw object (a dict from the API server), so ``tidegate app get`` never pays for
pydantic; every function tolerates missing fields (an app the controller has not seen yet).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

# Operation state and rollback choice are shared with the API server (tidegate.sync.request);
# re-exported here for the CLI's modules.
from tidegate.sync.request import (
    RUNNING_PHASES,
    describe,
    history,
    operation_in_progress,
    operation_state,
    rollback_entry,
    status,
)

__all__ = [
    "RUNNING_PHASES",
    "describe",
    "history",
    "operation_in_progress",
    "operation_state",
    "rollback_entry",
    "status",
]

Obj = Mapping[str, Any]
DONE_PHASES = ("Succeeded", "Failed", "Error")


# -- following an operation ---------------------------------------------------------------------


def new_operation_state(app: Obj, before: Obj | None) -> Obj | None:
    """The operation state written since ``before`` was read (None while still the old one)."""
    state = operation_state(app)
    if state is None or state == before:
        return None
    return state


def operation_finished(app: Obj, before: Obj | None) -> Obj | None:
    """The final state of the operation requested after ``before``, once it has ended.

    The controller clears ``operation`` when it is done; a retried sync stays Running (with
    ``operation`` still set) between attempts.
    """
    state = new_operation_state(app, before)
    if state is None or app.get("operation"):
        return None
    return state if state.get("phase") in DONE_PHASES else None


# -- history and rollback ---------------------------------------------------------------------


# -- wait -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WaitFor:
    """What ``tidegate app wait`` waits for; nothing chosen means sync, health and operation."""

    sync: bool = False
    health: bool = False
    operation: bool = False
    suspended: bool = False
    degraded: bool = False

    def effective(self) -> WaitFor:
        if any(dataclasses.astuple(self)):
            return self
        return WaitFor(sync=True, health=True, operation=True)


def _before(a: str, b: str) -> bool:
    """RFC 3339 UTC timestamps as the controller writes them compare as strings."""
    return bool(a) and bool(b) and a < b


def unmet(app: Obj, wanted: WaitFor) -> list[str]:
    """The conditions still missing, as short phrases (empty: all hold)."""
    want = wanted.effective()
    st = status(app)
    missing: list[str] = []
    state = operation_state(app) or {}
    # Sync and health from before the last operation finished are stale (as argocd waits).
    stale = _before(str(st.get("reconciledAt") or ""), str(state.get("finishedAt") or ""))
    if want.operation and operation_in_progress(app):
        missing.append(f"operation {state.get('phase') or 'requested'} (want: none running)")
    if want.sync:
        sync = str((st.get("sync") or {}).get("status") or "Unknown")
        if sync != "Synced" or stale:
            missing.append(f"sync status {sync}{' (stale)' if stale else ''} (want: Synced)")
    healths = [
        name
        for name, on in (
            ("Healthy", want.health),
            ("Suspended", want.suspended),
            ("Degraded", want.degraded),
        )
        if on
    ]
    if healths:
        health = str((st.get("health") or {}).get("status") or "Unknown")
        if health not in healths or stale:
            extra = " (stale)" if stale else ""
            missing.append(f"health {health}{extra} (want: {' or '.join(healths)})")
    return missing


# -- resources ------------------------------------------------------------------------------------


def resource_rows(app: Obj) -> list[tuple[str, ...]]:
    """GROUP KIND NAMESPACE NAME STATUS HEALTH HOOK MESSAGE, from ``status.resources`` and the
    last sync result (which adds hooks and the per-resource messages)."""
    result = ((operation_state(app) or {}).get("syncResult") or {}).get("resources") or []
    messages: dict[tuple[str, ...], Obj] = {}
    for r in result:
        messages[_key(r)] = r
    rows: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for res in status(app).get("resources") or []:
        key = _key(res)
        seen.add(key)
        synced = messages.get(key, {})
        rows.append(
            (
                *key,
                str(res.get("status") or ""),
                str((res.get("health") or {}).get("status") or ""),
                str(synced.get("hookType") or ""),
                _one_line(synced.get("message")),
            )
        )
    for r in result:
        key = _key(r)
        if key in seen or not r.get("hookType"):
            continue
        rows.append((*key, "", "", str(r.get("hookType") or ""), _one_line(r.get("message"))))
    return rows


def _key(res: Obj) -> tuple[str, ...]:
    return tuple(str(res.get(k) or "") for k in ("group", "kind", "namespace", "name"))


def _one_line(message: Any) -> str:
    return " ".join(str(message or "").split())


def result_rows(state: Obj | None) -> list[tuple[str, ...]]:
    """GROUP KIND NAMESPACE NAME STATUS HOOKPHASE PHASE MESSAGE of a sync result."""
    resources: Sequence[Obj] = ((state or {}).get("syncResult") or {}).get("resources") or []
    return [
        (
            *_key(r),
            str(r.get("status") or ""),
            str(r.get("hookPhase") or ""),
            str(r.get("syncPhase") or ""),
            _one_line(r.get("message")),
        )
        for r in resources
    ]
