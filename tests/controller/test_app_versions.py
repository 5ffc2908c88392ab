"""The controller's stored copy of an app never goes back to an older version.

Watch events and the responses to the controller's own writes arrive in no fixed order. A late
copy without a new ``operation`` left a RollingSync step waiting two Git polls (128 s) in the
fleet e2e test; a late copy with a finished one ran that sync again.
"""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.controller import appstate


def app(rv: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web"}
    if rv is not None:
        meta["resourceVersion"] = rv
    return {"metadata": meta}


@pytest.mark.parametrize(
    ("candidate", "current", "older"),
    [
        ("41", "42", True),
        ("42", "42", False),
        ("43", "42", False),
        ("9", "10", True),  # numbers, not strings
        ("42", None, False),  # nothing stored yet
        ("abc", "42", False),  # not an integer: taken as newer (previous behaviour)
        (None, "42", False),
    ],
)
def test_older(candidate: str | None, current: str | None, older: bool) -> None:
    stored = app(current) if current is not None else None
    assert appstate.older(app(candidate), stored) is older
