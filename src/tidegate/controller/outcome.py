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


async def _finish_with_history(
    host: OutcomeHost, name: str, status: dict[str, Any], entry: dict[str, Any]
) -> None:
    """Append ``entry`` (a history entry without its id) to the history the API server has now,
    on that resourceVersion.

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
        history = list((current.get("status") or {}).get("history") or [])
        if attempt == 0 or not _recorded(history, entry):
            # (else: recorded by our earlier write whose reply was lost; only a retry can see
            # that, and timestamps have whole seconds, so two quick syncs may share them)
            next_id = max((int(h.get("id") or 0) for h in history), default=-1) + 1
            history.append({"id": next_id, **entry})
            if limit >= 0:
                history = history[-max(limit, 1) :]
        status["history"] = history
        version = (current.get("metadata") or {}).get("resourceVersion")
        patch = {"metadata": {"resourceVersion": version}, "operation": None, "status": status}
        try:
            await host.patch_app(name, patch)
            return
        except errors.KubeConflictError:
            if attempt == HISTORY_ATTEMPTS - 1:
                raise
            log.info("app %s: written meanwhile; recording the history entry again", name)


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
        if entry is not None:
            await _finish_with_history(host, state.name, status, entry)
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
