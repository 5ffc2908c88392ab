"""Blue-green planning (pure): preview, promotion, active switch and the delayed scale-down.

The new version runs beside the active one, selected by the preview Service; once its pods are
available it is promoted at once (``autoPromotionEnabled``, the default), after
``autoPromotionSeconds``, or when someone resumes the ``BlueGreenPause``. Promotion scales the
preview to full size (when ``previewReplicaCount`` kept it smaller), switches the active
Service's selector, and gives the old version ``scaleDownDelaySeconds`` (30) before it scales
down. Pre-promotion analysis gates the switch; post-promotion analysis runs after it and a
failure switches back. An abort keeps the active version and scales the preview down after
``abortScaleDownDelaySeconds``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from tidegate.rollouts import analysis, names, podhash, spec
from tidegate.rollouts.world import Context

SCALE_DOWN_DELAY = 30.0
ABORT_SCALE_DOWN_DELAY = 30.0


def _available(rs: Mapping[str, Any] | None, count: int) -> bool:
    return rs is not None and podhash.spec_replicas(rs) == count and podhash.available(rs) >= count


def _scale_down_old(ctx: Context, settings: Mapping[str, Any], keep: tuple[str, ...]) -> None:
    delay = float(settings.get("scaleDownDelaySeconds", SCALE_DOWN_DELAY))
    for rs in ctx.others(*keep):
        annotations = (rs.get("metadata") or {}).get("annotations") or {}
        if names.SCALE_DOWN_DEADLINE in annotations:
            ctx.scale_down_after(rs, delay)
        else:
            ctx.scale(rs, 0)


def _analysis(ctx: Context, block: Mapping[str, Any] | None, kind: str) -> str:
    """Phase of the pre/post promotion analysis ("" when there is none)."""
    if not block:
        return ""
    suffix = "pre" if kind == "PrePromotion" else "post"
    phase, name = analysis.ensure(ctx, block, suffix=suffix, rollout_type=kind, step=None)
    run = analysis.find(ctx, name)
    if phase in (names.RUN_FAILED, names.RUN_ERROR):
        ctx.abort = True
        ctx.abort_message = analysis.message_of(run) or f"{kind} analysis phase {phase}"
    return phase


def _may_promote(ctx: Context, settings: Mapping[str, Any]) -> bool:
    if ctx.promote_full:
        return True
    if (ctx.rollout.get("spec") or {}).get("paused"):
        return False
    pre = _analysis(ctx, settings.get("prePromotionAnalysis"), "PrePromotion")
    if pre and pre != names.RUN_SUCCESSFUL:
        return False
    auto = settings.get("autoPromotionEnabled", True)
    seconds = settings.get("autoPromotionSeconds")
    if auto and not seconds:
        return True
    started = ctx.pause_started(names.PAUSE_BLUEGREEN)
    if started is None:
        if ctx.controller_pause:  # resumed by someone
            return True
        ctx.pause(names.PAUSE_BLUEGREEN)
        if seconds:
            ctx.wake_in(float(seconds))
        return False
    if seconds:
        left = (started + datetime.timedelta(seconds=float(seconds)) - ctx.now).total_seconds()
        if left <= 0:
            return True
        ctx.wake_in(left)
    return False


def plan(ctx: Context) -> None:
    _, settings = spec.strategy(ctx.rollout)
    total = spec.replicas(ctx.rollout)
    active_svc, preview_svc = settings.get("activeService"), settings.get("previewService")
    active = ctx.active_selector
    if not active or active not in ctx.by_hash:
        active = ctx.pod_hash  # first version: nothing to preview against
    if active == ctx.pod_hash:
        ctx.scale(ctx.current, total)
        ctx.select(active_svc, ctx.pod_hash)
        ctx.select(preview_svc, ctx.pod_hash)
        ctx.active_selector = ctx.preview_selector = ctx.pod_hash
        ctx.stable_hash = ctx.pod_hash
        ctx.unpause()
        ctx.scale_up_preview = False
        post = _analysis(ctx, settings.get("postPromotionAnalysis"), "PostPromotion")
        if ctx.abort:
            return _post_failed(ctx, settings)
        _scale_down_old(ctx, settings, (ctx.pod_hash,))
        ready = _available(ctx.current, total)
        ctx.complete = ready and post in ("", names.RUN_SUCCESSFUL)
        if not ready:
            ctx.message = "updated replicas are still becoming available"
        elif not ctx.complete:
            ctx.message = "waiting for post-promotion analysis to complete"
        return None
    # A new version beside the active one.
    ctx.select(active_svc, active)
    ctx.active_selector = active
    active_rs = ctx.by_hash[active]
    ctx.scale(active_rs, total)
    _scale_down_old(ctx, settings, (ctx.pod_hash, active))
    if ctx.abort:
        ctx.unpause()
        ctx.select(preview_svc, active)
        ctx.preview_selector = active
        delay = float(settings.get("abortScaleDownDelaySeconds", ABORT_SCALE_DOWN_DELAY))
        if ctx.current is not None:
            ctx.scale_down_after(ctx.current, delay)
        return None
    ctx.select(preview_svc, ctx.pod_hash)
    ctx.preview_selector = ctx.pod_hash
    preview_count = settings.get("previewReplicaCount")
    size = total if ctx.scale_up_preview or preview_count is None else int(preview_count)
    ctx.scale(ctx.current, size)
    if not _available(ctx.current, size):
        ctx.message = "waiting for preview replicas to become available"
        return None
    if not ctx.scale_up_preview:
        if not _may_promote(ctx, settings):
            ctx.message = "waiting for promotion"
            return None
        if size < total:
            ctx.scale_up_preview = True  # full size first, then switch
            ctx.unpause()
            ctx.scale(ctx.current, total)
            ctx.message = "scaling preview to full size before promotion"
            return None
    # Promote: the active Service moves to the new pods; the old version waits its delay.
    ctx.unpause()
    ctx.scale_up_preview = False
    ctx.select(active_svc, ctx.pod_hash)
    ctx.active_selector = ctx.pod_hash
    ctx.stable_hash = ctx.pod_hash
    delay = float(settings.get("scaleDownDelaySeconds", SCALE_DOWN_DELAY))
    ctx.scale_down_after(active_rs, delay)
    ctx.message = "old replicas are pending termination"
    return None


def _post_failed(ctx: Context, settings: Mapping[str, Any]) -> None:
    """Post-promotion analysis failed: switch back to the previous version if it still runs."""
    previous = [rs for rs in ctx.others(ctx.pod_hash) if podhash.spec_replicas(rs) > 0]
    if not previous:
        return
    back = max(previous, key=podhash.revision)
    back_hash = podhash.hash_of(back)
    ctx.select(settings.get("activeService"), back_hash)
    ctx.select(settings.get("previewService"), back_hash)
    ctx.active_selector = ctx.preview_selector = ctx.stable_hash = back_hash
    ctx.scale(back, spec.replicas(ctx.rollout))
    ctx.annotate(back, names.SCALE_DOWN_DEADLINE, None)
    delay = float(settings.get("abortScaleDownDelaySeconds", ABORT_SCALE_DOWN_DELAY))
    if ctx.current is not None:
        ctx.scale_down_after(ctx.current, delay)
