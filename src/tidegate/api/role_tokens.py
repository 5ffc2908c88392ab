"""ProjectService's role tokens: ``POST /api/v1/projects/{project}/roles/{role}/token``
(``{expiresIn, id}`` → ``{token}``) and ``DELETE .../token/{iat}?id=`` (revoke).

Needs ``projects, update, <project>``. The token (subject ``proj:<project>:<role>``) is returned
once; its ``{id, iat, exp}`` goes to ``status.jwtTokensByRole.<role>.items`` of the AppProject
(written with the version read). Deleting the entry revokes it: this server forgets it at
once, other servers at their next project re-read (2 s).
"""

from __future__ import annotations

import copy
import datetime
import re
import uuid
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import appstore, context, errors, security
from tidegate.auth import access, tokens

router = fastapi.APIRouter(tags=["ProjectService"])
_TOKEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
Obj = dict[str, Any]


def _items(project: Obj, role: str) -> list[Obj]:
    status = project.setdefault("status", {}) or {}
    project["status"] = status
    by_role = status.setdefault("jwtTokensByRole", {}) or {}
    status["jwtTokensByRole"] = by_role
    entry = by_role.setdefault(role, {}) or {}
    by_role[role] = entry
    items: list[Obj] = entry.setdefault("items", []) or []
    entry["items"] = items
    return items


async def _project_with_role(request: Request, project: str, role: str) -> appstore.ObjectStore:
    security.check_name(project, what="project")
    ctx = context.of(request)
    store = appstore.ObjectStore(ctx.client, ctx.namespace, appstore.PROJECTS)
    found = await store.get(project)
    roles = (found.get("spec") or {}).get("roles") or []
    if not any(isinstance(r, dict) and r.get("name") == role for r in roles):
        raise errors.ApiError(404, f"project {project!r} has no role {role[:64]!r}")
    return store


@router.post("/api/v1/projects/{project}/roles/{role}/token", summary="Create a role token")
async def create_role_token(
    request: Request, project: str, role: str, subject: access.Subject = security.Subject
) -> Any:
    security.authorize(subject, "projects", "update", project)
    body = await security.json_object(request)
    store = await _project_with_role(request, project, role)
    try:
        seconds = int(body.get("expiresIn") or 0)
    except (TypeError, ValueError):
        raise errors.ApiError(400, "expiresIn must be a number of seconds") from None
    if seconds < 0:
        raise errors.ApiError(400, "expiresIn must not be negative")
    token_id = str(body.get("id") or uuid.uuid4())
    if not _TOKEN_ID.match(token_id):
        raise errors.ApiError(400, "id must be 1-128 characters of [A-Za-z0-9._-]")
    ctx = context.of(request)
    key = (await ctx.accounts.load(ctx)).signing_key
    now = datetime.datetime.now(datetime.UTC)
    iat = int(now.timestamp())
    entry: Obj = {"iat": iat, "id": token_id}
    if seconds:
        entry["exp"] = iat + seconds

    def add(current: Obj) -> Obj:
        changed = copy.deepcopy(current)
        items = _items(changed, role)
        if any(i.get("id") == token_id for i in items):
            raise errors.ApiError(409, f"role {role!r} already has a token with id {token_id!r}")
        items.append(entry)
        return changed

    updated = await store.update(project, add)
    ctx.policy.projects = {**ctx.policy.projects, project: updated}
    token = tokens.issue(
        f"proj:{project}",
        key,
        now=now,
        lifetime=datetime.timedelta(seconds=seconds),
        capability=role,
        token_id=token_id,
    )
    return {"token": token}


@router.delete("/api/v1/projects/{project}/roles/{role}/token/{iat}", summary="Delete a token")
async def delete_role_token(
    request: Request,
    project: str,
    role: str,
    iat: int,
    id: str = "",
    subject: access.Subject = security.Subject,
) -> Any:
    security.authorize(subject, "projects", "update", project)
    store = await _project_with_role(request, project, role)

    def remove(current: Obj) -> Obj:
        changed = copy.deepcopy(current)
        items = _items(changed, role)
        kept = [i for i in items if not (i.get("iat") == iat and (not id or i.get("id") == id))]
        if len(kept) == len(items):
            raise errors.ApiError(404, f"role {role!r} has no token issued at {iat}")
        items[:] = kept
        for r in (changed.get("spec") or {}).get("roles") or []:
            if r.get("name") == role and r.get("jwtTokens"):
                r["jwtTokens"] = [t for t in r["jwtTokens"] if t.get("iat") != iat]
        return changed

    updated = await store.update(project, remove)
    ctx = context.of(request)
    ctx.policy.projects = {**ctx.policy.projects, project: updated}
    return {}
