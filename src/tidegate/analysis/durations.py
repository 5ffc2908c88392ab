"""Go duration strings as Argo Rollouts reads them: ``30s``, ``1m30s``, ``500ms``, ``1.5h`` (pure).

A bare integer (or a string of digits) means seconds, as Rollout pause durations allow.
"""

from __future__ import annotations

import re

from tidegate.analysis import names

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def seconds(value: object, *, what: str) -> float:
    """The duration ``value`` in seconds; :class:`names.AnalysisSpecError` naming ``what``."""
    if isinstance(value, bool):
        raise names.AnalysisSpecError(f"{what}: invalid duration {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise names.AnalysisSpecError(f"{what}: negative duration {value!r}")
        return float(value)
    text = str(value).strip()
    if text.isdigit():
        return float(text)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise names.AnalysisSpecError(
            f"{what}: invalid duration {value!r} (examples: 30s, 1m30s, 500ms, 1h)"
        )
    return total
