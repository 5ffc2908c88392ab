"""Health of cluster plumbing: PersistentVolumeClaim, Namespace, APIService."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs


def persistentvolumeclaim(obj: Mapping[str, Any]) -> hs.HealthStatus:
    phase = fields.text(obj, "status", "phase")
    if phase == "Bound":
        return hs.healthy()
    if phase == "Pending":
        return hs.progressing("Waiting for the claim to be bound to a volume")
    if phase == "Lost":
        return hs.degraded("The claim lost its bound volume")
    return hs.unknown(f"Claim phase is {phase or 'not reported'}")


def namespace(obj: Mapping[str, Any]) -> hs.HealthStatus:
    phase = fields.text(obj, "status", "phase")
    if phase == "Active":
        return hs.healthy()
    if phase == "Terminating":
        return hs.progressing("Namespace is terminating")
    if not phase:
        return hs.progressing("Waiting for the namespace to become Active")
    return hs.unknown(f"Namespace phase is {phase}")


def apiservice(obj: Mapping[str, Any]) -> hs.HealthStatus:
    available = fields.condition(obj, "Available")
    if available is None:
        return hs.progressing("Waiting for the API service to report availability")
    if available.get("status") == "True":
        return hs.healthy(str(available.get("message") or ""))
    reason = str(available.get("reason") or "NotAvailable")
    detail = str(available.get("message") or "")
    return hs.progressing(f"{reason}: {detail}" if detail else reason)
