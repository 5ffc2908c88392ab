"""SessionService: ``POST /api/v1/session`` (log in), ``DELETE`` (log out), ``GET .../userinfo``.

Login checks the account's bcrypt hash in ``argocd-secret`` (``admin`` or a local account of
``argocd-cm`` with the ``login`` capability, enabled); a wrong password and an
unknown user get the same answer (401 ``Invalid username or password``) after the same bcrypt
work. The token is returned in the body and set as the ``argocd.token`` cookie (HttpOnly,
SameSite=Lax, Secure unless the server runs ``--insecure``). Logs name the user, never a secret.
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

import fastapi
from starlette.requests import Request
from starlette.responses import JSONResponse

from tidegate.api import context, errors, security
from tidegate.auth import access, passwords, tokens

log = logging.getLogger(__name__)
router = fastapi.APIRouter(tags=["SessionService"])
open_router = fastapi.APIRouter(tags=["SessionService"])
ADMIN = "admin"
BAD_CREDENTIALS = "Invalid username or password"


def _cookie(response: JSONResponse, token: str, *, secure: bool, max_age: int | None) -> None:
    response.set_cookie(
        security.COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=secure,
        samesite="lax",
    )


@open_router.post("/api/v1/session", summary="Create a session token (log in)")
async def create_session(request: Request) -> JSONResponse:
    body = await security.json_object(request)
    if "token" in body:
        raise errors.ApiError(400, "logging in with a token is not supported; send username")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not password:
        raise errors.ApiError(401, BAD_CREDENTIALS)
    if len(username.encode()) > passwords.MAX_USERNAME_BYTES:
        raise errors.ApiError(401, BAD_CREDENTIALS)
    request.state.actor = username  # for the audit log
    ctx = context.of(request)
    book = await ctx.accounts.load(ctx)
    account = book.accounts.get(username)
    known = (
        account is not None
        and account.enabled
        and tokens.LOGIN_CAPABILITY in account.capabilities
        and account.password_hash is not None
    )
    clock = time.monotonic()
    if ctx.login_failures.blocked(username, clock):
        passwords.verify_password(password, None)  # the same work as any other refusal
        request.state.audit_reason = "locked out after too many failed logins"
        log.warning(
            "login refused for user %r: too many failures", username, extra={"user": username}
        )
        raise errors.ApiError(401, BAD_CREDENTIALS)
    if not passwords.verify_password(
        password, account.password_hash if known and account else None
    ):
        ctx.login_failures.failed(username, clock)
        log.info("login refused for user %r", username[:32], extra={"user": username[:32]})
        raise errors.ApiError(401, BAD_CREDENTIALS)
    ctx.login_failures.succeeded(username)
    now = datetime.datetime.now(datetime.UTC)
    token = tokens.issue(username, book.signing_key, now=now)
    log.info("login of user %r", username, extra={"user": username})
    response = JSONResponse({"token": token})
    lifetime = int(tokens.SESSION_LIFETIME.total_seconds())
    _cookie(response, token, secure=not ctx.insecure, max_age=lifetime)
    return response


@router.delete("/api/v1/session", summary="Delete the session (log out)")
async def delete_session(request: Request) -> JSONResponse:
    response = JSONResponse({"token": ""})
    _cookie(response, "", secure=not context.of(request).insecure, max_age=0)
    return response


@router.get("/api/v1/session/userinfo", summary="The logged-in user")
async def userinfo(subject: access.Subject = security.Subject) -> dict[str, Any]:
    return {
        "loggedIn": True,
        "username": subject.username,
        "iss": "" if subject.external else tokens.ISSUER,
        "groups": list(subject.groups),
    }
