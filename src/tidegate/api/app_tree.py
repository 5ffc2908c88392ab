"""The resource tree with its live children: what a managed object owns on the destination.

``status.resources`` names what the app manages (a Deployment, a Service); Argo CD's tree also
shows what those objects own through ``ownerReferences``, transitively: Deployment ->
ReplicaSet -> Pod, StatefulSet -> ControllerRevision and Pod, CronJob -> Job -> Pod, Service ->
EndpointSlice, Rollout -> ReplicaSet and AnalysisRun. The server keeps no live cache of the
destinations (the controller does, in another process), so :func:`live_tree` reads them on
demand, bounded: only the namespaces the app manages objects in (at most
:data:`MAX_NAMESPACES`), only the kinds in :data:`CHILD_KINDS`, one page of at most
:data:`LIST_LIMIT` objects per kind and namespace, at most :data:`MAX_CHILDREN` children in the
reply, within :data:`TIMEOUT_SECONDS`. :func:`with_children` (pure) joins the listed objects to
the managed nodes; each child carries ``parentRefs``, its health (the built-in checks), and for
Pods Argo CD's ``info`` (status, containers ready) and ``images``.

When the destination cannot be read, the tree is the managed resources alone and the reason is
logged (:func:`live_tree` returns it as well, for the UI to show). Connected clients of the
destinations are kept between requests (:data:`POOL_SIZE`), and the cluster Secrets are read
at most every :data:`SECRETS_TTL` seconds, so a tree costs one round of lists.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidegate.api import app_manifests, context
from tidegate.controller import local_compare
from tidegate.health import registry
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import errors as tg_errors
from tidegate.rollouts import spec as rollout_spec

log = logging.getLogger(__name__)
Obj = dict[str, Any]
Key = tuple[str, str, str, str]  # group, kind, namespace, name
# Kinds that are owned by other objects and belong in a tree (group, kind).
CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("apps", "ReplicaSet"),
    ("", "Pod"),
    ("batch", "Job"),
    ("apps", "ControllerRevision"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("argoproj.io", "AnalysisRun"),
    ("argoproj.io", "Rollout"),  # managed, not a child: read for its current step
)
MAX_NAMESPACES = 20
LIST_LIMIT = 1000
MAX_CHILDREN = 2000
MAX_DEPTH = 5
TIMEOUT_SECONDS = 8.0


def _key(node: Mapping[str, Any]) -> Key:
    return (
        str(node.get("group") or ""),
        str(node.get("kind") or ""),
        str(node.get("namespace") or ""),
        str(node.get("name") or ""),
    )


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _owners(obj: Mapping[str, Any], namespace: str) -> list[Obj]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [
        {
            "group": _group(str(ref.get("apiVersion") or "")),
            "kind": str(ref.get("kind") or ""),
            "namespace": namespace,
            "name": str(ref.get("name") or ""),
            "uid": str(ref.get("uid") or ""),
        }
        for ref in refs
        if isinstance(ref, Mapping)
    ]


def _pod_info(obj: Mapping[str, Any]) -> tuple[list[Obj], list[str]]:
    """Argo CD's ``info`` of a Pod (status reason, containers ready) and its images."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, Mapping)]
    statuses = [c for c in status.get("containerStatuses") or [] if isinstance(c, Mapping)]
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    for c in statuses:
        waiting = (c.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            reason = str(waiting["reason"])
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    ready = sum(1 for c in statuses if c.get("ready"))
    info = [
        {"name": "Status Reason", "value": reason},
        {"name": "Containers", "value": f"{ready}/{len(containers)}"},
    ]
    return info, sorted({str(c.get("image")) for c in containers if c.get("image")})


def _node(obj: Mapping[str, Any]) -> Obj:
    meta = obj.get("metadata") or {}
    api_version = str(obj.get("apiVersion") or "")
    node: Obj = {
        "group": _group(api_version),
        "version": api_version.rpartition("/")[2],
        "kind": str(obj.get("kind") or ""),
        "namespace": str(meta.get("namespace") or ""),
        "name": str(meta.get("name") or ""),
        "uid": str(meta.get("uid") or ""),
        "resourceVersion": str(meta.get("resourceVersion") or ""),
        "createdAt": str(meta.get("creationTimestamp") or ""),
    }
    health = registry.assess(obj)
    if health is not None:
        node["health"] = health.to_dict()
    if node["kind"] == "Pod" and node["group"] == "":
        node["info"], node["images"] = _pod_info(obj)
    return node


def with_children(
    tree: Mapping[str, Any], objects: Iterable[Mapping[str, Any]], *, limit: int = MAX_CHILDREN
) -> Obj:
    """``tree`` (the managed nodes) plus every object of ``objects`` owned, directly or through
    other owned objects, by a managed node: breadth first, at most ``limit`` children, each once.
    Owners are matched by group, kind, namespace and name (the managed nodes carry no uid), and
    below the first level by uid too. Pure."""
    managed = [dict(n) for n in tree.get("nodes") or [] if isinstance(n, Mapping)]
    rollouts = {
        _key(_node(o)): o for o in objects if o.get("kind") == "Rollout"
    }  # their live status names the step a canary is at
    for node in managed:
        live = rollouts.get(_key(node))
        if live is not None:
            node["info"] = rollout_info(live)
    by_owner: dict[Key, list[tuple[Mapping[str, Any], list[Obj]]]] = {}
    for obj in objects:
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        owners = _owners(obj, namespace)
        for owner in owners:
            by_owner.setdefault(_key(owner), []).append((obj, owners))
    known: set[Key] = {_key(n) for n in managed}
    level: list[Obj] = managed
    children: list[Obj] = []
    for _ in range(MAX_DEPTH):
        following: list[Obj] = []
        for parent in level:
            for obj, owners in by_owner.get(_key(parent), ()):
                meta = obj.get("metadata") or {}
                key = (
                    _group(str(obj.get("apiVersion") or "")),
                    str(obj.get("kind") or ""),
                    str(meta.get("namespace") or ""),
                    str(meta.get("name") or ""),
                )
                if key in known:
                    continue
                if len(children) >= limit:
                    return {"nodes": managed + children}
                known.add(key)
                node = _node(obj)
                node["parentRefs"] = [o for o in owners if _key(o) in known]
                children.append(node)
                following.append(node)
        level = following
        if not level:
            break
    return {"nodes": managed + children}


def rollout_info(rollout: Mapping[str, Any]) -> list[Obj]:
    """A Rollout's ``info`` as the tree shows it: its phase, and for a canary the step it is at
    (``2/8``) and the weight that step sets, as ``kubectl argo rollouts get`` shows them.
    Pure."""
    status = rollout.get("status") or {}
    info: list[Obj] = []
    if status.get("phase"):
        info.append({"name": "Status", "value": str(status["phase"])})
    steps = (((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}).get("steps")
    index = status.get("currentStepIndex")
    if isinstance(steps, list) and steps and isinstance(index, int):
        info.append({"name": "Step", "value": f"{min(index, len(steps))}/{len(steps)}"})
        info.append({"name": "Weight", "value": f"{rollout_spec.current_weight(steps, index)}%"})
    return info


def resource_tree(app: Mapping[str, Any]) -> Obj:
    """Argo CD's ApplicationTree (``nodes``) of the managed resources (``status.resources``).
    Pure."""
    nodes = []
    for res in (app.get("status") or {}).get("resources") or []:
        if not isinstance(res, Mapping):
            continue
        node: Obj = {
            "group": res.get("group") or "",
            "version": res.get("version") or "",
            "kind": res.get("kind") or "",
            "namespace": res.get("namespace") or "",
            "name": res.get("name") or "",
        }
        if res.get("health"):
            node["health"] = res["health"]
        nodes.append(node)
    nodes.sort(key=lambda n: (n["group"], n["kind"], n["namespace"], n["name"]))
    return {"nodes": nodes}


def namespaces(tree: Mapping[str, Any]) -> list[str]:
    """The namespaces the tree's managed nodes are in, sorted, at most MAX_NAMESPACES."""
    found = sorted({str(n.get("namespace")) for n in tree.get("nodes") or [] if n.get("namespace")})
    return found[:MAX_NAMESPACES]


async def _list(client: kube_client.KubeClient, group: str, kind: str, ns: str) -> list[Obj]:
    try:
        res = await client.resource(group, kind)
    except tg_errors.UnknownKindError:
        return []  # e.g. no Argo Rollouts on this cluster
    response = await client.request(
        "GET",
        res.path(ns),
        what=f"list {kind} in namespace {ns} on cluster {client.name}",
        params={"limit": str(LIST_LIMIT)},
    )
    items = [i for i in response.body.get("items") or [] if isinstance(i, dict)]
    for item in items:
        item["apiVersion"], item["kind"] = res.api_version, res.kind
    return items


async def read_children(client: kube_client.KubeClient, namespaces: Sequence[str]) -> list[Obj]:
    """The objects of :data:`CHILD_KINDS` in ``namespaces``, one bounded page per list."""
    lists = await asyncio.gather(
        *(_list(client, g, k, ns) for ns in namespaces for g, k in CHILD_KINDS)
    )
    return [obj for found in lists for obj in found]


# Connected clients of destination clusters, kept between requests (their connections and
# API discovery stay warm: a tree is then one round of lists), at most POOL_SIZE, oldest closed.
# Keyed by the whole cluster configuration, so changed credentials get a new client.
_POOL: collections.OrderedDict[kube_config.ClusterConfig, kube_client.KubeClient] = (
    collections.OrderedDict()
)
POOL_SIZE = 32


class _CachedSecrets(app_manifests.ControlNamespace):
    """The control namespace with its cluster Secrets read at most every SECRETS_TTL seconds
    (a page re-rendered on every change of its app would otherwise list them each time)."""

    async def secrets(self) -> list[Obj]:
        key = (id(self.client), self.namespace)
        now = time.monotonic()
        cached = _SECRETS.get(key)
        if cached is None or now - cached[0] > SECRETS_TTL:
            cached = (now, await super().secrets())
            _SECRETS[key] = cached
        return cached[1]


_SECRETS: dict[tuple[int, str], tuple[float, list[Obj]]] = {}
SECRETS_TTL = 5.0


async def pooled_client(config: kube_config.ClusterConfig) -> kube_client.KubeClient:
    """A connected client of ``config``'s cluster, from the pool (made when missing)."""
    found = _POOL.get(config)
    if found is not None:
        _POOL.move_to_end(config)
        return found
    client = kube_client.client_for(config, bulk=True)
    _POOL[config] = client
    while len(_POOL) > POOL_SIZE:
        _, oldest = _POOL.popitem(last=False)
        await oldest.aclose()
    return client


async def destination(ctx: context.ServerContext, app: Obj) -> kube_config.ClusterConfig:
    """How to reach the app's destination (cluster Secrets read at most every SECRETS_TTL)."""
    _, config = await local_compare.destination_config(_CachedSecrets(ctx), app)
    return config


async def live_tree(ctx: context.ServerContext, app: Obj) -> tuple[Obj, str]:
    """The app's tree with its live children, and why children are missing ("" when not)."""
    tree = resource_tree(app)
    where = namespaces(tree)
    if not where:
        return tree, ""
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            config = await destination(ctx, app)
            objects = await read_children(await pooled_client(config), where)
    except (tg_errors.TidegateError, TimeoutError, OSError) as exc:
        name = (app.get("metadata") or {}).get("name")
        reason = str(exc) or "timed out reading the destination"
        log.warning("resource tree of %s without children: %s", name, reason)
        return tree, reason
    return with_children(tree, objects), ""
