"""Objects of the control namespace on the management cluster, as the API writes them.

:class:`ObjectStore` serves Applications, AppProjects and ApplicationSets alike. For
Applications the server writes ``spec``, labels, annotations, finalizers and ``operation``;
the controller stays the only writer of ``status`` (terminating an operation, which Argo CD
also does through status, is the one exception and goes through :mod:`tidegate.sync.request`).
Updates carry the resourceVersion they were based on and are retried on a conflict.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tidegate.api import errors, hub
from tidegate.kube import client as kube_client
from tidegate.kube import discovery
from tidegate.model import constants
from tidegate.model import errors as tg_errors

Obj = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"
WRITTEN_META = ("labels", "annotations", "finalizers")
SERVER_META = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
TOP_LEVEL = frozenset({"apiVersion", "kind", "metadata", "spec", "status", "operation"})


def check_top_level(obj: Mapping[str, Any], kind: str) -> None:
    """400 naming the fields of a request's object that no Kubernetes object has (a typo such
    as ``spek`` would otherwise be dropped silently), as Argo CD's gateway refuses them."""
    unknown = sorted(str(k) for k in obj if k not in TOP_LEVEL)
    if unknown:
        raise errors.ApiError(400, f"unknown field(s) in the {kind}: {', '.join(unknown)[:200]}")


RETRIES = 5
VERBS = frozenset({"get", "list", "create", "update", "patch", "delete", "watch"})
PROJECTS = discovery.APIResource(
    constants.GROUP, constants.VERSION, "AppProject", "appprojects", True, VERBS
)
APPSETS = discovery.APIResource(
    constants.GROUP,
    constants.VERSION,
    constants.KIND_APPLICATION_SET,
    "applicationsets",
    True,
    VERBS,
)


class ObjectStore:
    """One kind of object (Applications by default) in the control namespace."""

    def __init__(
        self,
        client: kube_client.KubeClient,
        namespace: str,
        resource: discovery.APIResource = hub.APPLICATIONS,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.resource = resource
        self.title = f"{resource.plural}.{resource.group}" if resource.group else resource.plural

    def _path(self, name: str = "") -> str:
        return self.resource.path(self.namespace, name or None)

    def _what(self, verb: str, name: str) -> str:
        return f"{verb} {self.resource.kind} {self.namespace}/{name}"

    def not_found(self, name: str) -> errors.ApiError:
        return errors.ApiError(404, f'{self.title} "{name}" not found')

    async def list(self, *, selector: str | None = None) -> list[Obj]:
        result = await self.client.list(
            self.resource, namespace=self.namespace, label_selector=selector
        )
        return result.items

    async def _send(self, method: str, name: str, body: Any, *, verb: str, ctype: str) -> Obj:
        response = await self.client.request(
            method,
            self._path(name if method != "POST" else ""),
            what=self._what(verb, name),
            params={"fieldManager": constants.FIELD_MANAGER},
            body=json.dumps(body).encode(),
            content_type=ctype,
        )
        return self._typed(response.body)

    async def get(self, name: str) -> Obj:
        if not name:
            raise self.not_found(name)
        try:
            found = await self.client.request("GET", self._path(name), what=self._what("get", name))
        except tg_errors.KubeNotFoundError:
            raise self.not_found(name) from None
        return self._typed(found.body)

    async def create(self, obj: Mapping[str, Any]) -> Obj:
        name = str(obj["metadata"]["name"])
        try:
            return await self._send("POST", name, obj, verb="create", ctype=JSON)
        except tg_errors.KubeConflictError:
            raise errors.ApiError(
                409, f'applications.argoproj.io "{name}" already exists'
            ) from None

    async def merge_patch(
        self, name: str, patch: Mapping[str, Any], *, resource_version: str | None = None
    ) -> Obj:
        body = dict(patch)
        if resource_version:
            body["metadata"] = {**(body.get("metadata") or {}), "resourceVersion": resource_version}
        return await self._send("PATCH", name, body, verb="patch", ctype=MERGE_PATCH)

    async def update(self, name: str, change: Callable[[Obj], Obj | Awaitable[Obj]]) -> Obj:
        """Read, let ``change`` compute the new object, PUT it; retried on a conflict."""
        for _ in range(RETRIES):
            current = await self.get(name)
            wanted = change(current)
            if not isinstance(wanted, dict):
                wanted = await wanted
            if wanted == current:
                return current
            try:
                return await self._send(
                    "PUT", name, wanted, verb="update", ctype="application/json"
                )
            except tg_errors.KubeConflictError:
                continue
        raise errors.ApiError(409, f"application {name} keeps changing; try again", grpc_code=10)

    async def delete(self, name: str, *, propagation: str | None = None) -> None:
        params = {"propagationPolicy": propagation} if propagation else None
        try:
            await self.client.request(
                "DELETE", self._path(name), what=self._what("delete", name), params=params
            )
        except tg_errors.KubeNotFoundError:
            raise self.not_found(name) from None

    def _typed(self, obj: Obj) -> Obj:
        obj.setdefault("apiVersion", self.resource.api_version)
        obj.setdefault("kind", self.resource.kind)
        return obj


def with_written_parts(current: Mapping[str, Any], source: Mapping[str, Any]) -> Obj:
    """``current`` with spec and labels/annotations/finalizers taken from ``source``."""
    out = dict(current)
    meta = dict(current.get("metadata") or {})
    src_meta = source.get("metadata") or {}
    for key in WRITTEN_META:
        if src_meta.get(key) is not None:
            meta[key] = src_meta[key]
        else:
            meta.pop(key, None)
    out["metadata"] = meta
    out["spec"] = source.get("spec")
    return out
