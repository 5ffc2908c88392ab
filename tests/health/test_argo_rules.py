"""Argo CD's built-in health rules, one table per rule where a kind has several: the cases where
a simpler reading of the same fields would disagree with Argo CD (load-balancer entries,
HorizontalPodAutoscaler condition order and API versions, Pod restart policies and termination
states)."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.health import registry
from tidegate.model.enums import HealthStatusCode as H


def _assess(obj: dict[str, Any]) -> tuple[H, str]:
    result = registry.assess(obj)
    assert result is not None
    return result.status, result.message


def _lb(api_version: str, kind: str, entries: Any, svc_type: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
    if svc_type:
        obj["spec"] = {"type": svc_type}
    if entries is not None:
        obj["status"] = {"loadBalancer": {"ingress": entries}}
    return obj


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_lb("v1", "Service", None, "ClusterIP"), H.HEALTHY),
        (_lb("v1", "Service", None, "NodePort"), H.HEALTHY),
        (_lb("v1", "Service", None, "LoadBalancer"), H.PROGRESSING),
        (_lb("v1", "Service", [], "LoadBalancer"), H.PROGRESSING),
        # Any entry counts, even one without ip or hostname (an ipMode-only entry, say).
        (_lb("v1", "Service", [{}], "LoadBalancer"), H.HEALTHY),
        (_lb("v1", "Service", [{"hostname": "lb.example"}], "LoadBalancer"), H.HEALTHY),
        (_lb("networking.k8s.io/v1", "Ingress", None), H.PROGRESSING),
        (_lb("networking.k8s.io/v1", "Ingress", []), H.PROGRESSING),
        (_lb("networking.k8s.io/v1", "Ingress", [{"ip": "10.0.0.9"}]), H.HEALTHY),
        (_lb("networking.k8s.io/v1", "Ingress", [{}]), H.HEALTHY),
        (_lb("extensions/v1beta1", "Ingress", [{"hostname": "a"}]), H.HEALTHY),
    ],
)
def test_load_balancer_rules(obj: dict[str, Any], expected: H) -> None:
    assert _assess(obj) == (expected, "")


def _cond(kind: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def _hpa(api_version: str, conditions: list[dict[str, str]] | None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
    }
    if conditions is not None:
        obj["status"] = {"conditions": conditions}
    return obj


def _hpa_v1(annotation: str | None, conditions: list[dict[str, str]] | None = None) -> Any:
    obj = _hpa("autoscaling/v1", conditions)
    if annotation is not None:
        obj["metadata"]["annotations"] = {"autoscaling.alpha.kubernetes.io/conditions": annotation}
    return obj


ABLE = _cond("AbleToScale", "True", "SucceededGetScale", "able")
NO_METRIC = _cond("ScalingActive", "False", "FailedGetResourceMetric", "no metrics")
BAD_SELECTOR = _cond("ScalingActive", "False", "InvalidSelector", "bad selector")
NO_SCALE = _cond("AbleToScale", "False", "FailedGetScale", "no scale")
LIMITED = _cond("ScalingLimited", "True", "TooFewReplicas", "limited")
DISABLED = _cond("ScalingActive", "False", "ScalingDisabled", "disabled")


@pytest.mark.parametrize("version", ["v2", "v2beta2", "v2beta1"])
@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (None, (H.PROGRESSING, "Waiting to Autoscale")),
        ([], (H.PROGRESSING, "Waiting to Autoscale")),
        # The first condition that decides wins, in the order the controller wrote them.
        ([ABLE, NO_METRIC], (H.HEALTHY, "able")),
        ([NO_METRIC, ABLE], (H.DEGRADED, "no metrics")),
        ([BAD_SELECTOR], (H.DEGRADED, "bad selector")),
        ([NO_SCALE, ABLE], (H.DEGRADED, "no scale")),
        ([LIMITED], (H.HEALTHY, "limited")),
        ([DISABLED], (H.PROGRESSING, "Waiting to Autoscale")),
        (
            [_cond("AbleToScale", "False", "BackoffBoth", "backoff")],
            (H.PROGRESSING, "Waiting to Autoscale"),
        ),
    ],
)
def test_hpa_v2_conditions(version: str, conditions: Any, expected: tuple[H, str]) -> None:
    assert _assess(_hpa(f"autoscaling/{version}", conditions)) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_hpa_v1(None), (H.PROGRESSING, "Waiting to Autoscale")),
        (_hpa_v1("[]"), (H.PROGRESSING, "Waiting to Autoscale")),
        (_hpa_v1('[{"type":"AbleToScale","status":"True","message":"ok"}]'), (H.HEALTHY, "ok")),
        (
            _hpa_v1('[{"type":"ScalingActive","status":"False","reason":"InvalidSelector"}]'),
            (H.DEGRADED, ""),
        ),
        # v1 has no status.conditions: only the annotation counts.
        (_hpa_v1(None, [NO_METRIC]), (H.PROGRESSING, "Waiting to Autoscale")),
    ],
)
def test_hpa_v1_reads_the_annotation(obj: Any, expected: tuple[H, str]) -> None:
    assert _assess(obj) == expected


def test_hpa_v1_annotation_that_is_not_json_is_unknown() -> None:
    status, message = _assess(_hpa_v1("{not json"))
    assert status is H.UNKNOWN
    assert message.startswith("failed to convert conditions annotation to typed")


def _pod(policy: str | None, phase: str, **status: Any) -> dict[str, Any]:
    spec = {"restartPolicy": policy} if policy else {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": spec,
        "status": {"phase": phase, **status},
    }


READY = [{"type": "Ready", "status": "True"}]
NOT_READY = [{"type": "Ready", "status": "False"}]


def _ctr(name: str, **state: Any) -> dict[str, Any]:
    return {"name": name, **state}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_pod("Always", "Running", conditions=READY, message="m"), (H.HEALTHY, "m")),
        (_pod("Always", "Running", conditions=NOT_READY), (H.PROGRESSING, "")),
        (
            _pod(
                "Always",
                "Running",
                conditions=NOT_READY,
                containerStatuses=[_ctr("a", lastState={"terminated": {"exitCode": 1}})],
            ),
            (H.DEGRADED, ""),
        ),
        (
            _pod(
                "Always",
                "Running",
                containerStatuses=[
                    _ctr("a", state={"waiting": {"reason": "CrashLoopBackOff", "message": "x"}}),
                    _ctr("b", state={"waiting": {"reason": "ErrImagePull", "message": "y"}}),
                ],
            ),
            (H.DEGRADED, "x, y"),
        ),
        (
            _pod(
                "Always",
                "Pending",
                containerStatuses=[_ctr("a", state={"waiting": {"reason": "ContainerCreating"}})],
            ),
            (H.PROGRESSING, ""),
        ),
        # Hook-like pods are spared the waiting rule.
        (
            _pod(
                "Never",
                "Pending",
                containerStatuses=[_ctr("a", state={"waiting": {"reason": "ImagePullBackOff"}})],
            ),
            (H.PROGRESSING, ""),
        ),
        (_pod("OnFailure", "Running", conditions=READY), (H.PROGRESSING, "")),
        (_pod("Never", "Running", conditions=READY), (H.PROGRESSING, "")),
        (_pod("Never", "Succeeded"), (H.HEALTHY, "")),
        (_pod("Always", "Failed", message="Pod was evicted"), (H.DEGRADED, "Pod was evicted")),
        (
            _pod(
                "Never",
                "Failed",
                containerStatuses=[_ctr("a", state={"terminated": {"reason": "OOMKilled"}})],
            ),
            (H.DEGRADED, "OOMKilled"),
        ),
        (
            _pod(
                "Never",
                "Failed",
                containerStatuses=[_ctr("main", state={"terminated": {"exitCode": 2}})],
            ),
            (H.DEGRADED, 'container "main" failed with exit code 2'),
        ),
        (
            _pod(
                "Never",
                "Failed",
                initContainerStatuses=[
                    _ctr("init", state={"terminated": {"exitCode": 1, "message": "boom"}})
                ],
                containerStatuses=[_ctr("main", state={"terminated": {"exitCode": 2}})],
            ),
            (H.DEGRADED, "boom"),
        ),
        (_pod("Never", "Failed"), (H.DEGRADED, "")),
        (_pod("Always", "Unknown", message="node lost"), (H.UNKNOWN, "node lost")),
    ],
)
def test_pod_rules(obj: dict[str, Any], expected: tuple[H, str]) -> None:
    assert _assess(obj) == expected
