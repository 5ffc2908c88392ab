"""Health of workload controllers: Deployment, StatefulSet, DaemonSet, ReplicaSet.

A workload is Healthy once its controller has observed the latest spec and every desired
replica runs the new template and is available; until then it is Progressing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs

_NOT_OBSERVED = "Waiting for the controller to observe the latest spec"


def deployment(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if fields.dig(obj, "spec", "paused") is True:
        return hs.suspended("Deployment is paused")
    if not fields.generation_observed(obj):
        return hs.progressing(_NOT_OBSERVED)
    progress = fields.condition(obj, "Progressing")
    if progress is not None and progress.get("reason") == "ProgressDeadlineExceeded":
        name = fields.text(obj, "metadata", "name")
        return hs.degraded(f"Deployment {name!r} exceeded its progress deadline")
    desired = fields.integer(obj, "spec", "replicas", default=1)
    updated = fields.integer(obj, "status", "updatedReplicas")
    current = fields.integer(obj, "status", "replicas")
    available = fields.integer(obj, "status", "availableReplicas")
    if updated < desired:
        return hs.progressing(f"Rollout in progress: {updated} of {desired} replicas updated")
    if current > updated:
        old = current - updated
        return hs.progressing(f"Rollout in progress: {old} old replicas pending termination")
    if available < updated:
        return hs.progressing(f"Rollout in progress: {available} of {updated} replicas available")
    return hs.healthy()


def statefulset(obj: Mapping[str, Any]) -> hs.HealthStatus:
    observed = fields.integer(obj, "status", "observedGeneration")
    if observed == 0 or not fields.generation_observed(obj):
        return hs.progressing(_NOT_OBSERVED)
    desired = fields.integer(obj, "spec", "replicas", default=1)
    ready = fields.integer(obj, "status", "readyReplicas")
    if ready < desired:
        return hs.progressing(f"Waiting for {desired - ready} of {desired} pods to be ready")
    strategy = fields.mapping(obj, "spec", "updateStrategy")
    kind = strategy.get("type") or "RollingUpdate"
    if kind == "OnDelete":
        return hs.healthy(f"{ready} pods ready (OnDelete update strategy)")
    partition = fields.dig(strategy, "rollingUpdate", "partition")
    updated = fields.integer(obj, "status", "updatedReplicas")
    if isinstance(partition, int) and not isinstance(partition, bool):
        target = desired - partition
        if updated < target:
            return hs.progressing(f"Partitioned rollout in progress: {updated} of {target} updated")
        return hs.healthy(f"Partitioned rollout complete: {updated} pods updated")
    update_rev = fields.text(obj, "status", "updateRevision")
    current_rev = fields.text(obj, "status", "currentRevision")
    if update_rev and update_rev != current_rev:
        return hs.progressing(
            f"Rolling update in progress: {updated} of {desired} pods at revision {update_rev}"
        )
    return hs.healthy(f"Rolling update complete: {desired} pods at revision {current_rev}")


def daemonset(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if not fields.generation_observed(obj):
        return hs.progressing(_NOT_OBSERVED)
    if fields.text(obj, "spec", "updateStrategy", "type") == "OnDelete":
        return hs.healthy("OnDelete update strategy: pods are updated when deleted")
    desired = fields.integer(obj, "status", "desiredNumberScheduled")
    updated = fields.integer(obj, "status", "updatedNumberScheduled")
    available = fields.integer(obj, "status", "numberAvailable")
    if updated < desired:
        return hs.progressing(f"Rollout in progress: {updated} of {desired} pods updated")
    if available < desired:
        return hs.progressing(f"Rollout in progress: {available} of {desired} pods available")
    return hs.healthy()


def replicaset(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if not fields.generation_observed(obj):
        return hs.progressing(_NOT_OBSERVED)
    failure = fields.condition(obj, "ReplicaFailure")
    if failure is not None and failure.get("status") == "True":
        return hs.degraded(str(failure.get("message") or failure.get("reason") or "failed"))
    desired = fields.integer(obj, "spec", "replicas", default=1)
    available = fields.integer(obj, "status", "availableReplicas")
    if available < desired:
        return hs.progressing(f"Waiting for {available} of {desired} replicas to be available")
    return hs.healthy()
