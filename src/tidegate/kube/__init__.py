"""Kubernetes access: one async client per cluster, discovery, server-side apply, watches.

Does I/O (HTTP to API servers). Objects are plain dicts; failures raise the ``KubeError``
family of :mod:`tidegate.model.errors`, except in :func:`apply_many`, where each object's
outcome is an :class:`ApplyResult`.

The names below are imported on first use (``kube.client_for`` imports ``kube.client``), so a
command that needs one client (``tidegate app list --core``) does not import apply, watch and
the client set (issue 19's start-up target).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy sees them; at run time, __getattr__ below
    from tidegate.kube.apply import ApplyResult as ApplyResult
    from tidegate.kube.apply import apply_many as apply_many
    from tidegate.kube.apply import apply_one as apply_one
    from tidegate.kube.client import KubeClient as KubeClient
    from tidegate.kube.client import ListResult as ListResult
    from tidegate.kube.client import Response as Response
    from tidegate.kube.client import client_for as client_for
    from tidegate.kube.clients import ClientSet as ClientSet
    from tidegate.kube.config import ClusterConfig as ClusterConfig
    from tidegate.kube.config import ExecProvider as ExecProvider
    from tidegate.kube.config import from_cluster_secret as from_cluster_secret
    from tidegate.kube.config import from_kubeconfig as from_kubeconfig
    from tidegate.kube.discovery import APIResource as APIResource
    from tidegate.kube.discovery import Discovery as Discovery
    from tidegate.kube.watch import Backoff as Backoff
    from tidegate.kube.watch import WatchEvent as WatchEvent
    from tidegate.kube.watch import reflect as reflect

_WHERE = {
    "ApplyResult": "apply",
    "apply_many": "apply",
    "apply_one": "apply",
    "KubeClient": "client",
    "ListResult": "client",
    "Response": "client",
    "client_for": "client",
    "ClientSet": "clients",
    "ClusterConfig": "config",
    "ExecProvider": "config",
    "from_cluster_secret": "config",
    "from_kubeconfig": "config",
    "APIResource": "discovery",
    "Discovery": "discovery",
    "Backoff": "watch",
    "WatchEvent": "watch",
    "reflect": "watch",
}
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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
