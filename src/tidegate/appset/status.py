"""``ApplicationSet.status`` from a reconcile's outcome (pure, no I/O, the clock is passed in).

Conditions use Argo CD's types and reasons (``ErrorOccurred``, ``ParametersGenerated``,
``ResourcesUpToDate``, ``RolloutProgressing``); a condition keeps its ``lastTransitionTime``
while its status stays the same, so an unchanged reconcile produces an identical status and
no write. ``resources`` lists every owned Application with its sync and health;
``applicationStatus`` records each app's RollingSync step and status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidegate.appset import rollout
from tidegate.model import constants

ERROR_OCCURRED = "ErrorOccurred"
PARAMETERS_GENERATED = "ParametersGenerated"
RESOURCES_UP_TO_DATE = "ResourcesUpToDate"
ROLLOUT_PROGRESSING = "RolloutProgressing"

REASON_UP_TO_DATE = "ApplicationSetUpToDate"
REASON_PARAMETERS_GENERATED = "ParametersGenerated"
REASON_ERROR = "ErrorOccurred"
REASON_GENERATION_ERROR = "ApplicationGenerationFromParamsError"
REASON_APPLY_ERROR = "CreateApplicationError"
REASON_CONFLICT = "ApplicationConflict"
REASON_VALIDATION_ERROR = "ApplicationValidationError"
REASON_ROLLOUT_PROGRESSING = "ApplicationSetModified"
REASON_ROLLOUT_COMPLETE = "ApplicationSetRolloutComplete"
REASON_ROLLOUT_HALTED = "ApplicationSetRolloutHalted"

GENERATED_OK = "Successfully generated parameters for all Applications"
APPLIED_OK = "All applications have been generated successfully"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one reconcile found: the input of :func:`build`."""

    generation_error: str | None = None  # generators/templates failed: nothing was changed
    apply_errors: tuple[str, ...] = ()  # per-Application write failures
    conflicts: tuple[str, ...] = ()  # names generated or owned elsewhere
    rollout: rollout.RolloutPlan | None = None  # RollingSync sets only
    refused: tuple[str, ...] = ()  # generated apps their AppProject does not permit


def _condition(kind: str, status: bool, reason: str, message: str) -> dict[str, str]:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
    }


def conditions(outcome: Outcome) -> list[dict[str, str]]:
    """The conditions for ``outcome``, without transition times."""
    if outcome.generation_error is not None:
        message = outcome.generation_error
        out = [
            _condition(ERROR_OCCURRED, True, REASON_GENERATION_ERROR, message),
            _condition(PARAMETERS_GENERATED, False, REASON_ERROR, message),
            _condition(RESOURCES_UP_TO_DATE, False, REASON_ERROR, message),
        ]
    else:
        problems = list(outcome.refused) + list(outcome.conflicts) + list(outcome.apply_errors)
        if problems:
            reason = (
                REASON_VALIDATION_ERROR
                if outcome.refused
                else REASON_CONFLICT
                if outcome.conflicts
                else REASON_APPLY_ERROR
            )
            message = "; ".join(problems)
            out = [
                _condition(ERROR_OCCURRED, True, reason, message),
                _condition(PARAMETERS_GENERATED, True, REASON_PARAMETERS_GENERATED, GENERATED_OK),
                _condition(RESOURCES_UP_TO_DATE, False, REASON_ERROR, message),
            ]
        else:
            out = [
                _condition(ERROR_OCCURRED, False, REASON_UP_TO_DATE, GENERATED_OK),
                _condition(PARAMETERS_GENERATED, True, REASON_PARAMETERS_GENERATED, GENERATED_OK),
                _condition(RESOURCES_UP_TO_DATE, True, REASON_UP_TO_DATE, APPLIED_OK),
            ]
    plan = outcome.rollout
    if plan is not None:
        if plan.complete:
            out.append(
                _condition(ROLLOUT_PROGRESSING, False, REASON_ROLLOUT_COMPLETE, plan.summary)
            )
        elif plan.halted_by:
            out.append(_condition(ROLLOUT_PROGRESSING, True, REASON_ROLLOUT_HALTED, plan.summary))
        else:
            out.append(
                _condition(ROLLOUT_PROGRESSING, True, REASON_ROLLOUT_PROGRESSING, plan.summary)
            )
    return out


