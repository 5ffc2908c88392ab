"""ApplicationService, details: resource tree and events of an application.

The tree is built from what the controller records in ``status.resources`` (the managed
resources with their sync and health); the server keeps no live cache of destination clusters,
so child objects (ReplicaSets, Pods) are not listed. Events are the core Events about the
Application object in the control namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import applications, context, security
from tidegate.auth import access

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]


def resource_tree(app: Mapping[str, Any]) -> Obj:
    """Argo CD's ApplicationTree (``nodes``) from the app's recorded resources. Pure."""
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


@router.get("/api/v1/applications/{name}/resource-tree", summary="The resource tree")
async def get_resource_tree(
    request: Request, name: str, subject: access.Subject = security.Subject
) -> Obj:
    security.check_name(name)
    app = await applications.store(request).get(name)
    security.authorize(subject, "applications", "get", applications.rbac_object(app))
    return resource_tree(app)


@router.get("/api/v1/applications/{name}/events", summary="Events of the application")
async def list_events(
    request: Request, name: str, subject: access.Subject = security.Subject
) -> Obj:
    security.check_name(name)
    ctx = context.of(request)
    app = await applications.store(request).get(name)
    security.authorize(subject, "applications", "get", applications.rbac_object(app))
    selector = (
        f"involvedObject.name={name},involvedObject.namespace={ctx.namespace},"
        "involvedObject.kind=Application"
    )
    response = await ctx.client.request(
        "GET",
        f"/api/v1/namespaces/{ctx.namespace}/events",
        what=f"list events of application {ctx.namespace}/{name}",
        params={"fieldSelector": selector},
    )
    body = response.body
    return {"metadata": body.get("metadata") or {}, "items": body.get("items") or []}
