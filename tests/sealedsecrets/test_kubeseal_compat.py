"""Byte compatibility with the real ``kubeseal`` (built from the Go module proxy), both ways.

kubeseal seals with a certificate Tidegate generated, Tidegate unseals; Tidegate seals, and
kubeseal's ``--recovery-unseal`` opens it with Tidegate's key file. No cluster is involved.
``./dev test`` builds kubeseal with the test bed's other binaries; when it is missing the tests
fail, they are never skipped.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.sealedsecrets import crypto, keys, unsealing
from tidegate.testenv import binaries

KUBESEAL = binaries.find("kubeseal")

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: team}}]
current-context: none
"""


@pytest.fixture
def files(tmp_path: Path, key: rsa.RSAPrivateKey) -> dict[str, Path]:
    cert = tmp_path / "cert.pem"
    cert.write_bytes(keys.certificate_pem(keys.self_signed_certificate(key)))
    private = tmp_path / "key.pem"
    private.write_bytes(keys.private_key_pem(key))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    return {"cert": cert, "key": private, "kubeconfig": kubeconfig}


def run(cmd: list[str], stdin: str, kubeconfig: Path) -> str:
    done = subprocess.run(
        cmd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def secret(scope_annotation: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "db", "namespace": "team", "labels": {"app": "db"}}
    if scope_annotation:
        meta["annotations"] = scope_annotation
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": {"password": base64.b64encode(b"hunter2").decode(), "empty": ""},
    }


@pytest.mark.parametrize("scope", list(crypto.Scope))
def test_kubeseal_seals_tidegate_unseals(
    files: dict[str, Path], key: rsa.RSAPrivateKey, scope: crypto.Scope
) -> None:
    assert KUBESEAL is not None
    out = run(
        [str(KUBESEAL), "--cert", str(files["cert"]), "--scope", scope.value, "-o", "json"],
        json.dumps(secret()),
        files["kubeconfig"],
    )
    sealed = json.loads(out)
    produced = unsealing.unseal(sealed, [key])
    assert {k: base64.b64decode(v) for k, v in produced["data"].items()} == {
        "password": b"hunter2",
        "empty": b"",
    }
    assert produced["metadata"]["labels"] == {"app": "db"}


def test_kubeseal_raw_value_tidegate_unseals(
    files: dict[str, Path], key: rsa.RSAPrivateKey
) -> None:
    assert KUBESEAL is not None
    out = run(
        [
            str(KUBESEAL),
            "--raw",
            "--cert",
            str(files["cert"]),
            "--namespace",
            "team",
            "--name",
            "db",
            "--from-file",
            "/dev/stdin",
        ],
        "s3cret",
        files["kubeconfig"],
    )
    assert crypto.unseal_value([key], b"team/db", out.strip()) == b"s3cret"


@pytest.mark.parametrize("scope", list(crypto.Scope))
def test_tidegate_seals_kubeseal_recovers(files: dict[str, Path], scope: crypto.Scope) -> None:
    assert KUBESEAL is not None
    sealed = run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "seal",
            f"--cert={files['cert']}",
            f"--scope={scope.value}",
        ],
        json.dumps(secret()),
        files["kubeconfig"],
    )
    assert "hunter2" not in sealed
    recovered = run(
        [
            str(KUBESEAL),
            "--recovery-unseal",
            "--recovery-private-key",
            str(files["key"]),
            "-o",
            "json",
        ],
        sealed,
        files["kubeconfig"],
    )
    out = json.loads(recovered)
    assert base64.b64decode(out["data"]["password"]) == b"hunter2"
    assert out["metadata"]["labels"] == {"app": "db"}


def test_tidegate_recovery_unseal_of_kubeseal_output(files: dict[str, Path]) -> None:
    assert KUBESEAL is not None
    sealed = run(
        [str(KUBESEAL), "--cert", str(files["cert"]), "-o", "yaml"],
        json.dumps(secret()),
        files["kubeconfig"],
    )
    recovered = run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "seal",
            "--recovery-unseal",
            f"--recovery-private-key={files['key']}",
            "-o",
            "yaml",
        ],
        sealed,
        files["kubeconfig"],
    )
    assert "aHVudGVyMg==" in recovered  # base64 of the password
    assert "ownerReferences" not in recovered
