"""The Rollouts the applications manage, read live from their destinations (the Rollouts page).

A Rollout belongs here when an app lists it among its managed resources (``status.resources``,
group ``argoproj.io``, kind ``Rollout``): the page can then run its actions through the app
(``POST /api/v1/applications/NAME/resource/actions/v2``, with the app's RBAC). :func:`managed`
finds them (pure, at most :data:`MAX_ROLLOUTS`); :func:`read` reads their live objects, one
list of Rollouts per destination cluster and namespace on the pooled clients of
:mod:`tidegate.api.app_tree`, all within :data:`TIMEOUT_SECONDS`. A destination that cannot be
read leaves its Rollouts without a live object and with the reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.api import app_tree, context
from tidegate.kube import config as kube_config
from tidegate.model import errors as tg_errors

Obj = dict[str, Any]
GROUP, KIND = "argoproj.io", "Rollout"
MAX_ROLLOUTS = 500
TIMEOUT_SECONDS = 8.0


@dataclasses.dataclass
class Managed:
    """A Rollout an app manages, and what its destination says about it."""

    app: Obj
    namespace: str
    name: str
    version: str
    live: Obj | None = None
    error: str = ""


def managed(apps: Iterable[Mapping[str, Any]], *, limit: int = MAX_ROLLOUTS) -> list[Managed]:
    """The Rollouts ``apps`` manage, in the apps' order, at most ``limit``. Pure."""
    found: list[Managed] = []
    for app in apps:
        for res in (app.get("status") or {}).get("resources") or ():
            if not isinstance(res, Mapping):
                continue
            if res.get("group") != GROUP or res.get("kind") != KIND:
                continue
            if len(found) >= limit:
                return found
            found.append(
                Managed(
                    dict(app),
                    str(res.get("namespace") or ""),
                    str(res.get("name") or ""),
                    str(res.get("version") or "v1alpha1"),
                )
            )
    return found


async def _list(config: kube_config.ClusterConfig, namespace: str) -> dict[str, Obj]:
    client = await app_tree.pooled_client(config)
    res = await client.resource(GROUP, KIND)
    listed = await client.list(res, namespace=namespace)
    return {str(o["metadata"]["name"]): o for o in listed.items}


async def read(ctx: context.ServerContext, rollouts: list[Managed]) -> list[Managed]:
    """``rollouts`` with their live objects (or why not), one list per cluster and namespace."""
    where: dict[tuple[kube_config.ClusterConfig, str], list[Managed]] = {}
    for item in rollouts:
        try:
            config = await app_tree.destination(ctx, item.app)
        except (tg_errors.TidegateError, OSError) as exc:
            item.error = str(exc)
            continue
        where.setdefault((config, item.namespace), []).append(item)

    async def one(config: kube_config.ClusterConfig, namespace: str, items: list[Managed]) -> None:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                live = await _list(config, namespace)
        except tg_errors.UnknownKindError:
            reason = f"cluster {config.name} has no Rollout resource (Argo Rollouts' CRD)"
            for item in items:
                item.error = reason
            return
        except (tg_errors.TidegateError, TimeoutError, OSError) as exc:
            for item in items:
                item.error = str(exc) or f"timed out reading cluster {config.name}"
            return
        for item in items:
            item.live = live.get(item.name)
            if item.live is None:
                item.error = "not found on the cluster"

    await asyncio.gather(*(one(config, ns, items) for (config, ns), items in where.items()))
    return rollouts
