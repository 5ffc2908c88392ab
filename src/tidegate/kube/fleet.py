"""One long-running controller per registered cluster (I/O): the supervisor that the workload
controllers acting inside destination clusters (Rollouts, Sealed Secrets) share.

The management controller's cluster registry says which clusters exist; :meth:`Fleet.sync`
starts a runner for each new one, stops those of clusters gone, and restarts one whose
connection settings changed. A runner that fails is logged and started again after a pause
that doubles with each failure in a row (from :data:`RESTART_SECONDS` up to
:data:`MAX_RESTART_SECONDS`: a cluster whose credentials lack a right fails the same way every
time; a runner that ran for a while starts again from the shortest pause); the others go on.

What a runner reads and writes through is a :class:`Binding`, asked of ``bind`` each time it
starts. In ``tidegate controller`` that can be the application controller's runtime of the
cluster: its client and its live cache, whose watches the runners share (one watch per kind per
cluster). When the cluster's settings change, the runtime is replaced and the old cache's
subscriptions end (:class:`~tidegate.kube.feed.FeedClosedError`): the runner then binds to the
new runtime at once (its state is in the objects' status, so nothing is lost). The default,
:func:`own_watches`, gives each runner its own client and watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, Protocol, TypeVar

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import feed as kube_feed

log = logging.getLogger(__name__)
RESTART_SECONDS = 5.0
MAX_RESTART_SECONDS = 300.0
REBIND_SECONDS = 0.2  # a closed feed is rebound at once (bounded, should it close again)


class Runner(Protocol):
    async def run(self) -> None: ...


R = TypeVar("R", bound=Runner)


@dataclasses.dataclass(frozen=True)
class Binding:
    client: kube_client.KubeClient
    feed: kube_feed.Feed
    owned: bool = False  # the fleet made the client and closes it when the runner stops


Bind = Callable[[str, kube_config.ClusterConfig], Awaitable[Binding]]


async def own_watches(_server: str, config: kube_config.ClusterConfig) -> Binding:
    """A client and watches of the runner's own (no shared cache)."""
    client = kube_client.client_for(config, bulk=True)
    return Binding(client, kube_feed.DirectFeed(client), owned=True)


@dataclasses.dataclass
class _Member(Generic[R]):
    config: kube_config.ClusterConfig
    task: asyncio.Task[None]
    runner: R | None = None
    bindings: int = 0  # how many times it bound (1 + the rebinds after a runtime replacement)


class Fleet(Generic[R]):
    """``make`` builds the runner of one cluster from its binding; ``what`` names it in logs."""

    def __init__(
        self, what: str, make: Callable[[Binding], R], *, bind: Bind = own_watches
    ) -> None:
        self.what = what
        self._make = make
        self._bind = bind
        self.members: dict[str, _Member[R]] = {}

    def runners(self) -> list[R]:
        """The runners running now (one per cluster)."""
        return [m.runner for m in self.members.values() if m.runner is not None]

    async def _serve(self, server: str, member_config: kube_config.ClusterConfig) -> None:
        pause = RESTART_SECONDS
        loop = asyncio.get_running_loop()
        while True:
            try:
                binding = await self._bind(server, member_config)
            except Exception as exc:
                log.warning("%s: cluster %s: cannot bind: %s", self.what, member_config.name, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_RESTART_SECONDS)
                continue
            runner = self._make(binding)
            member = self.members.get(server)
            if member is not None:
                member.runner = runner
                member.bindings += 1
            started = loop.time()
            wait = pause
            try:
                await runner.run()
            except asyncio.CancelledError:
                raise
            except kube_feed.FeedClosedError:
                log.info("%s: cluster %s: its runtime was replaced, binding again",
                         self.what, binding.client.name)  # fmt: skip
                wait, pause = REBIND_SECONDS, RESTART_SECONDS
            except Exception:
                if loop.time() - started > MAX_RESTART_SECONDS:
                    pause = wait = RESTART_SECONDS  # it ran a while: not the same failure again
                log.exception(
                    "%s: the controller of cluster %s failed; restarting in %.0fs",
                    self.what,
                    binding.client.name,
                    wait,
                )
                pause = min(wait * 2, MAX_RESTART_SECONDS)
            finally:
                if binding.owned:
                    await binding.client.aclose()
            await asyncio.sleep(wait)

    async def sync(self, clusters: Iterable[tuple[str, kube_config.ClusterConfig]]) -> None:
        """Run one runner per (server, config); stop the others."""
        wanted = dict(clusters)
        for server in [s for s, m in self.members.items() if wanted.get(s) != m.config]:
            await self._stop(server)
        for server, config in wanted.items():
            if server not in self.members:
                task = asyncio.create_task(
                    self._serve(server, config), name=f"{self.what}-{server}"
                )
                self.members[server] = _Member(config, task)
                log.info("%s: reconciling on cluster %s", self.what, config.name or server)

    async def _stop(self, server: str) -> None:
        member = self.members.pop(server)
        member.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await member.task

    async def aclose(self) -> None:
        for server in list(self.members):
            await self._stop(server)
