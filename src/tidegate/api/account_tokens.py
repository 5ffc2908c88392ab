"""AccountService beyond the password: list and get accounts, ``can-i``, and API tokens.

- ``GET /api/v1/account``: the accounts the caller may ``accounts, get``;
- ``GET /api/v1/account/{name}``: ``accounts, get, <name>``;
- ``GET /api/v1/account/can-i/{resource}/{action}/{subresource}``: ``yes``/``no`` for the caller;
- ``POST /api/v1/account/{name}/token`` ``{expiresIn, id}`` and
  ``DELETE /api/v1/account/{name}/token/{id}``: own account, else ``accounts, update, <name>``.

Tokens are stored as Argo CD stores them: ``<prefix>.tokens`` of ``argocd-secret``, a JSON list
of ``{id, iat, exp}``; the token itself is returned once and never stored. Deleting the entry
revokes it at once (:func:`tidegate.auth.accounts.check_claims` runs on every request).
"""

from __future__ import annotations

import datetime
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import context, errors, security
from tidegate.auth import access, accounts, tokens

log = logging.getLogger(__name__)
router = fastapi.APIRouter(tags=["AccountService"])
_TOKEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


async def _account(request: Request, name: str) -> accounts.Account:
    ctx = context.of(request)
    found = (await ctx.accounts.load(ctx)).accounts.get(name)
    if found is None:
        raise errors.ApiError(404, f"account {name[:64]!r} not found")
    return found


def _may_update(subject: access.Subject, name: str) -> None:
    if name != subject.username:
        security.authorize(subject, "accounts", "update", name)


@router.get("/api/v1/account", summary="List accounts")
async def list_accounts(request: Request, subject: access.Subject = security.Subject) -> Any:
    ctx = context.of(request)
    book = await ctx.accounts.load(ctx)
    items = [
        a.api_json()
        for name, a in sorted(book.accounts.items())
        if access.allowed(subject, "accounts", "get", name)
    ]
    return {"items": items}


@router.get(
    "/api/v1/account/can-i/{resource}/{action}/{subresource:path}",
    summary="Whether the caller may do something",
)
async def can_i(
    resource: str, action: str, subresource: str, subject: access.Subject = security.Subject
) -> Any:
    try:
        yes = access.allowed(subject, resource, action, subresource)
    except ValueError as exc:
        raise errors.ApiError(400, str(exc)) from None
    return {"value": "yes" if yes else "no"}


@router.get("/api/v1/account/{name}", summary="Get an account")
async def get_account(
    request: Request, name: str, subject: access.Subject = security.Subject
) -> Any:
    security.authorize(subject, "accounts", "get", name)
    return (await _account(request, name)).api_json()


def _expires_in(body: Mapping[str, Any]) -> int:
    raw = body.get("expiresIn", 0)
    try:
        seconds = int(raw or 0)
    except (TypeError, ValueError):
        raise errors.ApiError(400, "expiresIn must be a number of seconds") from None
    if seconds < 0:
        raise errors.ApiError(400, "expiresIn must not be negative")
    return seconds


@router.post("/api/v1/account/{name}/token", summary="Create an API token")
async def create_token(
    request: Request, name: str, subject: access.Subject = security.Subject
) -> Any:
    _may_update(subject, name)
    body = await security.json_object(request)
    account = await _account(request, name)
    if tokens.API_KEY_CAPABILITY not in account.capabilities:
        raise errors.ApiError(400, f"account {name!r} does not have the apiKey capability")
    seconds = _expires_in(body)
    token_id = str(body.get("id") or uuid.uuid4())
    if not _TOKEN_ID.match(token_id):
        raise errors.ApiError(400, "id must be 1-128 characters of [A-Za-z0-9._-]")
    if any(t.id == token_id for t in account.tokens):
        raise errors.ApiError(409, f"account {name!r} already has a token with id {token_id!r}")
    ctx = context.of(request)
    key = (await ctx.accounts.load(ctx)).signing_key
    now = datetime.datetime.now(datetime.UTC)
    token = tokens.issue(
        name,
        key,
        now=now,
        lifetime=datetime.timedelta(seconds=seconds),
        capability=tokens.API_KEY_CAPABILITY,
        token_id=token_id,
    )
    iat = int(now.timestamp())
    entry = accounts.TokenEntry(token_id, iat, iat + seconds if seconds else 0)
    field = f"{account.secret_prefix}.tokens"

    def add(data: Mapping[str, bytes]) -> dict[str, bytes]:
        current = accounts.parse_tokens(data.get(field))
        if any(t.id == token_id for t in current):
            raise errors.ApiError(409, f"account {name!r} already has a token {token_id!r}")
        return {field: accounts.encode_tokens([*current, entry])}

    await ctx.accounts.update_secret(ctx, add)
    log.info("API token %r created for account %r", token_id, name, extra={"user": name})
    return {"token": token}


@router.delete("/api/v1/account/{name}/token/{token_id}", summary="Delete an API token")
async def delete_token(
    request: Request, name: str, token_id: str, subject: access.Subject = security.Subject
) -> Any:
    _may_update(subject, name)
    account = await _account(request, name)
    field = f"{account.secret_prefix}.tokens"
    if not any(t.id == token_id for t in account.tokens):
        raise errors.ApiError(404, f"account {name!r} has no token {token_id[:64]!r}")

    def remove(data: Mapping[str, bytes]) -> dict[str, bytes]:
        kept = [t for t in accounts.parse_tokens(data.get(field)) if t.id != token_id]
        return {field: accounts.encode_tokens(kept)}

    ctx = context.of(request)
    await ctx.accounts.update_secret(ctx, remove)
    log.info("API token %r of account %r deleted", token_id, name, extra={"user": name})
    return {}
