"""When apps are refreshed: the work queue, its triggers and the processors that drain it.

Triggers: a watch event or a relist of the app, of its project, of a cluster or repository
Secret, or of a live resource it tracks (the engine calls :meth:`Scheduler.request`); the
``argocd.argoproj.io/refresh`` annotation (``hard`` when its value says so); Git webhooks; and
the poll every ``app_resync_seconds`` with jitter, so that a fleet's refreshes spread out
instead of arriving at once. The scheduler knows app names and nothing about what a refresh
does: ``refresh(name, hard)`` is given to it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable

from tidegate.controller import workqueue

log = logging.getLogger("tidegate.controller")

Refresh = Callable[[str, bool], Awaitable[None]]


class Scheduler:
    def __init__(
        self,
        *,
        names: Callable[[], Iterable[str]],
        resync_seconds: float,
        jitter: float,
    ) -> None:
        self.queue = workqueue.WorkQueue()
        self._names = names  # every app known now
        self._resync = resync_seconds
        self._jitter = jitter

    def request(self, name: str, *, hard: bool = False) -> None:
        self.queue.add(name, hard=hard)

    def request_after(self, name: str, delay: float) -> None:
        self.queue.add_after(name, delay)

    def request_all(self) -> None:
        for name in self._names():
            self.queue.add(name)

    def forget(self, name: str) -> None:
        self.queue.forget(name)

    async def drain(self) -> None:
        """Return once nothing is queued or refreshing (delayed requests do not count)."""
        await self.queue.wait_idle()

    async def process(self, refresh: Refresh) -> None:
        """One processor: refresh queued apps one at a time, until cancelled."""
        while True:
            name, hard = await self.queue.get()
            try:
                await refresh(name, hard)
            except asyncio.CancelledError:
                raise
            except Exception:  # an app's failure never stalls the others
                log.exception("refresh of app %s failed", name)
            finally:
                self.queue.done(name)

    async def poll(self) -> None:
        """Request every app every resync period (plus up to ``jitter`` of it), until
        cancelled."""
        while True:
            await asyncio.sleep(self._resync * (1 + self._jitter * random.random()))
            self.request_all()

    def close(self) -> None:
        self.queue.cancel_timers()
