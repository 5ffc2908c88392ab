"""Fixtures: a fresh control namespace per test, with the ApplicationSet controller running."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tidegate.appset import controller as appset_controller
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import stages
from tidegate.model import constants, crds
from tidegate.model.keys import ResourceKey
from tidegate.sources import RepoCache
from tidegate.testenv import handle

from . import bed


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requeue(seconds): periodic requeue of the controller")


@pytest.fixture(scope="session")
async def mgmt(testbed_handle: handle.TestBed) -> AsyncIterator[kube_client.KubeClient]:
    cfg = kube_config.from_kubeconfig(testbed_handle.clusters["mgmt"].kubeconfig)
    async with kube_client.client_for(cfg) as client:
        yield client


@pytest.fixture
async def env(
    request: pytest.FixtureRequest,
    mgmt: kube_client.KubeClient,
    testbed_handle: handle.TestBed,
    git_remote: handle.GitRemote,
    tmp_path: Path,
) -> AsyncIterator[bed.Env]:
    marker = request.node.get_closest_marker("requeue")
    namespace = f"appset-{secrets.token_hex(4)}"
    results = await stages.apply_staged(mgmt, crds.install_manifests(namespace))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for cluster, labels in bed.CLUSTER_LABELS.items():
        await mgmt.apply(bed.cluster_secret(namespace, testbed_handle, cluster, labels))
    await mgmt.apply(
        bed.repo_secret(
            namespace, git_remote.info.http_base, git_remote.username, git_remote.password
        )
    )
    controller = appset_controller.AppSetController(
        kube=mgmt,
        namespace=namespace,
        repo_cache=RepoCache(tmp_path / "repos", timeout=60),
        settings=appset_controller.Settings(
            in_cluster_enabled=False,
            # @pytest.mark.requeue(seconds): a short periodic requeue for the test.
            requeue_seconds=float(marker.args[0]) if marker else 180.0,
        ),
    )
    task = asyncio.create_task(controller.run())
    async with asyncio.timeout(30):
        await controller.wait_ready()
    env = bed.Env(
        kube=mgmt,
        namespace=namespace,
        bed=testbed_handle,
        controller=controller,
        apps=await mgmt.resource(constants.GROUP, constants.KIND_APPLICATION),
        sets=await mgmt.resource(constants.GROUP, constants.KIND_APPLICATION_SET),
    )
    try:
        yield env
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await env.strip_finalizers()
        await mgmt.delete(ResourceKey("", "Namespace", "", namespace))
