"""Fixtures for tests against the test bed's real API servers: async clients per cluster."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.testenv import handle

T = TypeVar("T")


@pytest.fixture(scope="session")
async def dev(testbed_handle: handle.TestBed) -> AsyncIterator[kube_client.KubeClient]:
    """A Tidegate client for the ``dev`` cluster (session-wide: one connection pool)."""
    cfg = kube_config.from_kubeconfig(testbed_handle.clusters["dev"].kubeconfig)
    async with kube_client.client_for(cfg) as client:
        yield client


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
