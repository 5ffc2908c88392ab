"""The per-cluster state the controller publishes for ``tidegate cluster list`` (pure).

``ConfigMap tidegate-cluster-status``: ``data[<cluster name>]`` is JSON with
``connectionState`` (Successful, Failed, Unknown), ``message``, ``apps``, ``cachedObjects``,
``serverVersion`` and ``lastUpdated`` (docs/clusters.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tidegate.controller import clusters
from tidegate.controller import runtime as runtime_mod
from tidegate.model import constants


def _apps_per_server(
    apps: Iterable[Mapping[str, Any]], registry: clusters.ClusterRegistry
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for raw in apps:
        dest = (raw.get("spec") or {}).get("destination") or {}
        server = str(dest.get("server") or "")
        if not server and dest.get("name"):
            found = registry.by_name(str(dest["name"]))
            server = found[0].server if found else ""
        counts[server] = counts.get(server, 0) + 1
    return counts


def configmap(
    *,
    namespace: str,
    apps: Iterable[Mapping[str, Any]],
    registry: clusters.ClusterRegistry,
    runtime_of: Callable[[str], runtime_mod.ClusterRuntime | None],
    now: str,
    installation_id: str = "",
) -> dict[str, Any]:
    counts = _apps_per_server(apps, registry)
    data: dict[str, str] = {}
    for cluster in registry.clusters():
        rt = runtime_of(cluster.server)
        entry: dict[str, Any] = {"apps": counts.get(cluster.server, 0), "lastUpdated": now}
        if cluster.error:
            entry |= {"connectionState": "Failed", "message": cluster.error}
        elif rt is None:
            entry |= {"connectionState": "Unknown", "message": "no application uses it yet"}
        else:
            state = rt.cache.state
            entry |= {
                "connectionState": "Successful" if state.connected else "Failed",
                "message": state.error,
                "cachedObjects": state.objects,
                "serverVersion": rt.server_version,
            }
        data[cluster.name] = json.dumps(entry)
    meta: dict[str, Any] = {"name": constants.CLUSTER_STATUS_CONFIGMAP, "namespace": namespace}
    if installation_id:
        # So `tidegate app diff` knows the id when it comes from --installation-id.
        meta["annotations"] = {constants.ANNOTATION_PUBLISHED_INSTALLATION_ID: installation_id}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
