"""Streams of applications and of an application's resource tree, framed as Argo CD frames them.

Default framing is newline-delimited JSON, one ``{"result": ...}`` per line; with
``Accept: text/event-stream`` each message is ``data: {"result": ...}\\n\\n`` and an idle stream
gets a ``:`` comment line every keepalive interval. Every stream reads the server's one
Application watch (:class:`tidegate.api.hub.AppHub`) and filters it for its client (name,
projects, selector and the list's other filters, then the authorisation gate). An application's
event is only sent when its JSON differs from the last one sent for that name. A client that
falls behind is ended with an error message (it reconnects) rather than slowing the others.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import fastapi
import msgspec
from starlette.requests import Request
from starlette.responses import StreamingResponse

from tidegate.api import (
    app_namespaces,
    app_tree,
    applications,
    appstore,
    context,
    errors,
    hub,
    listing,
    security,
    tree_watch,
)
from tidegate.auth import access

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]
Many = Annotated[list[str] | None, fastapi.Query()]
SSE = "text/event-stream"
APPSET_READY_SECONDS = 30.0


Message = Obj | bytes  # a message, or its JSON already encoded


def _framing(request: Request) -> tuple[Callable[[bytes], bytes], bytes | None, str]:
    if SSE in request.headers.get("accept", ""):
        return (lambda m: b"data: " + m + b" \n\n"), b":\n", SSE
    return (lambda m: m + b"\n"), None, "application/json"


def _encoded(message: Message) -> bytes:
    return message if isinstance(message, bytes) else msgspec.json.encode(message)


def _lagging_error() -> Obj:
    return _error(503, 8, "stream client fell too far behind; reconnect")


def _error(http_code: int, grpc_code: int, message: str) -> Obj:
    """An error message inside a stream, as grpc-gateway frames one."""
    return {
        "error": {
            "grpc_code": grpc_code,
            "http_code": http_code,
            "message": message,
            "http_status": "Service Unavailable",
            "details": [],
        }
    }


async def _changes(
    ctx: context.ServerContext, sub: hub.Subscription, keepalive: float
) -> AsyncIterator[hub.Change | None]:
    """The hub's changes for ``sub``; ``None`` when the stream idled for ``keepalive`` seconds.
    Raises OverflowError when the subscriber was dropped."""
    while True:
        try:
            change = await asyncio.wait_for(sub.queue.get(), keepalive)
        except TimeoutError:
            yield None
            continue
        if change is None:
            raise OverflowError
        yield change


async def _tree_changes(
    sub: hub.Subscription, dest: tree_watch.DestinationWatch, keepalive: float
) -> AsyncIterator[hub.Change | bool | None]:
    """``True`` first (read the tree now), then the hub's changes for ``sub`` and ``True`` when
    the destination changed; ``None`` when idle for ``keepalive`` seconds. Raises OverflowError
    when the subscriber was dropped."""
    yield True
    while True:
        # The hub first: a chatty destination (Pods' status) must not starve the app's changes.
        if not sub.queue.empty():
            change = sub.queue.get_nowait()
            if change is None:
                raise OverflowError
            yield change
            continue
        if dest.changed.is_set():
            yield True
            continue
        from_hub = asyncio.ensure_future(sub.queue.get())
        from_dest = asyncio.ensure_future(dest.changed.wait())
        done, _ = await asyncio.wait(
            (from_hub, from_dest), timeout=keepalive, return_when=asyncio.FIRST_COMPLETED
        )
        from_dest.cancel()
        if from_hub in done:
            change = from_hub.result()
            if change is None:
                raise OverflowError
            yield change
            continue
        from_hub.cancel()
        # A change taken from the queue just as it was cancelled is not lost: cancel() of a
        # finished get has no effect and its result is read here.
        if from_hub.done() and not from_hub.cancelled():
            change = from_hub.result()
            if change is None:
                raise OverflowError
            yield change
            continue
        yield True if from_dest in done else None


def stream_response(request: Request, messages: AsyncIterator[Message | None]) -> StreamingResponse:
    encode, keepalive, media = _framing(request)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for message in messages:
                if message is None:
                    if keepalive is not None:
                        yield keepalive
                    continue
                yield encode(_encoded(message))
        except OverflowError:
            yield encode(_encoded(_lagging_error()))

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type=media, headers=headers)


@router.get("/api/v1/stream/applications", summary="Watch applications")
async def watch_applications(
    request: Request,
    subject: access.Subject = security.Subject,
    query: listing.Query = applications.AppQuery,
    resourceVersion: str = "",
    fields: Many = None,
) -> StreamingResponse:
    ctx = context.of(request)
    await applications.ready_hub(ctx)
    selected = list(fields or [])

    def visible(app: Obj) -> bool:
        return query.matches(app) and applications.allowed(subject, app, ctx.namespace)

    async def messages() -> AsyncIterator[Message | None]:
        last: dict[str, bytes] = {}

        def message(kind: str, app: Obj, encoded: bytes) -> Message | None:
            app_name = ctx.hub.key(app)
            if kind != "DELETED" and last.get(app_name) == encoded:
                return None
            if kind == "DELETED":
                last.pop(app_name, None)
            else:
                last[app_name] = encoded
            if selected:
                out = {"result": {"type": kind, "application": app}}
                return listing.select_fields(out, selected)  # type: ignore[no-any-return]
            head = b'{"result":{"type":"' + kind.encode() + b'","application":'
            return head + encoded + b"}}"

        with ctx.hub.subscribe() as sub:
            if not resourceVersion or query.name:
                for app in list(ctx.hub.sorted_apps()):
                    if not visible(app):
                        continue
                    encoded = ctx.hub.encoded.get(ctx.hub.key(app)) or msgspec.json.encode(app)
                    if (m := message("ADDED", app, encoded)) is not None:
                        yield m
            async for change in _changes(ctx, sub, ctx.keepalive_seconds):
                if change is None:
                    yield None
                elif visible(change.app) and (
                    m := message(change.type, change.app, change.encoded)
                ):
                    yield m

    return stream_response(request, messages())


@router.get(
    "/api/v1/stream/applications/{name}/resource-tree", summary="Watch an application's tree"
)
async def watch_resource_tree(
    request: Request, name: str, subject: access.Subject = security.Subject, appNamespace: str = ""
) -> StreamingResponse:
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, appNamespace)
    key = ctx.hub.key(app)  # <namespace>/<name> outside the control namespace

    async def messages() -> AsyncIterator[Message | None]:
        # The app's changes (the hub) and its destination's (Pods, ReplicaSets... come and go
        # without the app changing: tree_watch) both make the tree be read again.
        dest = tree_watch.DestinationWatch(key)
        try:
            with ctx.hub.subscribe() as sub:
                current = ctx.hub.apps.get(key) or app
                await dest.follow(ctx, current)
                last = ""
                async for change in _tree_changes(sub, dest, ctx.keepalive_seconds):
                    if change is None:
                        yield None
                        continue
                    if isinstance(change, hub.Change):
                        if ctx.hub.key(change.app) != key:
                            continue
                        if change.type == "DELETED":
                            return
                        current = change.app
                        await dest.follow(ctx, current)
                    dest.changed.clear()
                    tree, _ = await app_tree.live_tree(ctx, current)
                    text = json.dumps(tree, sort_keys=True)
                    if text != last:
                        last = text
                        yield {"result": tree}
        finally:
            dest.close()

    return stream_response(request, messages())


@router.get(
    "/api/v1/stream/applicationsets",
    summary="Watch ApplicationSets",
    tags=["ApplicationSetService"],
)
async def watch_applicationsets(
    request: Request,
    subject: access.Subject = security.Subject,
    name: str = "",
    projects: Many = None,
    selector: str = "",
) -> StreamingResponse:
    """``{"result": {"type", "applicationSet"}}`` messages: every matching set as ADDED, then
    changes. ApplicationSets are few: each stream runs its own watch (a hub of its own)."""
    ctx = context.of(request)
    try:
        query = listing.Query.build(name=name, selector=selector)
    except listing.QueryError as exc:
        raise errors.ApiError(400, str(exc)) from None
    wanted_projects = set(listing.Query.build(projects=projects or ()).projects)

    def visible(appset: Obj) -> bool:
        template = ((appset.get("spec") or {}).get("template") or {}).get("spec") or {}
        project = str(template.get("project") or "")
        if wanted_projects and project not in wanted_projects:
            return False
        if not query.matches(appset):
            return False
        appset_name = str((appset.get("metadata") or {}).get("name") or "")
        try:
            security.authorize(subject, "applicationsets", "get", f"{project}/{appset_name}")
        except access.PermissionDeniedError:
            return False
        return True

    appsets = hub.AppHub(ctx.client, ctx.namespace, appstore.APPSETS)

    def message(kind: str, appset: Obj) -> Message:
        return {"result": {"type": kind, "applicationSet": appset}}

    async def messages() -> AsyncIterator[Message | None]:
        appsets.start()
        try:
            try:
                await asyncio.wait_for(appsets.ready.wait(), APPSET_READY_SECONDS)
            except TimeoutError:
                yield _error(503, 14, "cannot list ApplicationSets; try again")
                return
            # No await between subscribing and the snapshot: nothing falls in between.
            with appsets.subscribe() as sub:
                for appset in list(appsets.sorted_apps()):
                    if visible(appset):
                        yield message("ADDED", appset)
                async for change in _changes(ctx, sub, ctx.keepalive_seconds):
                    if change is None:
                        yield None
                    elif visible(change.app):
                        yield message(change.type, change.app)
        finally:
            await appsets.stop()

    return stream_response(request, messages())
