"""Health of a HorizontalPodAutoscaler, from its conditions.

autoscaling/v2 (and v2beta*) report conditions in ``status.conditions``; autoscaling/v1 keeps
them as JSON in the ``autoscaling.alpha.kubernetes.io/conditions`` annotation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs
from tidegate.model import constants


def _conditions(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = fields.items(obj, "status", "conditions")
    if found:
        return found
    raw = fields.text(obj, "metadata", "annotations", constants.ANNOTATION_HPA_CONDITIONS)
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        return []
    return [c for c in parsed if isinstance(c, Mapping)] if isinstance(parsed, list) else []


def _describe(cond: Mapping[str, Any]) -> str:
    reason = str(cond.get("reason") or cond.get("type") or "")
    detail = str(cond.get("message") or "")
    return f"{reason}: {detail}" if detail else reason


def hpa(obj: Mapping[str, Any]) -> hs.HealthStatus:
    conditions = {str(c.get("type")): c for c in _conditions(obj)}
    if not conditions:
        return hs.progressing("Waiting for the autoscaler to report its conditions")
    able = conditions.get("AbleToScale")
    if able is not None and able.get("status") == "False":
        return hs.degraded(_describe(able))
    active = conditions.get("ScalingActive")
    if active is not None and active.get("status") == "False":
        # Autoscaling turns itself off while the target is scaled to zero: on purpose.
        if active.get("reason") == "ScalingDisabled":
            return hs.suspended(_describe(active))
        return hs.degraded(_describe(active))
    if able is not None and able.get("status") == "True":
        return hs.healthy(_describe(able))
    return hs.progressing("Waiting for the autoscaler to be able to scale")
