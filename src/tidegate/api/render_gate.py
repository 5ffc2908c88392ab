"""A cap on the on-demand renders of ``managed-resources`` and ``manifests``.

Each such request fetches a repository, runs helm or kustomize and reads a destination cluster:
seconds of CPU and memory. :class:`RenderGate` lets ``limit`` of them run at once and ``queue``
more wait for a slot, in arrival order; a request beyond that is refused at once with 503 and a
``Retry-After`` header (gRPC Unavailable, as a client retries it), so a burst of requests cannot
exhaust the server. A waiting request whose client goes away gives its place back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tidegate.api import errors

DEFAULT_LIMIT = 4
DEFAULT_QUEUE = 16
RETRY_AFTER_SECONDS = 5


class RenderGate:
    def __init__(self, *, limit: int = DEFAULT_LIMIT, queue: int = DEFAULT_QUEUE) -> None:
        if limit < 1 or queue < 0:
            raise ValueError(f"render limit must be >= 1 and queue >= 0 (got {limit}, {queue})")
        self.limit = limit
        self.queue = queue
        self._slots = asyncio.Semaphore(limit)
        self._admitted = 0  # running + waiting

    @property
    def admitted(self) -> int:
        """Requests running or waiting now."""
        return self._admitted

    @contextlib.asynccontextmanager
    async def slot(self, what: str) -> AsyncIterator[None]:
        """Run the body when a slot is free; 503 when ``limit + queue`` requests are in."""
        if self._admitted >= self.limit + self.queue:
            raise errors.ApiError(
                503,
                f"{what}: too many renders in progress ({self.limit} running, "
                f"{self.queue} waiting); retry in {RETRY_AFTER_SECONDS} s",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._admitted += 1
        try:
            async with self._slots:
                yield
        finally:
            self._admitted -= 1
