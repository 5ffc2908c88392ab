"""ApplicationService: ``managed-resources`` and ``manifests``, rendered and compared on demand.

Both go through :mod:`tidegate.controller.local_compare`, the path ``tidegate app diff`` and
``app manifests`` take, so the API, the CLI and the controller cannot disagree. The server
renders into its own repository cache (a private directory removed at exit). Secret values are
masked in every reply (the diff package's masking: ``++++++++``, one mask per distinct value).
Both take ``appNamespace`` (:mod:`.app_namespaces`). Renders wait for a slot of the server's
:class:`~tidegate.api.render_gate.RenderGate` (503 with ``Retry-After`` when its queue is full).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import app_namespaces, appstore, context, errors, security
from tidegate.auth import access
from tidegate.controller import local_compare
from tidegate.kube import config as kube_config
from tidegate.model import errors as tg_errors

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]


class ControlNamespace:
    """The server's view of the control namespace, as :mod:`local_compare` asks for it."""

    def __init__(self, ctx: context.ServerContext) -> None:
        if ctx.management is None:
            raise errors.ApiError(503, "the server has no management cluster configuration")
        self.client = ctx.client
        self.namespace = ctx.namespace
        self.config: kube_config.ClusterConfig = ctx.management
        self._projects = appstore.ObjectStore(ctx.client, ctx.namespace, appstore.PROJECTS)

    async def secrets(self) -> list[Obj]:
        return await local_compare.control_secrets(self.client, self.namespace)

    async def project(self, name: str) -> Obj | None:
        try:
            return await self._projects.get(name)
        except errors.ApiError as exc:
            if exc.status == 404:
                return None
            raise


def _cache_dir(ctx: context.ServerContext) -> Path:
    if ctx.cache_dir is None:
        raise errors.ApiError(503, "the server has no repository cache directory")
    return ctx.cache_dir


@contextlib.asynccontextmanager
async def _compared(request: Request, raw: Obj) -> AsyncIterator[local_compare.Context]:
    """The app's render/compare context; a render or destination failure is the app's
    problem (400 naming it), an unreachable cluster the server's (503)."""
    ctx = context.of(request)
    name = str((raw.get("metadata") or {}).get("name") or "")
    try:
        async with (
            ctx.renders.slot(f"application {name}"),
            local_compare.open_context(
                ControlNamespace(ctx), raw, cache_dir=_cache_dir(ctx)
            ) as lctx,
        ):
            yield lctx
    except errors.ApiError:
        raise
    except tg_errors.TidegateError as exc:
        raise errors.of_request(exc, f"application {name}") from None


@router.get(
    "/api/v1/applications/{name}/managed-resources",
    summary="Target, live, normalised and predicted states of the app's resources",
)
async def managed_resources(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> Obj:
    raw = await app_namespaces.authorized(context.of(request), subject, name, appNamespace)
    async with _compared(request, raw) as lctx:
        comparison = await local_compare.compare_locally(lctx, revision=None, hard=False)
    return {"items": local_compare.resource_diffs(comparison)}


@router.get("/api/v1/applications/{name}/manifests", summary="The app's rendered manifests")
async def manifests(
    request: Request,
    name: str,
    revision: str | None = None,
    noCache: bool = False,
    appNamespace: str = "",
    subject: access.Subject = security.Subject,
) -> Obj:
    raw = await app_namespaces.authorized(context.of(request), subject, name, appNamespace)
    async with _compared(request, raw) as lctx:
        rendered, targets = await local_compare.render(
            lctx, revision=revision or None, hard=noCache
        )
    dest = (raw.get("spec") or {}).get("destination") or {}
    shown = local_compare.masked(list(targets.values()))
    return {
        "manifests": [json.dumps(obj, sort_keys=True) for obj in shown],
        "namespace": dest.get("namespace") or "",
        "server": dest.get("server") or "",
        "revision": rendered.revisions[0] if rendered.revisions else "",
        "sourceType": rendered.source_types[0] if rendered.source_types else "",
        "revisions": list(rendered.revisions),
        "sourceTypes": list(rendered.source_types),
    }
