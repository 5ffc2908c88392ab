"""Polling from the synchronous API tests, through the one implementation (testenv.wait)."""

from __future__ import annotations

import asyncio
from typing import Any

from tidegate.testenv import wait


def until(probe: Any, *, within: float) -> Any:
    """Poll ``probe`` until it returns something truthy (AssertionError after ``within`` s)."""
    return asyncio.run(wait.eventually(probe, within=within, every=0.2))
