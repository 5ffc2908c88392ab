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
from tidegate.sync import request
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


def unmet(
    app: Obj, wanted: WaitFor, *, resources: Sequence[request.ResourceFilter] = ()
) -> list[str]:
    """The conditions still missing, as short phrases (empty: all hold).

    With ``resources`` (``app wait --resource``, argocd's meaning) sync and health are those of
    the selected entries of ``status.resources`` instead of the app's; a resource whose health
    is not assessed (a ConfigMap) passes the health conditions. The operation condition stays
    the app's."""
    want = wanted.effective()
    st = status(app)
    missing: list[str] = []
    state = operation_state(app) or {}
    # Sync and health from before the last operation finished are stale (as argocd waits).
    stale = _before(str(st.get("reconciledAt") or ""), str(state.get("finishedAt") or ""))
    if want.operation and operation_in_progress(app):
        missing.append(f"operation {state.get('phase') or 'requested'} (want: none running)")
    if resources:
        return missing + _resources_unmet(st, want, resources, stale=stale)
    if want.sync:
        sync = str((st.get("sync") or {}).get("status") or "Unknown")
        if sync != "Synced" or stale:
            missing.append(f"sync status {sync}{' (stale)' if stale else ''} (want: Synced)")
    healths = _health_wanted(want)
    if healths:
        health = str((st.get("health") or {}).get("status") or "Unknown")
        if health not in healths or stale:
            extra = " (stale)" if stale else ""
            missing.append(f"health {health}{extra} (want: {' or '.join(healths)})")
    return missing


def _health_wanted(want: WaitFor) -> list[str]:
    return [name for name, on in (("Healthy", want.health), ("Suspended", want.suspended),
                                  ("Degraded", want.degraded)) if on]  # fmt: skip


def _resources_unmet(
    st: Mapping[str, Any],
    want: WaitFor,
    filters: Sequence[request.ResourceFilter],
    *,
    stale: bool,
) -> list[str]:
    includes = [f for f in filters if not f.exclude]
    excludes = [f for f in filters if f.exclude]
    chosen = [
        r for r in st.get("resources") or []
        if (not includes or any(f.matches(r) for f in includes))
        and not any(f.matches(r) for f in excludes)
    ]  # fmt: skip
    if not chosen:
        return ["no resource of the application matches --resource (yet)"]
    missing: list[str] = []
    healths = _health_wanted(want)
    extra = " (stale)" if stale else ""
    for res in chosen:
        what = "/".join(p for p in (str(res.get("kind") or ""), str(res.get("name") or "")) if p)
        sync = str(res.get("status") or "Unknown")
        if want.sync and (sync != "Synced" or stale):
            missing.append(f"{what}: sync status {sync}{extra} (want: Synced)")
        health = (res.get("health") or {}).get("status")
        if healths and health is not None and (health not in healths or stale):
            missing.append(f"{what}: health {health}{extra} (want: {' or '.join(healths)})")
    return missing


def wait_resources(values: Sequence[str]) -> list[request.ResourceFilter]:
    """``app wait --resource`` values (``[!]GROUP:KIND:NAME``, ``*`` globs); FlagError when
    one is malformed."""
    return [request.parse_resource(v) for v in values]


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
