"""The ``orphanedNodes`` of an application's resource tree, as Argo CD's tree carries them when
the app's project monitors orphaned resources (``spec.orphanedResources``): the objects of the
destination namespace that no app tracks, judged by the controller's rules and read on demand
(:mod:`tidegate.controller.orphan_scan`, the same scan as ``tidegate app resources --core``).
A project that does not monitor them gives no ``orphanedNodes`` and reads nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tidegate.api import app_manifests, app_resources, appstore, context
from tidegate.controller import local_compare, orphan_scan, orphans
from tidegate.model import application as model_app
from tidegate.model import project as model_project

Obj = dict[str, Any]


async def orphaned_nodes(request: Request, app: Obj) -> list[Obj] | None:
    """The orphaned nodes of ``app`` (None: its project does not monitor them)."""
    ctx = context.of(request)
    control = app_manifests.ControlNamespace(ctx)
    parsed = model_app.parse_application(app)
    project = await control.project(parsed.spec.project_name)
    if not orphans.monitored(model_project.parse_project(project) if project else None):
        return None
    # Every app the server serves tracks objects (those of other namespaces too): the hub's.
    if ctx.hub.ready.is_set():
        listed = list(ctx.hub.sorted_apps())
    else:
        listed = await appstore.ObjectStore(ctx.client, ctx.namespace).list()
    async with app_resources.destination(request, app) as (_, client):
        found = await orphan_scan.for_app(
            client, parsed, project=project, apps=listed, control_namespace=ctx.namespace,
            installation_id=await local_compare.installation_id(control),
        )  # fmt: skip
    return [{"group": k.group, "kind": k.kind, "namespace": k.namespace, "name": k.name}
            for k in found.orphans]  # fmt: skip
