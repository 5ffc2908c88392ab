"""ApplicationService: one resource of an app (get, patch, delete) and its pods' logs.

Only resources that belong to the app are reachable: one the controller records in the app's
``status.resources``, or (to get it, or a pod's logs) an object owned by one of them up its
``ownerReferences`` chain: the children of the resource tree. Anything else is refused (400,
``... not found as part of application ...``, as Argo CD words it); a patch or delete of an
unrecorded resource is refused before anything is sent to the destination cluster.
Manifests in replies have Secret values masked. Logs stream in Argo CD's framing, one
``{"result": LogEntry}`` per line (SSE with ``Accept: text/event-stream``), and end with an
entry whose ``last`` is true. Every call takes ``appNamespace`` (:mod:`.app_namespaces`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import fastapi
from starlette.requests import Request
from starlette.responses import StreamingResponse

from tidegate.api import app_manifests, app_namespaces, context, errors, security, streams
from tidegate.auth import access
from tidegate.controller import app_pods, local_compare
from tidegate.kube import client as kube_client
from tidegate.model import errors as tg_errors
from tidegate.model.keys import ResourceKey

router = fastapi.APIRouter(tags=["ApplicationService"])
Obj = dict[str, Any]
PATCH_TYPES = {
    "application/merge-patch+json": dict,
    "application/strategic-merge-patch+json": dict,
    "application/json-patch+json": list,
}


def _not_part(key: ResourceKey, app_name: str) -> errors.ApiError:
    kind = f"{key.group}/{key.kind}" if key.group else key.kind
    where = f"{key.namespace}/{key.name}" if key.namespace else key.name
    return errors.ApiError(400, f"{kind} {where} not found as part of application {app_name}")


class Target:
    """The resource a request names: query ``namespace, resourceName, version, group, kind``."""

    def __init__(
        self,
        resourceName: str = "",
        kind: str = "",
        namespace: str = "",
        group: str = "",
        version: str = "",
    ) -> None:
        if not resourceName or not kind:
            raise errors.ApiError(400, "resourceName and kind are required")
        self.key = ResourceKey(group, kind, namespace, resourceName)
        self.version = version

    def rbac(self, action: str) -> str:
        """Argo CD's RBAC action on this resource: ``<action>/<group>/<kind>/<ns>/<name>``."""
        k = self.key
        return f"{action}/{k.group}/{k.kind}/{k.namespace}/{k.name}"


def member(app: Obj, name: str, target: Target) -> str | None:
    """The recorded version of ``target`` (400 when it is not the app's)."""
    recorded = local_compare.status_keys(app)
    if target.key not in recorded:
        raise _not_part(target.key, name)
    return target.version or recorded[target.key] or None


def _manifest(obj: Obj) -> Obj:
    return {"manifest": json.dumps(local_compare.masked([obj])[0])}  # the API server's key order


@router.get("/api/v1/applications/{name}/resource", summary="One live resource of the app")
async def get_resource(
    request: Request,
    name: str,
    target: Target = fastapi.Depends(),
    appNamespace: str = "",
    subject: access.Subject = security.Subject,
) -> Obj:
    app = await app_namespaces.authorized(context.of(request), subject, name, appNamespace)
    recorded = local_compare.status_keys(app)
    if target.key in recorded:
        version = target.version or recorded[target.key] or None
        async with destination(request, app) as (_, client):
            return _manifest(await client.get(target.key, version=version))
    # A child in the resource tree (a Pod of a managed Deployment): owned through the chain.
    async with destination(request, app) as (_, client):
        try:
            found = await client.get_or_none(target.key, version=target.version or None)
        except tg_errors.UnknownKindError:
            found = None
        if found is None or not await _owned_by_app(client, found, recorded):
            raise _not_part(target.key, name)
        return _manifest(found)


