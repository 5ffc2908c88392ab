"""``GET /api/v1/applications/{name}/logs``: Argo CD's PodLogs over the app's resources (the
pods that ``group``/``kind``/``resourceName``/``namespace`` select, or all of the app's), as a
stream of ``{"result": LogEntry}`` messages, the last one with ``last: true``.

The pod choice and the line filters (``filter``, ``matchCase``, ``untilTime``) are
:mod:`tidegate.controller.app_pods`, the same as ``tidegate app logs --core``; the pods are
read one after the other, or all at once with ``follow``. RBAC: ``logs, get`` on the app's
object, as Argo CD. Argo CD's ``podName`` narrows to one pod of the app; ``appNamespace`` names
an app outside the control namespace (:mod:`.app_namespaces`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import fastapi
from starlette.requests import Request
from starlette.responses import StreamingResponse

from tidegate.api import app_namespaces, app_resources, context, errors, security, streams
from tidegate.auth import access
from tidegate.controller import app_pods
from tidegate.model import errors as tg_errors

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]


@router.get("/api/v1/applications/{name}/logs", summary="Logs of the app's pods")
async def app_logs(
    request: Request,
    name: str,
    namespace: str = "",
    podName: str = "",
    container: str = "",
    follow: bool = False,
    tailLines: int | None = None,
    sinceSeconds: int | None = None,
    untilTime: str = "",
    filter: str = "",
    matchCase: bool = False,
    kind: str = "",
    group: str | None = None,
    resourceName: str = "",
    previous: bool = False,
    appNamespace: str = "",
    subject: access.Subject = security.Subject,
) -> StreamingResponse:
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, appNamespace, "get", "logs")
    if container:
        security.check_name(container, what="container")
    try:
        until = app_pods.parse_time(untilTime) if untilTime else None
    except tg_errors.ConfigError as exc:
        raise errors.ApiError(400, str(exc)) from None
    sel = app_pods.Selector(group, kind or None, resourceName or None, namespace or None)
    wanted = app_pods.selected((app.get("status") or {}).get("resources") or [], sel)
    query = app_pods.LogQuery(container, follow, tailLines, sinceSeconds, previous)
    stack = contextlib.AsyncExitStack()
    try:
        _, client = await stack.enter_async_context(app_resources.destination(request, app))
        pods = [p for p in await app_pods.pods_of(client, wanted)
                if not podName or p["metadata"]["name"] == podName]  # fmt: skip
    except BaseException:
        await stack.aclose()
        raise

    async def one(pod: Obj, out: asyncio.Queue[Obj | None]) -> None:
        pod_name = str(pod["metadata"]["name"])
        async for stamp, content in app_pods.lines(client, pod, query):
            if app_pods.after(stamp, until):
                return
            if app_pods.keeps(content, filter, match_case=matchCase):
                await out.put(app_resources.log_entry(f"{stamp} {content}", pod_name))

    async def messages() -> AsyncIterator[streams.Message | None]:
        out: asyncio.Queue[Obj | None] = asyncio.Queue(maxsize=1000)

        async def run() -> None:
            try:
                if follow:
                    await asyncio.gather(*(one(p, out) for p in pods))
                else:
                    for pod in pods:
                        await one(pod, out)
            except tg_errors.TidegateError as exc:
                await out.put({"error": {"http_code": 502, "message": str(exc)}})
            finally:
                await out.put(None)

        task = asyncio.create_task(run())
        try:
            while (item := await out.get()) is not None:
                yield item
            yield {"result": {"content": "", "timeStampStr": "", "podName": "", "last": True}}
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await stack.aclose()

    return streams.stream_response(request, messages())
