"""Durations (pure): the one parser of Go-style durations as Argo CD writes them (``5s``,
``1h30m``, ``250ms``; a bare whole number means seconds, as Argo CD accepts in retry backoffs
and sync windows), and their short form for messages and logs.
"""

from __future__ import annotations

import re

from tidegate.model import errors

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse(text: str) -> float:
    """Seconds in ``text``; :class:`~tidegate.model.errors.SpecError` when it is no duration."""
    raw = text.strip()
    if re.fullmatch(r"\d+", raw):
        return float(raw)
    body = raw.lstrip("+")
    if body == "0":
        return 0.0
    if not body or _PART.sub("", body) != "":
        raise errors.SpecError(f"invalid duration {text!r} (expected e.g. 5s, 2m, 1h30m)")
    return sum(float(num) * _UNITS[unit] for num, unit in _PART.findall(body))


def check(value: str | None) -> str | None:
    """``value`` unchanged if it is a duration (or None); ValueError otherwise, for pydantic
    field validators."""
    if value is not None:
        try:
            parse(value)
        except errors.SpecError:
            raise ValueError(f"{value!r} is not a duration (e.g. 5s, 3m, 1h30m)") from None
    return value


def short(seconds: float) -> str:
    """``45s``, ``2m10s``, ``1h02m``: short enough for a log line, exact enough to follow."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
