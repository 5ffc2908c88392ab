"""The Rollouts controllers on every registered cluster (I/O): one
:class:`~tidegate.rollouts.cluster.ClusterControllers` (Rollouts and their analysis) per cluster.

The management controller's cluster registry says which clusters exist; :meth:`Fleet.sync`
starts a controller for each new one (with its own client: a runtime's client is closed when
its cluster's settings change, which must not stop a rollout half-way), stops those of clusters
gone, and restarts one whose connection settings changed. A controller that fails is logged and
started again after a pause; the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.rollouts import cluster, controller

log = logging.getLogger(__name__)
RESTART_SECONDS = 5.0


@dataclasses.dataclass
class _Member:
    config: kube_config.ClusterConfig
    task: asyncio.Task[None]
    controllers: cluster.ClusterControllers | None = None


class Fleet:
    def __init__(
        self,
        *,
        instance_id: str = "",
        client_for: Callable[[kube_config.ClusterConfig], kube_client.KubeClient] = (
            kube_client.client_for
        ),
    ) -> None:
        self.instance_id = instance_id
        self._client_for = client_for
        self.members: dict[str, _Member] = {}

    def controllers(self) -> list[controller.Controller]:
        """The Rollout controllers running now (one per cluster)."""
        return [m.controllers.rollouts for m in self.members.values() if m.controllers]

    async def _serve(self, server: str, member_config: kube_config.ClusterConfig) -> None:
        while True:
            client = self._client_for(member_config)
            both = cluster.ClusterControllers(client, instance_id=self.instance_id)
            member = self.members.get(server)
            if member is not None:
                member.controllers = both
            try:
                await both.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("rollouts: the controller of cluster %s failed", client.name)
            finally:
                await client.aclose()
            await asyncio.sleep(RESTART_SECONDS)

    async def sync(self, clusters: Iterable[tuple[str, kube_config.ClusterConfig]]) -> None:
        """Run one controller per (server, config); stop the others."""
        wanted = dict(clusters)
        for server in [s for s, m in self.members.items() if wanted.get(s) != m.config]:
            await self._stop(server)
        for server, config in wanted.items():
            if server not in self.members:
                task = asyncio.create_task(self._serve(server, config), name=f"rollouts-{server}")
                self.members[server] = _Member(config, task)
                log.info("rollouts: reconciling Rollouts on cluster %s", config.name or server)

    async def _stop(self, server: str) -> None:
        member = self.members.pop(server)
        member.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await member.task

    async def aclose(self) -> None:
        for server in list(self.members):
            await self._stop(server)
