"""A control namespace with Tidegate installed, a real ``tidegate server`` and (for the modules
that ask for it) a real controller, per test module."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tidegate.testenv import handle, procs, scenario, serverproc


@pytest.fixture(scope="module")
def control_namespace(testbed_handle: handle.TestBed) -> Iterator[str]:
    namespace = f"tgs-{secrets.token_hex(3)}"
    scenario.control_namespace(testbed_handle, namespace)
    try:
        yield namespace
    finally:
        with testbed_handle.admin_client("mgmt") as client:
            client.delete(f"/api/v1/namespaces/{namespace}")


@pytest.fixture(scope="module")
def server_extra() -> list[str]:
    """More ``tidegate server`` flags for a module's server (override it in the module)."""
    return []


@pytest.fixture(scope="module")
def controller_extra() -> list[str]:
    """More ``tidegate controller`` flags for a module's controller (override it)."""
    return []


@pytest.fixture(scope="module")
def server(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    server_extra: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[serverproc.ServerProcess]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    proc = serverproc.ServerProcess(
        testbed_handle, control_namespace, log=log, extra=server_extra
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def token(server: serverproc.ServerProcess) -> str:
    return server.login()


@pytest.fixture(scope="module")
def api(server: serverproc.ServerProcess, token: str) -> Iterator[httpx.Client]:
    """An admin session with the module's server."""
    with server.client(token=token) as client:
        yield client


@pytest.fixture(scope="module")
def controller(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    controller_extra: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[scenario.ControllerProcess]:
    workdir = tmp_path_factory.mktemp("controller")
    proc = scenario.ControllerProcess(
        testbed_handle,
        control_namespace,
        log=workdir / "controller.log",
        app_resync=5,
        webhook_port=procs.free_port(),
        extra=controller_extra,
    ).start()
    proc.wait_log("controller ready", timeout=60)
    try:
        yield proc
    finally:
        proc.stop()
