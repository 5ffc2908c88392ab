"""The published cluster state (pure): counts, connection states, installation id."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from tidegate.controller import clusters, clusterstatus
from tidegate.kube import config as kube_config
from tidegate.model import constants


def _secret(
    name: str, server: str, *, config: str = '{"bearerToken": "SECRET-TOKEN"}'
) -> dict[str, Any]:
    return {
        "metadata": {"name": f"cluster-{name}", "labels": {constants.LABEL_SECRET_TYPE: "cluster"}},
        "stringData": {"name": name, "server": server, "config": config},
    }


def _app(**destination: str) -> dict[str, Any]:
    return {"spec": {"destination": destination}}


def test_states_counts_and_installation_id() -> None:
    mgmt = kube_config.ClusterConfig(name="mgmt", server="https://mgmt.example")
    registry = clusters.ClusterRegistry(
        [
            _secret("dev", "https://dev.example"),
            _secret("broken", "https://b.example", config="{not json"),
        ],
        management=mgmt,
    )
    state = SimpleNamespace(connected=True, error="", objects=42)
    dev_runtime = SimpleNamespace(cache=SimpleNamespace(state=state), server_version="v1.36.3")
    apps = [
        _app(server="https://dev.example"),
        _app(name="dev"),
        _app(server=constants.IN_CLUSTER_SERVER),
    ]
    cm = clusterstatus.configmap(
        namespace="argocd",
        apps=apps,
        registry=registry,
        runtime_of=lambda server: dev_runtime if server == "https://dev.example" else None,  # type: ignore[arg-type,return-value]
        now="2026-01-01T00:00:00Z",
        installation_id="blue",
    )
    data = {name: json.loads(value) for name, value in cm["data"].items()}
    assert data["dev"] == {
        "apps": 2,
        "lastUpdated": "2026-01-01T00:00:00Z",
        "connectionState": "Successful",
        "message": "",
        "cachedObjects": 42,
        "serverVersion": "v1.36.3",
    }
    assert data["in-cluster"]["connectionState"] == "Unknown"
    assert data["in-cluster"]["apps"] == 1
    assert data["broken"]["connectionState"] == "Failed" and data["broken"]["message"]
    assert cm["metadata"]["annotations"] == {constants.ANNOTATION_PUBLISHED_INSTALLATION_ID: "blue"}
    assert "SECRET-TOKEN" not in json.dumps(cm)  # credentials are never published
