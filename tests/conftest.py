"""Session-wide fixtures: the local test bed (real control planes and git server).

The test bed starts once per test session in a temporary directory and is torn down at the end.
To iterate faster, start one yourself (``tidegate testenv up --dir D``) and export
``TIDEGATE_TESTENV_DIR=D``: the fixtures then reuse it and leave it running.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.testenv import handle, testbed

REUSE_ENV = "TIDEGATE_TESTENV_DIR"


@pytest.fixture(scope="session")
def testbed_handle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[handle.TestBed]:
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        directory = Path(reuse)
        # A bed started with fewer clusters (`up --clusters mgmt,dev`) keeps just those.
        state = testbed.State.load(directory)
        kept = tuple(state.clusters) if state is not None and state.clusters else ()
        testbed.up(directory, kept or testbed.DEFAULT_CLUSTERS)
        yield handle.TestBed.open(directory)
        return
    directory = tmp_path_factory.mktemp("testbed")
    testbed.up(directory, testbed.DEFAULT_CLUSTERS)
    try:
        yield handle.TestBed.open(directory)
    finally:
        testbed.down(directory)


@pytest.fixture(scope="session")
def git_remote(testbed_handle: handle.TestBed) -> handle.GitRemote:
    assert testbed_handle.git is not None, "the test bed runs without its git server"
    return testbed_handle.git


@pytest.fixture
def namespace(testbed_handle: handle.TestBed) -> Iterator[str]:
    """A fresh namespace on the ``dev`` cluster, deleted after the test."""
    name = f"t-{secrets.token_hex(4)}"
    with testbed_handle.admin_client("dev") as client:
        resp = client.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        )
        resp.raise_for_status()
        yield name
        client.delete(f"/api/v1/namespaces/{name}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under an ``e2e`` directory is an e2e test, marked or not, so that
    ``-m "not e2e"`` never starts a test bed."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)
