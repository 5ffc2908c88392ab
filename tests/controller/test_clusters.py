"""The cluster registry (pure): tables over Secrets in testdata/clusters_*.yaml."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.controller import clusters
from tidegate.kube import config as kube_config
from tidegate.model import constants, errors

TESTDATA = Path(__file__).parent / "testdata"
MGMT = kube_config.ClusterConfig(
    server="https://mgmt.example:6443", name="mgmt", bearer_token="mgmt-SECRET"
)


def _load(name: str) -> Any:
    return yaml.safe_load((TESTDATA / name).read_text())


REGISTRY_CASES = _load("clusters_registry.yaml")
RESOLVE = _load("clusters_resolve.yaml")
GENERATOR = _load("clusters_generator.yaml")


def _secret_values(secrets: list[dict[str, Any]]) -> list[str]:
    """Every credential in the fixtures ends in 'SECRET': none may leak into a message."""
    text = json.dumps(secrets)
    return [w for w in text.replace('"', " ").replace(",", " ").split() if "SECRET" in w]


@pytest.mark.parametrize("case", REGISTRY_CASES, ids=[c["name"] for c in REGISTRY_CASES])
def test_registry(case: dict[str, Any]) -> None:
    management = MGMT if case.get("management", "default") is not None else None
    registry = clusters.ClusterRegistry(
        case["secrets"],
        management=management,
        in_cluster_enabled=case.get("in_cluster_enabled", True),
    )
    found = registry.clusters()
    assert [c.name for c in found] == [e["name"] for e in case["expect"]]
    for cluster, expect in zip(found, case["expect"], strict=True):
        if "error" in expect:
            assert expect["error"] in cluster.error
            assert cluster.config is None
            with pytest.raises(errors.ConfigError, match=r"\w"):
                cluster.require_config()
        else:
            assert cluster.error == ""
            assert cluster.require_config().name == cluster.name
        simple = {
            "server": cluster.server,
            "local": cluster.local,
            "labels": dict(cluster.labels),
            "annotations": dict(cluster.annotations),
            "namespaces": list(cluster.namespaces),
            "cluster_resources": cluster.cluster_resources,
            "project": cluster.project,
            "shard": cluster.shard,
            "secret_name": cluster.secret_name,
        }
        for key, value in simple.items():
            if key in expect:
                assert value == expect[key], key
        if "config_server" in expect:
            assert cluster.config is not None and cluster.config.server == expect["config_server"]
        if "auth" in expect:
            assert cluster.config is not None and cluster.config.auth_kind == expect["auth"]
        shown = f"{cluster!r} {cluster.error}"
        for value in _secret_values(case["secrets"]):
            assert value not in shown


@pytest.mark.parametrize("case", RESOLVE["cases"], ids=[c["name"] for c in RESOLVE["cases"]])
def test_resolve(case: dict[str, Any]) -> None:
    registry = clusters.ClusterRegistry(RESOLVE["secrets"], management=MGMT)
    dest = case["dest"]
    if "error" in case:
        with pytest.raises(errors.SpecError) as raised:
            registry.resolve(dest.get("server"), dest.get("name"))
        assert case["error"] in str(raised.value)
        return
    cluster = registry.resolve(dest.get("server"), dest.get("name"))
    assert cluster.name == case["expect"]
    if "expect_server" in case:
        assert cluster.server == case["expect_server"]
    if "broken" in case:
        assert case["broken"] in cluster.error
        with pytest.raises(errors.ConfigError, match="not valid JSON"):
            cluster.require_config()


def test_generator_params() -> None:
    registry = clusters.ClusterRegistry(GENERATOR["secrets"], management=MGMT)
    assert registry.generator_params() == GENERATOR["expect"]
    assert registry.appset_clusters() == GENERATOR["appset_clusters"]


@pytest.mark.parametrize(
    ("name", "normalized"),
    [("in-cluster", "in-cluster"), ("My_Cluster", "my-cluster"), ("-a.b_", "a.b"), ("ÜX", "-x")],
)
def test_normalize_name(name: str, normalized: str) -> None:
    assert clusters.normalize_name(name) == normalized.strip("-.")


CONFIGS = [
    kube_config.ClusterConfig(
        server="https://t.example:6443", bearer_token="tok-SECRET", ca_data="Q0E=", server_name="k"
    ),
    kube_config.ClusterConfig(
        server="https://c.example", cert_data="Q0VSVA==", key_data="a2V5LVNFQ1JFVA==", insecure=True
    ),
    kube_config.ClusterConfig(server="https://b.example", username="u", password="pw-SECRET"),
    kube_config.ClusterConfig(
        server="https://e.example",
        exec_provider=kube_config.ExecProvider("aws", ("eks",), (("K", "v-SECRET"),)),
    ),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.auth_kind)
def test_cluster_secret_round_trip(config: kube_config.ClusterConfig) -> None:
    secret = clusters.cluster_secret(
        name="target",
        server=config.server,
        config=config,
        namespace="argocd",
        labels={"env": "dev"},
        annotations={"a": "b"},
        namespaces=["x", "y"],
        cluster_resources=True,
        project="p",
    )
    assert secret["metadata"]["labels"][constants.LABEL_SECRET_TYPE] == "cluster"
    assert secret["metadata"]["name"].startswith("cluster-")
    assert "stringData" not in secret
    cluster = clusters.cluster_from_secret(secret, management=MGMT)
    assert cluster.error == ""
    assert cluster.config is not None
    fields = ("server", "bearer_token", "ca_data", "cert_data", "key_data", "insecure")
    fields += ("server_name", "username", "password", "exec_provider")
    expected = {f: getattr(config, f) for f in fields}
    assert {f: getattr(cluster.config, f) for f in expected} == expected
    assert (cluster.namespaces, cluster.cluster_resources, cluster.project) == (
        ("x", "y"),
        True,
        "p",
    )
    masked = json.dumps(clusters.masked_config(cluster.config))
    assert "SECRET" not in masked
    assert "a2V5" not in masked and "Q0VSVA" not in masked


def test_same_registration() -> None:
    base = dict(name="d", server="https://d", config=CONFIGS[0], namespace="argocd")
    one = clusters.cluster_secret(**base, labels={"env": "dev"})  # type: ignore[arg-type]
    same = clusters.cluster_secret(**base, labels={"env": "dev"})  # type: ignore[arg-type]
    relabelled = clusters.cluster_secret(**base, labels={"env": "prod"})  # type: ignore[arg-type]
    # The same JSON with other key order and spacing is the same registration.
    reordered = json.loads(json.dumps(same))
    doc = clusters.config_document(CONFIGS[0])
    reordered["data"]["config"] = base64.b64encode(
        json.dumps(dict(reversed(list(doc.items()))), indent=2).encode()
    ).decode()
    assert clusters.same_registration(one, same)
    assert clusters.same_registration(one, reordered)
    assert not clusters.same_registration(one, relabelled)


def test_token_file_is_not_stored() -> None:
    config = kube_config.ClusterConfig(server="https://x", token_file="/var/run/token")
    with pytest.raises(errors.ConfigError, match="token file"):
        clusters.config_document(config)


def test_secret_names_are_valid_and_stable() -> None:
    name = clusters.secret_name_for("https://API.Example.com:6443")
    assert name == clusters.secret_name_for("https://API.Example.com:6443")
    assert name.startswith("cluster-api.example.com-")
    assert name != clusters.secret_name_for("https://API.Example.com:6444")


def test_manager_objects() -> None:
    objs = clusters.manager_objects()
    assert [o["kind"] for o in objs] == [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Secret",
    ]
    role, binding, token = objs[1], objs[2], objs[3]
    assert {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]} in role["rules"]
    assert {"nonResourceURLs": ["*"], "verbs": ["*"]} in role["rules"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "tidegate-manager", "namespace": "kube-system"}
    ]
    assert token["type"] == "kubernetes.io/service-account-token"
    assert token["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": "tidegate-manager"
    }
