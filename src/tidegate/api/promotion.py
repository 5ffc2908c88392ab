"""The promotion pipeline over the API (Tidegate's; Kargo speaks its own RPC API).

Read: ``GET /api/v1/promotion/projects`` (the Kargo Projects the caller may see), ``.../projects/
P``, ``.../projects/P/{warehouses,freight,stages,promotions}`` and ``.../KIND/NAME`` (a Freight
also by its alias). Write: ``POST .../projects/P/stages/S/promote`` and ``.../approve`` with
``{"freight": NAME}`` or ``{"freightAlias": ALIAS}`` (promote without either: the newest
available Freight). RBAC resource ``promotions``, object ``<project>/<stage>`` (``<project>/*``
for what is not a Stage): ``get`` to read, ``promote`` and ``approve`` to write (both in the
built-in ``role:admin``, ``get`` in ``role:readonly``). Writes are audited by the server's audit
trail as ``promote``/``approve`` of the Stage, with the project. Each handler calls the same
function the CLI calls (:mod:`tidegate.promotion.actions`), so both refuse the same requests
with the same message: 404 for a name that does not exist, 400 for a request that cannot be
carried out (Freight not available, not verified upstream, a bad template), nothing written;
404 naming the missing CRDs when the management cluster does not serve Kargo's kinds.

Live: ``GET .../projects/P/stream`` tells the pipeline page when the project's Warehouses,
Stages, Freight or Promotions change (one message per burst; :mod:`tidegate.api.pipeline_watch`),
authorised as reading the project, at most :data:`pipeline_watch.MAX_STREAMS` at once.
"""

from __future__ import annotations

from typing import Any

import fastapi
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from tidegate.api import context, errors, pipeline_watch, security, streams
from tidegate.auth import access
from tidegate.model import errors as tg_errors
from tidegate.promotion import actions

router = fastapi.APIRouter(prefix="/api/v1/promotion", tags=["PromotionService"])
RESOURCE = "promotions"
KINDS = {
    "warehouses": "Warehouse",
    "freight": "Freight",
    "stages": "Stage",
    "promotions": "Promotion",
}
Obj = dict[str, Any]


def rbac_object(project: str, stage: str = "*") -> str:
    return f"{project}/{stage}"


def _kind(plural: str) -> str:
    kind = KINDS.get(plural)
    if kind is None:
        raise errors.ApiError(404, f"unknown collection {plural[:40]!r}: one of {', '.join(KINDS)}")
    return kind


async def _call(what: Any) -> Any:
    try:
        return await what
    except actions.NotFoundError as exc:
        raise errors.ApiError(404, str(exc)) from None
    except actions.RequestError as exc:
        raise errors.ApiError(400, str(exc)) from None
    except tg_errors.UnknownKindError as exc:
        raise pipeline_watch.kargo_missing(exc) from None


def _check_project(subject: access.Subject, project: str) -> str:
    security.check_name(project, what="project name")
    security.authorize(subject, RESOURCE, "get", rbac_object(project))
    return project


@router.get("/projects")
async def list_projects(request: Request, subject: access.Subject = security.Subject) -> Obj:
    projects = await actions.list_projects(context.of(request).client)
    visible = [
        p
        for p in projects
        if access.allowed(subject, RESOURCE, "get", rbac_object(p["metadata"]["name"]))
    ]
    return {"items": visible}


@router.get("/projects/{project}")
async def get_project(
    project: str, request: Request, subject: access.Subject = security.Subject
) -> Obj:
    _check_project(subject, project)
    found: Obj = await _call(actions.get_project(context.of(request).client, project))
    return found


@router.get("/projects/{project}/stream", summary="Watch a promotion pipeline")
async def watch_pipeline(
    project: str, request: Request, subject: access.Subject = security.Subject
) -> StreamingResponse:
    """One message when the project's pipeline changes (a burst of changes: one message), for
    the pipeline page to read itself again; see :mod:`tidegate.api.pipeline_watch`."""
    _check_project(subject, project)
    kube = context.of(request).client
    await _call(actions.get_project(kube, project))
    found = await pipeline_watch.resources(kube)
    slot = pipeline_watch.admit(project)
    keepalive = context.of(request).keepalive_seconds
    response = streams.stream_response(
        request, pipeline_watch.follow(kube, project, found, keepalive, slot)
    )
    # Also when the body never started (the client left at once): the place is given back.
    response.background = BackgroundTask(slot.release)
    return response


@router.get("/projects/{project}/{plural}")
async def list_objects(
    project: str, plural: str, request: Request, subject: access.Subject = security.Subject
) -> Obj:
    _check_project(subject, project)
    kind = _kind(plural)
    await _call(actions.get_project(context.of(request).client, project))
    items = await actions.list_kind(context.of(request).client, kind, project)
    return {"items": sorted(items, key=lambda o: str(o["metadata"]["name"]))}


@router.get("/projects/{project}/{plural}/{name}")
async def get_object(
    project: str,
    plural: str,
    name: str,
    request: Request,
    subject: access.Subject = security.Subject,
) -> Obj:
    _check_project(subject, project)
    kind = _kind(plural)
    security.check_name(name, what=f"{kind} name")
    kube = context.of(request).client
    if kind == "Freight":
        try:
            found: Obj = await actions.find_freight(kube, project, name=name)
        except actions.NotFoundError:
            found = await _call(actions.find_freight(kube, project, alias=name))
        return found
    found = await _call(actions.get(kube, kind, project, name))
    return found


async def _freight_of(request: Request) -> tuple[str, str]:
    body = await security.json_object(request)
    name, alias = body.get("freight") or "", body.get("freightAlias") or ""
    if not isinstance(name, str) or not isinstance(alias, str):
        raise errors.ApiError(400, "freight and freightAlias must be strings")
    if name and alias:
        raise errors.ApiError(400, "give freight or freightAlias, not both")
    if name:
        security.check_name(name, what="Freight name")
    if alias:
        security.check_name(alias, what="Freight alias")
    return name, alias


def _stage_write(
    request: Request, subject: access.Subject, project: str, stage: str, action: str
) -> None:
    security.check_name(project, what="project name")
    security.check_name(stage, what="Stage name")
    request.state.audit_project = project
    security.authorize(subject, RESOURCE, action, rbac_object(project, stage))


@router.post("/projects/{project}/stages/{stage}/promote")
async def promote(
    project: str, stage: str, request: Request, subject: access.Subject = security.Subject
) -> Obj:
    """Create a Promotion of the Freight (or the newest available one) to the Stage."""
    _stage_write(request, subject, project, stage, "promote")
    name, alias = await _freight_of(request)
    created: Obj = await _call(
        actions.promote(
            context.of(request).client,
            project,
            stage,
            freight_name=name,
            alias=alias,
            actor=f"user:{subject.username}",
        )
    )
    return created


@router.post("/projects/{project}/stages/{stage}/approve")
async def approve(
    project: str, stage: str, request: Request, subject: access.Subject = security.Subject
) -> Obj:
    """Approve the Freight for the Stage (it must be verified in one of its upstream Stages)."""
    _stage_write(request, subject, project, stage, "approve")
    name, alias = await _freight_of(request)
    if not name and not alias:
        raise errors.ApiError(400, "approve needs freight or freightAlias")
    approved: Obj = await _call(
        actions.approve(context.of(request).client, project, stage, freight_name=name, alias=alias)
    )
    return approved
