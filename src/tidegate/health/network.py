"""Health of Service and Ingress: load balancers must have been given an address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs


def _has_address(obj: Mapping[str, Any]) -> bool:
    return any(
        entry.get("ip") or entry.get("hostname")
        for entry in fields.items(obj, "status", "loadBalancer", "ingress")
    )


def service(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if fields.text(obj, "spec", "type") != "LoadBalancer" or _has_address(obj):
        return hs.healthy()
    return hs.progressing("Waiting for the load balancer to be given an address")


def ingress(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if _has_address(obj):
        return hs.healthy()
    return hs.progressing("Waiting for the ingress to be given an address")
