"""How many sync operations run at once: ``workers`` in all, at most ``per_cluster`` of them
on one destination cluster (I/O-free bookkeeping over asyncio semaphores).

An operation waits for its cluster's slot before it takes one of the shared ones, so the
operations queued behind a slow cluster hold nothing that other clusters' operations need.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator


def per_cluster_default(workers: int) -> int:
    """All the operation processors but one (at least 1): one cluster's operations always
    leave a slot to the others, and a single cluster loses little concurrency."""
    return max(1, workers - 1)


class OperationSlots:
    def __init__(self, *, workers: int, per_cluster: int = 0) -> None:
        self.workers = max(1, workers)
        self.per_cluster = per_cluster or per_cluster_default(self.workers)
        self._overall = asyncio.Semaphore(self.workers)
        self._clusters: dict[str, asyncio.Semaphore] = {}
        self.running: collections.Counter[str] = collections.Counter()  # by cluster server

    @contextlib.asynccontextmanager
    async def hold(self, cluster: str) -> AsyncIterator[None]:
        """One slot of ``cluster`` (its server URL; "" when unknown) and one shared slot."""
        mine = self._clusters.setdefault(cluster, asyncio.Semaphore(self.per_cluster))
        async with mine, self._overall:
            self.running[cluster] += 1
            try:
                yield
            finally:
                self.running[cluster] -= 1
                if self.running[cluster] <= 0:
                    del self.running[cluster]
