"""ProjectService and ApplicationSetService: list, get, create (``upsert``), update, delete.

Both are plain objects of the control namespace; the bodies are validated with the model's
parsers, and only ``spec``, labels, annotations and finalizers are written (the controllers
own ``status``). A project that applications still use is not deleted (400, as Argo CD).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import app_operations, applications, appstore, context, errors, security
from tidegate.auth import access
from tidegate.kube import discovery
from tidegate.model import appset, project
from tidegate.model import errors as tg_errors

router = fastapi.APIRouter(tags=["ProjectService", "ApplicationSetService"])
Obj = dict[str, Any]
PROJECTS = appstore.PROJECTS
APPSETS = appstore.APPSETS


def _store(request: Request, resource: discovery.APIResource) -> appstore.ObjectStore:
    ctx = context.of(request)
    return appstore.ObjectStore(ctx.client, ctx.namespace, resource)


def valid(
    obj: Any,
    ctx: context.ServerContext,
    resource: discovery.APIResource,
    parse: Callable[[Obj], Any],
) -> Obj:
    if not isinstance(obj, dict):
        raise errors.ApiError(400, f"the {resource.kind} must be an object")
    appstore.check_top_level(obj, resource.kind)
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise errors.ApiError(400, f"the {resource.kind} has no metadata.name")
    security.check_name(meta["name"], what=f"{resource.kind} name")
    applications.check_namespace(ctx, meta.get("namespace"))
    clean = {k: v for k, v in meta.items() if k not in appstore.SERVER_META}
    out: Obj = {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {**clean, "namespace": ctx.namespace},
        "spec": obj.get("spec") or {},
    }
    try:
        parse(out)
    except tg_errors.SpecError as exc:
        raise errors.ApiError(400, f"{resource.kind} is invalid: {exc}") from None
    return out


async def _create(
    request: Request,
    subject: access.Subject,
    obj: Obj,
    resource: discovery.APIResource,
    rbac: str,
    *,
    upsert: bool,
    rbac_object: str = "",
) -> Obj:
    name = obj["metadata"]["name"]
    target = rbac_object or name  # appsets: <project>/<name>, as Argo CD names them
    security.authorize(subject, rbac, "create", target)
    store = _store(request, resource)
    try:
        return await store.create(obj)
    except errors.ApiError as exc:
        if exc.status != 409:
            raise
    existing = await store.get(name)
    if appstore.with_written_parts(existing, obj) == existing:
        return existing
    if not upsert:
        raise errors.ApiError(
            400, f"existing {resource.kind} spec is different, use upsert flag to force update"
        )
    security.authorize(subject, rbac, "update", target)
    return await store.update(name, lambda cur: appstore.with_written_parts(cur, obj))


def _listed(items: list[Obj], version: str = "") -> Obj:
    return {"metadata": {"resourceVersion": version} if version else {}, "items": items}


# -- projects -----------------------------------------------------------------------------------


@router.get("/api/v1/projects", summary="List projects")
async def list_projects(request: Request, subject: access.Subject = security.Subject) -> Obj:
    items = await _store(request, PROJECTS).list()
    visible = []
    for item in items:
        try:
            security.authorize(subject, "projects", "get", item["metadata"]["name"])
        except access.PermissionDeniedError:
            continue
        visible.append(item)
    return _listed(visible)


@router.get("/api/v1/projects/{name}", summary="Get a project")
async def get_project(
    request: Request, name: str, subject: access.Subject = security.Subject
) -> Obj:
    security.check_name(name)
    security.authorize(subject, "projects", "get", name)
    return await _store(request, PROJECTS).get(name)


@router.post("/api/v1/projects", summary="Create a project")
async def create_project(request: Request, subject: access.Subject = security.Subject) -> Obj:
    body = await security.json_object(request)
    app_operations.check_fields(body, frozenset({"project", "upsert"}))
    obj = valid(body.get("project"), context.of(request), PROJECTS, project.parse_project)
    upsert = bool(body.get("upsert"))
    return await _create(request, subject, obj, PROJECTS, "projects", upsert=upsert)


@router.put("/api/v1/projects/{name}", summary="Update a project")
async def update_project(
    request: Request, name: str, subject: access.Subject = security.Subject
) -> Obj:
    security.check_name(name)
    body = await security.json_object(request)
    app_operations.check_fields(body, frozenset({"project"}))
    obj = valid(body.get("project"), context.of(request), PROJECTS, project.parse_project)
    if obj["metadata"]["name"] != name:
        raise errors.ApiError(400, f"metadata.name {obj['metadata']['name']!r} is not {name!r}")
    security.authorize(subject, "projects", "update", name)
    store = _store(request, PROJECTS)
    return await store.update(name, lambda cur: appstore.with_written_parts(cur, obj))


@router.delete("/api/v1/projects/{name}", summary="Delete a project")
async def delete_project(
    request: Request, name: str, subject: access.Subject = security.Subject
) -> Obj:
    security.check_name(name)
    security.authorize(subject, "projects", "delete", name)
    # Read fresh (not from the hub, which may not have seen an app created a moment ago).
    users = [a for a in await applications.store(request).list() if _project_of(a) == name]
    if users:
        raise errors.ApiError(
            400,
            f"project is referenced by {len(users)} applications",
            grpc_code=9,
        )
    await _store(request, PROJECTS).delete(name)
    return {}


def _project_of(app: Mapping[str, Any]) -> str:
    return str((app.get("spec") or {}).get("project") or "")


# -- applicationsets ----------------------------------------------------------------------------


@router.get("/api/v1/applicationsets", summary="List ApplicationSets")
async def list_appsets(
    request: Request,
    subject: access.Subject = security.Subject,
    selector: str = "",
    appsetNamespace: str = "",
) -> Obj:
    applications.check_namespace(context.of(request), appsetNamespace)
    items = await _store(request, APPSETS).list(selector=selector or None)
    visible = []
    for item in items:
        try:
            security.authorize(subject, "applicationsets", "get", appset_object(item))
        except access.PermissionDeniedError:
            continue
        visible.append(item)
    return _listed(visible)


def appset_object(item: Mapping[str, Any]) -> str:
    template = ((item.get("spec") or {}).get("template") or {}).get("spec") or {}
    name = (item.get("metadata") or {}).get("name") or ""
    return f"{template.get('project') or ''}/{name}"


@router.get("/api/v1/applicationsets/{name}", summary="Get an ApplicationSet")
async def get_appset(
    request: Request,
    name: str,
    subject: access.Subject = security.Subject,
    appsetNamespace: str = "",
) -> Obj:
    applications.check_namespace(context.of(request), appsetNamespace)
    security.check_name(name)
    found = await _store(request, APPSETS).get(name)
    security.authorize(subject, "applicationsets", "get", appset_object(found))
    return found


@router.post("/api/v1/applicationsets", summary="Create an ApplicationSet")
async def create_appset(
    request: Request,
    subject: access.Subject = security.Subject,
    upsert: bool = False,
    dryRun: bool = False,
) -> Obj:
    ctx = context.of(request)
    obj = valid(await security.json_object(request), ctx, APPSETS, appset.parse_applicationset)
    if dryRun:
        security.authorize(subject, "applicationsets", "create", appset_object(obj))
        return obj
    return await _create(
        request,
        subject,
        obj,
        APPSETS,
        "applicationsets",
        upsert=upsert,
        rbac_object=appset_object(obj),
    )


@router.delete("/api/v1/applicationsets/{name}", summary="Delete an ApplicationSet")
async def delete_appset(
    request: Request,
    name: str,
    subject: access.Subject = security.Subject,
    appsetNamespace: str = "",
) -> Obj:
    applications.check_namespace(context.of(request), appsetNamespace)
    security.check_name(name)
    store = _store(request, APPSETS)
    found = await store.get(name)
    security.authorize(subject, "applicationsets", "delete", appset_object(found))
    await store.delete(name)
    return {}
