"""How a repository's server has been answering: a record per repository, and its message.

Pure data and pure functions (no I/O, no clock: callers pass the time). :class:`RepoCache`
keeps one :class:`RepoHealth` per repository and replaces it on every network operation with
:func:`started`, :func:`succeeded` and :func:`failed`; readers (the controller, metrics) get
immutable snapshots and turn them into an Application condition with :func:`condition_message`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tidegate.model.durations import short as duration

# After this many failures in a row the back-off stops growing.
_MAX_RETRY_DELAY = 60.0
_FIRST_RETRY_DELAY = 2.0


@dataclass(frozen=True)
class Stamp:
    """A moment on both clocks: ``monotonic`` for durations, ``wall`` (Unix seconds) to show."""

    monotonic: float
    wall: float


@dataclass(frozen=True)
class RepoHealth:
    """One repository's record; ``repo`` is the display form of its URL (no credentials).

    ``failing_since`` is when the first operation of the current run of failures started
    (the server has not answered properly since then), ``last_failure`` when the latest one
    ended; they and ``last_error`` are cleared by the next success. ``operation`` and
    ``operation_since`` describe the git command running now.
    """

    repo: str
    last_success: Stamp | None = None
    failing_since: Stamp | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    last_failure: Stamp | None = None
    operation: str | None = None
    operation_since: Stamp | None = None

    @property
    def failing(self) -> bool:
        return self.consecutive_failures > 0

    def operation_age(self, now: float) -> float | None:
        """Seconds the running operation has been in flight (monotonic ``now``), or None."""
        return None if self.operation_since is None else now - self.operation_since.monotonic

    def unanswered_for(self, now: float) -> float | None:
        """Seconds since the server last answered properly, while it is failing; else None."""
        return None if self.failing_since is None else now - self.failing_since.monotonic


def started(health: RepoHealth, operation: str, now: Stamp) -> RepoHealth:
    return dataclasses.replace(health, operation=operation, operation_since=now)


def succeeded(health: RepoHealth, now: Stamp) -> RepoHealth:
    return dataclasses.replace(
        health,
        last_success=now,
        failing_since=None,
        last_error=None,
        consecutive_failures=0,
        last_failure=None,
        operation=None,
        operation_since=None,
    )


def failed(health: RepoHealth, error: str, now: Stamp) -> RepoHealth:
    """After a failed operation; ``error`` must already be free of credentials."""
    began = health.operation_since or now
    return dataclasses.replace(
        health,
        failing_since=health.failing_since or began,
        last_error=error,
        consecutive_failures=health.consecutive_failures + 1,
        last_failure=now,
        operation=None,
        operation_since=None,
    )


def abandoned(health: RepoHealth) -> RepoHealth:
    """After an operation that ended without a verdict (cancelled)."""
    return dataclasses.replace(health, operation=None, operation_since=None)


def retry_delay(health: RepoHealth) -> float:
    """Seconds to wait after the last failure before asking the server again: 2, 4, 8 ... 60."""
    if not health.failing:
        return 0.0
    return float(
        min(_MAX_RETRY_DELAY, _FIRST_RETRY_DELAY * 2 ** min(health.consecutive_failures - 1, 16))
    )


def retry_due(health: RepoHealth, now: float) -> bool:
    """Whether the back-off after the last failure is over (monotonic ``now``)."""
    if not health.failing or health.last_failure is None:
        return True
    return now - health.last_failure.monotonic >= retry_delay(health)


def problem(error: str, repo: str) -> str:
    """``error`` without its leading ``repository <repo>[ revision ...]: `` (the message names
    the repository already)."""
    prefix = f"repository {repo}"
    if error.startswith(prefix):
        rest = error[len(prefix) :]
        head, sep, tail = rest.partition(": ")
        if sep and (not head or head.startswith(" revision ")):
            return tail
    return error


def condition_message(
    health: RepoHealth, *, now: float, last_commit: str | None = None
) -> str | None:
    """The message of the condition an app on this repository shows, or None when the
    repository answers. ``now`` is monotonic; ``last_commit`` the commit of the target the
    app keeps using (None: nothing to show).

    ``repository https://host/org/repo has not answered for 2m10s (git fetch timed out after
    30s; 4 attempts); showing the last rendered target of commit abc123def456``
    """
    unanswered = health.unanswered_for(now)
    if unanswered is None:
        return None
    attempts = health.consecutive_failures
    why = problem(health.last_error or "no answer", health.repo)
    detail = why if attempts == 1 else f"{why}; {attempts} attempts"
    running = health.operation_age(now)
    if running is not None:
        detail += f"; retry running for {duration(running)}"
    message = f"repository {health.repo} has not answered for {duration(unanswered)} ({detail})"
    if last_commit:
        message += f"; showing the last rendered target of commit {last_commit[:12]}"
    return message
