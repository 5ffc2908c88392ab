"""Canary planning (pure): the step pointer, pauses, analysis, replica moves and traffic.

One call advances as far as the cluster allows: a step whose replica targets are reached (and
available) is done, and the next one is looked at in the same call; a pause, a running analysis
or replicas still starting stop the walk. When every step is done and the canary is fully
available, the canary becomes the stable version.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from tidegate.rollouts import analysis, names, podhash, replicas, spec, traffic
from tidegate.rollouts.world import Context

ABORT_SCALE_DOWN_DELAY = 30.0
SCALE_DOWN_DELAY_WITH_ROUTING = 30.0


def _at(rs: Mapping[str, Any] | None, target: int) -> bool:
    if rs is None:
        return target == 0
    return podhash.spec_replicas(rs) == target and podhash.available(rs) >= target


def _targets(ctx: Context, settings: Mapping[str, Any], weight: int) -> tuple[int, int]:
    total = spec.replicas(ctx.rollout)
    routing = settings.get("trafficRouting")
    if not routing:
        surge, _ = spec.surge_and_unavailable(settings, total)
        return replicas.weighted_counts(total, weight, surge=surge > 0)
    scale = spec.current_canary_scale(spec.steps(settings), ctx.step_index)
    if scale and scale.get("replicas") is not None:
        canary = int(scale["replicas"])
    elif scale and scale.get("weight") is not None:
        canary = replicas.scaled_to(total, int(scale["weight"]))
    else:
        canary = replicas.scaled_to(total, weight)
    stable = total
    if settings.get("dynamicStableScale"):
        stable = max(total - replicas.scaled_to(total, weight), 0 if weight >= 100 else 1)
    return canary, stable


def _move(
    ctx: Context, settings: Mapping[str, Any], canary_target: int, stable_target: int
) -> None:
    total = spec.replicas(ctx.rollout)
    surge, unavailable = spec.surge_and_unavailable(settings, total)
    current, stable = ctx.current, ctx.stable
    for rs in ctx.others(ctx.pod_hash, ctx.stable_hash):
        ctx.scale(rs, 0)
    if settings.get("trafficRouting"):
        # The router splits traffic: the canary is extra capacity beside a stable version at
        # full size (unless dynamicStableScale), so maxSurge does not bound it.
        ctx.scale(current, canary_target)
        ctx.scale(stable, stable_target)
        return
    others = sum(podhash.pods(rs) for rs in ctx.others(ctx.pod_hash, ctx.stable_hash))
    canary_side = replicas.Side(
        podhash.spec_replicas(current), podhash.available(current), canary_target
    )
    stable_side = replicas.Side(
        podhash.spec_replicas(stable), podhash.available(stable), stable_target
    )
    if canary_target >= canary_side.current:
        new_canary, new_stable = replicas.move(
            canary_side, stable_side, others, replicas=total, surge=surge, unavailable=unavailable
        )
    else:
        new_stable, new_canary = replicas.move(
            stable_side, canary_side, others, replicas=total, surge=surge, unavailable=unavailable
        )
    ctx.scale(current, new_canary)
    ctx.scale(stable, new_stable)


def _pause_step(ctx: Context, step: Mapping[str, Any]) -> bool:
    """True when the pause is over (the walk goes on)."""
    pause = step.get("pause") or {}
    seconds = None
    if pause.get("duration") is not None:
        seconds = spec.duration(pause["duration"], field="pause.duration")
    started = ctx.pause_started(names.PAUSE_CANARY)
    if started is None:
        if seconds is not None and seconds <= 0:
            return True
        ctx.pause(names.PAUSE_CANARY)
        if seconds is not None:
            ctx.wake_in(seconds)
        return False
    if seconds is None:
        return False
    left = (started + datetime.timedelta(seconds=seconds) - ctx.now).total_seconds()
    if left <= 0:
        ctx.unpause()
        return True
    ctx.wake_in(left)
    return False


def _analysis_step(ctx: Context, step: Mapping[str, Any], index: int) -> bool:
    phase, name = analysis.ensure(
        ctx, step.get("analysis") or {}, suffix=str(index), rollout_type="Step", step=index
    )
    run = analysis.find(ctx, name)
    ctx.step_run_status = analysis.run_status(name, phase, analysis.message_of(run))
    if phase == names.RUN_SUCCESSFUL:
        return True
    if phase in (names.RUN_FAILED, names.RUN_ERROR):
        ctx.abort = True
        ctx.abort_message = analysis.message_of(run) or f"Step-based analysis phase {phase}"
    elif phase == names.RUN_INCONCLUSIVE:
        ctx.pause(names.PAUSE_INCONCLUSIVE)
    return False


def _background(ctx: Context, settings: Mapping[str, Any]) -> None:
    """Background analysis runs from ``startingStep`` to the end; its failure aborts."""
    block = settings.get("analysis")
    if not block or ctx.abort or ctx.step_index < int(block.get("startingStep") or 0):
        return
    phase, name = analysis.ensure(ctx, block, suffix=None, rollout_type="Background", step=None)
    if phase in (names.RUN_FAILED, names.RUN_ERROR):
        run = analysis.find(ctx, name)
        ctx.abort = True
        ctx.abort_message = analysis.message_of(run) or f"Background analysis phase {phase}"


def _traffic(ctx: Context, settings: Mapping[str, Any], weight: int) -> None:
    routing = settings.get("trafficRouting") or {}
    if not routing:
        return
    canary_svc, stable_svc = str(settings["canaryService"]), str(settings["stableService"])
    for name in traffic.stable_ingresses(routing):
        ingress = ctx.world.traffic.get(f"Ingress/{name}")
        if ingress is not None:
            ctx.apply.append(
                traffic.canary_ingress(
                    ctx.rollout,
                    ingress,
                    routing,
                    stable_service=stable_svc,
                    canary_service=canary_svc,
                    weight=weight,
                )
            )
    for name in traffic.http_routes(routing):
        route = ctx.world.traffic.get(f"HTTPRoute/{name}")
        if route is None:
            continue
        rules = traffic.route_rules(
            route, stable_service=stable_svc, canary_service=canary_svc, weight=weight
        )
        if rules is not None:
            ctx.patches.append(("HTTPRoute", name, {"spec": {"rules": rules}}))
    ctx.weights = {
        "canary": {"weight": weight, "serviceName": canary_svc, "podTemplateHash": ctx.pod_hash},
        "stable": {
            "weight": 100 - weight,
            "serviceName": stable_svc,
            "podTemplateHash": ctx.stable_hash,
        },
    }


def _steady(ctx: Context, settings: Mapping[str, Any]) -> None:
    """The current version is the stable one: full size, older ReplicaSets scaled down."""
    total = spec.replicas(ctx.rollout)
    surge, unavailable = spec.surge_and_unavailable(settings, total)
    ctx.step_index = len(spec.steps(settings))
    ctx.unpause()
    current = ctx.current
    old = ctx.others(ctx.pod_hash)
    old_pods = sum(podhash.spec_replicas(rs) for rs in old)
    side = replicas.Side(podhash.spec_replicas(current), podhash.available(current), total)
    old_side = replicas.Side(old_pods, sum(podhash.available(rs) for rs in old), 0)
    new_current, new_old = replicas.move(
        side, old_side, 0, replicas=total, surge=surge, unavailable=unavailable
    )
    ctx.scale(current, new_current)
    delay = 0.0
    if settings.get("trafficRouting"):
        delay = float(settings.get("scaleDownDelaySeconds", SCALE_DOWN_DELAY_WITH_ROUTING))
    cut = old_pods - new_old
    for rs in sorted(old, key=podhash.revision):
        if delay and _at(current, total):
            ctx.scale_down_after(rs, delay)
            continue
        if delay:
            continue
        take = min(cut, podhash.spec_replicas(rs))
        cut -= take
        ctx.scale(rs, podhash.spec_replicas(rs) - take)
    _traffic(ctx, settings, 0)
    ctx.complete = _at(current, total) and all(ctx.planned(rs) == 0 for rs in old)
    if not ctx.complete:
        ctx.message = (
            "old replicas are pending termination"
            if _at(current, total)
            else ("updated replicas are still becoming available")
        )


def plan(ctx: Context) -> None:
    _, settings = spec.strategy(ctx.rollout)
    if ctx.pod_hash == ctx.stable_hash:
        _steady(ctx, settings)
        return
    steps = spec.steps(settings)
    if ctx.promote_full:
        ctx.step_index = len(steps)
        ctx.unpause()
    if ctx.controller_pause and not ctx.pause_conditions and not ctx.abort:
        # Someone resumed (promote): the pause or inconclusive analysis step is over.
        if ctx.step_index < len(steps) and spec.step_kind(steps[ctx.step_index]) in (
            "pause",
            "analysis",
        ):
            ctx.step_index += 1
        ctx.controller_pause = False
    paused = bool((ctx.rollout.get("spec") or {}).get("paused"))
    _background(ctx, settings)
    while True:
        weight = 0 if ctx.abort else spec.current_weight(steps, ctx.step_index)
        canary_target, stable_target = _targets(ctx, settings, weight)
        done = _at(ctx.current, canary_target) and _at(ctx.stable, stable_target)
        if ctx.abort or paused or not done or ctx.step_index >= len(steps):
            break
        step = steps[ctx.step_index]
        kind = spec.step_kind(step)
        if kind == "pause":
            if not _pause_step(ctx, step):
                break
        elif kind == "analysis" and not _analysis_step(ctx, step, ctx.step_index):
            break
        ctx.step_index += 1
    at_analysis = ctx.step_index < len(steps) and "analysis" in steps[ctx.step_index]
    if ctx.step_run_status is None and at_analysis:  # keep showing its verdict
        name = analysis.run_name(ctx, ctx.step_index)
        run = analysis.find(ctx, name)
        if run is not None:
            ctx.step_run_status = analysis.run_status(
                name, analysis.phase_of(run), analysis.message_of(run)
            )
    routing = settings.get("trafficRouting")
    if ctx.abort:
        ctx.unpause()
        stable_target = spec.replicas(ctx.rollout)
        if routing:
            delay = float(settings.get("abortScaleDownDelaySeconds", ABORT_SCALE_DOWN_DELAY))
            ctx.scale(ctx.stable, stable_target)
            if ctx.current is not None:
                ctx.scale_down_after(ctx.current, delay)
        else:
            _move(ctx, settings, 0, stable_target)
        _traffic(ctx, settings, 0)
    else:
        _move(ctx, settings, canary_target, stable_target)
        # Traffic moves to the canary once its pods are there to take it.
        shown = weight if _at(ctx.current, canary_target) else min(weight, _shown_weight(ctx))
        _traffic(ctx, settings, shown)
    ctx.select(settings.get("canaryService"), ctx.pod_hash)
    ctx.select(settings.get("stableService"), ctx.stable_hash)
    if not ctx.abort and ctx.step_index >= len(steps) and done:
        ctx.stable_hash = ctx.pod_hash  # promoted: the next pass scales the old version down
        ctx.message = "old replicas are pending termination"
    elif not ctx.abort:
        ctx.message = (
            "more replicas need to be updated" if not done else "waiting for all steps to complete"
        )


def _shown_weight(ctx: Context) -> int:
    weights = ((ctx.rollout.get("status") or {}).get("canary") or {}).get("weights") or {}
    return int((weights.get("canary") or {}).get("weight") or 0)


def background_status(ctx: Context) -> dict[str, Any] | None:
    _, settings = spec.strategy(ctx.rollout)
    if not settings.get("analysis"):
        return None
    name = analysis.run_name(ctx, None)
    run = analysis.find(ctx, name)
    if run is None:
        return None
    return analysis.run_status(name, analysis.phase_of(run), analysis.message_of(run))
