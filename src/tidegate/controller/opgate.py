"""How many operations run at once: adaptive, and user-requested syncs first.

:class:`OperationGate` admits operations up to a *limit* that follows the API servers
(:mod:`tidegate.kube.pressure`), additive increase and multiplicative decrease as TCP does:

- a 429 answer since the last look (API Priority and Fairness shedding load): the limit halves;
- latency rising (fast average above ``SLOW_TREND`` times the slow one: requests queue at the
  server): the limit drops by one;
- otherwise, when operations are waiting, it grows by one, up to ``ceiling``.

It starts at ``--operation-processors`` (N) and stays between 1 and ``ceiling`` (8N in the
controller). Waiting operations are admitted user-requested first (``initiatedBy.automated``
false: ``tidegate app sync``, the API, a rollback), then automated ones (automated sync,
self-heal), each in arrival order: a fleet's cold sync never delays the sync a person is
waiting for. :class:`Admission` is that admission order over a plain limit; the per-cluster
slots (``controller/opslots.py``) use it in front of the gate.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Callable

from tidegate.kube import pressure

SLOW_TREND = 2.0
CEILING_FACTOR = 8  # the limit grows up to this many times --operation-processors


def adjust(limit: int, sample: pressure.Sample, *, throttled_before: int, waiting: bool,
           ceiling: int) -> int:  # fmt: skip
    """The next limit (pure; see the module docstring)."""
    if sample.throttled > throttled_before:
        return max(1, limit // 2)
    if sample.trend > SLOW_TREND:
        return max(1, limit - 1)
    if waiting:
        return min(ceiling, limit + 1)
    return limit


@dataclasses.dataclass
class _Waiter:
    ready: asyncio.Future[None]


class Admission:
    """At most ``limit`` holders at once; waiters are admitted user-requested first, then
    automated ones, each in arrival order. ``limit`` may change while operations run: a raised
    limit admits waiters at once, a lowered one admits nobody until enough have left."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.running = 0
        self._manual: collections.deque[_Waiter] = collections.deque()
        self._automated: collections.deque[_Waiter] = collections.deque()

    @property
    def waiting(self) -> int:
        return len(self._manual) + len(self._automated)

    async def acquire(self, *, manual: bool) -> None:
        if self.running < self.limit and not self.waiting:
            self.running += 1
            return
        waiter = _Waiter(asyncio.get_running_loop().create_future())
        (self._manual if manual else self._automated).append(waiter)
        try:
            await waiter.ready
        except asyncio.CancelledError:
            if waiter.ready.done() and not waiter.ready.cancelled():
                self.release()  # admitted and cancelled at once: give the slot on
            else:
                self._forget(waiter)
            raise

    def release(self) -> None:
        self.running -= 1
        self._admit()

    def set_limit(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._admit()

    def _forget(self, waiter: _Waiter) -> None:
        for queue in (self._manual, self._automated):
            if waiter in queue:
                queue.remove(waiter)

    def _admit(self) -> None:
        while self.running < self.limit and self.waiting:
            queue = self._manual if self._manual else self._automated
            waiter = queue.popleft()
            if waiter.ready.done():
                continue
            self.running += 1
            waiter.ready.set_result(None)


class OperationGate(Admission):
    """The overall limit, adapted on each release to what the API servers say."""

    def __init__(
        self, *, initial: int, ceiling: int, sample: Callable[[], pressure.Sample]
    ) -> None:
        self.ceiling = max(1, ceiling)
        super().__init__(min(max(1, initial), self.ceiling))
        self._sample = sample
        self._throttled = sample().throttled

    def release(self, *, backlog: int = 0) -> None:
        """One operation left. ``backlog``: operations that wait before they reach this gate
        (for a slot of their cluster that a higher limit would give them) count as waiting."""
        self.running -= 1
        sample = self._sample()
        waiting = bool(self.waiting or backlog)
        self.limit = adjust(self.limit, sample, throttled_before=self._throttled,
                            waiting=waiting, ceiling=self.ceiling)  # fmt: skip
        self._throttled = sample.throttled
        self._admit()
