"""Health of a Pod, from its phase, readiness and container states."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs


def _is_error_reason(reason: str) -> bool:
    """Waiting reasons that mean the container cannot start (CrashLoopBackOff, ErrImagePull,
    ImagePullBackOff, CreateContainerConfigError, ...) rather than that it is about to."""
    return reason.startswith("Err") or reason.endswith(("Error", "BackOff"))


def _failing_containers(obj: Mapping[str, Any]) -> list[str]:
    found = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for container in fields.items(obj, "status", key):
            waiting = fields.mapping(container, "state", "waiting")
            reason = fields.text(waiting, "reason")
            if _is_error_reason(reason):
                detail = fields.text(waiting, "message")
                name = fields.text(container, "name")
                found.append(f"{name}: {reason}" + (f": {detail}" if detail else ""))
    return found


def _termination_messages(obj: Mapping[str, Any]) -> list[str]:
    found = []
    for container in fields.items(obj, "status", "containerStatuses"):
        terminated = fields.mapping(container, "state", "terminated")
        if terminated and fields.integer(terminated, "exitCode") != 0:
            detail = fields.text(terminated, "message") or fields.text(terminated, "reason")
            found.append(f"{fields.text(container, 'name')}: {detail}".rstrip(": "))
    return found


def pod(obj: Mapping[str, Any]) -> hs.HealthStatus:
    restart_policy = fields.text(obj, "spec", "restartPolicy") or "Always"
    # Only long-running pods turn Degraded while waiting: a hook pod (restartPolicy Never or
    # OnFailure) may wait for an image that is being pushed, and must not fail the sync early.
    if restart_policy == "Always" and (failing := _failing_containers(obj)):
        return hs.degraded("; ".join(failing))
    phase = fields.text(obj, "status", "phase")
    message = fields.text(obj, "status", "message")
    if phase == "Pending":
        return hs.progressing(message or "Pod is pending")
    if phase == "Succeeded":
        return hs.healthy(message or "Pod completed successfully")
    if phase == "Failed":
        return hs.degraded(message or "; ".join(_termination_messages(obj)) or "Pod failed")
    if phase == "Running":
        if restart_policy != "Always":
            return hs.progressing(message or "Pod is running")
        if fields.condition_is(obj, "Ready", "True"):
            return hs.healthy(message)
        return hs.progressing(message or "Waiting for the pod to be ready")
    return hs.unknown(message or f"Pod phase is {phase or 'not reported'}")
