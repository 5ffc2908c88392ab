"""Fixtures for live-cache tests against the test bed: a client on ``dev``."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
