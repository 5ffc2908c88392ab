"""The Rollout's status as Argo Rollouts writes it (pure): phase, message, counts, conditions.

Argo CD's Rollout health reads ``phase`` (``Paused`` is Suspended) and ``message`` once
``observedGeneration`` equals ``metadata.generation``, so both are set on every write.
Conditions keep their times while their status, reason and message stay the same; the
``Progressing`` condition's ``lastUpdateTime`` moves on progress (counts or step), which is what
``progressDeadlineSeconds`` measures.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from tidegate.rollouts import canary, names, podhash, spec
from tidegate.rollouts.world import Context, format_time, parse_time

PROGRESS_DEADLINE = 600.0
# A Service or template the Rollout names may be applied a moment after it (same sync): for
# this long the InvalidSpec condition is shown while the phase stays Progressing.
MISSING_GRACE_SECONDS = 20.0


def selector_string(selector: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        values = ",".join(expr.get("values") or ())
        op = expr.get("operator")
        if op == "Exists":
            parts.append(str(expr.get("key")))
        elif op == "DoesNotExist":
            parts.append(f"!{expr.get('key')}")
        else:
            parts.append(f"{expr.get('key')} {str(op).lower()} ({values})")
    return ",".join(parts)


def _condition(
    old: list[Mapping[str, Any]],
    kind: str,
    state: str,
    reason: str,
    message: str,
    now: str,
    *,
    progressed: bool = False,
) -> dict[str, Any]:
    before = next((c for c in old if c.get("type") == kind), None)
    same = before is not None and (
        before.get("status"),
        before.get("reason"),
        before.get("message"),
    ) == (state, reason, message)
    transition = now
    if before is not None and before.get("status") == state:
        transition = str(before.get("lastTransitionTime") or now)
    updated = now
    if before is not None and same and not progressed:
        updated = str(before.get("lastUpdateTime") or now)
    return {
        "type": kind,
        "status": state,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
        "lastUpdateTime": updated,
    }


def invalid(
    rollout: Mapping[str, Any], problem: str, now: datetime.datetime, *, missing: bool = False
) -> dict[str, Any]:
    """The status of a Rollout whose spec cannot be acted on: everything else kept.

    ``missing``: what is wrong is an object the Rollout names that does not exist (yet); the
    phase is Degraded only once that has lasted ``MISSING_GRACE_SECONDS``."""
    old = dict(rollout.get("status") or {})
    conditions = [
        dict(c) for c in old.get("conditions") or () if c.get("type") != names.COND_INVALID_SPEC
    ]
    conditions.append(
        _condition(
            list(old.get("conditions") or ()),
            names.COND_INVALID_SPEC,
            "True",
            names.REASON_INVALID,
            problem,
            format_time(now),
        )
    )
    old["conditions"] = conditions
    old["phase"] = names.PHASE_DEGRADED
    since = parse_time(conditions[-1]["lastTransitionTime"])
    if missing and since is not None and (now - since).total_seconds() < MISSING_GRACE_SECONDS:
        old["phase"] = names.PHASE_PROGRESSING
    old["message"] = f"{names.REASON_INVALID}: {problem}"
    old["observedGeneration"] = str((rollout.get("metadata") or {}).get("generation") or 0)
    return old


def _revision(ctx: Context) -> str:
    return str(podhash.revision(ctx.current) if ctx.current else "")


def build(ctx: Context) -> dict[str, Any]:
    rollout = ctx.rollout
    old = rollout.get("status") or {}
    old_conditions = list(old.get("conditions") or ())
    now = format_time(ctx.now)
    total = spec.replicas(rollout)
    sets = list(ctx.by_hash.values())
    kind, settings = spec.strategy(rollout)
    template = ctx.template
    status: dict[str, Any] = {
        "observedGeneration": str((rollout.get("metadata") or {}).get("generation") or 0),
        "currentPodHash": ctx.pod_hash,
        "stableRS": ctx.stable_hash,
        "replicas": sum(podhash.pods(rs) for rs in sets),
        "updatedReplicas": podhash.pods(ctx.current),
        "readyReplicas": sum(podhash.ready(rs) for rs in sets),
        "availableReplicas": sum(podhash.available(rs) for rs in sets),
        "HPAReplicas": podhash.pods(ctx.current),
        "selector": selector_string(podhash.selector_of(rollout, template)),
    }
    if ctx.pause_conditions:
        status["pauseConditions"] = ctx.pause_conditions
    if ctx.controller_pause:
        status["controllerPause"] = True
    if ctx.promote_full and not ctx.complete and ctx.stable_hash != ctx.pod_hash:
        status["promoteFull"] = True
    if ctx.abort:
        status["abort"] = True
        status["abortedAt"] = old.get("abortedAt") or now
    for key in ("restartedAt", "collisionCount", "workloadObservedGeneration"):
        if old.get(key) is not None:
            status[key] = old[key]
    if ctx.world.workload_template is not None:
        annotations = (rollout.get("metadata") or {}).get("annotations") or {}
        if annotations.get(names.WORKLOAD_GENERATION):
            status["workloadObservedGeneration"] = annotations[names.WORKLOAD_GENERATION]
    if kind == "canary":
        steps = spec.steps(settings)
        status["canary"] = {}
        if steps:
            status["currentStepIndex"] = min(ctx.step_index, len(steps))
            status["currentStepHash"] = podhash.pod_hash({"steps": steps})
        if ctx.weights is not None:
            status["canary"]["weights"] = ctx.weights
        if ctx.step_run_status is not None:
            status["canary"]["currentStepAnalysisRunStatus"] = ctx.step_run_status
        background = canary.background_status(ctx)
        if background is not None:
            status["canary"]["currentBackgroundAnalysisRunStatus"] = background
    else:
        blue: dict[str, Any] = {"activeSelector": ctx.active_selector}
        if settings.get("previewService"):
            blue["previewSelector"] = ctx.preview_selector
        if ctx.scale_up_preview:
            blue["scaleUpPreviewCheckPoint"] = True
        status["blueGreen"] = blue
    progressed = any(
        old.get(k) != status.get(k)
        for k in ("currentPodHash", "currentStepIndex", "updatedReplicas", "availableReplicas")
    )
    paused = bool(ctx.pause_conditions) or bool((rollout.get("spec") or {}).get("paused"))
    phase, message = _phase(ctx, paused)
    conditions: list[dict[str, Any]] = []
    if phase == names.PHASE_DEGRADED and not ctx.abort:
        progressing = _condition(
            old_conditions, names.COND_PROGRESSING, "False", names.REASON_DEADLINE, message, now
        )
    elif ctx.abort:
        progressing = _condition(
            old_conditions, names.COND_PROGRESSING, "False", names.REASON_ABORTED, message, now
        )
    elif paused:
        progressing = _condition(
            old_conditions,
            names.COND_PROGRESSING,
            "Unknown",
            names.REASON_PAUSED,
            "Rollout is paused",
            now,
        )
    elif ctx.complete:
        progressing = _condition(
            old_conditions,
            names.COND_PROGRESSING,
            "True",
            names.REASON_NEW_RS,
            f"ReplicaSet {podhash.name_of(ctx.current or {})!r} has successfully progressed.",
            now,
        )
    else:
        progressing = _condition(
            old_conditions,
            names.COND_PROGRESSING,
            "True",
            names.REASON_UPDATED,
            f"ReplicaSet {podhash.name_of(ctx.current or {})!r} is progressing.",
            now,
            progressed=progressed,
        )
    conditions.append(progressing)
    available = status["availableReplicas"] >= total
    conditions.append(
        _condition(
            old_conditions,
            names.COND_AVAILABLE,
            "True" if available else "False",
            names.REASON_AVAILABLE,
            "Rollout has minimum availability"
            if available
            else "Rollout does not have minimum availability",
            now,
        )
    )
    conditions.append(
        _condition(
            old_conditions,
            names.COND_PAUSED,
            "True" if paused else "False",
            names.REASON_PAUSED if paused else names.REASON_RESUMED,
            "Rollout is paused" if paused else "Rollout is resumed",
            now,
        )
    )
    healthy = phase == names.PHASE_HEALTHY
    conditions.append(
        _condition(
            old_conditions,
            names.COND_COMPLETED,
            "True" if healthy else "False",
            names.REASON_COMPLETED if healthy else "RolloutNotCompleted",
            "Rollout completed update to revision " + _revision(ctx)
            if healthy
            else "Rollout not completed",
            now,
        )
    )
    conditions.append(
        _condition(
            old_conditions,
            names.COND_HEALTHY,
            "True" if healthy else "False",
            names.REASON_HEALTHY if healthy else "RolloutHealthyIncomplete",
            "Rollout is healthy" if healthy else "Rollout is not healthy",
            now,
        )
    )
    status["conditions"] = conditions
    status["phase"] = phase
    status["message"] = message
    return status


def deadline_left(ctx: Context) -> float | None:
    """Seconds until ``progressDeadlineSeconds`` runs out (None: not progressing now)."""
    if ctx.complete or ctx.abort or ctx.pause_conditions:
        return None
    if (ctx.rollout.get("spec") or {}).get("paused"):
        return None
    limit = float(
        (ctx.rollout.get("spec") or {}).get("progressDeadlineSeconds") or PROGRESS_DEADLINE
    )
    for cond in (ctx.rollout.get("status") or {}).get("conditions") or ():
        if (
            cond.get("type") == names.COND_PROGRESSING
            and cond.get("reason") == names.REASON_UPDATED
        ):
            since = parse_time(cond.get("lastUpdateTime"))
            if since is not None:
                return limit - (ctx.now - since).total_seconds()
    return limit


def _phase(ctx: Context, paused: bool) -> tuple[str, str]:
    if ctx.abort:
        text = f"{names.REASON_ABORTED}: Rollout aborted update to revision {_revision(ctx)}"
        if ctx.abort_message:
            text += f": {ctx.abort_message}"
        return names.PHASE_DEGRADED, text
    left = deadline_left(ctx)
    if left is not None and left <= 0:
        return names.PHASE_DEGRADED, (
            f"{names.REASON_DEADLINE}: ReplicaSet {podhash.name_of(ctx.current or {})!r} "
            "has timed out progressing."
        )
    if (ctx.rollout.get("spec") or {}).get("paused"):
        return names.PHASE_PAUSED, "manually paused"
    if ctx.pause_conditions:
        return names.PHASE_PAUSED, str(ctx.pause_conditions[0].get("reason"))
    if not ctx.complete:
        return names.PHASE_PROGRESSING, ctx.message or "more replicas need to be updated"
    return names.PHASE_HEALTHY, ""
