"""How many sync operations run at once: as many as the adaptive gate admits in all
(``controller/opgate.py``), at most ``per_cluster`` of them on one destination cluster
(I/O-free bookkeeping over asyncio futures).

An operation waits for its cluster's slot before it takes one of the shared ones, so the
operations queued behind a slow cluster hold nothing that other clusters' operations need. Both
waits admit user-requested operations before automated ones.

``per_cluster`` 0 (the default) follows the gate: all of its current limit but one (at least
one), so one cluster's operations always leave a slot to the others, and a fleet on a single
cluster still lets the gate grow (operations waiting for their cluster's slot count as waiting
for the gate). A fixed ``per_cluster`` stays fixed.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import AsyncIterator

from tidegate.controller import opgate
from tidegate.kube import pressure


def per_cluster_default(workers: int) -> int:
    """All the operation processors but one (at least 1): one cluster's operations always
    leave a slot to the others, and a single cluster loses little concurrency."""
    return max(1, workers - 1)


class OperationSlots:
    def __init__(
        self, *, workers: int, per_cluster: int = 0, gate: opgate.OperationGate | None = None
    ) -> None:
        self.workers = max(1, workers)
        # without a gate: a fixed overall limit of ``workers`` (the gate never grows)
        self.gate = gate or opgate.OperationGate(
            initial=self.workers, ceiling=self.workers, sample=pressure.Sample
        )
        self._fixed_per_cluster = max(0, per_cluster)
        self._clusters: dict[str, opgate.Admission] = {}
        self.running: collections.Counter[str] = collections.Counter()  # by cluster server

    @property
    def per_cluster(self) -> int:
        """The most operations that run on one cluster now."""
        return self._fixed_per_cluster or per_cluster_default(self.gate.limit)

    @contextlib.asynccontextmanager
    async def hold(self, cluster: str, *, manual: bool = False) -> AsyncIterator[None]:
        """One slot of ``cluster`` (its server URL; "" when unknown), then one of the gate's;
        ``manual``: a user-requested operation, admitted before automated ones at both."""
        mine = self._clusters.get(cluster)
        if mine is None:
            mine = self._clusters[cluster] = opgate.Admission(self.per_cluster)
        await mine.acquire(manual=manual)
        try:
            await self.gate.acquire(manual=manual)
            self.running[cluster] += 1
            try:
                yield
            finally:
                self.running[cluster] -= 1
                if self.running[cluster] <= 0:
                    del self.running[cluster]
                self.gate.release(backlog=self._backlog())
        finally:
            mine.release()
            self._follow_gate()

    def _backlog(self) -> int:
        """Operations waiting for a cluster slot that a higher gate limit would give them."""
        if self._fixed_per_cluster:
            return 0
        return sum(slot.waiting for slot in self._clusters.values())

    def _follow_gate(self) -> None:
        """Each cluster's limit follows the gate's current one (when not fixed)."""
        limit = self.per_cluster
        for slot in self._clusters.values():
            if slot.limit != limit:
                slot.set_limit(limit)
