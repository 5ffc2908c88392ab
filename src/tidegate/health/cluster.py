"""Health of cluster plumbing, as Argo CD judges it: PersistentVolumeClaim, APIService and
PodDisruptionBudget (Argo CD ships no check for Namespaces: they have no health)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs
from tidegate.model.enums import HealthStatusCode

_CLAIM_PHASES = {
    "Lost": HealthStatusCode.DEGRADED,
    "Pending": HealthStatusCode.PROGRESSING,
    "Bound": HealthStatusCode.HEALTHY,
}


def persistentvolumeclaim(obj: Mapping[str, Any]) -> hs.HealthStatus:
    phase = fields.text(obj, "status", "phase")
    return hs.HealthStatus(_CLAIM_PHASES.get(phase, HealthStatusCode.UNKNOWN))


def apiservice(obj: Mapping[str, Any]) -> hs.HealthStatus:
    available = fields.condition(obj, "Available")
    if available is None:
        return hs.progressing("Waiting to be processed")
    message = f"{fields.text(available, 'reason')}: {fields.text(available, 'message')}"
    if available.get("status") == "True":
        return hs.healthy(message)
    return hs.progressing(message)


def poddisruptionbudget(obj: Mapping[str, Any]) -> hs.HealthStatus:
    """The last condition decides; a False one (but InsufficientPods, which has valid uses)
    makes it Degraded at once."""
    result = hs.progressing("Waiting for status")
    for cond in fields.items(obj, "status", "conditions"):
        reason = fields.text(cond, "reason")
        if cond.get("status") == "False" and reason != "InsufficientPods":
            return hs.degraded(f"PodDisruptionBudget has {reason}")
        result = hs.healthy(f"PodDisruptionBudget has {reason}")
    return result
