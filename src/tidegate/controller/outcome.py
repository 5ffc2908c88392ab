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


async def _finish_with_history(
    host: OutcomeHost,
    name: str,
    status: dict[str, Any],
    *,
    revision: str,
    source: dict[str, Any] | None,
    started_at: str,
    finished_at: str,
    initiated_by: dict[str, Any] | None,
) -> None:
    """Append the history entry to the history the API server has now, on that resourceVersion.

    The copy the operation started from may be older than the app (a status write, or a watch
    that lagged after a restart): a history built from it would drop entries written since.
    A conflict means someone wrote meanwhile: read again and retry.
    """
    for attempt in range(HISTORY_ATTEMPTS):
        current = await host.read_app(name)
        if current is None:
            raise errors.KubeNotFoundError(f"Application {name} is gone")
        app_limit = (current.get("spec") or {}).get("revisionHistoryLimit")
        limit = (
            int(app_limit)
            if app_limit is not None
            else host.settings.default_revision_history_limit
        )
        history = (current.get("status") or {}).get("history") or []
        if any(entry.get("deployStartedAt") == started_at for entry in history):
            status["history"] = history  # recorded by an earlier write whose reply was lost
        else:
            status["history"] = _history(
                current,
                revision=revision,
                source=source,
                started_at=started_at,
                finished_at=finished_at,
                initiated_by=initiated_by,
                limit=limit,
            )
        version = (current.get("metadata") or {}).get("resourceVersion")
        patch = {"metadata": {"resourceVersion": version}, "operation": None, "status": status}
        try:
            await host.patch_app(name, patch)
            return
        except errors.KubeConflictError:
            if attempt == HISTORY_ATTEMPTS - 1:
                raise
            log.info("app %s: written meanwhile; recording the history entry again", name)


def _history(
    raw: Mapping[str, Any],
    *,
    revision: str,
    source: dict[str, Any] | None,
    started_at: str,
    finished_at: str,
    initiated_by: dict[str, Any] | None,
    limit: int,
) -> list[dict[str, Any]]:
    history = list((raw.get("status") or {}).get("history") or [])
    next_id = max((int(h.get("id") or 0) for h in history), default=-1) + 1
    entry: dict[str, Any] = {
        "id": next_id,
        "revision": revision,
        "deployedAt": finished_at,
        "deployStartedAt": started_at,
    }
    if source is not None:
        entry["source"] = source
    if initiated_by:
        entry["initiatedBy"] = initiated_by
    history.append(entry)
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
    recorded_history = (
        phase is OperationPhase.SUCCEEDED
        and success_extra is not None
        and not success_extra.get("dryRun")
        and bool(revision)
    )
    log.info("app %s: operation %s: %s", state.name, phase.value, message)
    try:
        if recorded_history:
            assert success_extra is not None
            await _finish_with_history(
                host,
                state.name,
                status,
                revision=revision,
                source=success_extra.get("source"),
                started_at=started_at,
                finished_at=finished_at,
                initiated_by=success_extra.get("initiatedBy"),
            )
        else:
            await host.patch_app(state.name, {"operation": None, "status": status})
    except errors.KubeNotFoundError:
        return
    await host.journal.ended(
        raw,
        op_state["operation"] or {},
        succeeded=phase is OperationPhase.SUCCEEDED,
        message=message,
        revision=revision,
    )
