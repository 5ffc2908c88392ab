"""Retry policy math: Go-style duration strings and the exponential backoff of a sync retry.

``spec.syncPolicy.retry.backoff``: ``duration`` (default ``5s``; a bare number means seconds),
``factor`` (default 2) and ``maxDuration`` (default ``3m``). Attempt 0 waits ``duration``,
attempt n waits ``duration * factor**n``, never more than ``maxDuration``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from tidegate.model import errors

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (``5s``, ``2m``, ``1h30m``, ``250ms``) or bare seconds (``10``)."""
    raw = text.strip()
    if re.fullmatch(r"\d+", raw):
        return float(raw)
    body = raw.lstrip("+")
    if body == "0":
        return 0.0
    if not body or _PART.sub("", body) != "":
        raise errors.SpecError(f"invalid duration {text!r} (expected e.g. 5s, 2m, 1h30m)")
    return sum(float(num) * _UNITS[unit] for num, unit in _PART.findall(body))


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
            duration=parse_duration(str(spec.get("duration") or "5s")),
            factor=factor,
            max_duration=parse_duration(str(spec.get("maxDuration") or "3m")),
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