def with_transition_times(
    new: Sequence[Mapping[str, str]], old: Iterable[Mapping[str, Any]], *, now: str
) -> list[dict[str, str]]:
    """``lastTransitionTime`` kept from ``old`` when a condition's status did not change."""
    previous = {str(c.get("type")): c for c in old}
    out = []
    for cond in new:
        before = previous.get(cond["type"])
        same = before is not None and before.get("status") == cond["status"]
        stamp = str(before.get("lastTransitionTime") or now) if same and before else now
        out.append({**cond, "lastTransitionTime": stamp})
    return out


def resources(apps: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per owned Application: identity, sync status, health (Argo's field names)."""
    out = []
    for app in sorted(apps, key=lambda a: str((a.get("metadata") or {}).get("name"))):
        meta = app.get("metadata") or {}
        app_status = app.get("status") or {}
        health = (app_status.get("health") or {}).get("status") or "Unknown"
        entry: dict[str, Any] = {
            "group": constants.GROUP,
            "version": constants.VERSION,
            "kind": constants.KIND_APPLICATION,
            "name": str(meta.get("name")),
            "namespace": str(meta.get("namespace") or ""),
            "status": (app_status.get("sync") or {}).get("status") or "Unknown",
            "health": {"status": health},
        }
        out.append(entry)
    return out


def application_status(
    plan: rollout.RolloutPlan,
    *,
    targets: Mapping[str, str | None],
    old: Iterable[Mapping[str, Any]],
    now: str,
) -> list[dict[str, Any]]:
    """``status.applicationStatus`` from a rollout plan; times kept while a status holds."""
    previous = {str(e.get("application")): e for e in old}
    out = []
    for app in plan.apps:
        before = previous.get(app.application)
        same = before is not None and before.get("status") == app.status.value
        entry: dict[str, Any] = {
            "application": app.application,
            "status": app.status.value,
            "message": app.message,
            "step": str(app.step) if app.step is not None else "",
            "lastTransitionTime": str(before.get("lastTransitionTime") or now)
            if same and before
            else now,
        }
        target = targets.get(app.application)
        if target:
            entry["targetRevisions"] = [target]
        out.append(entry)
    return out


def previous_statuses(appset: Mapping[str, Any]) -> dict[str, tuple[rollout.StepStatus, str]]:
    """Each app's recorded RollingSync status and when it was entered."""
    out: dict[str, tuple[rollout.StepStatus, str]] = {}
    for entry in (appset.get("status") or {}).get("applicationStatus") or []:
        try:
            step_status = rollout.StepStatus(str(entry.get("status")))
        except ValueError:
            continue
        out[str(entry.get("application"))] = (
            step_status,
            str(entry.get("lastTransitionTime") or ""),
        )
    return out


def app_state(
    app: Mapping[str, Any],
    *,
    target: str | None,
    previous: rollout.StepStatus | None,
) -> rollout.AppState:
    """What the rollout planner needs from a live Application."""
    meta = app.get("metadata") or {}
    app_status = app.get("status") or {}
    sync = app_status.get("sync") or {}
    phase = str((app_status.get("operationState") or {}).get("phase") or "")
    running = bool(app.get("operation")) or phase in ("Running", "Terminating")
    return rollout.AppState(
        name=str(meta.get("name")),
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        sync_status=str(sync.get("status") or "Unknown"),
        health=str((app_status.get("health") or {}).get("status") or "Unknown"),
        synced_revision=str(sync.get("revision")) if sync.get("revision") else None,
        target_revision=target,
        operation_running=running,
        previous_status=previous,
    )


def build(
    outcome: Outcome,
    *,
    old: Mapping[str, Any],
    apps: Iterable[Mapping[str, Any]],
    targets: Mapping[str, str | None],
    now: str,
) -> dict[str, Any]:
    """The complete new ``status`` of the set."""
    new: dict[str, Any] = {
        "conditions": with_transition_times(
            conditions(outcome), old.get("conditions") or [], now=now
        ),
    }
    listed = resources(apps)
    if listed:
        new["resources"] = listed
    new["resourcesCount"] = len(listed)
    if outcome.rollout is not None:
        new["applicationStatus"] = application_status(
            outcome.rollout, targets=targets, old=old.get("applicationStatus") or [], now=now
        )
    elif outcome.generation_error is not None and old.get("applicationStatus"):
        new["applicationStatus"] = old["applicationStatus"]  # unknown now: keep what we knew
    return new
