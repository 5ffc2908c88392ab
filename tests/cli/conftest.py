"""Fixtures of the CLI's e2e tests (helpers in ``appcli``): a control namespace per module, a
source directory and a repository on the bed's git server, a ``Cli`` on that namespace, and a
namespace of its own with ``tidegate controller`` running on it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.testenv import handle

from .appcli import CONTROLLER, SECRET_VALUE, Cli, control_namespace, register_repo


@pytest.fixture(scope="module")
def control(testbed_handle: handle.TestBed) -> Iterator[str]:
    ns = control_namespace(testbed_handle, "tg-app")
    yield ns
    with testbed_handle.admin_client("mgmt") as mgmt:
        mgmt.delete(f"/api/v1/namespaces/{ns}")


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src")
    (root / "app").mkdir()
    (root / "app" / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: blue}\n"
    )
    (root / "app" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: web-secret}\n"
        f"stringData: {{password: {SECRET_VALUE}}}\n"
    )
    return root


@pytest.fixture(scope="module")
def repo_url(
    control: str, source_dir: Path, git_remote: handle.GitRemote, testbed_handle: handle.TestBed
) -> str:
    repo = git_remote.create_repo(from_dir=source_dir)
    register_repo(testbed_handle, control, git_remote, repo.http_url)
    return repo.http_url


@pytest.fixture(scope="module")
def cli(
    testbed_handle: handle.TestBed, control: str, tmp_path_factory: pytest.TempPathFactory
) -> Cli:
    return Cli(testbed_handle, control, tmp_path_factory.mktemp("cache"))


@pytest.fixture
def controlled(
    testbed_handle: handle.TestBed, tmp_path: Path
) -> Iterator[tuple[Cli, subprocess.Popen[bytes]]]:
    """A control namespace of its own with ``tidegate controller`` running on it."""
    ns = control_namespace(testbed_handle, "tg-ctl")
    log = (tmp_path / "controller.log").open("wb")
    proc = subprocess.Popen(
        [
            *CONTROLLER,
            "-n",
            ns,
            "--kubeconfig",
            str(testbed_handle.kubeconfig),
            "--app-resync",
            "5",
            # Its own installation id: other suites' same-named apps on dev are not its own.
            "--installation-id",
            ns,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")},
    )
    try:
        yield Cli(testbed_handle, ns, tmp_path / "cli-cache"), proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        with testbed_handle.admin_client("mgmt") as mgmt:
            mgmt.delete(f"/api/v1/namespaces/{ns}")
