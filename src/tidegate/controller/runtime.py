"""Per-destination-cluster runtime: one client and one live cache, started on first use."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable

from tidegate import kube
from tidegate.controller import clusters
from tidegate.kube import config as kube_config
from tidegate.live import cache as live_cache
from tidegate.model.keys import ResourceKey

SYNC_WAIT_SECONDS = 15.0


@dataclasses.dataclass
class ClusterRuntime:
    cluster: clusters.Cluster
    config: kube_config.ClusterConfig
    client: kube.KubeClient
    cache: live_cache.ClusterCache
    server_version: str = ""

    async def ready(self, wait: float = SYNC_WAIT_SECONDS) -> bool:
        """True once the cache has listed every kind; False if that takes over ``wait`` s."""
        try:
            async with asyncio.timeout(wait):
                await self.cache.wait_synced()
        except TimeoutError:
            return False
        return True


class Runtimes:
    """The runtimes of all destination clusters, keyed by server URL."""

    def __init__(
        self,
        *,
        on_change: Callable[[str, set[str], ResourceKey | None], None],
        tracking_method: str,
    ) -> None:
        self._on_change = on_change
        self._tracking = tracking_method
        self._runtimes: dict[str, ClusterRuntime] = {}
        self._lock = asyncio.Lock()

    def all(self) -> list[ClusterRuntime]:
        return list(self._runtimes.values())

    def get(self, server: str) -> ClusterRuntime | None:
        return self._runtimes.get(server)

    async def ensure(self, cluster: clusters.Cluster) -> ClusterRuntime:
        """The runtime of ``cluster``, (re)created when its connection settings changed."""
        config = cluster.require_config()
        async with self._lock:
            current = self._runtimes.get(cluster.server)
            if current is not None and current.config == config:
                current.cluster = cluster
                return current
            if current is not None:
                await self._close(current)
            client = kube.client_for(config)
            server = cluster.server
            cache = live_cache.ClusterCache(
                client=client,
                tracking_method=self._tracking,
                on_change=lambda apps, key: self._on_change(server, apps, key),
            )
            cache.start()
            runtime = ClusterRuntime(cluster, config, client, cache)
            self._runtimes[server] = runtime
            return runtime

    async def drop_missing(self, servers: set[str]) -> None:
        """Stop the runtimes of clusters that are no longer registered."""
        async with self._lock:
            for server in [s for s in self._runtimes if s not in servers]:
                await self._close(self._runtimes.pop(server))

    async def _close(self, runtime: ClusterRuntime) -> None:
        with contextlib.suppress(Exception):
            await runtime.cache.stop()
        with contextlib.suppress(Exception):
            await runtime.client.aclose()

    async def aclose(self) -> None:
        async with self._lock:
            for runtime in self._runtimes.values():
                await self._close(runtime)
            self._runtimes.clear()
