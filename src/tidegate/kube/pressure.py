"""How hard an API server pushes back, as seen by one client: request latency and 429s.

Two moving averages of request latency: a fast one (the last few requests) and a slow one (the
recent past). When requests queue at the server, the fast one rises above the slow one; a 429
("Too Many Requests", API Priority and Fairness) says so outright. The controller's operation
gate (``controller/opgate.py``) reads these to adapt how many operations run at once. Pure
bookkeeping, no I/O: :class:`~tidegate.kube.client.KubeClient` records each answer.
"""

from __future__ import annotations

import dataclasses

FAST = 0.3  # weight of the newest sample in the fast average
SLOW = 0.02  # and in the slow one


@dataclasses.dataclass(frozen=True)
class Sample:
    """What the gate reads: latency trend (fast / slow average, 1.0 = steady) and 429s so far."""

    trend: float = 1.0
    throttled: int = 0


class Pressure:
    """Running latency averages and the count of 429 answers of one client."""

    def __init__(self) -> None:
        self.fast = 0.0
        self.slow = 0.0
        self.throttled = 0
        self.requests = 0

    def record(self, seconds: float, code: int) -> None:
        self.requests += 1
        if code == 429:
            self.throttled += 1
        if self.requests == 1:
            self.fast = self.slow = seconds
            return
        self.fast += FAST * (seconds - self.fast)
        self.slow += SLOW * (seconds - self.slow)

    def sample(self) -> Sample:
        if self.requests < 20 or self.slow <= 0:  # too few answers to speak of a trend
            return Sample(1.0, self.throttled)
        return Sample(self.fast / self.slow, self.throttled)


def worst(samples: list[Sample]) -> Sample:
    """Several servers (management and destinations): the steepest trend, all 429s."""
    if not samples:
        return Sample()
    return Sample(max(s.trend for s in samples), sum(s.throttled for s in samples))
