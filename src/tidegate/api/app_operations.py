"""ApplicationService, operations: sync, rollback, terminate. The server only *requests*.

Each handler builds the ``operation`` field with :mod:`tidegate.sync.request` (what
``tidegate app sync|rollback|terminate-op`` build in direct mode) and writes it based on the
resourceVersion it read, so two clients cannot both start one; the controller runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import app_namespaces, applications, context, errors, security
from tidegate.auth import access
from tidegate.model import errors as tg_errors
from tidegate.sync import request as op_request

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]
SYNC_FIELDS = frozenset(
    {
        "name",
        "appNamespace",
        "project",
        "revision",
        "revisions",
        "sourcePositions",
        "dryRun",
        "prune",
        "strategy",
        "resources",
        "manifests",
        "infos",
        "retryStrategy",
        "syncOptions",
    }
)
ROLLBACK_FIELDS = frozenset({"name", "appNamespace", "project", "id", "dryRun", "prune"})
CONFLICT_ATTEMPTS = 5


def check_fields(body: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise errors.ApiError(400, f"unknown field(s) in request: {', '.join(unknown)[:200]}")


def _typed(body: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise errors.ApiError(400, f"field {key!r} has the wrong type")
    return value


def _strategy(body: Mapping[str, Any]) -> tuple[str, bool]:
    strategy = _typed(body, "strategy", dict, {})
    for name in ("apply", "hook"):
        if name in strategy:
            chosen = strategy.get(name) or {}
            if not isinstance(chosen, dict):
                raise errors.ApiError(400, f"strategy.{name} must be an object")
            return name, bool(chosen.get("force"))
    if strategy:
        raise errors.ApiError(400, "strategy must be {apply: {...}} or {hook: {...}}")
    return "hook", False


def _resources(body: Mapping[str, Any], app: Mapping[str, Any]) -> list[Obj] | None:
    wanted = _typed(body, "resources", list, None)
    if not wanted:
        return None
    known = op_request.status(app).get("resources") or []
    out = []
    for res in wanted:
        if not isinstance(res, dict) or not res.get("kind") or not res.get("name"):
            raise errors.ApiError(400, "each resource needs at least kind and name")
        key = {k: str(res.get(k) or "") for k in ("group", "kind", "namespace", "name")}
        if not any(
            all(str(r.get(k) or "") == key[k] for k in ("group", "kind", "name"))
            and (not key["namespace"] or str(r.get("namespace") or "") == key["namespace"])
            for r in known
        ):
            shown = f"{key['group']}/{key['kind']}/{key['namespace']}/{key['name']}"
            raise errors.ApiError(
                400, f"resource {shown[:200]} is not managed by {op_request.describe(app)}"
            )
        out.append({k: v for k, v in key.items() if v or k in ("group", "kind", "name")})
    return out


def _retry(body: Mapping[str, Any]) -> tuple[int, str | None, str | None, int | None]:
    retry = _typed(body, "retryStrategy", dict, {})
    backoff = retry.get("backoff") or {}
    if not isinstance(backoff, dict):
        raise errors.ApiError(400, "retryStrategy.backoff must be an object")
    limit = _typed(retry, "limit", int, 0)
    factor = _typed(backoff, "factor", int, None)
    duration = _typed(backoff, "duration", str, None)
    max_duration = _typed(backoff, "maxDuration", str, None)
    return limit, duration, max_duration, factor


def sync_request(body: Mapping[str, Any], app: Mapping[str, Any], username: str) -> Obj:
    """The ``operation`` for Argo CD's SyncRequest ``body`` (the CLI's builder does the rest)."""
    check_fields(body, SYNC_FIELDS)
    if body.get("manifests"):
        raise errors.ApiError(400, "syncing to local manifests is not supported")
    strategy, force = _strategy(body)
    limit, duration, max_duration, factor = _retry(body)
    options = _typed(body, "syncOptions", dict, {}).get("items") or []
    infos = _typed(body, "infos", list, [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise errors.ApiError(400, "syncOptions.items must be a list of strings")
    info = []
    for item in infos:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise errors.ApiError(400, "each info needs a name and a value")
        info.append(f"{item['name']}={item.get('value') or ''}")
    request = op_request.SyncRequest(
        revision=_typed(body, "revision", str, None) or None,
        prune=bool(_typed(body, "prune", bool, False)),
        dry_run=bool(_typed(body, "dryRun", bool, False)),
        resources=_resources(body, app),
        sync_options=tuple(options),
        force=force,
        strategy=strategy,
        retry_limit=limit,
        retry_backoff_duration=duration,
        retry_backoff_max_duration=max_duration,
        retry_backoff_factor=factor,
        retry_refresh=bool(_typed(_typed(body, "retryStrategy", dict, {}), "refresh", bool, False)),
        info=tuple(info),
        username=username,
    )
    operation = op_request.sync_operation(app.get("spec") or {}, request)
    revisions = _typed(body, "revisions", list, [])
    if revisions:
        if not all(isinstance(r, str) for r in revisions):
            raise errors.ApiError(400, "revisions must be a list of strings")
        operation["sync"]["revisions"] = revisions
        operation["sync"].pop("revision", None)
    return operation


async def _app(request: Request, name: str, body_namespace: Any, query_namespace: str) -> Obj:
    """The app of the request's ``appNamespace`` (the body's, else the query's), checked."""
    ctx = context.of(request)
    given = body_namespace if isinstance(body_namespace, str) and body_namespace else ""
    return await app_namespaces.get_app(ctx, name, given or query_namespace)


