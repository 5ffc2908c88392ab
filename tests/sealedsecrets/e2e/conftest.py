"""Fixtures of the Sealed Secrets e2e tests: a standalone controller on ``dev`` per module.

Each module's controller has its own key namespace and watches only its own fresh namespace,
so runs on the shared bed never see each other's keys or SealedSecrets.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tidegate.testenv import handle, procs, scenario

SS_PATH = "/apis/bitnami.com/v1alpha1/namespaces/{ns}/sealedsecrets"
# The active sealing keys in kube-system (the default key namespace)
KEYS = (
    "/api/v1/namespaces/kube-system/secrets"
    "?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key%3Dactive"
)


def tidegate(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def get(bed: handle.TestBed, cluster: str, path: str) -> dict[str, Any] | None:
    """GET ``path`` on ``cluster`` as admin; None when it is not found."""
    with bed.admin_client(cluster) as c:
        resp = c.get(path)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body


class Bed:
    def __init__(self, bed: handle.TestBed, key_ns: str, app_ns: str, log: Path, port: int) -> None:
        self.bed = bed
        self.port = port
        self.key_ns = key_ns
        self.app_ns = app_ns
        self.log = log
        self.kubeconfig = str(bed.clusters["dev"].kubeconfig)

    def client(self) -> httpx.Client:
        return self.bed.admin_client("dev")

    def seal(self, secret: dict[str, Any], *extra: str) -> dict[str, Any]:
        done = tidegate(
            "seal",
            f"--kubeconfig={self.kubeconfig}",
            f"--controller-namespace={self.key_ns}",
            *extra,
            stdin=json.dumps(secret),
        )
        assert done.returncode == 0, done.stderr
        sealed: dict[str, Any] = json.loads(done.stdout)
        return sealed

    def apply(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        with self.client() as c:
            resp = c.patch(
                SS_PATH.format(ns=self.app_ns) + f"/{name}",
                params={"fieldManager": "test", "force": "true"},
                content=json.dumps(obj),
                headers={"Content-Type": "application/apply-patch+yaml"},
            )
            resp.raise_for_status()

    def get(self, path: str) -> dict[str, Any] | None:
        return get(self.bed, "dev", path)

    def secret(self, name: str) -> dict[str, Any] | None:
        return self.get(f"/api/v1/namespaces/{self.app_ns}/secrets/{name}")

    def sealed(self, name: str) -> dict[str, Any] | None:
        return self.get(SS_PATH.format(ns=self.app_ns) + f"/{name}")


def make_secret(ns: str, name: str, **values: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": "a"}},
        "stringData": values,
    }


def plain(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def synced(sealed: dict[str, Any] | None) -> dict[str, Any] | None:
    for cond in ((sealed or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Synced":
            return dict(cond)
    return None


@pytest.fixture(scope="module")
def bed(
    request: pytest.FixtureRequest,
    testbed_handle: handle.TestBed,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Bed]:
    """The module's controller; a module sets ``CONTROLLER_ARGS`` (a list) to add flags and
    ``LISTEN_HOST`` to serve the HTTP API on another address than 127.0.0.1."""
    token = secrets.token_hex(3)
    key_ns, app_ns = f"ssk-{token}", f"ssa-{token}"
    kubeconfig = str(testbed_handle.clusters["dev"].kubeconfig)
    done = tidegate("sealed-secrets-controller", f"--kubeconfig={kubeconfig}", "--install-crd")
    assert done.returncode == 0, done.stderr
    with testbed_handle.admin_client("dev") as c:
        for ns in (key_ns, app_ns):
            c.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
    log = tmp_path_factory.mktemp("sealed") / "controller.log"
    port = procs.free_port()
    pid = procs.spawn(
        [
            sys.executable,
            "-m",
            "tidegate",
            "sealed-secrets-controller",
            f"--kubeconfig={kubeconfig}",
            f"--controller-namespace={key_ns}",
            f"--namespace={app_ns}",
            "--logformat=text",
            f"--listen-addr={getattr(request.module, 'LISTEN_HOST', '127.0.0.1')}:{port}",
            *getattr(request.module, "CONTROLLER_ARGS", ()),
        ],
        log=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    proc = scenario.ControllerProcess(testbed_handle, app_ns, log=log, sealed_secrets=True)
    proc.pid = pid
    try:
        proc.wait_log("sealed secrets controller ready", timeout=120)
        yield Bed(testbed_handle, key_ns, app_ns, log, port)
    finally:
        proc.stop()
        with testbed_handle.admin_client("dev") as c:
            for ns in (key_ns, app_ns):
                c.delete(f"/api/v1/namespaces/{ns}")
