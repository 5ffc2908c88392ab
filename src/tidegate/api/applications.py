"""ApplicationService, objects: list, get (``refresh``), create, update, update spec, patch,
delete. Argo CD's paths and JSON; the Application is returned as stored.

Lists come from the server's hub (one watch, in memory, sorted by name), so they cost no API
server round trip; gets and writes go to the management cluster.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import fastapi
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from tidegate.api import app_namespaces, appstore, context, errors, listing, security
from tidegate.appset import patch as appset_patch
from tidegate.auth import access
from tidegate.model import application, constants
from tidegate.model import errors as tg_errors

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]
Many = Annotated[list[str] | None, fastapi.Query()]
HUB_READY_SECONDS = 30.0
MAX_PATCH_OPERATIONS = 1000


def store(request: Request) -> appstore.ObjectStore:
    """The control namespace's Applications, for the calls that serve no other namespace yet
    (an ``appNamespace`` naming another one is refused, never silently ignored)."""
    ctx = context.of(request)
    check_namespace(ctx, request.query_params.get("appNamespace"))
    return appstore.ObjectStore(ctx.client, ctx.namespace)


def rbac_object(app: Obj, control_namespace: str = "") -> str:
    """Argo CD's RBAC object for an app: ``<project>/<name>``; ``<project>/<namespace>/<name>``
    for one outside ``control_namespace`` when given (api/app_namespaces.py)."""
    return app_namespaces.rbac_object(app, control_namespace)


def check_namespace(ctx: context.ServerContext, namespace: str | None) -> None:
    if namespace and namespace != ctx.namespace:
        raise errors.ApiError(
            400,
            f"application namespace {namespace!r} is not permitted here"
            f" (this call serves namespace {ctx.namespace!r} only)",
        )


def app_query(
    request: Request,
    name: str = "",
    projects: Many = None,
    project: Many = None,
    selector: str = "",
    repo: str = "",
    appNamespace: str = "",
    sync: Many = None,
    health: Many = None,
    cluster: Many = None,
    namespace: Many = None,
    search: str = "",
) -> listing.Query:
    """The filters of a list or a stream (a FastAPI dependency shared by both)."""
    if appNamespace:
        app_namespaces.resolve(context.of(request), appNamespace)
    if name:
        security.check_name(name)
    try:
        return listing.Query.build(
            name=name,
            projects=[*(projects or ()), *(project or ())],
            selector=selector,
            repo=repo,
            sync=sync or (),
            health=health or (),
            cluster=cluster or (),
            namespace=namespace or (),
            search=search,
            app_namespace=appNamespace,
        )
    except listing.QueryError as exc:
        raise errors.ApiError(400, str(exc)) from None


AppQuery = fastapi.Depends(app_query)


async def ready_hub(ctx: context.ServerContext) -> None:
    if ctx.hub.ready.is_set():
        return
    try:
        async with asyncio.timeout(HUB_READY_SECONDS):
            await ctx.hub.ready.wait()
    except TimeoutError:
        raise errors.ApiError(503, "the list of applications is not loaded yet") from None


@router.get("/api/v1/applications", summary="List applications")
async def list_applications(
    request: Request,
    subject: access.Subject = security.Subject,
    query: listing.Query = AppQuery,
    fields: Many = None,
    limit: int = 0,
    continue_: Annotated[str, fastapi.Query(alias="continue")] = "",
) -> Response:
    ctx = context.of(request)
    await ready_hub(ctx)
    try:
        after = listing.decode_continue(continue_) if continue_ else ""
        apps = (a for a in ctx.hub.sorted_apps(after) if allowed(subject, a, ctx.namespace))
        page = listing.page(apps, query, limit=limit, key=ctx.hub.key)
    except listing.QueryError as exc:
        raise errors.ApiError(400, str(exc)) from None
    meta: Obj = {"resourceVersion": ctx.hub.resource_version}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if fields:
        return reply(listing.select_fields({"items": page.items, "metadata": meta}, fields))
    # The hub holds every app's JSON already encoded: join those bytes instead of encoding again.
    items = [ctx.hub.encoded.get(ctx.hub.key(a)) or msgspec.json.encode(a) for a in page.items]
    body = b'{"items":[' + b",".join(items) + b'],"metadata":' + msgspec.json.encode(meta) + b"}"
    return Response(body, media_type="application/json")


def reply(doc: Any) -> Response:
    """A JSON answer encoded in one pass (FastAPI's generic encoder is slow on big lists)."""
    return Response(msgspec.json.encode(doc), media_type="application/json")


def allowed(subject: access.Subject, app: Obj, control_namespace: str = "") -> bool:
    """Whether ``subject`` may see ``app`` (``control_namespace``: the server's, so that an app
    of another namespace is judged by its ``<project>/<namespace>/<name>``)."""
    try:
        security.authorize(subject, "applications", "get", rbac_object(app, control_namespace))
    except access.PermissionDeniedError:
        return False
    return True


@router.get("/api/v1/applications/{name}", summary="Get an application")
async def get_application(
    request: Request,
    name: str,
    subject: access.Subject = security.Subject,
    refresh: str = "",
    appNamespace: str = "",
    project: str = "",
) -> Obj:
    ctx = context.of(request)
    security.check_name(name)
    namespace = app_namespaces.resolve(ctx, appNamespace)
    apps = app_namespaces.store(ctx, namespace)
    app = await app_namespaces.get_app(ctx, name, namespace)
    security.authorize(subject, "applications", "get", rbac_object(app, ctx.namespace))
    if project and (app.get("spec") or {}).get("project") != project:
        raise errors.ApiError(404, f'applications.argoproj.io "{name}" not found')
    if refresh:
        if refresh not in ("normal", "hard"):
            raise errors.ApiError(400, f"refresh must be 'normal' or 'hard', not {refresh[:20]!r}")
        annotations = {constants.ANNOTATION_REFRESH: refresh}
        patched = await apps.merge_patch(name, {"metadata": {"annotations": annotations}})
        version = str(patched["metadata"].get("resourceVersion") or "")
        await ctx.hub.wait_for(
            ctx.hub.key(patched), lambda a: refreshed(a, version), seconds=ctx.refresh_wait_seconds
        )
        app = await apps.get(name)
    return app


def refreshed(app: Obj | None, patched_version: str) -> bool:
    """Whether the controller has taken the refresh requested by the write that produced
    ``patched_version``: a later version of the app without the refresh annotation (or the app
    is gone). resourceVersions are compared as numbers when they are (etcd's are)."""
    if app is None:
        return True
    meta = app.get("metadata") or {}
    if constants.ANNOTATION_REFRESH in (meta.get("annotations") or {}):
        return False
    current = str(meta.get("resourceVersion") or "")
    if current.isdigit() and patched_version.isdigit():
        return int(current) > int(patched_version)
    return current != patched_version


def validated(obj: Obj, ctx: context.ServerContext) -> Obj:
    """The Application to write: its namespace checked (one the server serves), server-owned
    fields dropped, valid."""
    appstore.check_top_level(obj, "application")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise errors.ApiError(400, "application has no metadata.name")
    security.check_name(meta["name"], what="application name")
    namespace = app_namespaces.resolve(ctx, str(meta.get("namespace") or ""))
    clean_meta = {k: v for k, v in meta.items() if k not in appstore.SERVER_META}
    clean_meta["namespace"] = namespace
    out: Obj = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND_APPLICATION,
        "metadata": clean_meta,
        "spec": obj.get("spec"),
    }
    try:
        application.parse_application(out)
    except tg_errors.SpecError as exc:
        raise errors.ApiError(400, f"application spec is invalid: {exc}") from None
    return out


