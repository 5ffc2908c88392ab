"""Polling from the browser tests through the one implementation (testenv.wait). Playwright's
sync API keeps an event loop running in the test's thread, so the poll runs in another."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from tidegate.testenv import wait


def until(probe: Any, *, within: float) -> Any:
    """Poll ``probe`` until it returns something truthy (AssertionError after ``within`` s)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, wait.eventually(probe, within=within, every=0.2)).result()