@router.post("/api/v1/applications/{name}/resource", summary="Patch one resource of the app")
async def patch_resource(
    request: Request,
    name: str,
    target: Target = fastapi.Depends(),
    patchType: str = "application/merge-patch+json",
    appNamespace: str = "",
    subject: access.Subject = security.Subject,
) -> Obj:
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, appNamespace, target.rbac("update"))
    version = member(app, name, target)
    expected = PATCH_TYPES.get(patchType)
    if expected is None:
        raise errors.ApiError(400, f"patchType {patchType!r}: one of {', '.join(PATCH_TYPES)}")
    body = await security.json_body(request)
    text = body.get("patch") if isinstance(body, dict) else body  # Argo CD: the body is the patch
    if not isinstance(text, str):
        raise errors.ApiError(400, "the body must be the patch, as a JSON string")
    try:
        patch = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.ApiError(400, f"patch is not JSON: {exc}") from None
    if not isinstance(patch, expected):
        raise errors.ApiError(400, f"a {patchType} patch must be a JSON {expected.__name__}")
    async with destination(request, app) as (_, client):
        res = await client.resource(target.key.group, target.key.kind, version)
        path = res.path(target.key.namespace if res.namespaced else None, target.key.name)
        response = await client.request(
            "PATCH",
            path,
            what=f"patch {target.key}",
            params={"fieldManager": "tidegate-server"},
            body=json.dumps(patch).encode(),
            content_type=patchType,
        )
    return _manifest(response.body)


@router.delete("/api/v1/applications/{name}/resource", summary="Delete one resource of the app")
async def delete_resource(
    request: Request,
    name: str,
    target: Target = fastapi.Depends(),
    force: bool = False,
    orphan: bool = False,
    appNamespace: str = "",
    subject: access.Subject = security.Subject,
) -> Obj:
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, appNamespace, target.rbac("delete"))
    version = member(app, name, target)
    async with destination(request, app) as (_, client):
        found = await client.delete(
            target.key,
            version=version,
            propagation="Orphan" if orphan else "Foreground",
            grace_period_seconds=0 if force else None,
        )
    if not found:
        raise errors.ApiError(404, f"{target.key} not found")
    return {}


def destination(
    request: Request, app: Obj
) -> contextlib.AbstractAsyncContextManager[tuple[str, kube_client.KubeClient]]:
    """The app's destination cluster (name, connected client)."""
    ctx = context.of(request)
    return local_compare.destination(app_manifests.ControlNamespace(ctx), app)


async def _owned_by_app(
    client: kube_client.KubeClient, pod: Obj, recorded: Mapping[ResourceKey, str]
) -> bool:
    return await app_pods.owning(client, pod, recorded) is not None


def log_entry(line: str, pod: str) -> Obj:
    """One ``timestamps=true`` log line of the API server as Argo CD's ``{"result": LogEntry}``."""
    stamp, _, content = line.partition(" ")
    return {
        "result": {
            "content": content,
            "timeStampStr": stamp,
            "timeStamp": stamp,
            "podName": pod,
            "last": False,
        }
    }


@router.get("/api/v1/applications/{name}/pods/{pod}/logs", summary="A pod's logs")
async def pod_logs(
    request: Request,
    name: str,
    pod: str,
    namespace: str = "",
    container: str = "",
    follow: bool = False,
    tailLines: int | None = None,
    sinceSeconds: int | None = None,
    appNamespace: str = "",
    subject: access.Subject = security.Subject,
) -> StreamingResponse:
    security.check_name(pod, what="pod")
    ctx = context.of(request)
    app = await app_namespaces.authorized(ctx, subject, name, appNamespace, "get", "logs")
    dest_ns = str(((app.get("spec") or {}).get("destination") or {}).get("namespace") or "")
    ns = security.check_name(namespace or dest_ns, what="namespace")
    params = {"timestamps": "true", "follow": "true" if follow else "false"}
    if container:
        params["container"] = security.check_name(container, what="container")
    if tailLines is not None:
        params["tailLines"] = str(max(tailLines, 0))
    if sinceSeconds is not None:
        params["sinceSeconds"] = str(max(sinceSeconds, 1))
    recorded = local_compare.status_keys(app)
    stack = contextlib.AsyncExitStack()
    _, client = await stack.enter_async_context(destination(request, app))
    try:
        key = ResourceKey("", "Pod", ns, pod)
        found = await client.get_or_none(key, version="v1")
        if found is None or not await _owned_by_app(client, found, recorded):
            raise _not_part(key, name)
        path = f"/api/v1/namespaces/{ns}/pods/{pod}/log"
        lines = client.stream_lines(path, what=f"logs of pod {ns}/{pod}", params=params)
        await anext(lines)  # the status: an error is raised here, and answered as a reply
    except BaseException:
        await stack.aclose()
        raise

    async def messages() -> AsyncIterator[streams.Message | None]:
        try:
            async for line in lines:
                if line:
                    yield log_entry(line, pod)
            yield {"result": {"content": "", "timeStampStr": "", "podName": pod, "last": True}}
        finally:
            await lines.aclose()
            await stack.aclose()

    return streams.stream_response(request, messages())
