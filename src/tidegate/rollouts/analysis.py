"""AnalysisRuns of a Rollout: find the run of a step or promotion, build it when missing (pure).

Runs are named as Argo Rollouts names them, ``<rollout>-<pod hash>-<revision>-<step index>``
(``-pre``/``-post`` for blue-green promotion analysis, none for background analysis), owned by
the Rollout and labelled ``rollout-type`` (Step, Background, PrePromotion, PostPromotion) and
``step-index``, so that a restarted controller finds the run it started. The run itself comes
from :func:`tidegate.analysis.runs.new_run_for_rollout` (templates merged, args resolved); it
carries the Rollout's controller-instance-id label so that only this controller's analysis
controller measures it. The planner reads ``status.phase`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.analysis import names as analysis_names
from tidegate.analysis import runs
from tidegate.rollouts import names, podhash
from tidegate.rollouts.world import Context

PENDING = "Pending"
INSTANCE_ID_LABEL = "argo-rollouts.argoproj.io/controller-instance-id"


def _labels(run: Mapping[str, Any]) -> Mapping[str, Any]:
    return (run.get("metadata") or {}).get("labels") or {}


def run_name(ctx: Context, suffix: str | int | None) -> str:
    revision = podhash.revision(ctx.current) if ctx.current else 0
    return runs.run_name(podhash.name_of(ctx.rollout), ctx.pod_hash, revision, suffix)


def find(ctx: Context, name: str) -> Mapping[str, Any] | None:
    for run in ctx.world.runs:
        if podhash.name_of(run) == name:
            return run
    return None


def phase_of(run: Mapping[str, Any] | None) -> str:
    return str(((run or {}).get("status") or {}).get("phase") or PENDING)


def message_of(run: Mapping[str, Any] | None) -> str:
    return str(((run or {}).get("status") or {}).get("message") or "")


def _build(
    ctx: Context, block: Mapping[str, Any], name: str, labels: dict[str, str]
) -> dict[str, Any] | None:
    templates: list[Mapping[str, Any]] = []
    cluster_templates: list[Mapping[str, Any]] = []
    for ref in block.get("templates") or ():
        key = (str(ref.get("templateName") or ""), bool(ref.get("clusterScope")))
        found = ctx.world.templates.get(key)
        if found is None:
            kind = names.CLUSTER_ANALYSIS_TEMPLATE if key[1] else names.ANALYSIS_TEMPLATE
            ctx.invalid = f"{kind} {key[0]!r} not found"
            return None
        (cluster_templates if key[1] else templates).append(found)
    instance = ((ctx.rollout.get("metadata") or {}).get("labels") or {}).get(INSTANCE_ID_LABEL)
    if instance:
        labels = {**labels, INSTANCE_ID_LABEL: str(instance)}
    try:
        return runs.new_run_for_rollout(
            rollout=ctx.rollout,
            block=block,
            templates=templates,
            cluster_templates=cluster_templates,
            name=name,
            labels=labels,
            pod_hashes={"Stable": ctx.stable_hash, "Latest": ctx.pod_hash},
        )
    except analysis_names.AnalysisSpecError as exc:
        ctx.invalid = str(exc)
        return None


def ensure(
    ctx: Context,
    block: Mapping[str, Any],
    *,
    suffix: str | None,
    rollout_type: str,
    step: int | None,
) -> tuple[str, str]:
    """(phase, name) of the run of ``block`` for the current pod hash; built if missing."""
    name = run_name(ctx, suffix)
    run = find(ctx, name)
    if run is not None:
        return phase_of(run), name
    built = _build(ctx, block, name, runs.run_labels(ctx.pod_hash, rollout_type, step))
    if built is not None:
        ctx.runs.append(built)
    return PENDING, name


def run_status(name: str, phase: str, message: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"name": name, "status": phase}
    if message:
        status["message"] = message
    return status


def stale_runs(ctx: Context) -> list[str]:
    """Runs still going that no longer matter, to be terminated (``spec.terminate``): those of
    other pod hashes, and background analysis once the update is over (promoted or aborted)."""
    over = ctx.stable_hash == ctx.pod_hash or ctx.abort

    def stale(run: Mapping[str, Any]) -> bool:
        labels = _labels(run)
        if labels.get(names.POD_HASH_LABEL) != ctx.pod_hash:
            return True
        return over and labels.get(names.ROLLOUT_TYPE_LABEL) == "Background"

    return [
        podhash.name_of(run)
        for run in ctx.world.runs
        if stale(run)
        and phase_of(run) in (PENDING, "Running")
        and not (run.get("spec") or {}).get("terminate")
    ]
