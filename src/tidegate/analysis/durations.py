"""Metric durations (``interval``, ``initialDelay``) in seconds, through the one Go-duration
parser (:mod:`tidegate.model.durations`); an int is seconds. Errors name the field (pure)."""

from __future__ import annotations

from tidegate.analysis import names
from tidegate.model import durations, errors


def seconds(value: object, *, what: str) -> float:
    """The duration ``value`` in seconds; :class:`names.AnalysisSpecError` naming ``what``."""
    if isinstance(value, bool):
        raise names.AnalysisSpecError(f"{what}: invalid duration {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise names.AnalysisSpecError(f"{what}: negative duration {value!r}")
        return float(value)
    try:
        return durations.parse(str(value))
    except errors.SpecError as exc:
        raise names.AnalysisSpecError(f"{what}: {exc}") from None
