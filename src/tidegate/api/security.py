"""The doors of the API: authentication, the authorisation gate, the CSRF content-type guard,
bounded JSON bodies and safe path parameters.

Tokens are read as Argo CD reads them: ``Authorization: Bearer <jwt>``, else the
``argocd.token`` cookie (also in its chunked form ``<count>:<part0>`` + ``argocd.token-N``).
Every router is mounted with :data:`AUTHENTICATED` except the open routes (``/healthz``,
``/api/version``, ``/swagger.json``, ``POST /api/v1/session``); handlers then call
:func:`authorize` with Argo CD's RBAC vocabulary.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import fastapi
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tidegate.api import context, errors
from tidegate.auth import access, accounts, oidc, project_roles, tokens
from tidegate.controller import webhook_server
from tidegate.model import errors as tg_errors

COOKIE = "argocd.token"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALLOWED_CONTENT_TYPES = frozenset({"application/json"})
URL_PATHS = ("/api/v1/clusters/", "/api/v1/repositories/", "/api/v1/repocreds/")  # take URLs
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def token_of(conn: HTTPConnection) -> str | None:
    auth = conn.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = conn.cookies.get(COOKIE)
    if not cookie:
        return None
    count, sep, first = cookie.partition(":")
    if sep and count.isdigit() and 1 < int(count) <= 20:
        parts = [first] + [conn.cookies.get(f"{COOKIE}-{i}", "") for i in range(1, int(count))]
        return "".join(parts)
    return cookie


async def subject_of(conn: HTTPConnection) -> access.Subject:
    """The verified subject of the request's token; 401 when there is none or it is invalid."""
    token = token_of(conn)
    if token is None:
        raise errors.ApiError(401, "no session information")
    ctx = context.of(conn)
    issuer = oidc.unverified_issuer(token)
    if issuer and issuer != tokens.ISSUER:  # an identity provider's ID token (SSO)
        return await ctx.sso.subject(conn, token)
    book = await ctx.accounts.load(ctx)
    claims = tokens.verify(token, book.signing_key, now=datetime.datetime.now(datetime.UTC))
    if claims.subject.startswith("proj:"):
        reason = project_roles.check_role_token(ctx.policy.projects, claims)
        if reason is not None:
            conn.scope.setdefault("state", {})["actor"] = claims.subject
            raise errors.ApiError(401, f"invalid session: {reason}")
        return access.Subject(claims.subject, claims.subject, policy=ctx.policy)
    reason = accounts.check_claims(book.accounts.get(claims.username), claims)
    if reason is not None:
        conn.scope.setdefault("state", {})["actor"] = claims.username  # signed by us: audit it
        raise errors.ApiError(401, f"invalid session: {reason}")
    return access.Subject(claims.username, claims.subject, policy=ctx.policy)


async def _authenticated(request: Request) -> access.Subject:
    subject = await subject_of(request)
    request.state.subject = subject
    return subject


AUTHENTICATED = fastapi.Depends(_authenticated)
Subject = fastapi.Depends(_authenticated)  # the verified subject, as a handler parameter


def authorize(subject: access.Subject, resource: str, action: str, obj: str) -> None:
    """The one gate every handler passes before it reads or writes (403 when refused)."""
    access.authorize(subject, resource, action, obj)


def check_name(value: str, *, what: str = "name") -> str:
    """A Kubernetes object name from a path or body; 400 for '/', '..' or other bad names."""
    if not _NAME.match(value) or ".." in value:
        shown = value[:80]
        raise errors.ApiError(
            400, f"invalid {what} {shown!r}: must be a lowercase RFC 1123 name (no '/' or '..')"
        )
    return value


async def json_body(request: Request) -> Any:
    """The request body as JSON, bounded by the server's limit (413) and well-formed (400)."""
    limit = context.of(request).max_body_bytes
    try:
        raw = await webhook_server.read_body(
            request.headers.get("content-length"), request.stream(), limit=limit
        )
    except tg_errors.WebhookPayloadTooLargeError:
        raise errors.ApiError(413, f"request body exceeds the limit of {limit} bytes") from None
    except tg_errors.WebhookPayloadError:
        raise errors.ApiError(400, "request body is incomplete or has a bad length") from None
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        where = f" at line {exc.lineno} column {exc.colno}"
        raise errors.ApiError(400, f"request body is not valid JSON{where}: {exc.msg}") from None
    except (ValueError, RecursionError):
        raise errors.ApiError(400, "request body is not valid JSON") from None


async def json_object(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise errors.ApiError(400, "request body must be a JSON object")
    return body


class Guard:
    """ASGI middleware: writes under ``/api/`` must be ``application/json`` (415 otherwise, as
    Argo CD's CSRF guard answers), and encoded slashes in path parameters are refused (400)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/api/"):
            refusal = self._refusal(scope)
            if refusal is not None:
                status, message = refusal
                await errors.response(status, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(scope: Scope) -> tuple[int, str] | None:
        raw = bytes(scope.get("raw_path") or b"").lower()
        path = str(scope.get("path", ""))
        if b"%2f" in raw and not path.startswith(URL_PATHS):
            return 400, "path parameters must not contain '/'"
        if scope.get("method") in WRITE_METHODS:
            headers = dict(scope.get("headers") or [])
            ctype = headers.get(b"content-type", b"").decode("latin-1")
            media = ctype.split(";", 1)[0].strip().lower()
            if media not in ALLOWED_CONTENT_TYPES:
                return 415, "Invalid content type"
        return None
