"""The Rollouts controllers on every registered cluster (I/O): one
:class:`~tidegate.rollouts.cluster.ClusterControllers` (Rollouts and their analysis) per cluster.

The management controller's cluster registry says which clusters exist; :meth:`Fleet.sync`
starts a controller for each new one, stops those of clusters gone, and restarts one whose
connection settings changed. A controller that fails is logged and started again after a
pause; the others go on.

What a controller reads and writes through is a :class:`Binding`, asked of ``bind`` each time
it starts. In ``tidegate controller`` that is the application controller's runtime of the
cluster: its client and its live cache, whose watches the Rollouts and analysis controllers
share (one watch per kind per cluster). When the cluster's settings change, the runtime is
replaced and the old cache's subscriptions end: the controllers then bind to the new runtime
at once (their state is in the Rollouts' status, so nothing is lost). Without ``bind`` each
controller has its own client and watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import feed as kube_feed
from tidegate.rollouts import cluster, controller

log = logging.getLogger(__name__)
RESTART_SECONDS = 5.0
REBIND_SECONDS = 0.2  # a closed feed is rebound at once (bounded, should it close again)


@dataclasses.dataclass(frozen=True)
class Binding:
    client: kube_client.KubeClient
    feed: kube_feed.Feed
    owned: bool = False  # the fleet made the client and closes it when the controller stops


Bind = Callable[[str, kube_config.ClusterConfig], Awaitable[Binding]]


async def own_watches(_server: str, config: kube_config.ClusterConfig) -> Binding:
    """A client and watches of the controller's own (no shared cache)."""
    client = kube_client.client_for(config)
    return Binding(client, kube_feed.DirectFeed(client), owned=True)


@dataclasses.dataclass
class _Member:
    config: kube_config.ClusterConfig
    task: asyncio.Task[None]
    controllers: cluster.ClusterControllers | None = None
    bindings: int = 0  # how many times it bound (1 + the rebinds after a runtime replacement)


class Fleet:
    def __init__(self, *, instance_id: str = "", bind: Bind = own_watches) -> None:
        self.instance_id = instance_id
        self._bind = bind
        self.members: dict[str, _Member] = {}

    def controllers(self) -> list[controller.Controller]:
        """The Rollout controllers running now (one per cluster)."""
        return [m.controllers.rollouts for m in self.members.values() if m.controllers]

    async def _serve(self, server: str, member_config: kube_config.ClusterConfig) -> None:
        while True:
            try:
                binding = await self._bind(server, member_config)
            except Exception as exc:
                log.warning("rollouts: cluster %s: cannot bind: %s", member_config.name, exc)
                await asyncio.sleep(RESTART_SECONDS)
                continue
            both = cluster.ClusterControllers(
                binding.client, instance_id=self.instance_id, feed=binding.feed
            )
            member = self.members.get(server)
            if member is not None:
                member.controllers = both
                member.bindings += 1
            pause = RESTART_SECONDS
            try:
                await both.run()
            except asyncio.CancelledError:
                raise
            except kube_feed.FeedClosedError:
                log.info("rollouts: cluster %s: its runtime was replaced, binding again",
                         binding.client.name)  # fmt: skip
                pause = REBIND_SECONDS
            except Exception:
                log.exception("rollouts: the controller of cluster %s failed", binding.client.name)
            finally:
                if binding.owned:
                    await binding.client.aclose()
            await asyncio.sleep(pause)

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
