"""ApplicationService: resource actions (``/api/v1/applications/{name}/resource/actions``).

``GET`` lists the actions offered for one resource of the app (``{actions: [ResourceAction]}``),
``POST`` runs one: the deprecated form takes the resource in the query and the action name as
the body (a JSON string, grpc-gateway's ``body: "action"``), ``POST .../actions/v2`` takes
everything in the body (``resourceActionParameters`` too). Built-in actions and argocd-cm's
Lua actions, through :mod:`tidegate.controller.resource_actions` (what ``tidegate app actions``
runs). Only the app's own resources (its ``status.resources``) are reachable; RBAC
``applications, action/<group>/<kind>/<action>, <project>/<app>``. A script that fails, an
action that is not offered or is disabled: 400 and nothing changes. An app outside the control
namespace is named with ``appNamespace`` (the query's; v2: the body's, else the query's), RBAC on
``<project>/<namespace>/<app>`` (:mod:`.app_namespaces`).

The reply is Argo CD's ``{}``; Tidegate adds the header ``Tidegate-Action-Result`` with what
changed (``KIND/NAME patched|unchanged|created``, comma-separated: the lines the direct
``tidegate app actions run`` prints), and names the action in the audit entry's reason
(``<action> on <group>/<kind> <namespace>/<name>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import (
    app_namespaces,
    app_operations,
    app_resources,
    context,
    errors,
    security,
)
from tidegate.auth import access
from tidegate.controller import resource_actions
from tidegate.lua import actions as lua_actions
from tidegate.model import constants

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]
ACTIONS_PATH = "/api/v1/applications/{name}/resource/actions"
V2_FIELDS = frozenset(
    {
        "name",
        "namespace",
        "resourceName",
        "version",
        "group",
        "kind",
        "action",
        "appNamespace",
        "project",
        "resourceActionParameters",
    }
)


async def _live(
    request: Request, name: str, target: app_resources.Target, app: Obj
) -> tuple[resource_actions.Live, Any]:
    """The live object ``target`` names (it must be the app's) and the action registry."""
    version = app_resources.member(app, name, target) or ""
    ctx = context.of(request)
    actions = await resource_actions.registry(ctx.client, ctx.namespace)
    async with app_resources.destination(request, app) as (_, client):
        obj = await client.get(target.key, version=version or None)
    return resource_actions.Live(target.key, version, obj), actions


@router.get(ACTIONS_PATH, summary="The actions offered for one resource of the app")
async def list_actions(
    request: Request,
    name: str,
    target: app_resources.Target = fastapi.Depends(),
    appNamespace: str = "",
    subject: access.Subject = security.Subject,
) -> Obj:
    app = await app_namespaces.authorized(context.of(request), subject, name, appNamespace)
    live, actions = await _live(request, name, target, app)
    return {"actions": resource_actions.offered(actions, live.obj)}


async def _run(
    request: Request,
    response: fastapi.Response,
    name: str,
    target: app_resources.Target,
    action: str,
    params: Mapping[str, str],
    subject: access.Subject,
    app_namespace: str,
) -> Obj:
    if not action:
        raise errors.ApiError(400, "the action name is required")
    k = target.key
    rbac_action = f"action/{k.group}/{k.kind}/{action}"
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, app_namespace, rbac_action)
    live, actions = await _live(request, name, target, app)
    try:
        planned = resource_actions.plan(actions, [live], action, params)
    except lua_actions.ActionError as exc:
        raise errors.ApiError(400, f"application {name}: {exc}") from None
    async with app_resources.destination(request, app) as (_, client):
        done = await resource_actions.apply(client, planned)
    response.headers[constants.HEADER_ACTION_RESULT] = ", ".join(done)
    where = f"{k.namespace}/{k.name}" if k.namespace else k.name
    request.state.audit_reason = f"{action} on {k.group}/{k.kind} {where}"
    return {}


@router.post(ACTIONS_PATH, summary="Run an action on one resource of the app (body: its name)")
async def run_action(
    request: Request,
    response: fastapi.Response,
    name: str,
    target: app_resources.Target = fastapi.Depends(),
    appNamespace: str = "",
    subject: access.Subject = security.Subject,
) -> Obj:
    body = await security.json_body(request)
    if isinstance(body, dict):  # tolerate {"action": "..."} as well as Argo CD's bare string
        body = body.get("action")
    if not isinstance(body, str):
        raise errors.ApiError(400, "the body must be the action name, as a JSON string")
    return await _run(request, response, name, target, body, {}, subject, appNamespace)


def _parameters(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise errors.ApiError(400, "resourceActionParameters must be a list of {name, value}")
    params = {}
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise errors.ApiError(400, "each resourceActionParameter needs a name")
        if set(item) - {"name", "value"}:
            raise errors.ApiError(400, "a resourceActionParameter has only name and value")
        params[item["name"]] = str(item.get("value") or "")
    return params


@router.post(ACTIONS_PATH + "/v2", summary="Run an action on one resource of the app")
async def run_action_v2(
    request: Request,
    response: fastapi.Response,
    name: str,
    subject: access.Subject = security.Subject,
    appNamespace: str = "",
) -> Obj:
    body = await security.json_object(request)
    app_operations.check_fields(body, V2_FIELDS)
    fields = {}
    for key in ("resourceName", "kind", "namespace", "group", "version", "action", "appNamespace"):
        value = body.get(key) or ""
        if not isinstance(value, str):
            raise errors.ApiError(400, f"field {key!r} must be a string")
        fields[key] = value
    action = fields.pop("action")
    app_namespace = fields.pop("appNamespace") or appNamespace
    target = app_resources.Target(**fields)
    params = _parameters(body.get("resourceActionParameters"))
    return await _run(request, response, name, target, action, params, subject, app_namespace)
