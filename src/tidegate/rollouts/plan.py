"""One Rollout, one decision (pure): :func:`plan` turns a :class:`~world.World` into writes and
the status to record.

Order of a pass: validate the spec (a problem is an ``InvalidSpec`` condition and nothing else
is written: the stable version stays as it is); find or create the ReplicaSet of the current
pod template; carry the step pointer and pause state over from the status (reset when the
template changed); let the strategy decide scales, selectors and traffic; trim the ReplicaSet
history; compute the status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tidegate.model import mergepatch
from tidegate.rollouts import bluegreen, canary, names, podhash, spec, status, traffic
from tidegate.rollouts.world import Context, World

REVISION_HISTORY_LIMIT = 10


@dataclasses.dataclass
class Plan:
    status: dict[str, Any]
    context: Context | None = None
    problem: str = ""
    missing: bool = False  # the problem is a named object that does not exist (yet)

    @property
    def requeue_after(self) -> float | None:
        return self.context.requeue_after if self.context else None

    def status_patch(self, rollout: Mapping[str, Any]) -> dict[str, Any]:
        """The merge patch from the Rollout's status to the planned one (``{}``: none)."""
        return mergepatch.between(rollout.get("status") or {}, self.status)


def template_of(world: World) -> Mapping[str, Any] | None:
    spec_ = world.rollout.get("spec") or {}
    if spec_.get("workloadRef"):
        return world.workload_template
    template = spec_.get("template")
    return template if isinstance(template, Mapping) and template else None


def problem_of(world: World, template: Mapping[str, Any] | None) -> str | None:
    """What stops this Rollout from being acted on: its spec, or what it names missing."""
    return spec.validate(world.rollout, template) or missing_of(world)


def missing_of(world: World) -> str | None:
    """The first Service, traffic object or analysis template the Rollout names that is not
    there."""
    kind, settings = spec.strategy(world.rollout)
    for name in spec.service_names(world.rollout):
        if world.services.get(name) is None:
            return f"spec.strategy.{kind}: Service {name!r} not found"
    for ref in traffic.wanted_objects(settings.get("trafficRouting") or {}):
        if world.traffic.get(ref) is None:
            what, _, name = ref.partition("/")
            return f"spec.strategy.canary.trafficRouting: {what} {name!r} not found"
    for name, cluster in spec.analysis_templates(world.rollout):
        if world.templates.get((name, cluster)) is None:
            what = names.CLUSTER_ANALYSIS_TEMPLATE if cluster else names.ANALYSIS_TEMPLATE
            return f"{what} {name!r} not found"
    return None


def _carry(ctx: Context, old: Mapping[str, Any]) -> None:
    """Step pointer and pause state from the status, unless the template changed."""
    if old.get("currentPodHash") != ctx.pod_hash:
        return  # a new version starts at step 0, not paused, not aborted
    ctx.step_index = int(old.get("currentStepIndex") or 0)
    ctx.pause_conditions = [dict(c) for c in old.get("pauseConditions") or ()]
    ctx.controller_pause = bool(old.get("controllerPause"))
    ctx.abort = bool(old.get("abort"))
    if ctx.abort:  # keep why (a failed analysis), written after the revision in the message
        prefix = f"{names.REASON_ABORTED}: Rollout aborted update to revision "
        text = str(old.get("message") or "")
        if text.startswith(prefix):
            ctx.abort_message = text[len(prefix) :].partition(": ")[2]
    ctx.promote_full = bool(old.get("promoteFull"))
    ctx.scale_up_preview = bool((old.get("blueGreen") or {}).get("scaleUpPreviewCheckPoint"))


def _history(ctx: Context) -> None:
    """Delete the oldest scaled-down ReplicaSets beyond ``revisionHistoryLimit``."""
    limit = (ctx.rollout.get("spec") or {}).get("revisionHistoryLimit")
    limit = REVISION_HISTORY_LIMIT if limit is None else int(limit)
    keep = {ctx.pod_hash, ctx.stable_hash, ctx.active_selector}
    idle = [
        rs
        for h, rs in ctx.by_hash.items()
        if h not in keep and ctx.planned(rs) == 0 and podhash.pods(rs) == 0
    ]
    idle.sort(key=podhash.revision)
    for rs in idle[: max(0, len(idle) - limit)]:
        ctx.deletes.append(podhash.name_of(rs))


def plan(world: World) -> Plan:
    rollout = world.rollout
    template = template_of(world)
    problem = problem_of(world, template)
    if problem or template is None:
        text = problem or "spec.template: missing"
        missing = problem is not None and problem == missing_of(world)
        return Plan(
            status=status.invalid(rollout, text, world.now, missing=missing),
            problem=text,
            missing=missing,
        )
    old = rollout.get("status") or {}
    pod_hash = podhash.pod_hash(template, int(old.get("collisionCount") or 0))
    by_hash = {podhash.hash_of(rs): rs for rs in world.replica_sets if podhash.hash_of(rs)}
    if pod_hash not in by_hash:
        same = podhash.matching(template, world.replica_sets)
        if same is not None:
            pod_hash = podhash.hash_of(same)
    stable_hash = str(old.get("stableRS") or "")
    if stable_hash not in by_hash:
        stable_hash = pod_hash  # first version, or the stable ReplicaSet is gone
    ctx = Context(
        world=world,
        template=template,
        pod_hash=pod_hash,
        by_hash=by_hash,
        current=by_hash.get(pod_hash),
        stable_hash=stable_hash,
        active_selector=str((old.get("blueGreen") or {}).get("activeSelector") or ""),
    )
    _carry(ctx, old)
    top = podhash.max_revision(world.replica_sets)
    if ctx.current is None:
        first = stable_hash == pod_hash and not by_hash
        size = spec.replicas(rollout) if first else 0
        rs = podhash.new_replica_set(
            rollout, template, pod_hash, revision_number=top + 1, replicas=size
        )
        ctx.create.append(rs)
        ctx.message = "more replicas need to be updated"
        return Plan(status=status.build(ctx), context=ctx)
    if podhash.revision(ctx.current) < top:  # back to an older template (undo): newest again
        ctx.annotate(ctx.current, names.REVISION, str(top + 1))
    if not ctx.abort:  # a version that is current again is no longer waiting to scale down
        ctx.annotate(ctx.current, names.SCALE_DOWN_DEADLINE, None)
    kind, _ = spec.strategy(rollout)
    left = status.deadline_left(ctx)
    if left is not None and left <= 0 and (rollout.get("spec") or {}).get("progressDeadlineAbort"):
        ctx.abort = True
        ctx.abort_message = f"{names.REASON_DEADLINE}: the rollout did not progress in time"
    (bluegreen.plan if kind == "blueGreen" else canary.plan)(ctx)
    if ctx.invalid:
        return Plan(status=status.invalid(rollout, ctx.invalid, world.now), problem=ctx.invalid)
    _history(ctx)
    left = status.deadline_left(ctx)
    if left is not None and left > 0:
        ctx.wake_in(left)
    return Plan(status=status.build(ctx), context=ctx)
