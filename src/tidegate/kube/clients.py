"""A set of clients, one per cluster, reused while the cluster's configuration is unchanged."""

from __future__ import annotations

import asyncio

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config


class ClientSet:
    """Hands out one :class:`KubeClient` per cluster name; a changed config replaces the client."""

    def __init__(self) -> None:
        self._clients: dict[str, kube_client.KubeClient] = {}
        self._lock = asyncio.Lock()

    async def get(self, config: kube_config.ClusterConfig) -> kube_client.KubeClient:
        name = config.name or config.server
        async with self._lock:
            current = self._clients.get(name)
            if current is not None and current.config == config:
                return current
            if current is not None:
                await current.aclose()
            fresh = kube_client.client_for(config, bulk=True)
            self._clients[name] = fresh
            return fresh

    async def discard(self, name: str) -> None:
        async with self._lock:
            current = self._clients.pop(name, None)
        if current is not None:
            await current.aclose()

    async def aclose(self) -> None:
        async with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            await c.aclose()
