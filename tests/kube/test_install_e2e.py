"""``tidegate install`` on the test bed's management cluster: idempotent, CRDs accept objects."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def tidegate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "tidegate"), *args], capture_output=True, text=True, timeout=180, check=False
    )


def kubectl(
    kubeconfig: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_install_twice_then_an_application_is_accepted(testbed_handle: handle.TestBed) -> None:
    kubeconfig = testbed_handle.clusters["mgmt"].kubeconfig
    first = tidegate("install", "--kubeconfig", str(kubeconfig))
    assert first.returncode == 0, first.stderr
    assert "customresourcedefinition.apiextensions.k8s.io/applications.argoproj.io" in first.stdout
    assert "appproject.argoproj.io/default" in first.stdout

    second = tidegate("install", "--kubeconfig", str(kubeconfig), "-o", "json")
    assert second.returncode == 0, second.stderr
    rows = json.loads(second.stdout)
    assert {r["action"] for r in rows} == {"unchanged"}, rows
    assert {r["resource"] for r in rows} >= {
        "namespace/argocd",
        "customresourcedefinition.apiextensions.k8s.io/applications.argoproj.io",
        "customresourcedefinition.apiextensions.k8s.io/applicationsets.argoproj.io",
        "customresourcedefinition.apiextensions.k8s.io/appprojects.argoproj.io",
        "appproject.argoproj.io/default",
        # Argo Rollouts' CRDs, created where missing (Tidegate's Rollouts controller)
        "customresourcedefinition.apiextensions.k8s.io/rollouts.argoproj.io",
        "customresourcedefinition.apiextensions.k8s.io/analysisruns.argoproj.io",
        # and the SealedSecret CRD (Tidegate's Sealed Secrets controller)
        "customresourcedefinition.apiextensions.k8s.io/sealedsecrets.bitnami.com",
    }

    name = f"guestbook-{secrets.token_hex(3)}"
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://github.com/argoproj/argocd-example-apps.git",
                "targetRevision": "HEAD",
                "path": "guestbook",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
        },
    }
    applied = kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(app))
    assert applied.returncode == 0, applied.stderr
    try:
        got = kubectl(kubeconfig, "get", "application", name, "-n", "argocd", "-o", "json")
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout)["spec"]["source"]["path"] == "guestbook"
    finally:
        kubectl(kubeconfig, "delete", "application", name, "-n", "argocd", "--wait=false")


def test_install_on_unreachable_cluster_exits_1(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t0ken-SECRET"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    result = tidegate("install", "--kubeconfig", str(config))
    assert result.returncode == 1
    assert "unreachable" in result.stderr and f"127.0.0.1:{port}" in result.stderr
    assert "SECRET" not in result.stderr + result.stdout
    bad_context = tidegate("install", "--kubeconfig", str(config), "--context", "nope")
    assert bad_context.returncode == 1 and "context 'nope' not found" in bad_context.stderr
