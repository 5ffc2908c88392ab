"""Built-in checks, table-driven: testdata/<kind>-<state>.yaml -> expected status (and message)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.health import registry
from tidegate.model.enums import HealthStatusCode as H

TESTDATA = Path(__file__).parent / "testdata"

# file name -> (expected status, or None for "no check"; a substring the message must contain)
EXPECTED: dict[str, tuple[H | None, str]] = {
    "deployment-healthy": (H.HEALTHY, ""),
    "deployment-paused": (H.SUSPENDED, "paused"),
    "deployment-progress-deadline": (H.DEGRADED, "exceeded its progress deadline"),
    "deployment-rollout-updating": (H.PROGRESSING, "1 of 3 replicas updated"),
    "deployment-old-replicas": (H.PROGRESSING, "1 old replicas pending termination"),
    "deployment-unavailable": (H.PROGRESSING, "1 of 3 replicas available"),
    "deployment-generation-not-observed": (H.PROGRESSING, "observe the latest spec"),
    "deployment-scaled-to-zero": (H.HEALTHY, ""),
    "deployment-deleting": (H.PROGRESSING, "Pending deletion"),
    "statefulset-healthy": (H.HEALTHY, "revision db-7f9"),
    "statefulset-not-ready": (H.PROGRESSING, "2 of 3 pods to be ready"),
    "statefulset-not-observed": (H.PROGRESSING, "observe the latest spec"),
    "statefulset-rolling-update": (H.PROGRESSING, "revision db-8a1"),
    "statefulset-partition-progressing": (H.PROGRESSING, "1 of 2 updated"),
    "statefulset-partition-healthy": (H.HEALTHY, "Partitioned rollout complete"),
    "statefulset-ondelete": (H.HEALTHY, "OnDelete"),
    "daemonset-healthy": (H.HEALTHY, ""),
    "daemonset-updating": (H.PROGRESSING, "1 of 3 pods updated"),
    "daemonset-unavailable": (H.PROGRESSING, "2 of 3 pods available"),
    "daemonset-ondelete": (H.HEALTHY, "OnDelete"),
    "daemonset-not-observed": (H.PROGRESSING, "observe the latest spec"),
    "replicaset-healthy": (H.HEALTHY, ""),
    "replicaset-progressing": (H.PROGRESSING, "0 of 2"),
    "replicaset-failure": (H.DEGRADED, "exceeded quota"),
    "pod-running-ready": (H.HEALTHY, ""),
    "pod-running-not-ready": (H.PROGRESSING, "ready"),
    "pod-crashloop": (H.DEGRADED, "web: CrashLoopBackOff: back-off"),
    "pod-imagepullbackoff": (H.DEGRADED, "ImagePullBackOff"),
    "pod-init-crashloop": (H.DEGRADED, "migrate: CrashLoopBackOff"),
    "pod-hook-imagepullbackoff": (H.PROGRESSING, ""),
    "pod-container-creating": (H.PROGRESSING, ""),
    "pod-succeeded": (H.HEALTHY, ""),
    "pod-failed": (H.DEGRADED, "main: migration failed"),
    "pod-running-restart-never": (H.PROGRESSING, "running"),
    "pod-unknown": (H.UNKNOWN, "Unknown"),
    "pod-hook-deleting": (H.HEALTHY, ""),
    "service-clusterip": (H.HEALTHY, ""),
    "service-loadbalancer-pending": (H.PROGRESSING, "load balancer"),
    "service-loadbalancer-ready": (H.HEALTHY, ""),
    "ingress-healthy": (H.HEALTHY, ""),
    "ingress-pending": (H.PROGRESSING, "address"),
    "persistentvolumeclaim-bound": (H.HEALTHY, ""),
    "persistentvolumeclaim-pending": (H.PROGRESSING, "bound"),
    "persistentvolumeclaim-lost": (H.DEGRADED, "lost"),
    "persistentvolumeclaim-no-status": (H.UNKNOWN, "not reported"),
    "job-complete": (H.HEALTHY, ""),
    "job-failed": (H.DEGRADED, "backoff limit"),
    "job-suspended": (H.SUSPENDED, "suspended"),
    "job-running": (H.PROGRESSING, "1 active"),
    "cronjob-suspended": (H.SUSPENDED, "suspended"),
    "cronjob-never-scheduled": (H.HEALTHY, "not been scheduled"),
    "cronjob-last-succeeded": (H.HEALTHY, "succeeded"),
    "cronjob-running": (H.PROGRESSING, "running"),
    "cronjob-last-failed": (H.DEGRADED, "failed"),
    "cronjob-never-succeeded": (H.DEGRADED, "failed"),
    "horizontalpodautoscaler-v2-healthy": (H.HEALTHY, "ReadyForNewScale"),
    "horizontalpodautoscaler-v2-metrics-missing": (H.DEGRADED, "FailedGetResourceMetric"),
    "horizontalpodautoscaler-v2-unable-to-scale": (H.DEGRADED, "FailedGetScale"),
    "horizontalpodautoscaler-v2-scaling-disabled": (H.SUSPENDED, "ScalingDisabled"),
    "horizontalpodautoscaler-v2-no-conditions": (H.PROGRESSING, "conditions"),
    "horizontalpodautoscaler-v1-healthy": (H.HEALTHY, "SucceededRescale"),
    "horizontalpodautoscaler-v1-degraded": (H.DEGRADED, "unable to get metrics"),
    "apiservice-available": (H.HEALTHY, "all checks passed"),
    "apiservice-unavailable": (H.PROGRESSING, "MissingEndpoints"),
    "apiservice-no-status": (H.PROGRESSING, "availability"),
    "namespace-active": (H.HEALTHY, ""),
    "namespace-terminating": (H.PROGRESSING, "terminating"),
    "application-healthy": (H.HEALTHY, ""),
    "application-degraded": (H.DEGRADED, "one pod crashes"),
    "application-suspended": (H.SUSPENDED, ""),
    "application-missing": (H.MISSING, ""),
    "application-no-status": (H.PROGRESSING, "report its health"),
    "application-bogus-status": (H.UNKNOWN, "Sparkling"),
    "rollout-healthy": (H.HEALTHY, ""),
    "rollout-paused": (H.SUSPENDED, "CanaryPauseStep"),
    "rollout-aborted": (H.DEGRADED, "RolloutAborted"),
    "rollout-progressing": (H.PROGRESSING, "more replicas"),
    "rollout-degraded": (H.DEGRADED, "ProgressDeadlineExceeded"),
    "rollout-not-observed": (H.PROGRESSING, "observed"),
    "rollout-legacy-paused": (H.SUSPENDED, "paused"),
    "rollout-legacy-healthy": (H.HEALTHY, ""),
    "configmap-no-check": (None, ""),
}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TESTDATA / f"{name}.yaml").read_text())
    return data


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.stem for p in TESTDATA.glob("*.yaml")}
    assert on_disk == set(EXPECTED)


def test_every_builtin_kind_produces_each_status_it_can() -> None:
    """At least one fixture per kind, and every status code is produced by some fixture."""
    kinds = {registry.group_kind(_load(name))[1] for name in EXPECTED}
    assert {kind for _, kind in registry.BUILTIN} <= kinds
    produced = {status for status, _ in EXPECTED.values()}
    assert set(H) <= produced


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_check(name: str) -> None:
    expected_status, expected_message = EXPECTED[name]
    result = registry.assess(_load(name))
    if expected_status is None:
        assert result is None
        return
    assert result is not None
    assert result.status is expected_status, result.message
    assert expected_message.lower() in result.message.lower()


def test_missing_object_is_missing() -> None:
    result = registry.assess(None)
    assert result is not None and result.status is H.MISSING


def test_check_does_not_mutate_the_object() -> None:
    obj = _load("deployment-rollout-updating")
    before = yaml.safe_dump(obj)
    registry.assess(obj)
    assert yaml.safe_dump(obj) == before


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": "oops", "status": []},
        {"kind": "Pod", "apiVersion": "v1", "status": {"containerStatuses": "x", "phase": 3}},
        {"kind": "StatefulSet", "apiVersion": "apps/v1", "spec": {"replicas": "many"}},
        {"kind": "CronJob", "apiVersion": "batch/v1", "status": {"lastScheduleTime": "never"}},
        {
            "kind": "HorizontalPodAutoscaler",
            "apiVersion": "autoscaling/v1",
            "metadata": {"annotations": {"autoscaling.alpha.kubernetes.io/conditions": "{"}},
        },
    ],
)
def test_malformed_objects_do_not_raise(obj: dict[str, Any]) -> None:
    registry.assess(obj)  # any answer, but never an exception
