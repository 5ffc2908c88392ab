"""A real ``tidegate server`` and controller on the shared test bed (the API tests' fixtures),
and Debian's Chromium driven by Playwright. No browser is ever downloaded: the tests use
/usr/bin/chromium (``./dev`` installs it, see testenv/system-packages.yaml) or skip."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright
from tests.api.conftest import (
    control_namespace,
    controller,
    controller_extra,
    server,
    server_extra,
    token,
)

from tidegate.testenv import serverproc

__all__ = [
    "control_namespace",
    "controller",
    "controller_extra",
    "server",
    "server_extra",
    "token",
]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTH, HEIGHT = 1280, 800
expect.set_options(timeout=20_000)  # the controller and the stream, not a slow page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed: ./dev installs it (Debian package chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: Browser, server: serverproc.ServerProcess) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at 1280 px, trusting the server's own certificate."""
    ctx = browser.new_context(
        base_url=server.url,
        ignore_https_errors=True,
        viewport={"width": WIDTH, "height": HEIGHT},
    )
    ctx.set_default_timeout(20_000)
    problems: list[str] = []
    ctx.on("weberror", lambda e: problems.append(f"script error: {e.error}"))
    ctx.on(
        "console",
        lambda m: (
            problems.append(f"console: {m.text}")
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    try:
        yield ctx
    finally:
        ctx.close()
    assert problems == [], problems  # no script error, no refused script or style (CSP)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
