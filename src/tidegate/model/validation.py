"""Small field checks shared by the spec models (pure)."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^\d+$")


def check_duration(value: str | None) -> str | None:
    """A Go duration (``5s``, ``1h30m``) or a whole number of seconds, as Argo CD accepts."""
    if value is not None and not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration (e.g. 5s, 3m, 1h30m)")
    return value
