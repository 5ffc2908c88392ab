"""One long-running controller per registered cluster (I/O): the supervisor that the workload
controllers acting inside destination clusters (Rollouts, Sealed Secrets) share.

The management controller's cluster registry says which clusters exist; :meth:`Fleet.sync`
starts a runner for each new one (with its own client: a runtime's client is closed when its
cluster's settings change, which must not stop a runner half-way), stops those of clusters
gone, and restarts one whose connection settings changed. A runner that fails is logged and
started again after a pause that doubles with each failure in a row (from
:data:`RESTART_SECONDS` up to :data:`MAX_RESTART_SECONDS`: a cluster whose credentials lack a
right fails the same way every time; a runner that ran for a while starts again from the
shortest pause); the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config

log = logging.getLogger(__name__)
RESTART_SECONDS = 5.0
MAX_RESTART_SECONDS = 300.0


class Runner(Protocol):
    async def run(self) -> None: ...


R = TypeVar("R", bound=Runner)


@dataclasses.dataclass
class _Member(Generic[R]):
    config: kube_config.ClusterConfig
    task: asyncio.Task[None]
    runner: R | None = None


class Fleet(Generic[R]):
    """``make`` builds the runner of one cluster from its client; ``what`` names it in logs."""

    def __init__(
        self,
        what: str,
        make: Callable[[kube_client.KubeClient], R],
        *,
        client_for: Callable[[kube_config.ClusterConfig], kube_client.KubeClient] = (
            kube_client.client_for
        ),
    ) -> None:
        self.what = what
        self._make = make
        self._client_for = client_for
        self.members: dict[str, _Member[R]] = {}

    def runners(self) -> list[R]:
        """The runners running now (one per cluster)."""
        return [m.runner for m in self.members.values() if m.runner is not None]

    async def _serve(self, server: str, member_config: kube_config.ClusterConfig) -> None:
        pause = RESTART_SECONDS
        while True:
            client = self._client_for(member_config)
            runner = self._make(client)
            member = self.members.get(server)
            if member is not None:
                member.runner = runner
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                await runner.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                if loop.time() - started > MAX_RESTART_SECONDS:
                    pause = RESTART_SECONDS  # it ran a while: not the same failure again
                log.exception(
                    "%s: the controller of cluster %s failed; restarting in %.0fs",
                    self.what,
                    client.name,
                    pause,
                )
            finally:
                await client.aclose()
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_RESTART_SECONDS)

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
