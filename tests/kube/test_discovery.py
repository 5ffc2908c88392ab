"""Discovery: aggregated and legacy documents, preferred versions, refresh on a miss."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.kube import discovery
from tidegate.model import errors

DOCS: dict[str, dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "discovery.yaml").read_text()
)


class FakeServer:
    def __init__(self, docs: dict[str, Any]) -> None:
        self.docs = dict(docs)
        self.paths: list[str] = []

    async def fetch(self, path: str, accept: str) -> Mapping[str, Any]:
        self.paths.append(path)
        doc: Mapping[str, Any] = self.docs[path]
        return doc


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("server", ["aggregated", "legacy"])
async def test_preferred_versions_and_paths(server: str) -> None:
    fake = FakeServer(DOCS[server])
    disc = discovery.Discovery(fetch=fake.fetch, cluster="dev")
    hpa = await disc.lookup("autoscaling", "HorizontalPodAutoscaler")
    assert hpa.version == "v2"
    assert (await disc.lookup("autoscaling", "HorizontalPodAutoscaler", "v1")).version == "v1"
    cm = await disc.lookup("", "ConfigMap", "v1")
    assert cm.path("ns", "x") == "/api/v1/namespaces/ns/configmaps/x"
    assert hpa.path("ns") == "/apis/autoscaling/v2/namespaces/ns/horizontalpodautoscalers"
    watchable = {r.kind for r in await disc.watchable()}
    assert "Binding" not in watchable and "ConfigMap" in watchable
    assert disc.refresh_count == 1


async def test_namespace_is_cluster_scoped() -> None:
    disc = discovery.Discovery(fetch=FakeServer(DOCS["aggregated"]).fetch, cluster="dev")
    ns = await disc.lookup("", "Namespace")
    assert not ns.namespaced and ns.path("ignored", "a") == "/api/v1/namespaces/a"


async def test_miss_refreshes_once_then_names_the_kind() -> None:
    fake = FakeServer(DOCS["aggregated"])
    clock = Clock()
    disc = discovery.Discovery(fetch=fake.fetch, cluster="dev", clock=clock)
    await disc.index()
    clock.now = 10.0
    with pytest.raises(errors.UnknownKindError) as info:
        await disc.lookup("example.com", "Widget", "v1")
    assert "'Widget'" in str(info.value) and "example.com/v1" in str(info.value)
    assert "cluster dev" in str(info.value)
    assert disc.refresh_count == 2  # one refresh on the miss
    with pytest.raises(errors.UnknownKindError):
        await disc.lookup("example.com", "Widget", "v1")
    assert disc.refresh_count == 2  # refreshed moments ago: no storm


async def test_invalidate_picks_up_a_new_crd() -> None:
    fake = FakeServer(DOCS["aggregated"])
    disc = discovery.Discovery(fetch=fake.fetch, cluster="dev")
    await disc.index()
    widget_group = {
        "metadata": {"name": "example.com"},
        "versions": [
            {
                "version": "v1",
                "resources": [
                    {
                        "resource": "widgets",
                        "responseKind": {"group": "example.com", "version": "v1", "kind": "Widget"},
                        "scope": "Namespaced",
                        "verbs": ["get", "list", "watch"],
                    }
                ],
            }
        ],
    }
    fake.docs["/apis"] = {
        **fake.docs["/apis"],
        "items": [*fake.docs["/apis"]["items"], widget_group],
    }
    disc.invalidate()
    widget = await disc.lookup("example.com", "Widget")
    assert widget.plural == "widgets" and widget.api_version == "example.com/v1"
