"""Clusters as ``tidegate cluster list|get`` and the API server's ClusterService show them: one
implementation of a cluster's connection state, server version and application count.

A cluster's state is what the controller publishes (``ConfigMap tidegate-cluster-status``,
:mod:`tidegate.controller.clusterstatus`); a cluster it has not published yet is probed now
(``GET /version``, a short timeout). :func:`cluster_json` is Argo CD's Cluster message:
credentials masked, the deprecated top-level ``connectionState``/``serverVersion`` and
``info`` (``connectionState``, ``serverVersion``, ``applicationsCount``, ``cacheInfo``), plus
``secretName`` (Tidegate's addition: the Secret to edit with kubectl).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from tidegate.controller import clusters
from tidegate.kube import client as kube_client
from tidegate.model import constants, errors
from tidegate.model.keys import ResourceKey

PROBE_SECONDS = 3.0
Obj = dict[str, Any]


async def probe(cluster: clusters.Cluster) -> Obj:
    """Connection state of one cluster from its ``/version`` (short timeout)."""
    if cluster.config is None:
        return {"connectionState": "Failed", "message": cluster.error}
    config = dataclasses.replace(cluster.config, timeout=PROBE_SECONDS)
    try:
        async with kube_client.client_for(config) as client:
            body = (await client.request("GET", "/version", what="get /version")).body
    except errors.TidegateError as exc:
        return {"connectionState": "Failed", "message": str(exc).splitlines()[0]}
    return {"connectionState": "Successful", "message": "", "serverVersion": version(body)}


def version(body: Mapping[str, Any]) -> str:
    """``major.minor`` of a ``/version`` reply (else its ``gitVersion``)."""
    major, minor = str(body.get("major") or ""), str(body.get("minor") or "").rstrip("+")
    return f"{major}.{minor}" if major and minor else str(body.get("gitVersion") or "")


def published_states(configmap: Mapping[str, Any] | None) -> dict[str, Obj]:
    """The controller's per-cluster state (``tidegate-cluster-status``), by cluster name."""
    states: dict[str, Obj] = {}
    for name, raw in ((configmap or {}).get("data") or {}).items():
        try:
            doc = json.loads(raw)
        except (json.JSONDecodeError, TypeError):
            continue
        if isinstance(doc, dict):
            states[str(name)] = doc
    return states


async def app_counts(
    client: kube_client.KubeClient, namespace: str, registry: clusters.ClusterRegistry
) -> dict[str, int] | None:
    """Applications per destination cluster name; None when the CRD is not installed."""
    try:
        res = await client.resource(constants.GROUP, constants.KIND_APPLICATION)
        apps = (await client.list(res, namespace=namespace)).items
    except (errors.UnknownKindError, errors.KubeNotFoundError):
        return None
    counts: dict[str, int] = {}
    for item in apps:
        dest = (item.get("spec") or {}).get("destination") or {}
        try:
            cluster = registry.resolve(dest.get("server"), dest.get("name"))
        except errors.SpecError:
            continue
        counts[cluster.name] = counts.get(cluster.name, 0) + 1
    return counts


async def registry_of(client: kube_client.KubeClient, namespace: str) -> clusters.ClusterRegistry:
    """The clusters registered in ``namespace`` (with the implicit in-cluster entry)."""
    res = await client.resource("", "Secret", "v1")
    selector = f"{constants.LABEL_SECRET_TYPE}={constants.SECRET_TYPE_CLUSTER}"
    secrets = (await client.list(res, namespace=namespace, label_selector=selector)).items
    return clusters.ClusterRegistry(secrets, management=client.config)


async def cluster_messages(
    client: kube_client.KubeClient,
    namespace: str,
    registry: clusters.ClusterRegistry,
    only: list[clusters.Cluster] | None = None,
) -> list[Obj]:
    """Argo CD's Cluster messages of the registry's clusters (or ``only`` those), each with
    its state: published by the controller, else probed now."""
    status_key = ResourceKey("", "ConfigMap", namespace, constants.CLUSTER_STATUS_CONFIGMAP)
    published = published_states(await client.get_or_none(status_key, version="v1"))
    counts = await app_counts(client, namespace, registry)
    found = registry.clusters() if only is None else only
    missing = [c for c in found if c.name not in published]
    probed = await asyncio.gather(*(probe(c) for c in missing))
    states = {**published, **{c.name: s for c, s in zip(missing, probed, strict=True)}}
    out = []
    for cluster in found:
        state = states[cluster.name]
        apps = state.get("apps", counts.get(cluster.name, 0) if counts is not None else None)
        out.append(cluster_json(cluster, state, apps))
    return out


def cluster_json(cluster: clusters.Cluster, state: Mapping[str, Any] | None = None,
                 apps: int | None = None) -> Obj:  # fmt: skip
    """Argo CD's Cluster message for a registration, its credentials masked; ``state`` is a
    published or probed state (:func:`probe`), else the state is ``Unknown``."""
    state = state or {}
    connection = {
        "status": state.get("connectionState", "Failed" if cluster.error else "Unknown"),
        "message": cluster.error or state.get("message") or "",
    }
    if state.get("lastUpdated"):
        connection["attemptedAt"] = state["lastUpdated"]
    server_version = str(state.get("serverVersion") or "")
    cache: Obj = {}
    if state.get("cachedObjects") is not None:
        cache["resourcesCount"] = state["cachedObjects"]
    if state.get("lastUpdated"):
        cache["lastCacheSyncTime"] = state["lastUpdated"]
    out: Obj = {
        "server": cluster.server,
        "name": cluster.name,
        "config": clusters.masked_config(cluster.config),
        "namespaces": list(cluster.namespaces),
        "clusterResources": cluster.cluster_resources,
        "labels": {k: v for k, v in cluster.labels.items() if k != constants.LABEL_SECRET_TYPE},
        "annotations": dict(cluster.annotations),
        "connectionState": connection,
        "serverVersion": server_version,
        "info": {
            "connectionState": connection,
            "serverVersion": server_version,
            "cacheInfo": cache,
            "applicationsCount": apps,
        },
        "secretName": cluster.secret_name,
    }
    if cluster.project:
        out["project"] = cluster.project
    if cluster.shard is not None:
        out["shard"] = cluster.shard
    return out
