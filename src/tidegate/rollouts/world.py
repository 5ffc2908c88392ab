"""What planning reads (:class:`World`) and what it decides (:class:`Context`), as data (pure).

A :class:`World` is one consistent view of a Rollout: the Rollout, the ReplicaSets it owns, the
Services and traffic objects it names, its AnalysisRuns, the templates that exist, and the clock.
Planning fills a :class:`Context`: ReplicaSet scales and annotations, Service selectors, traffic
objects, AnalysisRuns to create, the step pointer and pause state, and when to look again.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.rollouts import names, podhash


@dataclasses.dataclass
class World:
    rollout: Mapping[str, Any]
    replica_sets: Sequence[Mapping[str, Any]]
    now: datetime.datetime
    services: Mapping[str, Mapping[str, Any] | None] = dataclasses.field(default_factory=dict)
    # Traffic objects by "Kind/name" (Ingress/x, HTTPRoute/y); None when missing.
    traffic: Mapping[str, Mapping[str, Any] | None] = dataclasses.field(default_factory=dict)
    # (templateName, clusterScope) -> the (Cluster)AnalysisTemplate, None when missing
    templates: Mapping[tuple[str, bool], Mapping[str, Any] | None] = dataclasses.field(
        default_factory=dict
    )
    runs: Sequence[Mapping[str, Any]] = dataclasses.field(default_factory=list)
    # The pod template of spec.workloadRef's object (None: missing or no workloadRef).
    workload_template: Mapping[str, Any] | None = None


def parse_time(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def format_time(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Context:
    world: World
    template: Mapping[str, Any]
    pod_hash: str
    by_hash: dict[str, Mapping[str, Any]]
    current: Mapping[str, Any] | None
    stable_hash: str
    step_index: int = 0
    pause_conditions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    controller_pause: bool = False
    abort: bool = False
    abort_message: str = ""
    promote_full: bool = False
    active_selector: str = ""
    preview_selector: str = ""
    scale_up_preview: bool = False
    message: str = ""
    complete: bool = False
    invalid: str = ""  # found while planning (an analysis that cannot be built): no writes
    # writes
    create: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    scales: dict[str, int] = dataclasses.field(default_factory=dict)
    annotations: dict[str, dict[str, str | None]] = dataclasses.field(default_factory=dict)
    deletes: list[str] = dataclasses.field(default_factory=list)
    selectors: dict[str, str] = dataclasses.field(default_factory=dict)
    apply: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    patches: list[tuple[str, str, dict[str, Any]]] = dataclasses.field(default_factory=list)
    runs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    weights: dict[str, Any] | None = None
    step_run_status: dict[str, Any] | None = None
    requeue_after: float | None = None

    @property
    def rollout(self) -> Mapping[str, Any]:
        return self.world.rollout

    @property
    def now(self) -> datetime.datetime:
        return self.world.now

    @property
    def stable(self) -> Mapping[str, Any] | None:
        return self.by_hash.get(self.stable_hash)

    def others(self, *keep: str) -> list[Mapping[str, Any]]:
        """ReplicaSets other than those of the hashes in ``keep``."""
        return [rs for h, rs in self.by_hash.items() if h not in keep]

    def wake_in(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds

    def scale(self, rs: Mapping[str, Any] | None, replicas: int) -> None:
        if rs is None:
            return
        if podhash.spec_replicas(rs) != replicas:
            self.scales[podhash.name_of(rs)] = replicas

    def planned(self, rs: Mapping[str, Any] | None) -> int:
        """Replicas of ``rs`` after this plan's writes."""
        if rs is None:
            return 0
        return self.scales.get(podhash.name_of(rs), podhash.spec_replicas(rs))

    def annotate(self, rs: Mapping[str, Any], key: str, value: str | None) -> None:
        current = ((rs.get("metadata") or {}).get("annotations") or {}).get(key)
        if current != value:
            self.annotations.setdefault(podhash.name_of(rs), {})[key] = value

    def select(self, service: str | None, pod_hash: str) -> None:
        if service:
            self.selectors[service] = pod_hash

    def pause(self, reason: str) -> bool:
        """Add a pause condition (once); True if it was added now."""
        if any(c.get("reason") == reason for c in self.pause_conditions):
            return False
        self.pause_conditions.append({"reason": reason, "startTime": format_time(self.now)})
        self.controller_pause = True
        return True

    def pause_started(self, reason: str) -> datetime.datetime | None:
        for cond in self.pause_conditions:
            if cond.get("reason") == reason:
                return parse_time(cond.get("startTime"))
        return None

    def unpause(self) -> None:
        self.pause_conditions = []
        self.controller_pause = False

    def scale_down_after(self, rs: Mapping[str, Any], delay: float) -> None:
        """Scale ``rs`` to zero once ``delay`` seconds have passed since first asked (the
        deadline is kept on the ReplicaSet, so a restart does not restart the delay)."""
        if podhash.spec_replicas(rs) == 0:
            return
        annotations = (rs.get("metadata") or {}).get("annotations") or {}
        deadline = parse_time(annotations.get(names.SCALE_DOWN_DEADLINE))
        if delay <= 0:
            self.scale(rs, 0)
            return
        if deadline is None:
            deadline = self.now + datetime.timedelta(seconds=delay)
            self.annotate(rs, names.SCALE_DOWN_DEADLINE, format_time(deadline))
        left = (deadline - self.now).total_seconds()
        if left <= 0:
            self.scale(rs, 0)
        else:
            self.wake_in(left)
