"""A management cluster with Tidegate installed and a controller process, per test module."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tidegate.testenv import gitea as giteaforge
from tidegate.testenv import handle, procs, scenario


@pytest.fixture(scope="module")
def gitops(
    request: pytest.FixtureRequest,
    testbed_handle: handle.TestBed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[scenario.GitOps]:
    """A module's controller; a module sets ``APP_RESYNC`` (seconds) to change its Git poll,
    and ``CONTROLLER_ARGS`` (a function of the module's work directory returning extra
    ``tidegate controller`` arguments) to configure it further."""
    namespace = f"tg-{secrets.token_hex(3)}"
    workdir = tmp_path_factory.mktemp("gitops")
    scenario.control_namespace(testbed_handle, namespace, {"dev": {"environment": "dev"}})
    extra_args = getattr(request.module, "CONTROLLER_ARGS", None)
    port = procs.free_port()
    controller = scenario.ControllerProcess(
        testbed_handle,
        namespace,
        log=workdir / "controller.log",
        app_resync=getattr(request.module, "APP_RESYNC", 5),
        webhook_port=port,
        extra=extra_args(workdir) if extra_args is not None else (),
    ).start()
    controller.wait_log("controller ready", timeout=60)
    ops = scenario.GitOps(testbed_handle, namespace, controller, workdir, port)
    try:
        yield ops
    finally:
        controller.stop()
        with testbed_handle.admin_client("mgmt") as client:
            client.delete(f"/api/v1/namespaces/{namespace}")


@pytest.fixture(scope="session")
def gitea(tmp_path_factory: pytest.TempPathFactory) -> Iterator[giteaforge.Gitea]:
    """A real Gitea (a forge with a pull request API) for promotion's PR steps, started once
    per session in a directory of its own and stopped after (testenv/gitea.py)."""
    forge = giteaforge.Gitea(tmp_path_factory.mktemp("gitea")).start()
    try:
        yield forge
    finally:
        forge.stop()
