"""ClusterConfig from Argo CD cluster Secrets and kubeconfig files; secrets never shown."""

from __future__ import annotations

import base64
import os
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


def _kubeconfig(
    path: Path,
    *,
    current: str | None,
    clusters: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
    contexts: dict[str, dict[str, Any]],
) -> Path:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
    }
    if current is not None:
        doc["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def test_merge_first_file_to_set_a_key_wins() -> None:
    first = {
        "clusters": [{"name": "shared", "cluster": {"server": "https://first"}}],
        "users": [{"name": "u", "user": {"token": "one"}}],
        "contexts": [{"name": "a", "context": {"cluster": "shared", "user": "u"}}],
        "preferences": {"colors": True},
    }
    second = {
        "current-context": "b",
        "clusters": [
            {
                "name": "shared",
                "cluster": {"server": "https://second", "insecure-skip-tls-verify": True},
            },
            {"name": "only2", "cluster": {"server": "https://only2"}},
        ],
        "users": [{"name": "u", "user": {"token": "two"}}],
        "contexts": [{"name": "b", "context": {"cluster": "only2", "user": "u"}}],
        "preferences": {"colors": False},
    }
    third = {"current-context": "a"}
    merged = kube_config.merge_kubeconfigs([first, second, third])
    assert merged["current-context"] == "b"  # the first file that has one (first has none)
    clusters = {c["name"]: c["cluster"] for c in merged["clusters"]}
    assert clusters == {"shared": {"server": "https://first"}, "only2": {"server": "https://only2"}}
    assert [u["user"]["token"] for u in merged["users"]] == ["one"]  # whole entry, not per field
    assert [c["name"] for c in merged["contexts"]] == ["a", "b"]
    assert merged["preferences"] == {"colors": True}
    empty_current = kube_config.merge_kubeconfigs([{"current-context": ""}, third])
    assert empty_current["current-context"] == "a"


def test_kubeconfig_paths_reads_a_path_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    a, b = tmp_path / "a", tmp_path / "b"
    assert kube_config.kubeconfig_paths(f"{a}{os.pathsep}{os.pathsep}{b}{os.pathsep}{a}") == [a, b]
    assert kube_config.kubeconfig_paths(None) == [tmp_path / ".kube" / "config"]
    assert kube_config.kubeconfig_paths("") == [tmp_path / ".kube" / "config"]
    assert kube_config.kubeconfig_paths(a) == [a]
    assert kube_config.kubeconfig_paths([b, str(a)]) == [b, a]


def test_from_kubeconfig_reads_a_kubectl_style_list(tmp_path: Path) -> None:
    # Each file refers to its CA by a path relative to itself: that survives the merge.
    (tmp_path / "one" / "ca.crt").parent.mkdir()
    (tmp_path / "one" / "ca.crt").write_bytes(b"CA ONE")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "ca.crt").write_bytes(b"CA TWO")
    (tmp_path / "two" / "token").write_text("tok-SECRET\n")
    one = _kubeconfig(
        tmp_path / "one" / "config",
        current="mgmt",
        clusters={"mgmt": {"server": "https://mgmt:6443", "certificate-authority": "ca.crt"}},
        users={"admin": {"token": "one-SECRET"}},
        contexts={"mgmt": {"cluster": "mgmt", "user": "admin", "namespace": "argocd"}},
    )
    two = _kubeconfig(
        tmp_path / "two" / "config",
        current="dev",
        clusters={
            "mgmt": {"server": "https://shadowed:6443"},
            "dev": {"server": "https://dev:6443", "certificate-authority": "ca.crt"},
        },
        users={"admin": {"token": "shadowed"}, "dev": {"tokenFile": "token"}},
        contexts={"dev": {"cluster": "dev", "user": "dev"}},
    )
    missing = tmp_path / "missing" / "config"
    source = os.pathsep.join(str(p) for p in (missing, one, two))
    current = kube_config.from_kubeconfig(source)
    assert (current.name, current.server, current.namespace) == (
        "mgmt",
        "https://mgmt:6443",
        "argocd",
    )
    assert current.ca_data == base64.b64encode(b"CA ONE").decode()
    assert current.bearer_token == "one-SECRET"
    dev = kube_config.from_kubeconfig(source, "dev")
    assert (dev.server, dev.ca_data) == ("https://dev:6443", base64.b64encode(b"CA TWO").decode())
    assert dev.token_file == str((tmp_path / "two" / "token").resolve())
    # The same list as a sequence of paths; the other order changes who wins.
    assert kube_config.from_kubeconfig([two, one], "mgmt").server == "https://shadowed:6443"
    assert kube_config.from_kubeconfig([two, one]).name == "dev"
    with pytest.raises(errors.ConfigError) as info:
        kube_config.from_kubeconfig(source, "nope")
    assert "context 'nope' not found (contexts: mgmt, dev)" in str(info.value)
    assert str(one) in str(info.value) and "SECRET" not in str(info.value)


def test_from_kubeconfig_errors_name_the_files(tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    with pytest.raises(errors.ConfigError, match="no such file"):
        kube_config.from_kubeconfig(f"{missing}{os.pathsep}{tmp_path / 'also-nothing'}")
    no_current = _kubeconfig(
        tmp_path / "config",
        current=None,
        clusters={"c": {"server": "https://c"}},
        users={},
        contexts={"c": {"cluster": "c"}},
    )
    with pytest.raises(errors.ConfigError, match="no context given and no current-context"):
        kube_config.from_kubeconfig(no_current)
    (tmp_path / "bad").write_text("clusters: {not: a list}\n")
    with pytest.raises(errors.ConfigError, match="'clusters' must be a list"):
        kube_config.from_kubeconfig(tmp_path / "bad")
    (tmp_path / "scalar").write_text("just text\n")
    with pytest.raises(errors.ConfigError, match="not a kubeconfig"):
        kube_config.from_kubeconfig(tmp_path / "scalar")


def test_relative_exec_command_resolves_only_with_a_separator(tmp_path: Path) -> None:
    path = _kubeconfig(
        tmp_path / "config",
        current="x",
        clusters={"x": {"server": "https://x"}},
        users={
            "local": {
                "exec": {"command": "./bin/auth", "apiVersion": "client.authentication.k8s.io/v1"}
            },
            "onpath": {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}},
        },
        contexts={"x": {"cluster": "x", "user": "local"}, "y": {"cluster": "x", "user": "onpath"}},
    )
    local = kube_config.from_kubeconfig(path, "x").exec_provider
    assert local is not None and local.command == str(tmp_path.resolve() / "bin" / "auth")
    onpath = kube_config.from_kubeconfig(path, "y").exec_provider
    assert onpath is not None and onpath.command == "aws"
