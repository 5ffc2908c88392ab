"""The end of an operation: its outcome in ``status.operationState`` and the history entry.

One merge patch sets the outcome, appends the history entry (successful, non-dry-run syncs;
trimmed to ``revisionHistoryLimit``) and clears ``operation``, so a sync is recorded in history
exactly once whatever moment the controller dies at.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from tidegate.controller import appstate, appstatus, journal
from tidegate.controller import settings as settings_mod
from tidegate.model import errors
from tidegate.model.enums import OperationPhase
from tidegate.sync import operation as sync_operation

log = logging.getLogger("tidegate.controller")


class OutcomeHost(Protocol):
    @property
    def settings(self) -> settings_mod.Settings: ...

    async def patch_app(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]: ...

    async def read_app(self, name: str) -> dict[str, Any] | None: ...

    @property
    def journal(self) -> journal.Journal: ...


HISTORY_ATTEMPTS = 5


def _recorded(history: list[dict[str, Any]], entry: Mapping[str, Any]) -> bool:
    """Whether ``history`` holds ``entry`` (its fields, whatever id it was given)."""
    return any(all(h.get(k) == v for k, v in entry.items()) for h in history)


async def _write_end(
    host: OutcomeHost,
    state: appstate.AppState,
    status: dict[str, Any],
    entry: dict[str, Any] | None,
    *,
    started_at: str,
) -> bool:
    """Write the operation's end (and append ``entry``, a history entry without its id, to the
    history the API server has now), on the resourceVersion it was checked against; False when
    the app's operation is no longer this one (``started_at``: "" when this run recorded
    nothing, so there is nothing to check).

    The stored copy may be older than the app (a status write, or a watch that lagged after a
    restart): a history built from it would drop entries written since, so the write is bound
    to its resourceVersion, and a conflict (someone wrote meanwhile) reads the app again and
    retries. Usually the copy is the newest, and the end costs one write and no read. A
    replica that lost the app's shard while paused finds the new owner's state there (it
    resumed and finished the operation, or started another) and writes nothing
    (:func:`sync_operation.superseded`).
    """
    current: dict[str, Any] | None = state.raw  # on its version: a stale copy is refused (409)
    for attempt in range(HISTORY_ATTEMPTS):
        if current is None:
            current = await host.read_app(state.name)
        if current is None:
            raise errors.KubeNotFoundError(f"Application {state.name} is gone")
        persisted = (current.get("status") or {}).get("operationState") or {}
        gone = sync_operation.superseded(persisted, started_at)
        if gone:
            ended = status["operationState"]
            if attempt and (persisted.get("startedAt"), persisted.get("finishedAt")) == (
                ended.get("startedAt"),
                ended.get("finishedAt"),
            ):
                return True  # our earlier write landed; its reply was lost
            log.info(
                "app %s: the operation started at %s was taken over (%s): its end is not "
                "written from here",
                state.name,
                started_at,
                gone,
            )
            return False
        if entry is not None:
            status["history"] = _appended(host, current, entry, retry=attempt > 0)
        patch = {
            "metadata": appstate.precondition(current),
            "operation": None,
            "status": status,
        }
        try:
            await host.patch_app(state.name, patch)
            return True
        except errors.KubeConflictError:
            if attempt == HISTORY_ATTEMPTS - 1:
                raise
            log.info("app %s: written meanwhile; recording the operation's end again", state.name)
            current = None
    return False  # not reached: the last attempt returns or raises


def _history(app: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((app.get("status") or {}).get("history") or [])


def _appended(
    host: OutcomeHost, current: Mapping[str, Any], entry: Mapping[str, Any], *, retry: bool
) -> list[dict[str, Any]]:
    """The app's history with ``entry`` appended (with the next id), cut to the app's limit."""
    app_limit = (current.get("spec") or {}).get("revisionHistoryLimit")
    limit = (
        int(app_limit) if app_limit is not None else host.settings.default_revision_history_limit
    )
    history = _history(current)
    if not retry or not _recorded(history, entry):
        # (else: recorded by our earlier write whose reply was lost; only a retry can see
        # that, and timestamps have whole seconds, so two quick syncs may share them)
        next_id = max((int(h.get("id") or 0) for h in history), default=-1) + 1
        history.append({"id": next_id, **entry})
        if limit >= 0:
            history = history[-max(limit, 1) :]
    return history


async def finish(
    host: OutcomeHost,
    state: appstate.AppState,
    raw: Mapping[str, Any],
    *,
    phase: OperationPhase,
    message: str,
    started_at: str,
    recorded: sync_operation.OperationState | None,
    revision: str = "",
    success_extra: dict[str, Any] | None = None,
) -> None:
    """Record the outcome, the history entry (on success) and clear ``operation`` at once."""
    finished_at = appstatus.now()
    op_state: dict[str, Any] = (
        recorded.to_status() if recorded is not None else {"startedAt": started_at}
    )
    # The operation may be gone from ``raw`` (removed to stop it): keep the one the state was
    # recorded for, since an operationState without ``operation`` makes the app unreadable.
    persisted = (raw.get("status") or {}).get("operationState") or {}
    op_state |= {
        "phase": phase.value,
        "message": message,
        "finishedAt": finished_at,
        "operation": raw.get("operation") or persisted.get("operation"),
    }
    op_state.setdefault("syncResult", {})
    op_state["syncResult"]["revision"] = revision
    status: dict[str, Any] = {"operationState": op_state}
    if success_extra is not None and success_extra.get("source") is not None:
        op_state["syncResult"]["source"] = success_extra["source"]
    entry: dict[str, Any] | None = None
    if (
        phase is OperationPhase.SUCCEEDED
        and success_extra is not None
        and not success_extra.get("dryRun")
        and revision
    ):
        entry = {"revision": revision, "deployedAt": finished_at, "deployStartedAt": started_at}
        if success_extra.get("source") is not None:
            entry["source"] = success_extra["source"]
        if success_extra.get("initiatedBy"):
            entry["initiatedBy"] = success_extra["initiatedBy"]
    log.info("app %s: operation %s: %s", state.name, phase.value, message)
    try:
        written = await _write_end(
            host, state, status, entry, started_at=started_at if recorded is not None else ""
        )
    except errors.KubeNotFoundError:
        return
    if not written:
        return
    await host.journal.ended(
        raw,
        op_state["operation"] or {},
        succeeded=phase is OperationPhase.SUCCEEDED,
        message=message,
        revision=revision,
    )
