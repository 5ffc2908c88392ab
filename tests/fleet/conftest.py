"""A fleet on the test bed, per test module: Tidegate installed in a fresh control namespace of
``mgmt``, dev/staging/prod registered as labelled cluster Secrets, a credential template for the
git server, and a real ``tidegate controller`` process (Application + ApplicationSet controllers,
webhook endpoint on a free port).

A module may set ``CLUSTER_LABELS = {"dev": {...}, ...}`` to choose the Secrets' labels.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tidegate.testenv import handle, procs, scenario

from . import fleet

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fleet_env(
    request: pytest.FixtureRequest,
    testbed_handle: handle.TestBed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[fleet.Fleet]:
    namespace = f"fleet-{secrets.token_hex(3)}"
    workdir = tmp_path_factory.mktemp("fleet")
    labels = getattr(request.module, "CLUSTER_LABELS", fleet.DEFAULT_LABELS)
    scenario.control_namespace(testbed_handle, namespace, {c: labels[c] for c in fleet.CLUSTERS})
    port = procs.free_port()
    controller = scenario.ControllerProcess(
        testbed_handle,
        namespace,
        log=workdir / "controller.log",
        app_resync=60,
        webhook_port=port,
    ).start()
    env = fleet.Fleet(testbed_handle, namespace, controller, workdir, port)
    try:
        controller.wait_log("controller ready", timeout=90)
        yield env
    finally:
        controller.stop()
        env.cleanup()
