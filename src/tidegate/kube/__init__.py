"""Kubernetes access: one async client per cluster, discovery, server-side apply, watches.

Does I/O (HTTP to API servers). Objects are plain dicts; failures raise the ``KubeError``
family of :mod:`tidegate.model.errors`, except in :func:`apply_many`, where each object's
outcome is an :class:`ApplyResult`.
"""

from tidegate.kube.apply import ApplyResult, apply_many, apply_one
from tidegate.kube.client import KubeClient, ListResult, Response, client_for
from tidegate.kube.clients import ClientSet
from tidegate.kube.config import ClusterConfig, ExecProvider, from_cluster_secret, from_kubeconfig
from tidegate.kube.discovery import APIResource, Discovery
from tidegate.kube.watch import Backoff, WatchEvent, reflect

__all__ = [
    "APIResource",
    "ApplyResult",
    "Backoff",
    "ClientSet",
    "ClusterConfig",
    "Discovery",
    "ExecProvider",
    "KubeClient",
    "ListResult",
    "Response",
    "WatchEvent",
    "apply_many",
    "apply_one",
    "client_for",
    "from_cluster_secret",
    "from_kubeconfig",
    "reflect",
]