async def check_project(ctx: context.ServerContext, app: Obj) -> None:
    if not (app.get("spec") or {}).get("project"):
        raise errors.ApiError(400, "application has no spec.project")
    await app_namespaces.project_of(ctx, app)


@router.post("/api/v1/applications", summary="Create an application")
async def create_application(
    request: Request,
    subject: access.Subject = security.Subject,
    upsert: bool = False,
    validate: bool = True,
) -> Obj:
    ctx = context.of(request)
    app = validated(await security.json_object(request), ctx)
    security.authorize(subject, "applications", "create", rbac_object(app, ctx.namespace))
    if validate:
        await check_project(ctx, app)
    await app_namespaces.check_project(ctx, app)
    apps = app_namespaces.store(ctx, app["metadata"]["namespace"])
    try:
        return await apps.create(app)
    except errors.ApiError as exc:
        if exc.status != 409:
            raise
    name = app["metadata"]["name"]
    existing = await apps.get(name)
    same = appstore.with_written_parts(existing, app) == existing
    if same:
        return existing
    if not upsert:
        raise errors.ApiError(
            400,
            "existing application spec is different, use upsert flag to force update",
            grpc_code=3,
        )
    security.authorize(subject, "applications", "update", rbac_object(existing, ctx.namespace))
    return await apps.update(name, lambda cur: appstore.with_written_parts(cur, app))


@router.put("/api/v1/applications/{name}", summary="Update an application")
async def update_application(
    request: Request,
    name: str,
    subject: access.Subject = security.Subject,
    validate: bool = True,
) -> Obj:
    ctx = context.of(request)
    security.check_name(name)
    app = validated(await security.json_object(request), ctx)
    if app["metadata"]["name"] != name:
        raise errors.ApiError(400, f"metadata.name {app['metadata']['name']!r} is not {name!r}")
    apps = app_namespaces.store(ctx, app["metadata"]["namespace"])
    current = await app_namespaces.get_app(ctx, name, app["metadata"]["namespace"])
    security.authorize(subject, "applications", "update", rbac_object(current, ctx.namespace))
    security.authorize(subject, "applications", "update", rbac_object(app, ctx.namespace))
    if validate:
        await check_project(ctx, app)
    await app_namespaces.check_project(ctx, app)
    return await apps.update(name, lambda cur: appstore.with_written_parts(cur, app))


