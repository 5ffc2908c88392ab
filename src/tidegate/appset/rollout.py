"""RollingSync planning (pure): which Applications of a set may be synced now.

Given the ``strategy.rollingSync.steps`` and the state of every generated Application, decide
each app's step and status, as Argo CD records them in ``status.applicationStatus``:

- ``Healthy``: Synced and Healthy at the revision it should run (nothing left to do);
- ``Progressing``: a sync operation is running, or it synced to the new revision and is not
  Healthy yet (a Degraded one stays here and halts the rollout);
- ``Pending``: allowed to sync and waiting for its sync operation to start (``sync_now``);
- ``Waiting``: needs a sync, but its step has not started or maxUpdate is used up.

A step starts only when every app of the steps before it is ``Healthy``. Within the active step
at most ``maxUpdate`` apps are Pending or Progressing at once (an int, or a percentage of the
step's apps rounded down but at least 1 when above 0%; default 100%; ``0`` means never: those
apps wait for a manual sync). An app that matches no step is not synced by the rollout.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.appset import selectors
from tidegate.model import errors


class StepStatus(enum.StrEnum):
    WAITING = "Waiting"
    PENDING = "Pending"
    PROGRESSING = "Progressing"
    HEALTHY = "Healthy"


@dataclasses.dataclass(frozen=True)
class AppState:
    """What the planner needs to know about one generated Application."""

    name: str
    labels: Mapping[str, str]
    sync_status: str  # Synced | OutOfSync | Unknown
    health: str  # Healthy | Progressing | Degraded | Suspended | Missing | Unknown
    synced_revision: str | None = None
    target_revision: str | None = None  # the resolved revision it should reach; None: unknown
    operation_running: bool = False
    previous_status: StepStatus | None = None  # from the set's applicationStatus


@dataclasses.dataclass(frozen=True)
class AppStep:
    application: str
    step: int | None  # 1-based; None when no step selects the app
    status: StepStatus
    sync_now: bool
    message: str


@dataclasses.dataclass(frozen=True)
class RolloutPlan:
    apps: tuple[AppStep, ...]
    current_step: int | None  # the step being rolled out; None when complete (or no steps)
    complete: bool
    halted_by: tuple[str, ...]  # Degraded apps that stopped the rollout
    unmatched: tuple[str, ...]  # apps no step selects: they must be synced by hand
    summary: str

    @property
    def to_sync(self) -> list[str]:
        return [a.application for a in self.apps if a.sync_now]


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def max_update(value: Any, members: int, *, step: int) -> int:
    """How many apps of a step may be in flight: int, ``"N%"`` or absent (100%)."""
    if value is None:
        return members
    if isinstance(value, bool):
        raise errors.SpecError(f"strategy.rollingSync.steps[{step - 1}].maxUpdate: not a number")
    if isinstance(value, int):
        if value < 0:
            raise errors.SpecError(
                f"strategy.rollingSync.steps[{step - 1}].maxUpdate: must not be negative"
            )
        return value
    match = _PERCENT.match(str(value))
    if match is None:
        if str(value).strip().isdigit():
            return int(str(value))
        raise errors.SpecError(
            f"strategy.rollingSync.steps[{step - 1}].maxUpdate: {value!r} is neither an int "
            "nor a percentage"
        )
    percent = float(match.group(1))
    if percent <= 0:
        return 0
    return max(1, math.floor(members * percent / 100))


def steps_of(appset: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    strategy = (appset.get("spec") or {}).get("strategy") or {}
    return list((strategy.get("rollingSync") or {}).get("steps") or [])


def step_of(steps: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> int | None:
    """The 1-based number of the first step whose matchExpressions all hold, or None."""
    for index, step in enumerate(steps):
        expressions = step.get("matchExpressions") or []
        if selectors.matches_expressions(expressions, labels):
            return index + 1
    return None


def _done(app: AppState) -> bool:
    at_target = app.target_revision is None or app.synced_revision == app.target_revision
    return app.sync_status == "Synced" and app.health == "Healthy" and at_target


def _in_flight(app: AppState) -> bool:
    if app.operation_running:
        return True
    at_target = app.target_revision is None or app.synced_revision == app.target_revision
    if app.sync_status == "Synced" and at_target:
        return True  # synced to the new revision, not Healthy yet (or Degraded)
    return app.previous_status in (StepStatus.PENDING, StepStatus.PROGRESSING)


def _degraded(app: AppState) -> bool:
    return app.health == "Degraded" and _in_flight(app) and not app.operation_running


def plan_rollout(steps: Sequence[Mapping[str, Any]], apps: Sequence[AppState]) -> RolloutPlan:
    """Decide step, status and ``sync_now`` for every app; see the module docstring."""
    for index, step in enumerate(steps):
        selectors.validate(
            {"matchExpressions": step.get("matchExpressions") or []},
            where=f"strategy.rollingSync.steps[{index}]",
        )
    by_step: dict[int, list[AppState]] = {}
    unmatched: list[AppState] = []
    for app in sorted(apps, key=lambda a: a.name):
        number = step_of(steps, app.labels)
        if number is None:
            unmatched.append(app)
        else:
            by_step.setdefault(number, []).append(app)

    results: dict[str, AppStep] = {}
    current: int | None = None
    halted: list[str] = []
    blocked_reason = ""
    for number in range(1, len(steps) + 1):
        members = by_step.get(number, [])
        active = current is None and not blocked_reason
        degraded = [a.name for a in members if _degraded(a)] if active else []
        capacity = 0
        if active and not all(_done(a) for a in members):
            current = number
            limit = max_update(steps[number - 1].get("maxUpdate"), len(members), step=number)
            busy = sum(1 for a in members if not _done(a) and _in_flight(a))
            capacity = 0 if degraded else max(0, limit - busy)
            halted = degraded
        for app in members:
            results[app.name] = _status(
                app,
                number,
                active=active and current == number,
                capacity_left=capacity > 0,
                halted=bool(degraded),
                blocked=blocked_reason,
            )
            if results[app.name].sync_now:
                capacity -= 1
        if current is not None and not blocked_reason:
            blocked_reason = f"waiting for step {current} to finish"
    for app in unmatched:
        results[app.name] = AppStep(
            app.name,
            None,
            StepStatus.HEALTHY if _done(app) else StepStatus.WAITING,
            False,
            "not selected by any RollingSync step: sync it by hand",
        )
    ordered = tuple(results[a.name] for a in sorted(apps, key=lambda a: a.name))
    complete = current is None
    if not steps:
        summary = "no RollingSync steps"
    elif complete:
        summary = f"rollout complete: all {len(steps)} steps Healthy"
    elif halted:
        summary = f"rollout halted at step {current}: Degraded: {', '.join(halted)}"
    else:
        pending = sum(1 for a in ordered if a.step == current and a.status != StepStatus.HEALTHY)
        summary = f"rolling out step {current} of {len(steps)}: {pending} app(s) not Healthy yet"
    if unmatched:
        summary += f"; {len(unmatched)} app(s) match no step"
    return RolloutPlan(
        ordered, current, complete, tuple(halted), tuple(a.name for a in unmatched), summary
    )


def _status(
    app: AppState, number: int, *, active: bool, capacity_left: bool, halted: bool, blocked: str
) -> AppStep:
    if _done(app):
        return AppStep(app.name, number, StepStatus.HEALTHY, False, "Synced and Healthy")
    if _in_flight(app) and (active or app.operation_running or app.sync_status == "Synced"):
        if app.health == "Degraded" and not app.operation_running:
            return AppStep(
                app.name,
                number,
                StepStatus.PROGRESSING,
                False,
                "Degraded after sync: the rollout is halted",
            )
        if app.operation_running or app.sync_status == "Synced":
            return AppStep(
                app.name,
                number,
                StepStatus.PROGRESSING,
                False,
                f"sync in progress, health {app.health}",
            )
        return AppStep(app.name, number, StepStatus.PENDING, False, "waiting for its sync to start")
    if not active:
        return AppStep(app.name, number, StepStatus.WAITING, False, blocked or "step not started")
    if halted:
        return AppStep(
            app.name, number, StepStatus.WAITING, False, "rollout halted by a Degraded application"
        )
    if capacity_left:
        return AppStep(app.name, number, StepStatus.PENDING, True, "sync now")
    return AppStep(app.name, number, StepStatus.WAITING, False, "maxUpdate reached in this step")
