"""Built-in checks, table-driven: testdata/<kind>-<state>.yaml -> expected status (and message)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.health import argo, registry
from tidegate.model.enums import HealthStatusCode as H

TESTDATA = Path(__file__).parent / "testdata"

# file name -> (expected status, or None for "no check"; a substring the message must contain)
# file name -> (expected status, or None for "no check"; the exact message Argo CD gives)
EXPECTED: dict[str, tuple[H | None, str]] = {
    "deployment-healthy": (H.HEALTHY, ""),
    "sealedsecret-synced": (H.HEALTHY, ""),
    "sealedsecret-failed": (H.DEGRADED, "no key could decrypt secret (password)"),
    "sealedsecret-no-status": (H.PROGRESSING, "Waiting for Sealed Secret to be decrypted"),
    "sealedsecret-stale": (H.PROGRESSING, "Waiting for Sealed Secret to be decrypted"),
    "deployment-paused": (H.SUSPENDED, "Deployment is paused"),
    "deployment-progress-deadline": (H.DEGRADED, 'Deployment "web" exceeded its progress deadline'),
    "deployment-rollout-updating": (
        H.PROGRESSING,
        "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...",
    ),
    "deployment-old-replicas": (
        H.PROGRESSING,
        "Waiting for rollout to finish: 1 old replicas are pending termination...",
    ),
    "deployment-unavailable": (
        H.PROGRESSING,
        "Waiting for rollout to finish: 1 of 3 updated replicas are available...",
    ),
    "deployment-generation-not-observed": (
        H.PROGRESSING,
        "Waiting for rollout to finish: observed deployment generation less than desired "
        "generation",
    ),
    "deployment-scaled-to-zero": (H.HEALTHY, ""),
    "deployment-deleting": (H.PROGRESSING, "Pending deletion"),
    "statefulset-healthy": (
        H.HEALTHY,
        "statefulset rolling update complete 0 pods at revision db-7f9...",
    ),
    "statefulset-not-ready": (H.PROGRESSING, "Waiting for 2 pods to be ready..."),
    "statefulset-not-observed": (
        H.PROGRESSING,
        "Waiting for statefulset spec update to be observed...",
    ),
    "statefulset-rolling-update": (
        H.PROGRESSING,
        "waiting for statefulset rolling update to complete 1 pods at revision db-8a1...",
    ),
    "statefulset-partition-progressing": (
        H.PROGRESSING,
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
    ),
    "statefulset-partition-healthy": (
        H.HEALTHY,
        "partitioned roll out complete: 2 new pods have been updated...",
    ),
    "statefulset-ondelete": (H.HEALTHY, "statefulset has 2 ready pods"),
    "daemonset-healthy": (H.HEALTHY, ""),
    "daemonset-updating": (
        H.PROGRESSING,
        'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been '
        "updated...",
    ),
    "daemonset-unavailable": (
        H.PROGRESSING,
        'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...',
    ),
    "daemonset-ondelete": (H.HEALTHY, "daemon set 0 out of 3 new pods have been updated"),
    "daemonset-not-observed": (
        H.PROGRESSING,
        "Waiting for rollout to finish: observed daemon set generation less than desired "
        "generation",
    ),
    "replicaset-healthy": (H.HEALTHY, ""),
    "replicaset-progressing": (
        H.PROGRESSING,
        "Waiting for rollout to finish: 0 out of 2 new replicas are available...",
    ),
    "replicaset-failure": (H.DEGRADED, 'pods "web-5d4-" is forbidden: exceeded quota'),
    "pod-running-ready": (H.HEALTHY, ""),
    "pod-running-not-ready": (H.PROGRESSING, ""),
    "pod-crashloop": (H.DEGRADED, "back-off 5m0s restarting failed container"),
    "pod-imagepullbackoff": (H.DEGRADED, 'Back-off pulling image "nginx:nope"'),
    "pod-init-crashloop": (H.PROGRESSING, ""),
    "pod-hook-imagepullbackoff": (H.PROGRESSING, ""),
    "pod-container-creating": (H.PROGRESSING, ""),
    "pod-succeeded": (H.HEALTHY, ""),
    "pod-failed": (H.DEGRADED, "migration failed"),
    "pod-running-restart-never": (H.PROGRESSING, ""),
    "pod-unknown": (H.UNKNOWN, ""),
    "pod-hook-deleting": (H.HEALTHY, ""),
    "service-clusterip": (H.HEALTHY, ""),
    "service-loadbalancer-pending": (H.PROGRESSING, ""),
    "service-loadbalancer-ready": (H.HEALTHY, ""),
    "ingress-healthy": (H.HEALTHY, ""),
    "ingress-pending": (H.PROGRESSING, ""),
    "persistentvolumeclaim-bound": (H.HEALTHY, ""),
    "persistentvolumeclaim-pending": (H.PROGRESSING, ""),
    "persistentvolumeclaim-lost": (H.DEGRADED, ""),
    "persistentvolumeclaim-no-status": (H.UNKNOWN, ""),
    "job-complete": (H.HEALTHY, ""),
    "job-failed": (H.DEGRADED, "Job has reached the specified backoff limit"),
    "job-suspended": (H.SUSPENDED, ""),
    "job-running": (H.PROGRESSING, ""),
    "cronjob-suspended": (H.SUSPENDED, "CronJob is Suspended"),
    "cronjob-never-scheduled": (H.PROGRESSING, "Waiting for CronJob"),
    "cronjob-last-succeeded": (H.HEALTHY, "CronJob has completed its last execution successfully"),
    "cronjob-running": (
        H.HEALTHY,
        "The job is running. Its last execution may not have been successful",
    ),
    "cronjob-last-failed": (
        H.DEGRADED,
        "CronJob has not completed its last execution successfully",
    ),
    "cronjob-never-succeeded": (
        H.HEALTHY,
        "The Cronjob never completed succesfully. It may not be healthy",
    ),
    "horizontalpodautoscaler-v2-healthy": (H.HEALTHY, "recommended size matches current size"),
    "horizontalpodautoscaler-v2-metrics-missing": (H.HEALTHY, ""),
    "horizontalpodautoscaler-v2-unable-to-scale": (
        H.DEGRADED,
        'deployments/scale.apps "web" not found',
    ),
    "horizontalpodautoscaler-v2-scaling-disabled": (H.HEALTHY, ""),
    "horizontalpodautoscaler-v2-no-conditions": (H.PROGRESSING, "Waiting to Autoscale"),
    "horizontalpodautoscaler-v1-healthy": (
        H.HEALTHY,
        "the HPA controller was able to update the target scale to 3",
    ),
    "horizontalpodautoscaler-v1-degraded": (H.HEALTHY, ""),
    "apiservice-available": (H.HEALTHY, "Passed: all checks passed"),
    "apiservice-unavailable": (
        H.PROGRESSING,
        'MissingEndpoints: endpoints for service/metrics-server in "kube-system" have no addresses',
    ),
    "apiservice-no-status": (H.PROGRESSING, "Waiting to be processed"),
    "rollout-healthy": (H.HEALTHY, ""),
    "rollout-paused": (H.SUSPENDED, "Rollout is paused"),
    "rollout-aborted": (H.DEGRADED, "RolloutAborted: metric error-rate assessed Failed"),
    "rollout-progressing": (H.PROGRESSING, "more replicas need to be updated"),
    "rollout-degraded": (
        H.DEGRADED,
        "ProgressDeadlineExceeded: rollout web has timed out progressing",
    ),
    "rollout-not-observed": (H.PROGRESSING, "Waiting for rollout spec update to be observed"),
    "rollout-legacy-paused": (H.SUSPENDED, "Rollout is paused"),
    "rollout-legacy-healthy": (H.HEALTHY, ""),
    "analysisrun-failed": (
        H.DEGRADED,
        'metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)',
    ),
    "analysisrun-inconclusive": (H.UNKNOWN, "Analysis run was inconclusive"),
    "analysisrun-no-status": (
        H.PROGRESSING,
        "Waiting for analysis run to finish: status has not been reconciled.",
    ),
    "analysisrun-running": (H.PROGRESSING, "Analysis run is running"),
    "analysisrun-successful": (H.HEALTHY, "Analysis run completed successfully"),
    "poddisruptionbudget-degraded": (H.DEGRADED, "PodDisruptionBudget has SyncFailed"),
    "poddisruptionbudget-healthy": (H.HEALTHY, "PodDisruptionBudget has SufficientPods"),
    "poddisruptionbudget-insufficient": (H.HEALTHY, "PodDisruptionBudget has InsufficientPods"),
    "poddisruptionbudget-no-status": (H.PROGRESSING, "Waiting for status"),
    "workflow-error": (H.DEGRADED, "pod deleted"),
    "workflow-running": (H.PROGRESSING, ""),
    "workflow-succeeded": (H.HEALTHY, ""),
    "configmap-no-check": (None, ""),
}

# Application is assessed only when opted in (as in Argo CD since 1.8): these fixtures are
# judged by the opt-in check; by default an Application has no health.
APPLICATION_OPT_IN: dict[str, tuple[H, str]] = {
    "application-healthy": (H.HEALTHY, ""),
    "application-degraded": (H.DEGRADED, "one pod crashes"),
    "application-suspended": (H.SUSPENDED, ""),
    "application-missing": (H.MISSING, ""),
    "application-no-status": (H.PROGRESSING, ""),
    "application-bogus-status": (
        H.UNKNOWN,
        "Application reports an unknown health status 'Sparkling'",
    ),
}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TESTDATA / f"{name}.yaml").read_text())
    return data


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.stem for p in TESTDATA.glob("*.yaml")}
    assert on_disk == set(EXPECTED) | set(APPLICATION_OPT_IN)


def test_every_builtin_kind_produces_each_status_it_can() -> None:
    """At least one fixture per kind, and every status code is produced by some fixture."""
    kinds = {registry.group_kind(_load(name))[1] for name in EXPECTED}
    assert {kind for _, kind in registry.BUILTIN} <= kinds
    produced = {status for status, _ in EXPECTED.values()}
    assert set(H) - {H.MISSING} <= produced  # Missing is for absent objects only


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_check(name: str) -> None:
    expected_status, expected_message = EXPECTED[name]
    result = registry.assess(_load(name))
    if expected_status is None:
        assert result is None
        return
    assert result is not None
    assert (result.status, result.message) == (expected_status, expected_message)


@pytest.mark.parametrize("name", sorted(APPLICATION_OPT_IN))
def test_child_applications_have_no_health_unless_opted_in(name: str) -> None:
    assert registry.assess(_load(name)) is None
    checks = registry.HealthChecks(custom={"argoproj.io/Application": argo.application})
    result = checks.assess(_load(name))
    assert result is not None
    assert (result.status, result.message) == APPLICATION_OPT_IN[name]


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
