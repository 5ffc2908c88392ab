"""Task order: phase, then wave, then kind rank, then name (Argo CD's and Helm's kind order).

Kinds not in the list sort after every listed kind, by kind name. Prune tasks are ordered in
reverse kind rank within their wave, so dependents go before what they depend on.
"""

from __future__ import annotations

from typing import Final

KIND_ORDER: Final = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_RANK: Final = {kind: i for i, kind in enumerate(KIND_ORDER)}


def kind_rank(kind: str) -> tuple[int, str]:
    """Sort key of a kind: listed kinds by position, then unknown kinds by name."""
    rank = _RANK.get(kind)
    return (rank, "") if rank is not None else (len(KIND_ORDER), kind)
