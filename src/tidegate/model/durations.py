"""Durations as people read them in messages and logs (pure)."""

from __future__ import annotations


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
