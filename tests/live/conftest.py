"""Fixtures for live-cache tests against the test bed: a client on ``dev``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.testenv import handle

T = TypeVar("T")


@pytest.fixture(scope="session")
async def dev_client(testbed_handle: handle.TestBed) -> AsyncIterator[kube_client.KubeClient]:
    cfg = kube_config.from_kubeconfig(testbed_handle.clusters["dev"].kubeconfig)
    async with kube_client.client_for(cfg) as client:
        yield client


async def eventually(
    probe: Callable[[], T | None], *, within: float = 30.0, every: float = 0.05
) -> T:
    """Poll ``probe`` (synchronous: it reads the cache) until truthy; fail after ``within``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(every)
