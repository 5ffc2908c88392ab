"""AnalysisRuns of a Rollout: find the run of a step or promotion, create it when missing (pure).

Runs are named ``<rollout>-<pod hash>-<step index>`` (``-pre``/``-post`` for blue-green
promotion analysis, ``-bg`` for background analysis), owned by the Rollout and labelled
``rollout-type`` (Step, Background, PrePromotion, PostPromotion) and ``step-index``, so that a
restarted controller finds the run it started. The AnalysisRun itself is built by the analysis
package (``World.build_run``); the planner only reads ``status.phase``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.rollouts import names, podhash
from tidegate.rollouts.world import Context

PENDING = "Pending"


def _labels(run: Mapping[str, Any]) -> Mapping[str, Any]:
    return (run.get("metadata") or {}).get("labels") or {}


def run_name(ctx: Context, suffix: str) -> str:
    return f"{podhash.name_of(ctx.rollout)}-{ctx.pod_hash}-{suffix}"


def find(ctx: Context, name: str) -> Mapping[str, Any] | None:
    for run in ctx.world.runs:
        if podhash.name_of(run) == name:
            return run
    return None


def phase_of(run: Mapping[str, Any] | None) -> str:
    return str(((run or {}).get("status") or {}).get("phase") or PENDING)


def message_of(run: Mapping[str, Any] | None) -> str:
    return str(((run or {}).get("status") or {}).get("message") or "")


def ensure(
    ctx: Context, block: Mapping[str, Any], *, suffix: str, rollout_type: str, step: int | None
) -> tuple[str, str]:
    """(phase, name) of the run of ``block`` for the current pod hash; created if missing."""
    name = run_name(ctx, suffix)
    run = find(ctx, name)
    if run is not None:
        return phase_of(run), name
    if ctx.world.build_run is None:
        return names.RUN_ERROR, name
    labels = {
        names.POD_HASH_LABEL: ctx.pod_hash,
        names.ROLLOUT_TYPE_LABEL: rollout_type,
    }
    if step is not None:
        labels[names.STEP_INDEX_LABEL] = str(step)
    built = ctx.world.build_run(ctx.rollout, block, name, labels)
    meta = built.setdefault("metadata", {})
    meta["name"] = name
    meta["namespace"] = (ctx.rollout.get("metadata") or {}).get("namespace")
    meta.setdefault("labels", {}).update(labels)
    meta["ownerReferences"] = [podhash.owner_reference(ctx.rollout)]
    ctx.runs.append(built)
    return PENDING, name


def run_status(name: str, phase: str, message: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"name": name, "status": phase}
    if message:
        status["message"] = message
    return status


def stale_runs(ctx: Context) -> list[str]:
    """Runs of other pod hashes still running: to be terminated (spec.terminate)."""
    return [
        podhash.name_of(run)
        for run in ctx.world.runs
        if _labels(run).get(names.POD_HASH_LABEL) != ctx.pod_hash
        and phase_of(run) in (PENDING, "Running")
        and not (run.get("spec") or {}).get("terminate")
    ]
