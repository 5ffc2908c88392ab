"""Retry policy math: the exponential backoff of a sync retry.

``spec.syncPolicy.retry.backoff``: ``duration`` (default ``5s``; a bare number means seconds),
``factor`` (default 2) and ``maxDuration`` (default ``3m``). Attempt 0 waits ``duration``,
attempt n waits ``duration * factor**n``, never more than ``maxDuration``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tidegate.model import durations, errors


@dataclasses.dataclass(frozen=True)
class Backoff:
    duration: float = 5.0
    factor: float = 2.0
    max_duration: float = 180.0

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> Backoff:
        spec = spec or {}
        factor = spec.get("factor", 2)
        try:
            factor = float(factor)
        except (TypeError, ValueError):
            raise errors.SpecError(
                f"retry backoff factor must be a number, not {factor!r}"
            ) from None
        if factor < 1:
            raise errors.SpecError(f"retry backoff factor must be at least 1, not {factor}")
        return cls(
            duration=durations.parse(str(spec.get("duration") or "5s")),
            factor=factor,
            max_duration=durations.parse(str(spec.get("maxDuration") or "3m")),
        )


def next_retry_delay(attempt: int, backoff: Backoff) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based)."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, not {attempt}")
    delay = backoff.duration
    for _ in range(attempt):
        delay *= backoff.factor
        if delay >= backoff.max_duration:
            break
    return min(delay, backoff.max_duration) if backoff.max_duration > 0 else delay


def should_retry(attempt: int, limit: int) -> bool:
    """Whether retry number ``attempt`` (0-based) is allowed; a negative limit is unlimited."""
    return limit < 0 or attempt < limit
