"""ApplicationService, details: resource tree, events and sync windows of an application.

The tree is the managed resources the controller records in ``status.resources`` (with their
sync and health) and their live children read from the destination (:mod:`.app_tree`).
Events are the core Events about the Application object, in the Application's namespace. Each
call takes ``appNamespace`` (an app outside the control namespace, :mod:`.app_namespaces`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import (
    app_namespaces,
    app_orphans,
    app_tree,
    appstore,
    context,
    errors,
    security,
)
from tidegate.auth import access
from tidegate.kube import events as kube_events
from tidegate.model import errors as tg_errors
from tidegate.sync import windows

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]


@router.get("/api/v1/applications/{name}/resource-tree", summary="The resource tree")
async def get_resource_tree(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> Obj:
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, appNamespace)
    tree, _ = await app_tree.live_tree(ctx, app)
    orphaned = await app_orphans.orphaned_nodes(request, app)
    if orphaned is not None:  # the project monitors orphaned resources
        tree["orphanedNodes"] = orphaned
    return tree


@router.get("/api/v1/applications/{name}/events", summary="Events of the application")
async def list_events(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> Obj:
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, appNamespace)
    namespace = app_namespaces.namespace_of(app, ctx.namespace)
    selector = kube_events.involved_selector("Application", namespace, name)
    response = await ctx.client.request(
        "GET",
        f"/api/v1/namespaces/{namespace}/events",
        what=f"list events of application {namespace}/{name}",
        params={"fieldSelector": selector},
    )
    body = response.body
    return {"metadata": body.get("metadata") or {}, "items": body.get("items") or []}


def sync_windows(app: Mapping[str, Any], project: Mapping[str, Any], now: dt.datetime) -> Obj:
    """Argo CD's ApplicationSyncWindowsResponse for ``app`` under ``project``. Pure."""
    specs = [w for w in (project.get("spec") or {}).get("syncWindows") or [] if w]
    try:
        parsed = [windows.SyncWindow.from_spec(w) for w in specs]
    except tg_errors.SpecError as exc:
        name = (project.get("metadata") or {}).get("name")
        raise errors.ApiError(400, f"project {name}: {exc}") from None
    dest = (app.get("spec") or {}).get("destination") or {}
    ref = windows.AppRef(
        name=str((app.get("metadata") or {}).get("name") or ""),
        namespace=str(dest.get("namespace") or ""),
        server=str(dest.get("server") or ""),
        cluster_name=str(dest.get("name") or ""),
    )
    verdict = windows.evaluate(parsed, ref, now, manual=True)
    by_window = dict(zip(parsed, specs, strict=True))
    return {
        "assignedWindows": [by_window[w] for w in verdict.matched],
        "activeWindows": [by_window[w] for w in verdict.active],
        "canSync": verdict.allowed,
    }


@router.get("/api/v1/applications/{name}/syncwindows", summary="Sync windows of the app")
async def get_sync_windows(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> Obj:
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, appNamespace)
    project_name = str((app.get("spec") or {}).get("project") or "")
    projects = appstore.ObjectStore(ctx.client, ctx.namespace, appstore.PROJECTS)
    project = await projects.get(project_name)
    return sync_windows(app, project, dt.datetime.now(dt.UTC))
