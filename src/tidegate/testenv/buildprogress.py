"""What a binary build reports while it runs, and how it reads as text. Pure: no I/O, no clock.

``binaries.ensure`` emits a :class:`BuildStep` when a component starts, every half second while
it builds, and when it is done. A terminal shows the latest step in place (Rich); a CI log gets
plain lines, at each start and end and every :data:`PLAIN_EVERY` seconds in between, which
:class:`PlainThrottle` decides.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tidegate.model.durations import short as duration

PLAIN_EVERY = 20.0
"""Seconds between two plain progress lines of the same component."""


class Event(enum.StrEnum):
    START = "start"
    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True)
class BuildStep:
    """One moment of a build of ``total`` components, of which this is number ``index``."""

    event: Event
    index: int
    total: int
    component: str
    binaries: tuple[str, ...]
    left: tuple[str, ...]
    """Components still to build after this one."""
    elapsed: float
    """Seconds since this component's build started."""
    detail: str = ""
    """The latest line of the build log (the package Go is compiling)."""


def describe(step: BuildStep, *, detail_width: int = 70) -> str:
    """One line: ``[1/4] kubernetes ... 2m10s elapsed, etcd kwok helm left (compiling ...)``."""
    head = f"[{step.index}/{step.total}] {step.component}"
    left = f"{' '.join(step.left)} left" if step.left else "nothing left after it"
    if step.event is Event.START:
        what = ", ".join(step.binaries)
        return f"{head}: building {what} (first run only, several minutes); {left}"
    if step.event is Event.DONE:
        return f"{head}: built in {duration(step.elapsed)}; {left}"
    line = f"{head} ... {duration(step.elapsed)} elapsed, {left}"
    detail = step.detail.strip()
    if detail:
        if len(detail) > detail_width:
            detail = "..." + detail[-(detail_width - 3) :]
        line += f" (at {detail})"
    return line


class PlainThrottle:
    """Decides which steps become plain lines: every start and end, and a running step when
    ``every`` seconds have passed since the last line. ``now`` is any monotonic clock."""

    def __init__(self, every: float = PLAIN_EVERY) -> None:
        self.every = every
        self._last: float | None = None

    def due(self, step: BuildStep, now: float) -> bool:
        if step.event is not Event.RUNNING:
            self._last = now
            return True
        if self._last is None or now - self._last >= self.every:
            self._last = now
            return True
        return False
