"""Health of ``argoproj.io`` kinds, as Argo CD judges them: Rollout and AnalysisRun (Argo CD's
shipped checks), Workflow (gitops-engine), and Application.

Application is NOT assessed by default, as in Argo CD since 1.8: an app of apps is Healthy when
its own resources are, whatever its children report. :func:`application` is the documented
opt-in check (``resource.customizations.health.argoproj.io_Application``): a child is as
healthy as it reports itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tidegate.health import fields
from tidegate.health import status as hs
from tidegate.model.enums import HealthStatusCode

_WORKLOAD_GENERATION: Final = "rollout.argoproj.io/workload-generation"
_NOT_OBSERVED: Final = "Waiting for rollout spec update to be observed"


def _code(value: str) -> HealthStatusCode | None:
    try:
        return HealthStatusCode(value)
    except ValueError:
        return None


def application(obj: Mapping[str, Any]) -> hs.HealthStatus:
    health = fields.mapping(obj, "status", "health")
    code = fields.text(health, "status")
    if not code:
        return hs.progressing()
    found = _code(code)
    if found is None:
        return hs.unknown(f"Application reports an unknown health status {code!r}")
    return hs.HealthStatus(found, fields.text(health, "message"))


def _rollout_observed(obj: Mapping[str, Any]) -> bool:
    observed = fields.dig(obj, "status", "observedGeneration")
    if observed is None:
        return False
    # Old Rollouts controllers wrote a hash here instead of a generation: not comparable.
    numeric = str(observed).isdigit()
    if numeric and int(str(observed)) != fields.integer(obj, "metadata", "generation"):
        return False
    workload = fields.text(obj, "metadata", "annotations", _WORKLOAD_GENERATION)
    return not workload or workload == str(
        fields.dig(obj, "status", "workloadObservedGeneration") or ""
    )


def _stable_rs(status: Mapping[str, Any]) -> str:
    return fields.text(status, "stableRS") or fields.text(status, "canary", "stableRS")


def rollout(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if not isinstance(fields.dig(obj, "status"), Mapping) or not _rollout_observed(obj):
        return hs.progressing(_NOT_OBSERVED)
    status = fields.mapping(obj, "status")
    phase = fields.text(status, "phase")
    if phase:
        if phase == "Paused":
            return hs.suspended("Rollout is paused")
        code = _code(phase)
        message = fields.text(status, "message")
        return hs.HealthStatus(code, message) if code else hs.unknown(message)
    return _legacy_rollout(obj, status)


def _legacy_rollout(obj: Mapping[str, Any], status: Mapping[str, Any]) -> hs.HealthStatus:
    """Before Argo Rollouts wrote ``status.phase``, health was derived from the fields."""
    for cond in fields.items(status, "conditions"):
        kind, reason = cond.get("type"), cond.get("reason")
        if kind == "InvalidSpec" or (
            kind == "Progressing" and reason in ("RolloutAborted", "ProgressDeadlineExceeded")
        ):
            return hs.degraded(fields.text(cond, "message"))
    if fields.items(status, "pauseConditions") or fields.dig(obj, "spec", "paused") is True:
        return hs.suspended("Rollout is paused")
    current = fields.text(status, "currentPodHash")
    if not current:
        return hs.progressing("Waiting for rollout to finish: status has not been reconciled.")
    desired = fields.integer(obj, "spec", "replicas", default=1)
    replicas = fields.integer(status, "replicas")
    updated = fields.integer(status, "updatedReplicas")
    available = fields.integer(status, "availableReplicas")
    if updated < desired:
        return hs.progressing("Waiting for roll out to finish: More replicas need to be updated")
    if available < updated:
        return hs.progressing(
            "Waiting for roll out to finish: updated replicas are still becoming available"
        )
    stable = _stable_rs(status)
    strategy = fields.mapping(obj, "spec", "strategy")
    if isinstance(strategy.get("blueGreen"), Mapping):
        if fields.text(status, "blueGreen", "activeSelector") != current:
            return hs.progressing("active service cutover pending")
        if stable and stable != current:
            return hs.progressing("waiting for analysis to complete")
    elif isinstance(strategy.get("canary"), Mapping):
        if replicas > updated:
            return hs.progressing(
                "Waiting for roll out to finish: old replicas are pending termination"
            )
        if not stable or stable != current:
            return hs.progressing("Waiting for rollout to finish steps")
    return hs.healthy()


_RUN_PHASES: Final = {
    "Pending": (HealthStatusCode.PROGRESSING, "Analysis run is running"),
    "Running": (HealthStatusCode.PROGRESSING, "Analysis run is running"),
    "Successful": (HealthStatusCode.HEALTHY, "Analysis run completed successfully"),
    "Failed": (HealthStatusCode.DEGRADED, "Analysis run failed"),
    "Error": (HealthStatusCode.DEGRADED, "Analysis run had an error"),
    "Inconclusive": (HealthStatusCode.UNKNOWN, "Analysis run was inconclusive"),
}


def analysisrun(obj: Mapping[str, Any]) -> hs.HealthStatus | None:
    """Pending/Running report a fixed message; the finished phases the run's own message when
    it has one. A status with another phase has no health (Argo CD's check returns none)."""
    status = fields.dig(obj, "status")
    if not isinstance(status, Mapping):
        return hs.progressing("Waiting for analysis run to finish: status has not been reconciled.")
    phase = fields.text(status, "phase")
    if phase not in _RUN_PHASES:
        return None
    code, default = _RUN_PHASES[phase]
    if phase in ("Pending", "Running"):
        return hs.HealthStatus(code, default)
    return hs.HealthStatus(code, fields.text(status, "message") or default)


_WORKFLOW_PHASES: Final = {
    "": HealthStatusCode.PROGRESSING,
    "Pending": HealthStatusCode.PROGRESSING,
    "Running": HealthStatusCode.PROGRESSING,
    "Succeeded": HealthStatusCode.HEALTHY,
    "Failed": HealthStatusCode.DEGRADED,
    "Error": HealthStatusCode.DEGRADED,
}


def workflow(obj: Mapping[str, Any]) -> hs.HealthStatus:
    phase = fields.text(obj, "status", "phase")
    message = fields.text(obj, "status", "message")
    return hs.HealthStatus(_WORKFLOW_PHASES.get(phase, HealthStatusCode.UNKNOWN), message)
