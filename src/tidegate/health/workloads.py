"""Health of workload controllers: Deployment, StatefulSet, DaemonSet, ReplicaSet.

Argo CD's built-in rules (gitops-engine ``pkg/health``), rule for rule and message for message,
so that an app reads the same in Tidegate and in Argo CD. Those rules follow ``kubectl rollout
status``. As in Go, a field that is absent is its zero value, and a ``spec.replicas`` that is
absent skips the comparisons that need it (the API server always defaults it on live objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs


def deployment(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if fields.dig(obj, "spec", "paused") is True:
        return hs.suspended("Deployment is paused")
    if fields.integer(obj, "metadata", "generation") > fields.integer(
        obj, "status", "observedGeneration"
    ):
        return hs.progressing(
            "Waiting for rollout to finish: observed deployment generation less than desired "
            "generation"
        )
    progress = fields.condition(obj, "Progressing")
    desired = fields.optional_integer(obj, "spec", "replicas")
    updated = fields.integer(obj, "status", "updatedReplicas")
    current = fields.integer(obj, "status", "replicas")
    available = fields.integer(obj, "status", "availableReplicas")
    if progress is not None and progress.get("reason") == "ProgressDeadlineExceeded":
        name = fields.text(obj, "metadata", "name")
        return hs.degraded(f'Deployment "{name}" exceeded its progress deadline')
    if desired is not None and updated < desired:
        return hs.progressing(
            f"Waiting for rollout to finish: {updated} out of {desired} new replicas have been "
            "updated..."
        )
    if current > updated:
        return hs.progressing(
            f"Waiting for rollout to finish: {current - updated} old replicas are pending "
            "termination..."
        )
    if available < updated:
        return hs.progressing(
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are "
            "available..."
        )
    return hs.healthy()


def statefulset(obj: Mapping[str, Any]) -> hs.HealthStatus:
    observed = fields.integer(obj, "status", "observedGeneration")
    if observed == 0 or fields.integer(obj, "metadata", "generation") > observed:
        return hs.progressing("Waiting for statefulset spec update to be observed...")
    desired = fields.optional_integer(obj, "spec", "replicas")
    ready = fields.integer(obj, "status", "readyReplicas")
    updated = fields.integer(obj, "status", "updatedReplicas")
    if desired is not None and ready < desired:
        return hs.progressing(f"Waiting for {desired - ready} pods to be ready...")
    strategy = fields.mapping(obj, "spec", "updateStrategy")
    kind = fields.text(strategy, "type")
    rolling = fields.dig(strategy, "rollingUpdate")
    if kind == "RollingUpdate" and isinstance(rolling, Mapping):
        partition = fields.optional_integer(rolling, "partition")
        if desired is not None and partition is not None and updated < desired - partition:
            return hs.progressing(
                "Waiting for partitioned roll out to finish: "
                f"{updated} out of {desired - partition} new pods have been updated..."
            )
        return hs.healthy(f"partitioned roll out complete: {updated} new pods have been updated...")
    if kind == "OnDelete":
        return hs.healthy(f"statefulset has {ready} ready pods")
    update_rev = fields.text(obj, "status", "updateRevision")
    current_rev = fields.text(obj, "status", "currentRevision")
    if update_rev != current_rev:
        return hs.progressing(
            f"waiting for statefulset rolling update to complete {updated} pods at revision "
            f"{update_rev}..."
        )
    current = fields.integer(obj, "status", "currentReplicas")
    return hs.healthy(
        f"statefulset rolling update complete {current} pods at revision {current_rev}..."
    )


def daemonset(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if fields.integer(obj, "metadata", "generation") > fields.integer(
        obj, "status", "observedGeneration"
    ):
        return hs.progressing(
            "Waiting for rollout to finish: observed daemon set generation less than desired "
            "generation"
        )
    desired = fields.integer(obj, "status", "desiredNumberScheduled")
    updated = fields.integer(obj, "status", "updatedNumberScheduled")
    available = fields.integer(obj, "status", "numberAvailable")
    if fields.text(obj, "spec", "updateStrategy", "type") == "OnDelete":
        return hs.healthy(f"daemon set {updated} out of {desired} new pods have been updated")
    name = fields.text(obj, "metadata", "name")
    if updated < desired:
        return hs.progressing(
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new '
            "pods have been updated..."
        )
    if available < desired:
        return hs.progressing(
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} '
            "updated pods are available..."
        )
    return hs.healthy()


def replicaset(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if fields.integer(obj, "metadata", "generation") > fields.integer(
        obj, "status", "observedGeneration"
    ):
        return hs.progressing(
            "Waiting for rollout to finish: observed replica set generation less than desired "
            "generation"
        )
    failure = fields.condition(obj, "ReplicaFailure")
    if failure is not None and failure.get("status") == "True":
        return hs.degraded(fields.text(failure, "message"))
    desired = fields.optional_integer(obj, "spec", "replicas")
    available = fields.integer(obj, "status", "availableReplicas")
    if desired is not None and available < desired:
        return hs.progressing(
            f"Waiting for rollout to finish: {available} out of {desired} new replicas are "
            "available..."
        )
    return hs.healthy()