@router.put("/api/v1/applications/{name}/spec", summary="Update an application's spec")
async def update_spec(
    request: Request,
    name: str,
    subject: access.Subject = security.Subject,
    validate: bool = True,
    appNamespace: str = "",
) -> Any:
    ctx = context.of(request)
    security.check_name(name)
    spec = await security.json_object(request)
    apps = app_namespaces.store(ctx, app_namespaces.resolve(ctx, appNamespace))
    current = await app_namespaces.get_app(ctx, name, appNamespace)
    security.authorize(subject, "applications", "update", rbac_object(current, ctx.namespace))
    wanted = validated({**current, "spec": spec}, ctx)
    security.authorize(subject, "applications", "update", rbac_object(wanted, ctx.namespace))
    if validate:
        await check_project(ctx, wanted)
    await app_namespaces.check_project(ctx, wanted)
    updated = await apps.update(name, lambda cur: {**cur, "spec": spec})
    return updated.get("spec")


@router.patch("/api/v1/applications/{name}", summary="Patch an application")
async def patch_application(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> Obj:
    ctx = context.of(request)
    security.check_name(name)
    body = await security.json_object(request)
    patch_type = str(body.get("patchType") or "json")
    raw_patch = body.get("patch")
    if not isinstance(raw_patch, str):
        raise errors.ApiError(400, "patch must be a string holding the JSON patch")
    try:
        patch = json.loads(raw_patch)
    except ValueError:
        raise errors.ApiError(400, "patch is not valid JSON") from None
    body_namespace = body.get("appNamespace")
    namespace = app_namespaces.resolve(
        ctx, body_namespace if isinstance(body_namespace, str) and body_namespace else appNamespace
    )
    apps = app_namespaces.store(ctx, namespace)
    current = await app_namespaces.get_app(ctx, name, namespace)
    security.authorize(subject, "applications", "update", rbac_object(current, ctx.namespace))

    if patch_type == "json":
        if not isinstance(patch, list) or len(patch) > MAX_PATCH_OPERATIONS:
            raise errors.ApiError(
                400, f"a JSON patch is a list of at most {MAX_PATCH_OPERATIONS} operations"
            )
    elif patch_type == "merge":
        if not isinstance(patch, dict):
            raise errors.ApiError(400, "a merge patch is a JSON object")
    else:
        raise errors.ApiError(400, f"patch type {patch_type[:20]!r} is not json or merge")

    def change(cur: Obj) -> Obj:
        try:
            if patch_type == "json":
                patched = appset_patch.json_patch(cur, patch)
            else:
                patched = appset_patch.merge_patch(cur, patch)
        except tg_errors.SpecError as exc:
            raise errors.ApiError(400, f"patch does not apply: {exc}") from None
        if not isinstance(patched, dict):
            raise errors.ApiError(400, "patch does not leave an object")
        patched_meta = patched.get("metadata") or {}
        if patched_meta.get("name") != name:
            raise errors.ApiError(400, "a patch may not change metadata.name")
        if patched_meta.get("namespace") != namespace:
            raise errors.ApiError(400, "a patch may not change metadata.namespace")
        wanted = validated(patched, ctx)
        security.authorize(subject, "applications", "update", rbac_object(wanted, ctx.namespace))
        return appstore.with_written_parts(cur, wanted)

    await app_namespaces.check_project(ctx, change(current))  # before anything is written
    return await apps.update(name, change)


@router.delete("/api/v1/applications/{name}", summary="Delete an application")
async def delete_application(
    request: Request,
    name: str,
    subject: access.Subject = security.Subject,
    cascade: bool = True,
    propagationPolicy: str = "",
    appNamespace: str = "",
) -> Obj:
    ctx = context.of(request)
    security.check_name(name)
    policy = propagationPolicy.lower()
    if policy not in ("", "foreground", "background"):
        raise errors.ApiError(400, f"propagationPolicy {propagationPolicy[:20]!r} is not valid")
    apps = app_namespaces.store(ctx, app_namespaces.resolve(ctx, appNamespace))
    current = await app_namespaces.get_app(ctx, name, appNamespace)
    security.authorize(subject, "applications", "delete", rbac_object(current, ctx.namespace))
    resources = constants.FINALIZER_RESOURCES
    wanted = {resources: None, f"{resources}/background": None, f"{resources}/foreground": None}
    add = [f"{resources}/background" if policy == "background" else resources] if cascade else []

    def change(cur: Obj) -> Obj:
        meta = dict(cur.get("metadata") or {})
        kept = [f for f in meta.get("finalizers") or [] if f not in wanted]
        meta["finalizers"] = [*kept, *add]
        return {**cur, "metadata": meta}

    await apps.update(name, change)
    await apps.delete(name)
    return {}


@router.get("/api/v1/applications-summary", summary="Counts of applications per status")
async def summary(
    request: Request,
    subject: access.Subject = security.Subject,
    query: listing.Query = AppQuery,
) -> Obj:
    """Tidegate's own: how many apps (matching the list's filters) are in each sync and health
    status, and how many run an operation; for the UI's status bar and filters."""
    ctx = context.of(request)
    await ready_hub(ctx)
    apps = (a for a in ctx.hub.sorted_apps() if allowed(subject, a, ctx.namespace))
    return listing.summarize(a for a in apps if query.matches(a))