def _rbac(request: Request, app: Obj) -> str:
    return applications.rbac_object(app, context.of(request).namespace)


async def _request(request: Request, name: str, app: Obj, operation: Obj) -> Obj:
    """Write ``operation`` based on the version of ``app`` read. The controller writes status
    all the time: a conflict with such a write is retried on a fresh read (as Argo CD's server
    retries), but not when the spec the operation was built from changed, nor when an
    operation started meanwhile."""
    ctx = context.of(request)
    store = app_namespaces.store(ctx, app_namespaces.namespace_of(app, ctx.namespace))
    for _ in range(CONFLICT_ATTEMPTS):
        if op_request.operation_in_progress(app):
            raise errors.ApiError(
                400, "another operation is already in progress", grpc_code=9
            )  # FailedPrecondition
        version = str(app["metadata"].get("resourceVersion") or "")
        try:
            return await store.merge_patch(name, {"operation": operation}, resource_version=version)
        except tg_errors.KubeConflictError:
            fresh = await store.get(name)
            if fresh.get("spec") != app.get("spec"):
                break
            app = fresh
    raise errors.ApiError(
        409,
        f"{op_request.describe(app)} changed while the operation was being requested; try again",
        grpc_code=10,
    )


@router.post("/api/v1/applications/{name}/sync", summary="Sync an application")
async def sync(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> Obj:
    security.check_name(name)
    body = await security.json_object(request)
    app = await _app(request, name, body.get("appNamespace"), appNamespace)
    security.authorize(subject, "applications", "sync", _rbac(request, app))
    operation = sync_request(body, app, subject.username)
    return await _request(request, name, app, operation)


@router.post("/api/v1/applications/{name}/rollback", summary="Roll an application back")
async def rollback(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> Obj:
    security.check_name(name)
    body = await security.json_object(request)
    check_fields(body, ROLLBACK_FIELDS)
    app = await _app(request, name, body.get("appNamespace"), appNamespace)
    security.authorize(subject, "applications", "sync", _rbac(request, app))
    raw_id = body.get("id")
    history_id = int(raw_id) if isinstance(raw_id, int | str) and str(raw_id).isdigit() else None
    if raw_id is not None and history_id is None:
        raise errors.ApiError(400, "id must be a history id (a number)")
    entry = op_request.rollback_entry(app, history_id)
    operation = op_request.rollback_operation(
        entry,
        prune=bool(_typed(body, "prune", bool, False)),
        dry_run=bool(_typed(body, "dryRun", bool, False)),
        username=subject.username,
    )
    return await _request(request, name, app, operation)


@router.delete("/api/v1/applications/{name}/operation", summary="Terminate the operation")
async def terminate(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> Obj:
    security.check_name(name)
    ctx = context.of(request)
    apps = app_namespaces.store(ctx, app_namespaces.resolve(ctx, appNamespace))
    app = await _app(request, name, None, appNamespace)
    security.authorize(subject, "applications", "sync", _rbac(request, app))
    outcome = op_request.termination(app)
    if outcome.patch is not None:
        version = str(app["metadata"].get("resourceVersion") or "")
        await apps.merge_patch(name, outcome.patch, resource_version=version)
    return {}
