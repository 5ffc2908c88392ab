"""Records requests in the audit log (:mod:`tidegate.store.audit`): every state-changing
request (``POST``/``PUT``/``PATCH``/``DELETE`` under ``/api/``, logins included) and every
refused one (403, and 401 when the caller could be named, e.g. a revoked token).

An ASGI middleware: it names the object from the path (the project of an application from the
server's in-memory copy, read before the handler runs, or from the refusal message), takes the
actor from the authenticated subject (or the login's user name), and writes the entry *before*
the last byte of the response goes out, so a client that got its answer finds the entry. The
entry holds no body, token or password: only names, the result and the error message.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidegate.api import app_events, context
from tidegate.store import audit

log = logging.getLogger(__name__)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KINDS = {
    "applications": "Application",
    "applicationsets": "ApplicationSet",
    "projects": "AppProject",
    "clusters": "Cluster",
    "repositories": "Repository",
    "account": "Account",
    "session": "Session",
    "settings": "Settings",
    "audit": "AuditLog",
}
_DENIED = re.compile(r"^permission denied: ([\w-]+), ([^,]+), (.*)$")
_SUB_ACTIONS = {"sync": "sync", "rollback": "rollback", "operation": "terminate-op"}
_METHOD_ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
MAX_CAPTURE = 64 * 1024


def describe(method: str, path: str) -> tuple[str, str, str]:
    """(action, kind, name) of a request, from its method and path. Pure."""
    parts = [p for p in path.split("/") if p][2:]  # drop 'api', 'v1'
    collection = parts[0] if parts else ""
    name = parts[1] if len(parts) > 1 else ""
    sub = parts[2] if len(parts) > 2 else ""
    kind = KINDS.get(collection, collection)
    if collection == "session":
        return (
            ("login" if method == "POST" else "logout" if method == "DELETE" else "get"),
            kind,
            "",
        )
    if collection == "account":
        if name == "password":
            return "update-password", kind, ""
        if sub == "token":
            return ("create-token" if method == "POST" else "delete-token"), kind, name
    if collection == "promotion" and len(parts) == 6 and parts[3] == "stages":
        # /api/v1/promotion/projects/<project>/stages/<stage>/<promote|approve>
        return (parts[5] if method != "GET" else "get"), "Stage", parts[4]
    if sub in _SUB_ACTIONS and method != "GET":
        return _SUB_ACTIONS[sub], kind, name
    if collection == "applications" and sub == "resource" and method in WRITE_METHODS:
        # One of the app's resources, not the app: .../resource (patch, delete) and
        # .../resource/actions[/v2] (run an action).
        if len(parts) > 3 and parts[3] == "actions":
            return "run-action", kind, name
        return ("delete-resource" if method == "DELETE" else "patch-resource"), kind, name
    return _METHOD_ACTIONS.get(method, "get"), kind, name


def _result(status: int) -> str:
    if status in (401, 403):
        return "denied"
    return "succeeded" if status < 400 else "failed"


class AuditTrail:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/api/v1/"):
            await self.app(scope, receive, send)
            return
        ctx: context.ServerContext = scope["app"].state.ctx
        method = str(scope.get("method", "GET"))
        action, kind, name = describe(method, path)
        project = ""
        if kind == "Application" and name:
            before = ctx.hub.apps.get(name) or {}  # a deleted app's Event names it from this
            scope.setdefault("state", {})["app_before"] = before
            project = str((before.get("spec") or {}).get("project") or "")
        status = 0
        captured = bytearray()
        done = False

        async def sending(message: Message) -> None:
            nonlocal status, done
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not done:
                if len(captured) < MAX_CAPTURE:
                    captured.extend(message.get("body", b"")[: MAX_CAPTURE - len(captured)])
                if not message.get("more_body", False):
                    done = True
                    await self._record(
                        scope, ctx, method, action, kind, name, project, status, bytes(captured)
                    )
            await send(message)

        await self.app(scope, receive, sending)

    async def _record(
        self,
        scope: Scope,
        ctx: context.ServerContext,
        method: str,
        action: str,
        kind: str,
        name: str,
        project: str,
        status: int,
        body: bytes,
    ) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        subject = state.get("subject")
        actor = subject.username if subject is not None else str(state.get("actor") or "")
        groups = tuple(subject.groups) if subject is not None else ()
        refused = status in (401, 403)
        if method not in WRITE_METHODS and not (refused and (actor or status == 403)):
            return
        project = project or str(state.get("audit_project") or "")
        reason = namespace = ""
        found: dict[str, Any] = {}
        if status >= 400:
            reason = _message(body)
            denied = _DENIED.match(reason)
            if denied and "/" in denied.group(3) and kind in ("Application", "ApplicationSet"):
                project, _, rest = denied.group(3).partition("/")
                name = name or rest.rpartition("/")[2]
        elif kind != "Session":
            found = _json(body)
            meta = _dict(found.get("metadata"))
            spec = _dict(found.get("spec"))
            name = name or str(meta.get("name") or "")
            project = project or str(spec.get("project") or "")
            namespace = str(meta.get("namespace") or "")
        client = scope.get("client")
        entry = audit.Entry(
            actor=actor,
            groups=groups,
            client=str(client[0]) if client else "",
            action=action,
            kind=kind,
            project=project,
            name=name,
            namespace=namespace,
            result=_result(status),
            reason=str(state.get("audit_reason") or "") or reason,
        )
        await write(ctx, entry)
        if kind == "Application" and entry.result == "succeeded" and method in WRITE_METHODS:
            app = found if action != "delete" else dict(state.get("app_before") or {})
            event = app_events.app_event(
                action,
                str(scope.get("path", "")),
                app,
                actor=actor,
                now=datetime.datetime.now(datetime.UTC),
            )
            if event is not None:
                await app_events.emit(ctx.client, event)


async def write(ctx: context.ServerContext, entry: audit.Entry) -> None:
    """Append ``entry`` to the server's audit log (when it keeps one); a failing store is
    logged, never raised: it must not hide the answer."""
    if ctx.audit is None:
        return
    try:
        await asyncio.to_thread(ctx.audit.append, entry)
    except Exception as exc:
        log.error(
            "audit entry not written (%s %s by %r): %s", entry.action, entry.name, entry.actor, exc
        )


def _json(body: bytes) -> dict[str, Any]:
    try:
        found = json.loads(body)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _message(body: bytes) -> str:
    return str(_json(body).get("message") or "")[:2000]
