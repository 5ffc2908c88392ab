"""Health of ``argoproj.io`` kinds: Application (app of apps) and Argo Rollouts' Rollout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs
from tidegate.model.enums import HealthStatusCode


def application(obj: Mapping[str, Any]) -> hs.HealthStatus:
    """A child Application is as healthy as it reports itself (``status.health``)."""
    health = fields.mapping(obj, "status", "health")
    code = fields.text(health, "status")
    if not code:
        return hs.progressing("Waiting for the application to report its health")
    try:
        return hs.HealthStatus(HealthStatusCode(code), fields.text(health, "message"))
    except ValueError:
        return hs.unknown(f"Application reports an unknown health status {code!r}")


_ROLLOUT_PHASES = {
    "Healthy": HealthStatusCode.HEALTHY,
    "Progressing": HealthStatusCode.PROGRESSING,
    "Degraded": HealthStatusCode.DEGRADED,
    "Paused": HealthStatusCode.SUSPENDED,
}


def rollout(obj: Mapping[str, Any]) -> hs.HealthStatus:
    observed = fields.dig(obj, "status", "observedGeneration")
    # Old Rollouts controllers wrote a hash here instead of a generation: skip the check then.
    numeric = isinstance(observed, int) or (isinstance(observed, str) and observed.isdigit())
    if numeric and not fields.generation_observed(obj):
        return hs.progressing("Waiting for the rollout spec update to be observed")
    message = fields.text(obj, "status", "message")
    if fields.dig(obj, "status", "abort") is True:
        return hs.degraded(message or "Rollout is aborted")
    phase = fields.text(obj, "status", "phase")
    if phase in _ROLLOUT_PHASES:
        return hs.HealthStatus(_ROLLOUT_PHASES[phase], message)
    if fields.dig(obj, "spec", "paused") is True or fields.items(obj, "status", "pauseConditions"):
        return hs.suspended(message or "Rollout is paused")
    desired = fields.integer(obj, "spec", "replicas", default=1)
    updated = fields.integer(obj, "status", "updatedReplicas")
    available = fields.integer(obj, "status", "availableReplicas")
    if updated < desired:
        return hs.progressing(f"Rollout in progress: {updated} of {desired} replicas updated")
    if available < desired:
        return hs.progressing(f"Rollout in progress: {available} of {desired} replicas available")
    return hs.healthy()
