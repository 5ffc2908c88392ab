"""Tidegate's image, built from the Containerfile on this machine and run.

``image.build`` (``tidegate testenv image build``) builds it with podman, daemonless, from a
debootstrapped Debian base and the test bed's helm; podman's layer cache makes a build with
unchanged inputs quick, so every run builds. The image must then print its version; run as uid
999 with git, ssh, gpg, helm and kubectl; run ``tidegate controller`` as the chart's pods run it
(read-only root filesystem, HOME writable) and sync a Helm chart and a kustomization from the
test bed's git to its ``dev`` cluster; and push to the test bed's registry.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import tidegate
from tidegate.testenv import handle, image, registry, scenario, testbed

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: greeter\nversion: 1.2.3\n",
    "chart/values.yaml": "greeting: hello\n",
    "chart/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeter\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
        "  chart: {{ .Chart.Version | quote }}\n"
    ),
    "kust/kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: kust-\n"
    "commonLabels: {built-by: kustomize}\n",
    "kust/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
    "data:\n  mode: image\n",
}


@pytest.fixture(scope="module")
def built() -> image.Built:
    return image.build(ROOT)


def empty_dir(path: Path) -> Path:
    """A directory as a pod's emptyDir is: anyone may write."""
    path.mkdir()
    path.chmod(0o777)
    return path


def run(built: image.Built, home: Path, *args: str, entrypoint: str | None = None) -> str:
    argv = image.run_argv(built.reference, args, entrypoint=entrypoint, home=home)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_the_image_prints_its_version(built: image.Built, tmp_path: Path) -> None:
    out = run(built, empty_dir(tmp_path / "home"), "version")
    assert f"v{tidegate.__version__}+tidegate" in out
    assert "cpython 3.11" in out  # Debian 12's python3


def test_the_image_runs_as_uid_999_with_its_tools(built: image.Built, tmp_path: Path) -> None:
    script = (
        "id -u; id -g; echo HOME=$HOME; touch $HOME/w && echo home-writable; "
        "git --version; ssh -V 2>&1; gpg --version | head -n1; "
        "helm version --short; kubectl version --client"
    )
    lines = run(built, empty_dir(tmp_path / "home"), "-c", script, entrypoint="sh").splitlines()
    assert lines[:4] == ["999", "999", "HOME=/home/tidegate", "home-writable"]
    text = "\n".join(lines)
    for expected in ("git version 2.", "OpenSSH_", "gpg (GnuPG) 2.", "Client Version: v1."):
        assert expected in text
    assert any(line.startswith("v3.") for line in lines), text  # helm


def test_the_root_filesystem_is_read_only(built: image.Built, tmp_path: Path) -> None:
    argv = image.run_argv(
        built.reference,
        ["-c", "touch /opt/tidegate/x"],
        entrypoint="sh",
        home=empty_dir(tmp_path / "home"),
    )
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode != 0 and "Read-only file system" in out.stderr


@pytest.fixture
def control_namespace(testbed_handle: handle.TestBed) -> Iterator[str]:
    namespace = f"tgi-{secrets.token_hex(3)}"
    scenario.control_namespace(testbed_handle, namespace, ("dev",))
    try:
        yield namespace
    finally:
        with testbed_handle.admin_client("mgmt") as client:
            client.delete(f"/api/v1/namespaces/{namespace}")
        with testbed_handle.admin_client("dev") as client:
            client.delete(f"/api/v1/namespaces/{namespace}-apps")


def test_the_images_controller_syncs_a_chart_and_a_kustomization(
    built: image.Built,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path: Path,
) -> None:
    # The bed's kubeconfig is the owner's only; the container's uid 999 reads a copy, seen at
    # the path the controller is given.
    kubeconfig = testbed_handle.clusters["mgmt"].kubeconfig
    readable = tmp_path / "kubeconfig"
    readable.write_bytes(kubeconfig.read_bytes())
    readable.chmod(0o644)
    container = f"tidegate-{control_namespace}"
    program = image.run_argv(
        built.reference,
        [],
        volumes={readable: str(kubeconfig)},
        name=container,
        home=empty_dir(tmp_path / "home"),
    )
    controller = scenario.ControllerProcess(
        testbed_handle, control_namespace, log=tmp_path / "controller.log", program=program
    ).start()
    try:
        controller.wait_log("controller ready", timeout=90)
        ops = scenario.GitOps(testbed_handle, control_namespace, controller, tmp_path, 0)
        repo, _ = ops.repo(CHART)
        target = f"{control_namespace}-apps"
        for name, path in (("greeter", "chart"), ("settings", "kust")):
            ops.create_app(
                scenario.application(
                    name,
                    repo_url=repo.http_url,
                    path=path,
                    server=testbed_handle.clusters["dev"].server,
                    namespace=target,
                )
            )
        for name in ("greeter", "settings"):
            ops.wait_app(name, scenario.synced_healthy, timeout=120, what="Synced and Healthy")
        greeter = json.loads(
            scenario.kubectl(
                testbed_handle, "dev", "-n", target, "get", "cm", "greeter-greeter", "-o", "json"
            )
        )
        assert greeter["data"] == {"greeting": "hello", "chart": "1.2.3"}
        settings = json.loads(
            scenario.kubectl(
                testbed_handle, "dev", "-n", target, "get", "cm", "kust-settings", "-o", "json"
            )
        )
        assert settings["metadata"]["labels"]["built-by"] == "kustomize"
    finally:
        controller.stop()
        subprocess.run(["podman", "rm", "-f", container], capture_output=True, timeout=60)


def test_the_image_pushes_to_the_registry(
    built: image.Built, testbed_handle: handle.TestBed
) -> None:
    testbed.up(testbed_handle.directory, [], registry=True)
    info = registry.RegistryInfo.load(testbed_handle.directory)
    tag = f"t{secrets.token_hex(3)}"
    digest = image.push(built.reference, info, f"tidegate:{tag}")
    assert digest.startswith("sha256:")
    resp = httpx.get(
        f"http://{info.address}/v2/tidegate/manifests/{tag}",
        auth=(info.username, info.password),
        headers={"Accept": f"{registry.OCI_MANIFEST}, {DOCKER_MANIFEST}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["Docker-Content-Digest"] == digest
    layers = resp.json()["layers"]
    assert len(layers) >= 4  # base, apt, helm, venv, user
