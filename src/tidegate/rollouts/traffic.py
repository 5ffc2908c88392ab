"""Traffic routing objects for a canary weight (pure): NGINX canary Ingress, Gateway API HTTPRoute.

NGINX: a copy of each stable Ingress named ``<rollout>-<ingress>-canary`` whose backends point
at the canary Service, annotated ``<prefix>/canary: "true"`` and ``<prefix>/canary-weight``
(prefix ``nginx.ingress.kubernetes.io`` unless ``annotationPrefix`` says otherwise), plus
``additionalIngressAnnotations``; owned by the Rollout. Gateway API (``plugins:
argoproj-labs/gatewayAPI: {httpRoute}`` as the Argo Rollouts plugin spells it, or
``gatewayAPI: {httpRoute}``): the backendRefs of the HTTPRoute's rules that name the canary and
stable Services get weights ``w`` and ``100 - w``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tidegate.rollouts import podhash

NGINX_PREFIX = "nginx.ingress.kubernetes.io"
GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"


def stable_ingresses(routing: Mapping[str, Any]) -> list[str]:
    nginx = routing.get("nginx") or {}
    found = [str(nginx["stableIngress"])] if nginx.get("stableIngress") else []
    return found + [str(n) for n in nginx.get("stableIngresses") or ()]


def http_routes(routing: Mapping[str, Any]) -> list[str]:
    config = (routing.get("plugins") or {}).get(GATEWAY_PLUGIN) or routing.get("gatewayAPI") or {}
    found = [str(config["httpRoute"])] if config.get("httpRoute") else []
    return found + [str(r.get("name")) for r in config.get("httpRoutes") or () if r.get("name")]


def wanted_objects(routing: Mapping[str, Any]) -> list[str]:
    """ "Kind/name" of the traffic objects the routing names (they must exist)."""
    return [f"Ingress/{n}" for n in stable_ingresses(routing)] + [
        f"HTTPRoute/{n}" for n in http_routes(routing)
    ]


def _retarget(node: Any, stable: str, canary: str) -> Any:
    if isinstance(node, dict):
        out = {k: _retarget(v, stable, canary) for k, v in node.items()}
        service = out.get("service")
        if isinstance(service, dict) and service.get("name") == stable:
            service["name"] = canary
        if out.get("serviceName") == stable:
            out["serviceName"] = canary
        return out
    if isinstance(node, list):
        return [_retarget(v, stable, canary) for v in node]
    return node


def canary_ingress(
    rollout: Mapping[str, Any],
    stable_ingress: Mapping[str, Any],
    routing: Mapping[str, Any],
    *,
    stable_service: str,
    canary_service: str,
    weight: int,
) -> dict[str, Any]:
    nginx = routing.get("nginx") or {}
    prefix = str(nginx.get("annotationPrefix") or NGINX_PREFIX)
    annotations = {f"{prefix}/canary": "true", f"{prefix}/canary-weight": str(weight)}
    for key, value in (nginx.get("additionalIngressAnnotations") or {}).items():
        annotations[f"{prefix}/{key}"] = str(value)
    for key, value in (nginx.get("canaryIngressAnnotations") or {}).items():
        annotations[str(key)] = str(value)
    meta = stable_ingress.get("metadata") or {}
    spec = _retarget(
        copy.deepcopy(dict(stable_ingress.get("spec") or {})), stable_service, canary_service
    )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": f"{podhash.name_of(rollout)}-{meta.get('name')}-canary",
            "namespace": meta.get("namespace"),
            "annotations": annotations,
            "ownerReferences": [podhash.owner_reference(rollout)],
        },
        "spec": spec,
    }


def route_rules(
    route: Mapping[str, Any], *, stable_service: str, canary_service: str, weight: int
) -> list[dict[str, Any]] | None:
    """The HTTPRoute's rules with the weights set, or None when they already are."""
    rules = copy.deepcopy(list((route.get("spec") or {}).get("rules") or ()))
    changed = False
    for rule in rules:
        for ref in rule.get("backendRefs") or ():
            want = None
            if ref.get("name") == canary_service:
                want = weight
            elif ref.get("name") == stable_service:
                want = 100 - weight
            if want is not None and ref.get("weight") != want:
                ref["weight"] = want
                changed = True
    return rules if changed else None
