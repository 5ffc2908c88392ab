"""Applications and Secrets on the management cluster, for ``tidegate app``.

Paths are built from fixed resource descriptions (``argoproj.io/v1alpha1`` Applications, core
Secrets), so a command costs no API discovery round trip: ``tidegate app get`` is one GET.
Writes that must not race another client carry the ``resourceVersion`` they were based on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from tidegate.model import constants, errors

if TYPE_CHECKING:
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config
    from tidegate.kube import discovery

Obj = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"


def _resources() -> tuple[discovery.APIResource, discovery.APIResource, discovery.APIResource]:
    from tidegate.kube import discovery

    verbs = frozenset({"get", "list", "create", "update", "patch", "delete", "watch"})
    return (
        discovery.APIResource(
            constants.GROUP, constants.VERSION, "Application", "applications", True, verbs
        ),
        discovery.APIResource(
            constants.GROUP, constants.VERSION, "AppProject", "appprojects", True, verbs
        ),
        discovery.APIResource("", "v1", "Secret", "secrets", True, verbs),
    )


class Apps:
    """Applications of one control namespace (``NAMESPACE/NAME`` arguments may name others)."""

    def __init__(
        self, client: kube_client.KubeClient, *, namespace: str, config: kube_config.ClusterConfig
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.config = config
        self._apps, self._projects, self._secrets = _resources()

    def _what(self, verb: str, namespace: str, name: str = "") -> str:
        target = f"application {namespace}/{name}" if name else f"applications in {namespace}"
        return f"{verb} {target} on the management cluster"

    async def get(self, name: str, *, namespace: str | None = None) -> Obj:
        """The Application; ConfigError (exit 1) naming it when it does not exist."""
        ns = namespace or self.namespace
        found = await self.get_or_none(name, namespace=ns)
        if found is None:
            raise errors.ConfigError(f"application '{name}' not found in namespace '{ns}'")
        return found

    async def get_or_none(self, name: str, *, namespace: str | None = None) -> Obj | None:
        ns = namespace or self.namespace
        path = self._apps.path(ns, name)
        try:
            response = await self.client.request("GET", path, what=self._what("get", ns, name))
        except errors.KubeNotFoundError:
            return None
        return response.body

    async def events(self, name: str, *, namespace: str | None = None) -> list[Obj]:
        """The core Events about the Application, oldest first."""
        from tidegate.kube import events

        ns = namespace or self.namespace
        response = await self.client.request(
            "GET",
            f"/api/v1/namespaces/{ns}/events",
            what=self._what("list events of", ns, name),
            params={"fieldSelector": events.involved_selector("Application", ns, name)},
        )
        return events.newest_last(list(response.body.get("items") or []))

    async def list_apps(
        self, *, selector: str | None = None, all_namespaces: bool = False
    ) -> list[Obj]:
        ns = None if all_namespaces else self.namespace
        result = await self.client.list(self._apps, namespace=ns, label_selector=selector)
        return result.items

    async def create(self, obj: Mapping[str, Any]) -> Obj:
        meta = obj.get("metadata") or {}
        ns, name = str(meta.get("namespace") or self.namespace), str(meta.get("name") or "")
        return await self._send(
            "POST", self._apps.path(ns), obj, what=self._what("create", ns, name)
        )

    async def replace(self, obj: Mapping[str, Any]) -> Obj:
        """PUT the whole object (with its resourceVersion: 409 if it changed meanwhile)."""
        meta = obj.get("metadata") or {}
        ns, name = str(meta.get("namespace") or self.namespace), str(meta.get("name") or "")
        path = self._apps.path(ns, name)
        return await self._send("PUT", path, obj, what=self._what("update", ns, name))

    async def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any],
        *,
        what: str,
        content_type: str = "application/json",
    ) -> Obj:
        response = await self.client.request(
            method,
            path,
            what=what,
            params={"fieldManager": constants.FIELD_MANAGER},
            body=json.dumps(body).encode(),
            content_type=content_type,
        )
        return response.body

    async def patch(
        self,
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
        resource_version: str | None = None,
    ) -> Obj:
        """JSON merge patch; with ``resource_version`` it fails (409) if the app changed since."""
        ns = namespace or self.namespace
        body = dict(patch)
        if resource_version:
            body["metadata"] = {**(body.get("metadata") or {}), "resourceVersion": resource_version}
        path = self._apps.path(ns, name)
        what = self._what("patch", ns, name)
        return await self._send("PATCH", path, body, what=what, content_type=MERGE_PATCH)

    async def delete(self, name: str, *, namespace: str | None = None) -> bool:
        ns = namespace or self.namespace
        try:
            await self.client.request(
                "DELETE", self._apps.path(ns, name), what=self._what("delete", ns, name)
            )
        except errors.KubeNotFoundError:
            return False
        return True

    async def project(self, name: str) -> Obj | None:
        path = self._projects.path(self.namespace, name)
        what = f"get project {self.namespace}/{name} on the management cluster"
        try:
            return (await self.client.request("GET", path, what=what)).body
        except errors.KubeNotFoundError:
            return None

    async def secrets(self) -> list[Obj]:
        """The cluster, repository and repo-creds Secrets of the control namespace."""
        from tidegate.controller import local_compare

        return await local_compare.control_secrets(self.client, self.namespace)

    async def poll(
        self, name: str, *, namespace: str | None = None, interval: float = 0.5
    ) -> AsyncIterator[Obj | None]:
        """The app again and again (None once it is gone), ``interval`` seconds apart."""
        while True:
            yield await self.get_or_none(name, namespace=namespace)
            await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def connect(
    kubeconfig: str | None, context: str | None, namespace: str
) -> AsyncIterator[Apps]:
    """A client of the management cluster named by ``--kubeconfig`` / ``--context``."""
    from tidegate.cli import kubeopts

    async with kubeopts.management(kubeconfig, context) as (config, client):
        yield Apps(client, namespace=namespace, config=config)


class Deadline:
    """``timeout`` seconds from now (0: never); the loop clock of the running event loop."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._end = asyncio.get_running_loop().time() + timeout if timeout > 0 else None

    def passed(self) -> bool:
        return self._end is not None and asyncio.get_running_loop().time() >= self._end
