"""ApplicationSets for ``tidegate appset``: :class:`AppSets` on the management cluster (direct
mode) and :class:`RemoteAppSets`, the same methods over ``/api/v1/applicationsets`` of the
current login context's server; :func:`connect` picks one (``--core`` keeps the direct mode)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from tidegate.cli import remote
from tidegate.model import constants

if TYPE_CHECKING:
    from tidegate.kube import client as kube_client

Obj = dict[str, Any]
PATH = "/api/v1/applicationsets"


def _owned_by(apps: list[Obj], name: str) -> list[Obj]:
    from tidegate.appset import policy

    return [a for a in apps if policy.controller_owner(a) == name]


class AppSets:
    """The ApplicationSets of the control namespace, on the management cluster."""

    def __init__(self, client: kube_client.KubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def _key(self, name: str) -> Any:
        from tidegate.model.keys import ResourceKey

        return ResourceKey(constants.GROUP, constants.KIND_APPLICATION_SET, self.namespace, name)

    async def _list(self, kind: str) -> list[Obj]:
        res = await self.client.resource(constants.GROUP, kind)
        return (await self.client.list(res, namespace=self.namespace)).items

    async def get_or_none(self, name: str) -> Obj | None:
        return await self.client.get_or_none(self._key(name))

    async def list_all(self, *, selector: str | None = None) -> list[Obj]:
        res = await self.client.resource(constants.GROUP, constants.KIND_APPLICATION_SET)
        listed = await self.client.list(res, namespace=self.namespace, label_selector=selector)
        return listed.items

    async def generated(self, name: str) -> list[Obj]:
        """The Applications set ``name`` owns."""
        return _owned_by(await self._list(constants.KIND_APPLICATION), name)

    async def create(self, doc: Mapping[str, Any]) -> None:
        await self.client.create(dict(doc))

    async def upsert(self, doc: Mapping[str, Any]) -> None:
        await self.client.apply(dict(doc), force=True)

    async def delete(self, name: str) -> bool:
        return await self.client.delete(self._key(name), propagation="Background")


class RemoteAppSets:
    """The same, through the API server."""

    def __init__(self, server: remote.Remote, namespace: str) -> None:
        self.server = server
        self.namespace = namespace

    def _one(self, name: str) -> str:
        return f"{PATH}/{remote.quote(name)}"

    async def get_or_none(self, name: str) -> Obj | None:
        return await self.server.get_or_none(self._one(name))

    async def list_all(self, *, selector: str | None = None) -> list[Obj]:
        return await self.server.items(PATH, **({"selector": selector} if selector else {}))

    async def generated(self, name: str) -> list[Obj]:
        return _owned_by(await self.server.items("/api/v1/applications"), name)

    async def create(self, doc: Mapping[str, Any]) -> None:
        await self.server.call("POST", PATH, body=dict(doc))

    async def upsert(self, doc: Mapping[str, Any]) -> None:
        await self.server.call("POST", PATH, body=dict(doc), params={"upsert": "true"})

    async def delete(self, name: str) -> bool:
        return await self.server.delete(self._one(name))


@contextlib.asynccontextmanager
async def connect(
    kubeconfig: str | None, context: str | None, namespace: str, *, core: bool
) -> AsyncIterator[AppSets | RemoteAppSets]:
    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            yield RemoteAppSets(server, namespace)
            return
    from tidegate.cli import kubeopts

    async with kubeopts.management(kubeconfig, context) as (_, client):
        yield AppSets(client, namespace)
