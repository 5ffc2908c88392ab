"""Go-style durations as Argo CD writes them (pure): the one parser of ``5s``, ``1h30m``, ``250ms``.

A bare whole number means seconds (``10``), as Argo CD accepts in retry backoffs and sync windows.
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
