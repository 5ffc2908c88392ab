"""ClusterCache against the test bed: real watches, real controllers (Deployment -> ReplicaSet
-> Pod, kwok makes Pods Running), CRDs appearing at runtime, an unreachable cluster."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.live import cache as live_cache
from tidegate.model.keys import ResourceKey
from tidegate.testenv.wait import eventually

pytestmark = pytest.mark.e2e


def tracked(obj: dict[str, Any], app: str) -> dict[str, Any]:
    meta = obj["metadata"]
    group = obj["apiVersion"].rpartition("/")[0]
    meta.setdefault("annotations", {})["argocd.argoproj.io/tracking-id"] = (
        f"{app}:{group}/{obj['kind']}:{meta.get('namespace', '')}/{meta['name']}"
    )
    return obj


def deployment(ns: str, name: str, replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
            },
        },
    }


class Changes:
    def __init__(self) -> None:
        self.seen: list[tuple[set[str], ResourceKey | None]] = []

    def __call__(self, apps: set[str], key: ResourceKey | None) -> None:
        self.seen.append((set(apps), key))

    def apps(self) -> set[str]:
        return set().union(*(a for a, _ in self.seen)) if self.seen else set()


@contextlib.asynccontextmanager
async def running(cache: live_cache.ClusterCache) -> AsyncIterator[live_cache.ClusterCache]:
    cache.start()
    try:
        yield cache
    finally:
        await cache.stop()


async def test_resource_tree_and_events(dev_client: kube_client.KubeClient, namespace: str) -> None:
    app = f"guestbook-{secrets.token_hex(3)}"
    changes = Changes()
    cache = live_cache.ClusterCache(client=dev_client, on_change=changes)
    async with running(cache):
        started = time.perf_counter()
        await eventually(lambda: cache.state.synced, within=60)
        print(
            f"live cache: synced {cache.state.kinds} kinds in {time.perf_counter() - started:.2f}s"
        )
        assert cache.state.connected and cache.state.error == ""
        assert ("", "Event") not in cache.watched() and ("apps", "Deployment") in cache.watched()

        await dev_client.apply(tracked(deployment(namespace, "web"), app))
        await dev_client.apply(deployment(namespace, "untracked", replicas=1))

        def tree_shape() -> list[tuple[int, str]] | None:
            nodes = cache.store.resource_tree(app)
            pods = [n for n in nodes if n.key.kind == "Pod"]
            running_pods = [
                p for p in pods if (p.object.get("status") or {}).get("phase") == "Running"
            ]
            if len(running_pods) != 2 or not any(n.key.kind == "ReplicaSet" for n in nodes):
                return None
            return [(n.depth, n.key.kind) for n in nodes]

        shape = await eventually(tree_shape, within=60)
        assert shape == [(0, "Deployment"), (1, "ReplicaSet"), (2, "Pod"), (2, "Pod")]
        assert app in changes.apps()
        dep = cache.store.get(ResourceKey("apps", "Deployment", namespace, "web"))
        assert dep is not None and dep["metadata"].get("managedFields")  # tracked: kept
        pod_node = next(n for n in cache.store.resource_tree(app) if n.key.kind == "Pod")
        assert "managedFields" not in pod_node.object["metadata"]  # descendant: slimmed
        # The untracked Deployment's family is not cached.
        await eventually(
            lambda: (
                cache.store.get(ResourceKey("apps", "Deployment", namespace, "untracked")) is None
                and not any(
                    k.namespace == namespace and k.name.startswith("untracked") for k in cache.store
                )
            )
        )

        changes.seen.clear()
        await dev_client.delete(
            ResourceKey("apps", "Deployment", namespace, "web"), propagation="Foreground"
        )
        await eventually(lambda: not cache.store.resource_tree(app), within=60)
        assert app in changes.apps()


async def test_crd_created_at_runtime_gets_watched(
    dev_client: kube_client.KubeClient, namespace: str
) -> None:
    group = f"t{secrets.token_hex(3)}.example.com"
    crd_name = f"gizmos.{group}"
    cache = live_cache.ClusterCache(client=dev_client)
    async with running(cache):
        await eventually(lambda: cache.state.synced, within=60)
        await dev_client.apply(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": crd_name},
                "spec": {
                    "group": group,
                    "scope": "Namespaced",
                    "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {
                                "openAPIV3Schema": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    ],
                },
            }
        )
        try:
            await eventually(lambda: (group, "Gizmo") in cache.watched(), within=30)
            gizmo = {
                "apiVersion": f"{group}/v1",
                "kind": "Gizmo",
                "metadata": {"name": "g", "namespace": namespace},
            }
            await dev_client.apply(tracked(gizmo, "gizmo-app"))
            key = ResourceKey(group, "Gizmo", namespace, "g")
            await eventually(lambda: cache.store.get(key) is not None, within=30)
            assert cache.store.app_of(key) == "gizmo-app"
        finally:
            await dev_client.delete(
                ResourceKey("apiextensions.k8s.io", "CustomResourceDefinition", "", crd_name)
            )
        await eventually(lambda: (group, "Gizmo") not in cache.watched(), within=30)


async def test_unreachable_cluster_reports_state_and_blocks_nothing(
    dev_client: kube_client.KubeClient,
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = kube_config.ClusterConfig(server=f"https://127.0.0.1:{port}", name="gone", insecure=True)
    async with kube_client.client_for(cfg) as gone_client:
        gone = live_cache.ClusterCache(client=gone_client)
        good = live_cache.ClusterCache(client=dev_client)
        async with running(gone), running(good):
            await eventually(lambda: gone.state.error, within=10)
            await eventually(lambda: good.state.synced, within=60)
            state = gone.state
            assert not state.connected and not state.synced and state.last_sync is None
            assert "unreachable" in state.error and "gone" in state.error
            assert good.state.connected
