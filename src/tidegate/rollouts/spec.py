"""Reading a Rollout's spec: steps, durations, int-or-percent values, and validation (pure).

Validation returns the first problem as a sentence (the ``InvalidSpec`` condition's message, as
Argo Rollouts words it where it has a wording); ``None`` means the spec can be acted on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.model import durations, errors

STEP_KINDS = (
    "setWeight",
    "pause",
    "setCanaryScale",
    "analysis",
    "experiment",
    "setHeaderRoute",
    "setMirrorRoute",
    "plugin",
)
SUPPORTED = STEP_KINDS[:4]


class SpecError(ValueError):
    """A Rollout spec that cannot be acted on; the message names the field and the cause."""


def duration(value: Any, *, field: str) -> float:
    """Seconds of a Rollouts duration: an int (seconds) or a Go duration string ("30s", "1h")."""
    if isinstance(value, bool):
        raise SpecError(f"{field}: {value!r} is not a duration")
    if isinstance(value, int | float):
        return float(value)
    try:
        return durations.parse(str(value))
    except errors.SpecError as exc:
        raise SpecError(f"{field}: {exc}") from None


def int_or_percent(value: Any, total: int, *, round_up: bool, field: str) -> int:
    """An IntOrString against ``total``: ``"25%"`` rounds up or down, an int is itself."""
    if isinstance(value, bool):
        raise SpecError(f"{field}: {value!r} is not an integer or a percentage")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%") and text[:-1].isdigit():
        exact = total * int(text[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    if text.isdigit():
        return int(text)
    raise SpecError(f"{field}: {value!r} is not an integer or a percentage")


def strategy(rollout: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """("canary" | "blueGreen", its settings)."""
    strat = (rollout.get("spec") or {}).get("strategy") or {}
    if "blueGreen" in strat:
        return "blueGreen", strat.get("blueGreen") or {}
    return "canary", strat.get("canary") or {}


def replicas(rollout: Mapping[str, Any]) -> int:
    value = (rollout.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def steps(canary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(canary.get("steps") or ())


def step_kind(step: Mapping[str, Any]) -> str:
    return next(iter(step), "") if len(step) == 1 else ""


def surge_and_unavailable(settings: Mapping[str, Any], total: int) -> tuple[int, int]:
    surge = int_or_percent(settings.get("maxSurge", "25%"), total, round_up=True, field="maxSurge")
    unavailable = int_or_percent(
        settings.get("maxUnavailable", "25%"), total, round_up=False, field="maxUnavailable"
    )
    if surge == 0 and unavailable == 0 and total > 0:
        unavailable = 1  # as Kubernetes and Argo Rollouts do, so that a rollout can progress
    return surge, unavailable


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and (not present or labels[key] not in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _step_problem(index: int, step: Any) -> str | None:
    where = f"spec.strategy.canary.steps[{index}]"
    if not isinstance(step, Mapping) or not step:
        return f"{where}: a step is an object with one of {', '.join(STEP_KINDS)}"
    unknown = [k for k in step if k not in STEP_KINDS]
    if unknown:
        return f"{where}: unknown step {unknown[0]!r} (supported: {', '.join(SUPPORTED)})"
    if len(step) != 1:
        return f"{where}: a step sets exactly one of {', '.join(sorted(step))}"
    kind = step_kind(step)
    if kind == "setWeight":
        weight = step["setWeight"]
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            return f"{where}.setWeight: {weight!r} must be an integer between 0 and 100"
    if kind == "pause" and (step["pause"] or {}).get("duration") is not None:
        try:
            duration(step["pause"]["duration"], field=f"{where}.pause.duration")
        except SpecError as exc:
            return str(exc)
    if kind == "setCanaryScale":
        scale = step["setCanaryScale"] or {}
        weight = scale.get("weight")
        if weight is not None and (not isinstance(weight, int) or not 0 <= weight <= 100):
            return f"{where}.setCanaryScale.weight: {weight!r} must be between 0 and 100"
    if kind == "analysis" and not (step["analysis"] or {}).get("templates"):
        return f"{where}.analysis: at least one template is required"
    if kind in ("experiment", "setHeaderRoute", "setMirrorRoute", "plugin"):
        return f"{where}: step {kind!r} is not supported by Tidegate's Rollouts controller"
    return None


def validate(rollout: Mapping[str, Any], template: Mapping[str, Any] | None) -> str | None:
    """The first problem of the spec (``template`` is the pod template, from ``workloadRef``
    when the Rollout has one), or ``None``."""
    spec = rollout.get("spec") or {}
    if template is None:
        if spec.get("workloadRef"):
            ref = spec["workloadRef"]
            return f"spec.workloadRef: {ref.get('kind')} {ref.get('name')!r} not found"
        return "spec.template: a pod template (or spec.workloadRef) is required"
    selector = spec.get("selector")
    if not selector and not spec.get("workloadRef"):
        return "spec.selector: a label selector is required"
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector and not _selector_matches(selector, labels):
        return "spec.selector: `selector` does not match template `labels`"
    if not (template.get("spec") or {}).get("containers"):
        return "spec.template.spec.containers: at least one container is required"
    if replicas(rollout) < 0:
        return "spec.replicas: must not be negative"
    kind, settings = strategy(rollout)
    try:
        surge_and_unavailable(settings, replicas(rollout))
    except SpecError as exc:
        return f"spec.strategy.{kind}.{exc}"
    if kind == "blueGreen":
        if not settings.get("activeService"):
            return "spec.strategy.blueGreen.activeService: required"
        if settings.get("activeService") == settings.get("previewService"):
            return "spec.strategy.blueGreen: previewService and activeService must differ"
        return None
    for index, step in enumerate(settings.get("steps") or ()):
        problem = _step_problem(index, step)
        if problem:
            return problem
    if settings.get("canaryService") and settings.get("canaryService") == settings.get(
        "stableService"
    ):
        return "spec.strategy.canary: canaryService and stableService must differ"
    routing = settings.get("trafficRouting") or {}
    if routing and not (settings.get("canaryService") and settings.get("stableService")):
        return "spec.strategy.canary.trafficRouting: canaryService and stableService are required"
    return None


def service_names(rollout: Mapping[str, Any]) -> list[str]:
    kind, settings = strategy(rollout)
    keys = (
        ("activeService", "previewService")
        if kind == "blueGreen"
        else (
            "canaryService",
            "stableService",
        )
    )
    return [str(settings[k]) for k in keys if settings.get(k)]


def analysis_templates(rollout: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """(templateName, clusterScope) of every analysis the spec names (steps, background,
    pre/post promotion)."""
    kind, settings = strategy(rollout)
    blocks: list[Any] = []
    if kind == "blueGreen":
        blocks += [settings.get("prePromotionAnalysis"), settings.get("postPromotionAnalysis")]
    else:
        blocks.append(settings.get("analysis"))
        blocks += [s.get("analysis") for s in settings.get("steps") or () if isinstance(s, Mapping)]
    found: list[tuple[str, bool]] = []
    for block in blocks:
        for ref in (block or {}).get("templates") or () if isinstance(block, Mapping) else ():
            found.append((str(ref.get("templateName") or ""), bool(ref.get("clusterScope"))))
    return found


def current_weight(all_steps: Sequence[Mapping[str, Any]], index: int) -> int:
    """The weight in force at step ``index``: the last ``setWeight`` at or before it (100 once
    every step is done, 0 before the first setWeight)."""
    if index >= len(all_steps):
        return 100
    for step in reversed(all_steps[: index + 1]):
        if "setWeight" in step:
            return int(step["setWeight"])
    return 0


def current_canary_scale(
    all_steps: Sequence[Mapping[str, Any]], index: int
) -> Mapping[str, Any] | None:
    """The ``setCanaryScale`` in force at step ``index`` (none once every step is done)."""
    if index >= len(all_steps):
        return None
    for step in reversed(all_steps[: index + 1]):
        if "setCanaryScale" in step:
            scale = step["setCanaryScale"] or {}
            return None if scale.get("matchTrafficWeight") else scale
    return None
