"""A deduplicating work queue of application names, as client-go's workqueue behaves.

An item added while queued is not queued twice; an item added while being processed is processed
again once the current run is done. A hard refresh request is never lost to a normal one.
"""

from __future__ import annotations

import asyncio
import time

from tidegate.metrics import families as metric_families


class WorkQueue:
    def __init__(self, name: str = "app_refresh") -> None:
        self.name = name  # the ``queue`` label of tidegate_workqueue_* metrics
        self._added_at: dict[str, float] = {}  # monotonic time each queued item was added
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: dict[str, bool] = {}  # queued, not yet taken -> hard
        self._processing: set[str] = set()
        self._dirty: dict[str, bool] = {}  # re-added while processing -> hard
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def processing(self) -> int:
        return len(self._processing)

    def add(self, name: str, *, hard: bool = False) -> None:
        if name in self._processing:
            self._dirty[name] = self._dirty.get(name, False) or hard
            return
        if name in self._pending:
            self._pending[name] = self._pending[name] or hard
            return
        self._pending[name] = hard
        self._added_at[name] = time.monotonic()
        metric_families.WORKQUEUE_ADDS.labels(self.name).inc()
        self._idle.clear()
        self._queue.put_nowait(name)

    def add_after(self, name: str, delay: float, *, hard: bool = False) -> None:
        """Add ``name`` after ``delay`` seconds (a later call for the same name replaces it)."""
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        if delay <= 0:
            self.add(name, hard=hard)
            return
        loop = asyncio.get_running_loop()
        self._timers[name] = loop.call_later(delay, self._fire, name, hard)

    def _fire(self, name: str, hard: bool) -> None:
        self._timers.pop(name, None)
        self.add(name, hard=hard)

    async def get(self) -> tuple[str, bool]:
        while True:
            name = await self._queue.get()
            if name in self._pending:
                hard = self._pending.pop(name)
                added = self._added_at.pop(name, None)
                if added is not None:
                    waited = time.monotonic() - added
                    metric_families.WORKQUEUE_LATENCY.labels(self.name).observe(waited)
                self._processing.add(name)
                return name, hard

    def done(self, name: str) -> None:
        self._processing.discard(name)
        if name in self._dirty:
            self.add(name, hard=self._dirty.pop(name))
        self._check_idle()

    async def wait_idle(self) -> None:
        """Return once nothing is queued or being processed (delayed adds do not count)."""
        await self._idle.wait()

    def _check_idle(self) -> None:
        if not self._pending and not self._processing:
            self._idle.set()

    def forget(self, name: str) -> None:
        """Drop ``name`` entirely (the app was deleted)."""
        self._pending.pop(name, None)
        self._added_at.pop(name, None)
        self._dirty.pop(name, None)
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        self._check_idle()

    def cancel_timers(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
