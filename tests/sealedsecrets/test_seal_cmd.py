"""``tidegate seal`` without a cluster (``--cert FILE``): kubeseal's flags and exit codes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from tidegate.cli.main import app
from tidegate.sealedsecrets import crypto, keys, unsealing

runner = CliRunner()


@pytest.fixture
def cert(tmp_path: Path, key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "cert.pem"
    path.write_bytes(keys.certificate_pem(keys.self_signed_certificate(key)))
    return path


def secret_json(**meta: Any) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "team", **meta},
            "stringData": {"password": "hunter2"},
        }
    )


def values(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_seal_json_default_and_yaml(cert: Path, key: rsa.RSAPrivateKey) -> None:
    out = runner.invoke(app, ["seal", f"--cert={cert}"], input=secret_json())
    assert out.exit_code == 0, out.output
    sealed = json.loads(out.stdout)
    assert values(unsealing.unseal(sealed, [key])) == {"password": "hunter2"}
    as_yaml = runner.invoke(app, ["seal", f"--cert={cert}", "-o", "yaml"], input=secret_json())
    assert yaml.safe_load(as_yaml.stdout)["kind"] == "SealedSecret"


def test_raw_value(cert: Path, key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    value = tmp_path / "v.txt"
    value.write_text("s3cret")
    out = runner.invoke(
        app,
        [
            "seal",
            f"--cert={cert}",
            "--raw",
            "-n",
            "team",
            "--scope",
            "namespace-wide",
            f"--from-file=pw={value}",
        ],
    )
    assert out.exit_code == 0, out.output
    assert crypto.unseal_value([key], b"team", out.stdout) == b"s3cret"


def test_raw_strict_needs_a_name(cert: Path) -> None:
    out = runner.invoke(app, ["seal", f"--cert={cert}", "--raw", "-n", "team"], input="x")
    assert out.exit_code == 1
    assert "must declare a name" in out.stderr


def test_merge_into_updates_the_file(cert: Path, key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    first = runner.invoke(app, ["seal", f"--cert={cert}", "-o", "yaml"], input=secret_json())
    target = tmp_path / "db.sealed.yaml"
    target.write_text(first.stdout)
    more = json.dumps({"apiVersion": "v1", "kind": "Secret", "stringData": {"token": "t"}})
    out = runner.invoke(app, ["seal", f"--cert={cert}", f"--merge-into={target}"], input=more)
    assert out.exit_code == 0, out.output
    merged = yaml.safe_load(target.read_text())
    assert values(unsealing.unseal(merged, [key])) == {"password": "hunter2", "token": "t"}


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("", "empty input"),
        ("kind: [", "not JSON or YAML"),
        ('{"kind": "ConfigMap", "metadata": {"name": "a"}}', "not a v1 Secret"),
        (json.dumps({"kind": "Secret", "metadata": {"name": "a", "namespace": "b"}}), "no data"),
    ],
)
def test_bad_input_exit_1(cert: Path, stdin: str, message: str) -> None:
    out = runner.invoke(app, ["seal", f"--cert={cert}"], input=stdin)
    assert out.exit_code == 1
    assert message in out.stderr


def test_bad_certificate(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("nope")
    out = runner.invoke(app, ["seal", f"--cert={bogus}"], input=secret_json())
    assert out.exit_code == 1
    assert "not a PEM certificate" in out.stderr


def test_recovery_unseal(cert: Path, key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    sealed = runner.invoke(app, ["seal", f"--cert={cert}"], input=secret_json()).stdout
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(keys.private_key_pem(key))
    out = runner.invoke(
        app, ["seal", "--recovery-unseal", f"--recovery-private-key={key_file}"], input=sealed
    )
    assert out.exit_code == 0, out.output
    assert values(json.loads(out.stdout)) == {"password": "hunter2"}
    other = tmp_path / "other.pem"
    other.write_bytes(keys.private_key_pem(keys.generate_private_key(2048)))
    wrong = runner.invoke(
        app, ["seal", "--recovery-unseal", f"--recovery-private-key={other}"], input=sealed
    )
    assert wrong.exit_code == 1
    assert "no key could decrypt" in wrong.stderr and "hunter2" not in wrong.output
    usage = runner.invoke(app, ["seal", "--recovery-unseal"], input=sealed)
    assert usage.exit_code == 2


def test_cluster_and_cert_are_exclusive(cert: Path) -> None:
    out = runner.invoke(app, ["seal", f"--cert={cert}", "--cluster=dev"], input=secret_json())
    assert out.exit_code == 2
    assert "--cluster and --cert are mutually exclusive" in out.stderr


def test_unreachable_management_cluster_is_named(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: m\n"
        "clusters: [{name: m, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: m, context: {cluster: m, user: u}}]\nusers: [{name: u, user: {}}]\n"
    )
    out = runner.invoke(
        app, ["seal", f"--kubeconfig={kubeconfig}", "--cluster=nowhere", "--fetch-cert"]
    )
    assert out.exit_code == 1
    assert "error:" in out.stderr and "127.0.0.1:1" in out.stderr
