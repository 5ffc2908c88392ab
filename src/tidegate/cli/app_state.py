"""Reading an Application's status for the CLI: operations, history, wait conditions. Pure.

Works on the raw object (a dict from the API server), so ``tidegate app get`` never pays for
pydantic; every function tolerates missing fields (an app the controller has not seen yet).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.cli import appspec
from tidegate.model import errors

Obj = Mapping[str, Any]
RUNNING_PHASES = ("Running", "Terminating")
DONE_PHASES = ("Succeeded", "Failed", "Error")


def status(app: Obj) -> Obj:
    return app.get("status") or {}


def operation_state(app: Obj) -> Obj | None:
    state = status(app).get("operationState")
    return state if isinstance(state, Mapping) and state else None


def operation_in_progress(app: Obj) -> bool:
    """An operation is requested (``operation`` set) or still running (its state says so)."""
    state = operation_state(app) or {}
    return bool(app.get("operation")) or state.get("phase") in RUNNING_PHASES


def describe(app: Obj) -> str:
    meta = app.get("metadata") or {}
    return f"application '{meta.get('namespace', '')}/{meta.get('name', '')}'"


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


def history(app: Obj) -> list[Obj]:
    return [h for h in status(app).get("history") or [] if isinstance(h, Mapping)]


def rollback_entry(app: Obj, history_id: int | None) -> Obj:
    """History entry ``history_id``, or the one before the current deployment by default.

    Refuses while automated sync is on: the controller would sync straight back.
    """
    if appspec.automated_enabled(app.get("spec") or {}):
        raise errors.ConfigError(
            f"{describe(app)}: rollback cannot be initiated when auto-sync is enabled"
            " (use --disable-auto-sync, or 'tidegate app set --sync-policy none')"
        )
    entries = history(app)
    if history_id is None:
        if len(entries) < 2:
            raise errors.ConfigError(
                f"{describe(app)} should have at least two successful deployments"
                f" to roll back to the previous one (it has {len(entries)})"
            )
        return entries[-2]
    for entry in entries:
        if entry.get("id") == history_id:
            return entry
    known = ", ".join(str(e.get("id")) for e in entries) or "none"
    raise errors.ConfigError(
        f"{describe(app)} has no deployment with history id {history_id} (known: {known})"
    )


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
