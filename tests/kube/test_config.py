"""ClusterConfig from Argo CD cluster Secrets and kubeconfig files; secrets never shown."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.kube import config as kube_config
from tidegate.model import errors

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "cluster_secrets.yaml").read_text()
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_from_cluster_secret(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(errors.ConfigError) as info:
            kube_config.from_cluster_secret(case["secret"])
        assert case["error"] in str(info.value)
        assert "SECRET" not in str(info.value)
        return
    cfg = kube_config.from_cluster_secret(case["secret"])
    for field, want in case["expect"].items():
        if field == "exec_command":
            assert cfg.exec_provider is not None and cfg.exec_provider.command == want
        elif field == "exec_args":
            assert cfg.exec_provider is not None and list(cfg.exec_provider.args) == want
        else:
            assert getattr(cfg, field) == want, field
    assert "SECRET" not in repr(cfg)
    assert "SECRET" not in str(cfg)


def test_from_kubeconfig_reads_files_into_data(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA PEM")
    (tmp_path / "kubeconfig").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "a",
                "clusters": [
                    {
                        "name": "ca",
                        "cluster": {"server": "https://a:6443", "certificate-authority": "ca.crt"},
                    },
                    {"name": "cb", "cluster": {"server": "https://b:6443"}},
                ],
                "users": [{"name": "u", "user": {"token": "tok-SECRET"}}],
                "contexts": [
                    {"name": "a", "context": {"cluster": "ca", "user": "u"}},
                    {"name": "b", "context": {"cluster": "cb", "user": "u", "namespace": "ns"}},
                ],
            }
        )
    )
    a = kube_config.from_kubeconfig(tmp_path / "kubeconfig")
    assert (a.name, a.server, a.namespace) == ("a", "https://a:6443", "default")
    assert a.ca_data == base64.b64encode(b"CA PEM").decode()
    assert a.bearer_token == "tok-SECRET" and "SECRET" not in repr(a)
    b = kube_config.from_kubeconfig(tmp_path / "kubeconfig", "b")
    assert (b.server, b.namespace, b.ca_data) == ("https://b:6443", "ns", None)
    with pytest.raises(errors.ConfigError, match="context 'nope'"):
        kube_config.from_kubeconfig(tmp_path / "kubeconfig", "nope")
