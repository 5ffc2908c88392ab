"""Pod template hash and the ReplicaSets of a Rollout (pure).

The hash names a template: ``rollouts-pod-template-hash`` on the ReplicaSet, its pods and the
Services switched to it. It is FNV-1a (32 bits) of the canonical JSON of the template (without
the hash label) and the collision count, spelled in Kubernetes' safe alphabet (no vowels).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.analysis import runs
from tidegate.rollouts import names

_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def _fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def _safe_encode(number: int) -> str:
    return "".join(_SAFE[int(ch) % len(_SAFE)] for ch in str(number))[:10]


def pod_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    clean = copy.deepcopy(dict(template))
    labels = (clean.get("metadata") or {}).get("labels") or {}
    labels.pop(names.POD_HASH_LABEL, None)
    data = json.dumps(clean, sort_keys=True, separators=(",", ":")) + f"#{collision_count}"
    return _safe_encode(_fnv32a(data.encode()))


def without_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    clean = copy.deepcopy(dict(template))
    labels = (clean.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(names.POD_HASH_LABEL, None)
    return clean


def matching(
    template: Mapping[str, Any], replica_sets: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The ReplicaSet whose pod template is exactly ``template`` (hash label aside): after an
    ``undo`` the Rollout carries an old ReplicaSet's template as the API server stored it (with
    defaults), whose hash differs from the one that ReplicaSet was made with."""
    wanted = without_hash(template)
    for rs in replica_sets:
        if without_hash((rs.get("spec") or {}).get("template") or {}) == wanted:
            return rs
    return None


def hash_of(rs: Mapping[str, Any]) -> str:
    return str(((rs.get("metadata") or {}).get("labels") or {}).get(names.POD_HASH_LABEL) or "")


def name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def revision(rs: Mapping[str, Any]) -> int:
    value = ((rs.get("metadata") or {}).get("annotations") or {}).get(names.REVISION) or "0"
    return int(value) if str(value).isdigit() else 0


def max_revision(replica_sets: Iterable[Mapping[str, Any]]) -> int:
    return max((revision(rs) for rs in replica_sets), default=0)


def spec_replicas(rs: Mapping[str, Any] | None) -> int:
    return int(((rs or {}).get("spec") or {}).get("replicas") or 0)


def available(rs: Mapping[str, Any] | None) -> int:
    """Available pods of the ReplicaSet, counted only once its status is of its current spec."""
    status = (rs or {}).get("status") or {}
    return int(status.get("availableReplicas") or 0)


def ready(rs: Mapping[str, Any] | None) -> int:
    return int(((rs or {}).get("status") or {}).get("readyReplicas") or 0)


def pods(rs: Mapping[str, Any] | None) -> int:
    return int(((rs or {}).get("status") or {}).get("replicas") or 0)


def owner_reference(rollout: Mapping[str, Any]) -> dict[str, Any]:
    """The controller ownerReference to the Rollout (one builder: the analysis package's)."""
    return runs.owner_reference({"apiVersion": names.API_VERSION, "kind": names.KIND, **rollout})


def selector_of(rollout: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    """The Rollout's selector (or, with ``workloadRef``, the template's labels)."""
    selector = (rollout.get("spec") or {}).get("selector")
    if selector:
        return copy.deepcopy(dict(selector))
    labels = (template.get("metadata") or {}).get("labels") or {}
    return {"matchLabels": dict(labels)}


def new_replica_set(
    rollout: Mapping[str, Any],
    template: Mapping[str, Any],
    pod_hash_value: str,
    *,
    revision_number: int,
    replicas: int,
) -> dict[str, Any]:
    meta = rollout.get("metadata") or {}
    pod_template = copy.deepcopy(dict(template))
    pod_meta = pod_template.setdefault("metadata", {})
    labels = dict(pod_meta.get("labels") or {})
    labels[names.POD_HASH_LABEL] = pod_hash_value
    pod_meta["labels"] = labels
    selector = selector_of(rollout, template)
    selector.setdefault("matchLabels", {})[names.POD_HASH_LABEL] = pod_hash_value
    spec: dict[str, Any] = {"replicas": replicas, "selector": selector, "template": pod_template}
    min_ready = (rollout.get("spec") or {}).get("minReadySeconds")
    if min_ready:
        spec["minReadySeconds"] = int(min_ready)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta.get('name')}-{pod_hash_value}",
            "namespace": meta.get("namespace"),
            "labels": labels,
            "annotations": {
                names.REVISION: str(revision_number),
                names.DESIRED_REPLICAS: str((rollout.get("spec") or {}).get("replicas", 1)),
            },
            "ownerReferences": [owner_reference(rollout)],
        },
        "spec": spec,
    }
