"""``tidegate version --core`` with kubectl's connection flags, against the test bed's API
servers: the version of the cluster the flags name (``--context``, ``--cluster``/``--user``
swapped in, ``--token`` sent), and precise usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e


def _version(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", "version", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "NO_COLOR": "1"},
    )


def _server(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    server: dict[str, str] = json.loads(done.stdout)["server"]
    return server


def test_version_core_reports_the_named_clusters_version(testbed_handle: handle.TestBed) -> None:
    kubeconfig = str(testbed_handle.kubeconfig)
    dev = _server(_version("--core", "--kubeconfig", kubeconfig, "--context", "dev", "-o", "json"))
    assert dev["Server"] == testbed_handle.clusters["dev"].server
    assert dev["Version"].startswith("v1.") and dev["Platform"]

    swapped = _version(
        "--core", "--kubeconfig", kubeconfig, "--context", "dev",
        "--cluster", "staging", "--user", "staging-admin", "--request-timeout", "20s",
        "-o", "json",
    )  # fmt: skip
    assert _server(swapped)["Server"] == testbed_handle.clusters["staging"].server

    text = _version("--core", "--kubeconfig", kubeconfig, "--context", "prod", "--short")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[1] == f"kube-server: {dev['Version']}"


def test_version_core_sends_the_token(testbed_handle: handle.TestBed, tmp_path: Path) -> None:
    """A kubeconfig whose user has no credentials: ``--token`` is what authenticates."""
    with testbed_handle.admin_client("dev") as dev:
        resp = dev.post(
            "/api/v1/namespaces/default/serviceaccounts/default/token",
            json={"spec": {"expirationSeconds": 600}},
        )
        resp.raise_for_status()
        token = resp.json()["status"]["token"]
    full = yaml.safe_load(testbed_handle.kubeconfig.read_text())
    cluster = next(c for c in full["clusters"] if c["name"] == "dev")
    bare = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "nobody"}}],
        "current-context": "dev",
    }
    path = tmp_path / "bare.kubeconfig"
    path.write_text(yaml.safe_dump(bare))
    good = _version("--core", "--kubeconfig", str(path), "--token", token, "-o", "json")
    assert _server(good)["Server"] == testbed_handle.clusters["dev"].server
    bad = _version("--core", "--kubeconfig", str(path), "--token", "not-a-token")
    assert bad.returncode == 1
    assert "401" in bad.stderr or "Unauthorized" in bad.stderr, bad.stderr
    assert "not-a-token" not in bad.stdout + bad.stderr
    assert token not in good.stdout + good.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cluster", "nope"], "--cluster: no cluster 'nope' in the kubeconfig"),
        (["--user", "nope"], "--user: no user 'nope' in the kubeconfig"),
        (["--request-timeout", "soon"], "--request-timeout: 'soon' is not a duration"),
        (["--context", "nope"], "context 'nope' not found"),
    ],
)
def test_version_core_bad_flags(
    testbed_handle: handle.TestBed, args: list[str], message: str
) -> None:
    done = _version("--core", "--kubeconfig", str(testbed_handle.kubeconfig), *args)
    assert message in " ".join(done.stderr.split()), done.stderr
    assert done.returncode == (1 if "--context" in args else 2)


def test_kubeconfig_flags_need_core(testbed_handle: handle.TestBed) -> None:
    done = _version("--kubeconfig", str(testbed_handle.kubeconfig), "--context", "dev")
    assert done.returncode == 2
    assert "need --core" in done.stderr
