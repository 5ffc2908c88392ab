"""How late this process's event loop runs what is due: is a silent cluster silent, or are we busy?

A probe of a cluster (``GET /version`` within 5 s) that gets no answer marks the cluster down.
When the controller itself is saturated (a cold sync of a whole fleet on two cores), the answer
may have arrived in time and waited behind thousands of ready callbacks: the timeout fires
first and a cluster that answers is called down, its apps Unknown, its operations paused.
:class:`LoopLag` samples the loop's lateness (a timer that should fire every ``interval``
seconds, and how late it does); :func:`too_busy_since` tells a probe whether its silence says
anything about the server.
"""

from __future__ import annotations

import asyncio
import collections
import time

INTERVAL = 0.25
KEEP_SECONDS = 60.0


class LoopLag:
    """Samples of (when, how late) the loop ran a timer, for the last ``KEEP_SECONDS``."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._samples: collections.deque[tuple[float, float]] = collections.deque()

    def record(self, at: float, lag: float) -> None:
        self._samples.append((at, lag))
        while self._samples and self._samples[0][0] < at - KEEP_SECONDS:
            self._samples.popleft()

    def worst_since(self, since: float, *, now: float | None = None) -> float:
        """The largest lateness seen since ``since`` (monotonic), counting the pending sample:
        a loop so busy that the sampler has not run since ``interval`` ago is that late."""
        now = time.monotonic() if now is None else now
        worst = max((lag for at, lag in self._samples if at >= since), default=0.0)
        last = self._samples[-1][0] if self._samples else since
        return max(worst, now - max(last, since) - self.interval)

    async def run(self) -> None:
        global _current
        try:
            while True:
                before = time.monotonic()
                await asyncio.sleep(self.interval)
                after = time.monotonic()
                self.record(after, max(0.0, after - before - self.interval))
        finally:
            if _current is self:  # stopped: nothing samples, no probe is excused
                _current = None


_current: LoopLag | None = None


def start() -> asyncio.Task[None]:
    """Sample the running loop from now on (the controller starts it with its tasks)."""
    global _current
    _current = LoopLag()
    return asyncio.create_task(_current.run(), name="loop-lag")


def too_busy_since(since: float, within: float) -> bool:
    """Whether the loop ran more than half of ``within`` late at some point since ``since``:
    an answer due in that window may have waited behind our own work. False when nothing
    samples the loop."""
    return _current is not None and _current.worst_since(since) > within / 2
