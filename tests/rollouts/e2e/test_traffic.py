"""NGINX traffic routing on dev: the controller writes the canary Ingress (a copy of the stable
one pointing at the canary Service, with the canary annotations) at each step's weight, keeps
the stable version at full size while the canary is scaled to the weight, and points the
canary and stable Services at their pods."""

from __future__ import annotations

from typing import Any

import pytest
from tests.rollouts.e2e.conftest import Standalone, rollout_manifest

from tidegate.testenv import wait

pytestmark = pytest.mark.e2e
PREFIX = "nginx.ingress.kubernetes.io"


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": "routed"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


async def test_nginx_canary_ingress_follows_the_steps(standalone: Standalone) -> None:
    s = standalone
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "routed"},
        "spec": {"rules": [{"host": "routed.example", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "routed-stable", "port": {"number": 80}}}}]}}]},
    }  # fmt: skip
    strategy = {"canary": {
        "canaryService": "routed-canary", "stableService": "routed-stable",
        "trafficRouting": {"nginx": {"stableIngress": "routed"}},
        "steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 75}, {"pause": {}}],
    }}  # fmt: skip
    ro = rollout_manifest("routed", "registry.invalid/r:v1", s.instance, strategy, replicas=4)
    s.apply(_service("routed-canary"), _service("routed-stable"), ingress, ro)
    await wait.eventually(lambda: s.status("routed").get("phase") == "Healthy", within=60)

    ro["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.invalid/r:v2"
    s.apply(ro)
    await wait.eventually(lambda: s.status("routed").get("phase") == "Paused", within=60)

    def canary_ingress() -> dict[str, Any] | None:
        return s.get(f"/apis/networking.k8s.io/v1/namespaces/{s.ns}/ingresses/routed-routed-canary")

    found = canary_ingress()
    assert found is not None
    assert found["metadata"]["annotations"][f"{PREFIX}/canary"] == "true"
    assert found["metadata"]["annotations"][f"{PREFIX}/canary-weight"] == "25"
    backend = found["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    assert backend == "routed-canary"
    status = s.status("routed")
    assert status["canary"]["weights"]["canary"]["weight"] == 25
    assert s.images() == {"registry.invalid/r:v1": 4, "registry.invalid/r:v2": 1}
    assert s.service_hash("routed-canary") == status["currentPodHash"]
    assert s.service_hash("routed-stable") == status["stableRS"]

    assert s.cli("promote", "routed").returncode == 0
    await wait.eventually(
        lambda: (
            (i := canary_ingress())
            and i["metadata"]["annotations"][f"{PREFIX}/canary-weight"] == "75"
        ),
        within=60,
    )
    await wait.eventually(
        lambda: s.images() == {"registry.invalid/r:v1": 4, "registry.invalid/r:v2": 3}, within=60
    )
