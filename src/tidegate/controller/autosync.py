"""Whether an application should be synced automatically now (pure).

Argo CD's documented rules: only when automated sync is on and the app is OutOfSync; a commit
whose automatic sync failed shows ``SyncError`` "Failed sync attempt to <revision>: <message>"
and is attempted again only with ``selfHeal``, after the self-heal back-off; a drift at the
commit already synced is corrected only with ``selfHeal``; an empty render never prunes
everything unless ``allowEmpty``; a sync window can block it (reported, not dropped).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from tidegate.controller import compare as cmp
from tidegate.model import application as model_app
from tidegate.model.enums import SyncStatusCode
from tidegate.sync import windows


@dataclasses.dataclass(frozen=True)
class Decision:
    sync: bool
    reason: str
    prune: bool = False
    blocked_by_window: bool = False
    retry_at: dt.datetime | None = None  # when a blocked sync may run (window opens)
    report: bool = False  # the reason belongs on the app's status as a SyncError condition
    retry_later: bool = False  # backing off: refresh again when the back-off is over


def _last_operation(app: model_app.Application) -> tuple[str, str, bool]:
    """(phase, revision, automated) of the last recorded operation, empty when none."""
    state = app.status.operation_state if app.status else None
    if state is None:
        return "", "", False
    revision = ""
    if state.sync_result is not None:
        revision = state.sync_result.revision or ""
    if not revision and state.operation is not None and state.operation.sync is not None:
        revision = state.operation.sync.revision or ""  # failed before it had a result
    automated = False
    if state.operation is not None and state.operation.initiated_by is not None:
        automated = bool(state.operation.initiated_by.automated)
    return str(state.phase or ""), revision, automated


def enabled(app: model_app.Application) -> bool:
    """Whether automated sync is on: an OutOfSync comparison is followed by a sync."""
    policy = app.spec.sync_policy
    automated = policy.automated if policy is not None else None
    return automated is not None and automated.enabled is not False


def decide(
    app: model_app.Application,
    result: cmp.Comparison,
    *,
    sync_windows: list[windows.SyncWindow],
    window_app: windows.AppRef,
    now: dt.datetime,
    self_heal_due: bool,
) -> Decision:
    automated = app.spec.sync_policy.automated if app.spec.sync_policy is not None else None
    if automated is None or not enabled(app):
        return Decision(False, "automated sync is off")
    if app.operation is not None:
        return Decision(False, "an operation is in progress")
    if result.sync_status is not SyncStatusCode.OUT_OF_SYNC:
        return Decision(False, "in sync")
    has_targets = any(not s.hook and s.target is not None for s in result.resources)
    if not has_targets and not automated.allow_empty:
        return Decision(
            False,
            "auto-sync refused: the source renders no resources and allowEmpty is false "
            "(nothing is pruned)",
            report=True,
        )
    phase, revision, was_automated = _last_operation(app)
    same_revision = bool(revision) and revision == result.revision
    if same_revision and phase in ("Failed", "Error") and was_automated:
        state = app.status.operation_state if app.status else None
        failed = f"Failed sync attempt to {revision}: {(state.message if state else '') or phase}"
        if not automated.self_heal:  # Argo CD: not retried until a new commit or a manual sync
            return Decision(False, failed, report=True)
        if not self_heal_due:
            return Decision(False, failed, report=True, retry_later=True)
    if same_revision and phase == "Succeeded":
        if not automated.self_heal:
            return Decision(False, "already synced to this revision and selfHeal is off")
        if not self_heal_due:
            return Decision(False, "self-heal backing off", retry_later=True)
    verdict = windows.evaluate(sync_windows, window_app, now, manual=False)
    if not verdict.allowed:
        names = ", ".join(f"{w.kind} {w.schedule} for {w.duration}" for w in verdict.active) or (
            "no active allow window"
        )
        return Decision(
            False,
            f"automated sync blocked by sync window ({names})",
            blocked_by_window=True,
            retry_at=verdict.next_change,
            report=True,
        )
    return Decision(True, "out of sync", prune=bool(automated.prune))


def operation(
    app: model_app.Application, result: cmp.Comparison, decision: Decision
) -> dict[str, Any]:
    """The ``operation`` an automated sync writes: the compared revision(s), prune as the
    policy says, the app's sync options and retry policy, initiated by the controller."""
    sync_options = list(app.spec.sync_policy.sync_options or []) if app.spec.sync_policy else []
    sync: dict[str, Any] = {"revision": result.revision, "prune": decision.prune}
    if sync_options:
        sync["syncOptions"] = sync_options
    if app.spec.has_multiple_sources:
        sync.pop("revision")
        sync["revisions"] = list(result.revisions)
    out: dict[str, Any] = {
        "sync": sync,
        "initiatedBy": {"username": "tidegate-controller", "automated": True},
    }
    if app.spec.sync_policy and app.spec.sync_policy.retry is not None:
        out["retry"] = app.spec.sync_policy.retry.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    return out


def attempted_at(app: model_app.Application, revision: str) -> bool:
    """Whether the last operation ended at ``revision``: a new sync there is a self-heal or a
    retry of a failed one, and backs off."""
    phase, last_revision, _ = _last_operation(app)
    return phase in ("Succeeded", "Failed", "Error") and last_revision == revision
