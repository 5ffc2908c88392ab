"""Health of a Pod, as Argo CD's built-in rule judges it (gitops-engine ``pkg/health``).

- restartPolicy ``Always``: a container waiting for a reason starting ``Err`` or ending in
  ``Error``/``BackOff`` (CrashLoopBackOff, ErrImagePull, ImagePullBackOff,
  CreateContainerConfigError...) makes the pod Degraded, whatever its phase. Hook pods
  (``Never``/``OnFailure``) are spared: they may wait for an image still being pushed, and must
  not fail a sync early.
- ``Pending`` is Progressing, ``Succeeded`` Healthy, ``Failed`` Degraded (with the pod's message,
  else the first failed container's: its termination message, ``OOMKilled``, or its exit code).
- ``Running``: with ``Always``, Healthy once Ready, Degraded if a container has terminated before
  (its ``lastState``), else Progressing; with ``Never``/``OnFailure`` Progressing (a finite pod is
  done when it succeeds).
- Anything else (including an unset restartPolicy, which the API server always defaults) is
  Unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs


def _is_error_reason(reason: str) -> bool:
    return reason.startswith("Err") or reason.endswith(("Error", "BackOff"))


def _fail_message(container: Mapping[str, Any]) -> str:
    terminated = fields.dig(container, "state", "terminated")
    if not isinstance(terminated, Mapping):
        return ""
    if message := fields.text(terminated, "message"):
        return message
    if fields.text(terminated, "reason") == "OOMKilled":
        return "OOMKilled"
    exit_code = fields.integer(terminated, "exitCode")
    if exit_code != 0:
        return f'container "{fields.text(container, "name")}" failed with exit code {exit_code}'
    return ""


def pod(obj: Mapping[str, Any]) -> hs.HealthStatus:
    restart_policy = fields.text(obj, "spec", "restartPolicy")
    statuses = fields.items(obj, "status", "containerStatuses")
    if restart_policy == "Always":
        waiting = [fields.mapping(c, "state", "waiting") for c in statuses]
        failing = [w for w in waiting if _is_error_reason(fields.text(w, "reason"))]
        if failing:
            return hs.degraded(", ".join(fields.text(w, "message") for w in failing))
    phase = fields.text(obj, "status", "phase")
    message = fields.text(obj, "status", "message")
    if phase == "Pending":
        return hs.progressing(message)
    if phase == "Succeeded":
        return hs.healthy(message)
    if phase == "Failed":
        if message:
            return hs.degraded(message)
        for container in [*fields.items(obj, "status", "initContainerStatuses"), *statuses]:
            if failure := _fail_message(container):
                return hs.degraded(failure)
        return hs.degraded("")
    if phase == "Running":
        if restart_policy == "Always":
            if fields.condition_is(obj, "Ready", "True"):
                return hs.healthy(message)
            if any(isinstance(fields.dig(c, "lastState", "terminated"), Mapping) for c in statuses):
                return hs.degraded(message)
            return hs.progressing(message)
        if restart_policy in ("OnFailure", "Never"):
            return hs.progressing(message)
    return hs.unknown(message)
