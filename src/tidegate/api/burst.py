"""Coalescing a burst of changes into one message (pure: the caller passes the time).

A stream that re-renders a page on each change would re-render fifty times for a burst of fifty
watch events (a promotion writes its Promotion, its Stage and its Freight several times within
a second). :class:`Burst` gathers the changes instead and says when to send them as one: once
the changes have been quiet for ``quiet`` seconds (the burst is over), and at the latest
``longest`` seconds after its first change (a steady trickle still shows, at most once per
``longest``). :meth:`Burst.take` returns what changed (the kinds, and how many changes) and
starts the next burst.
"""

from __future__ import annotations

import dataclasses

QUIET_SECONDS = 0.2
LONGEST_SECONDS = 1.0


@dataclasses.dataclass(frozen=True, slots=True)
class Batch:
    """What one burst changed: the kinds (sorted) and the number of changes."""

    kinds: tuple[str, ...]
    changes: int


class Burst:
    def __init__(self, *, quiet: float = QUIET_SECONDS, longest: float = LONGEST_SECONDS) -> None:
        if quiet <= 0 or longest < quiet:
            raise ValueError(f"need 0 < quiet <= longest (got quiet={quiet}, longest={longest})")
        self.quiet = quiet
        self.longest = longest
        self._first: float | None = None
        self._last = 0.0
        self._kinds: set[str] = set()
        self._changes = 0

    def add(self, kind: str, now: float) -> None:
        """One change of ``kind`` at time ``now`` (seconds, any monotonic clock)."""
        if self._first is None:
            self._first = now
        self._last = now
        self._kinds.add(kind)
        self._changes += 1

    def due(self) -> float | None:
        """When the gathered changes should be sent; None when there are none."""
        if self._first is None:
            return None
        return min(self._last + self.quiet, self._first + self.longest)

    def take(self) -> Batch:
        """The gathered changes (the burst starts again empty)."""
        batch = Batch(tuple(sorted(self._kinds)), self._changes)
        self.clear()
        return batch

    def clear(self) -> None:
        """Forget the gathered changes (a full read covers them)."""
        self._first = None
        self._kinds = set()
        self._changes = 0
