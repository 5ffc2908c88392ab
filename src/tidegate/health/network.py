"""Health of Service and Ingress, as Argo CD judges them: a LoadBalancer Service, and any
Ingress, are Healthy once ``status.loadBalancer.ingress`` has an entry (whatever the entry
holds), Progressing until then. Other Services are Healthy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs


def _has_ingress(obj: Mapping[str, Any]) -> bool:
    entries = fields.dig(obj, "status", "loadBalancer", "ingress")
    return isinstance(entries, Sequence) and not isinstance(entries, str) and len(entries) > 0


def service(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if fields.text(obj, "spec", "type") != "LoadBalancer" or _has_ingress(obj):
        return hs.healthy()
    return hs.progressing()


def ingress(obj: Mapping[str, Any]) -> hs.HealthStatus:
    return hs.healthy() if _has_ingress(obj) else hs.progressing()
