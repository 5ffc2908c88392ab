"""Orphaned resources read on demand, for the edges that keep no live cache (``tidegate app
resources --orphaned``, the API server's resource tree): the destination namespace is listed
kind by kind and the candidates handed to :func:`tidegate.controller.orphans.find`, the rules
the controller applies to its live cache (the project's ``orphanedResources``, its ignore list
and namespaced-kind limits, what Kubernetes creates in every namespace).

Listed are the namespaced kinds the cluster serves with list and watch, except those the
controller's cache never holds (:data:`tidegate.live.cache.DEFAULT_DENY`: Events, Endpoints,
Leases ...); only objects without owners are candidates. A kind that cannot be listed (RBAC) is
skipped and named in the result, never fatal.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

from tidegate.controller import orphans
from tidegate.kube import client as kube_client
from tidegate.live import cache as live_cache
from tidegate.live import tracking
from tidegate.model import application as model_app
from tidegate.model import constants, errors
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey

CONCURRENCY = 8


@dataclasses.dataclass(frozen=True)
class Scan:
    monitored: bool  # the project has orphanedResources: without it argocd lists none
    orphans: list[ResourceKey]
    skipped: list[str]  # kinds that could not be listed, with why


async def scan(
    client: kube_client.KubeClient,
    *,
    project: Mapping[str, Any] | None,
    namespace: str,
    known_apps: Collection[str],
    tracking_method: str,
    installation_id: str,
) -> Scan:
    """The orphaned resources of ``namespace`` for an app of ``project`` (raw AppProject)."""
    parsed = model_project.parse_project(project) if project else None
    if not orphans.monitored(parsed) or not namespace:
        return Scan(False, [], [])
    kinds = [
        r for r in await client.discovery.watchable()
        if r.namespaced and (r.group, r.kind) not in live_cache.DEFAULT_DENY
    ]  # fmt: skip
    candidates: dict[ResourceKey, str | None] = {}
    skipped: list[str] = []
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(res: Any) -> None:
        async with gate:
            try:
                listed = await client.list(res, namespace=namespace)
            except errors.KubeError as exc:
                skipped.append(f"{res.group_kind}: {exc}")
                return
        for obj in listed.items:
            if tracking.owner_uids(obj):
                continue
            obj.setdefault("apiVersion", res.api_version)
            obj.setdefault("kind", res.kind)
            candidates[ResourceKey.of(obj)] = tracking.tracked_app(
                obj, method=tracking_method, installation_id=installation_id
            )

    await asyncio.gather(*(one(r) for r in kinds))
    found = orphans.find(parsed, candidates, known_apps=known_apps)
    return Scan(True, found, sorted(skipped))


async def for_app(
    client: kube_client.KubeClient,
    app: model_app.Application,
    *,
    project: Mapping[str, Any] | None,
    apps: Collection[Mapping[str, Any]],
    control_namespace: str,
    installation_id: str,
) -> Scan:
    """:func:`scan` of ``app``'s destination namespace, the existing ``apps`` (raw) being the
    ones whose tracking does not make an object orphaned."""
    known = {
        model_app.instance_name(
            str(a["metadata"].get("namespace") or ""), str(a["metadata"]["name"]),
            control_namespace,
        )
        for a in apps
    }  # fmt: skip
    return await scan(
        client,
        project=project,
        namespace=app.spec.destination.namespace or "",
        known_apps=known,
        tracking_method=constants.TRACKING_ANNOTATION,
        installation_id=installation_id,
    )
