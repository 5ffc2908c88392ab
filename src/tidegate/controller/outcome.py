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

    @property
    def journal(self) -> journal.Journal: ...


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
    if (
        phase is OperationPhase.SUCCEEDED
        and success_extra is not None
        and not success_extra.get("dryRun")
        and revision
    ):
        app_limit = (raw.get("spec") or {}).get("revisionHistoryLimit")
        limit = (
            int(app_limit)
            if app_limit is not None
            else host.settings.default_revision_history_limit
        )
        status["history"] = _history(
            raw,
            revision=revision,
            source=success_extra.get("source"),
            started_at=started_at,
            finished_at=finished_at,
            initiated_by=success_extra.get("initiatedBy"),
            limit=limit,
        )
    log.info("app %s: operation %s: %s", state.name, phase.value, message)
    try:
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
