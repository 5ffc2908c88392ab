"""Health of a HorizontalPodAutoscaler of any API version, as Argo CD judges it.

autoscaling/v2, v2beta2 and v2beta1 report conditions in ``status.conditions``; autoscaling/v1
keeps them as JSON in the ``autoscaling.alpha.kubernetes.io/conditions`` annotation (and has no
``status.conditions``). Conditions are read in order; the first that is a known failure
(AbleToScale FailedGetScale/FailedUpdateScale, ScalingActive
FailedGetResourceMetric/InvalidSelector) makes it Degraded, the first ``AbleToScale`` or
``ScalingLimited`` that is True makes it Healthy; without either it is Progressing ("Waiting to
Autoscale"). An annotation that is not JSON is Unknown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from tidegate.health import fields
from tidegate.health import status as hs
from tidegate.model import constants

_DEGRADED: Final = frozenset(
    {
        ("AbleToScale", "FailedGetScale"),
        ("AbleToScale", "FailedUpdateScale"),
        ("ScalingActive", "FailedGetResourceMetric"),
        ("ScalingActive", "InvalidSelector"),
    }
)
_HEALTHY_TYPES: Final = frozenset({"AbleToScale", "ScalingLimited"})
_WAITING: Final = "Waiting to Autoscale"


def _annotation_conditions(obj: Mapping[str, Any]) -> list[Mapping[str, Any]] | str:
    """The v1 conditions, or an error message when the annotation is not a JSON list."""
    raw = fields.text(obj, "metadata", "annotations", constants.ANNOTATION_HPA_CONDITIONS)
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        return f"failed to convert conditions annotation to typed: {exc}"
    if parsed is None:
        return []
    if not isinstance(parsed, list):
        return "failed to convert conditions annotation to typed: not a list"
    return [c for c in parsed if isinstance(c, Mapping)]


def hpa(obj: Mapping[str, Any]) -> hs.HealthStatus:
    api_version = obj.get("apiVersion")
    if api_version == "autoscaling/v1":
        conditions = _annotation_conditions(obj)
        if isinstance(conditions, str):
            return hs.unknown(conditions)
    else:
        conditions = fields.items(obj, "status", "conditions")
    for cond in conditions:
        kind, reason = str(cond.get("type") or ""), str(cond.get("reason") or "")
        message = str(cond.get("message") or "")
        if (kind, reason) in _DEGRADED:
            return hs.degraded(message)
        if kind in _HEALTHY_TYPES and cond.get("status") == "True":
            return hs.healthy(message)
    return hs.progressing(_WAITING)
