"""KubeClient against a real kube-apiserver (+ kube-controller-manager) of the test bed."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from tidegate.kube import apply as kube_apply
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import stages
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.testenv.wait import eventually

pytestmark = pytest.mark.e2e


def configmap(ns: str, name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def deployment(ns: str, name: str, replicas: int = 1) -> dict[str, Any]:
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


async def test_apply_create_update_noop_and_dry_run(
    dev: kube_client.KubeClient, namespace: str
) -> None:
    key = ResourceKey("", "ConfigMap", namespace, "cm")
    created = await kube_apply.apply_one(dev, configmap(namespace, "cm", a="1"))
    assert created.ok and created.action == "created", created.error
    assert created.object is not None
    version = created.object["metadata"]["resourceVersion"]

    same = await kube_apply.apply_one(dev, configmap(namespace, "cm", a="1"), known_version=version)
    assert same.action == "unchanged"

    dry = await kube_apply.apply_one(dev, configmap(namespace, "cm", a="2"), dry_run=True)
    assert dry.ok and dry.object is not None and dry.object["data"] == {"a": "2"}
    live = await dev.get(key)
    assert live["data"] == {"a": "1"} and live["metadata"]["resourceVersion"] == version

    changed = await kube_apply.apply_one(
        dev, configmap(namespace, "cm", a="3"), known_version=version
    )
    assert changed.action == "configured"
    assert (await dev.get(key))["data"] == {"a": "3"}
    managers = {m["manager"] for m in (await dev.get(key))["metadata"]["managedFields"]}
    assert "tidegate" in managers


async def test_conflict_with_another_manager_then_force(
    dev: kube_client.KubeClient, namespace: str
) -> None:
    await dev.apply(configmap(namespace, "shared", owner="other"), field_manager="someone-else")
    result = await kube_apply.apply_one(dev, configmap(namespace, "shared", owner="tidegate"))
    assert not result.ok and not result.retryable
    assert f"ConfigMap {namespace}/shared" in result.error
    assert "conflict" in result.error.lower() and "someone-else" in result.error
    with pytest.raises(errors.KubeConflictError):
        await dev.apply(configmap(namespace, "shared", owner="tidegate"))
    forced = await kube_apply.apply_one(
        dev, configmap(namespace, "shared", owner="tidegate"), force=True
    )
    assert forced.ok and forced.object is not None
    assert forced.object["data"] == {"owner": "tidegate"}


async def test_foreground_delete_removes_replicasets(
    dev: kube_client.KubeClient, namespace: str
) -> None:
    await dev.apply(deployment(namespace, "web"))
    rs_kind = await dev.resource("apps", "ReplicaSet")

    async def replicasets() -> list[dict[str, Any]]:
        return (await dev.list(rs_kind, namespace=namespace)).items

    assert await eventually(replicasets)
    key = ResourceKey("apps", "Deployment", namespace, "web")
    assert await dev.delete(key, propagation="Foreground")

    async def all_gone() -> bool:
        return await dev.get_or_none(key) is None and not await replicasets()

    assert await eventually(all_gone)
    assert await dev.delete(key) is False  # already gone: not an error


async def test_crd_created_at_runtime_is_discovered(dev: kube_client.KubeClient) -> None:
    group = f"t{secrets.token_hex(3)}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
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
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "default"},
        "spec": {"size": 3},
    }
    await dev.discovery.index()  # cached before the CRD exists
    with pytest.raises(errors.UnknownKindError, match="'Widget'"):
        await dev.apply(widget)
    try:
        results = await stages.apply_staged(dev, [widget, crd])
        assert [r.action for r in results] == ["created", "created"], [r.error for r in results]
        assert (await dev.get(ResourceKey(group, "Widget", "default", "w")))["spec"] == {"size": 3}
    finally:
        await dev.delete(
            ResourceKey("apiextensions.k8s.io", "CustomResourceDefinition", "", f"widgets.{group}")
        )


async def test_unknown_kind_names_the_kind(dev: kube_client.KubeClient, namespace: str) -> None:
    obj = {
        "apiVersion": "nope.example.com/v1",
        "kind": "Gadget",
        "metadata": {"name": "g", "namespace": namespace},
    }
    [result] = await kube_apply.apply_many(dev, [obj])
    assert not result.ok
    assert "'Gadget'" in result.error and "nope.example.com/v1" in result.error


async def test_unreachable_cluster(closed_port: int) -> None:
    cfg = kube_config.ClusterConfig(
        server=f"https://127.0.0.1:{closed_port}", name="gone", insecure=True
    )
    async with kube_client.client_for(cfg) as client:
        with pytest.raises(errors.ClusterUnreachableError) as info:
            await client.get(ResourceKey("", "ConfigMap", "default", "x"))
        assert "cluster gone" in str(info.value) and str(closed_port) in str(info.value)
        assert isinstance(info.value, errors.TemporaryError)


async def test_secret_values_never_in_errors(dev: kube_client.KubeClient, namespace: str) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": namespace},
        "type": "kubernetes.io/basic-auth",
        "stringData": {"bad key!": "hunter2-very-secret"},
    }
    [result] = await kube_apply.apply_many(dev, [secret])
    assert not result.ok and f"Secret {namespace}/s" in result.error
    assert "hunter2" not in result.error


async def test_create_generate_name_and_replace(
    dev: kube_client.KubeClient, namespace: str
) -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"generateName": "hook-", "namespace": namespace},
        "data": {"a": "1"},
    }
    made = await dev.create(obj)
    name = made["metadata"]["name"]
    assert name.startswith("hook-") and len(name) > 5
    replaced = await dev.replace(configmap(namespace, name, b="2"))
    assert replaced["data"] == {"b": "2"}


@pytest.mark.parametrize("concurrency", [4, 8])
async def test_apply_many_300(
    dev: kube_client.KubeClient, namespace: str, concurrency: int
) -> None:
    objs = [
        configmap(namespace, f"cm-{i:03d}", value=str(i), payload="x" * 200) for i in range(300)
    ]
    started = time.perf_counter()
    results = await kube_apply.apply_many(dev, objs, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert [r.key.name for r in results] == [f"cm-{i:03d}" for i in range(300)]
    print(f"apply_many: 300 ConfigMaps created at concurrency {concurrency} in {elapsed:.2f}s")
    started = time.perf_counter()
    again = await kube_apply.apply_many(dev, objs, concurrency=concurrency)
    print(f"apply_many: 300 unchanged re-applies in {time.perf_counter() - started:.2f}s")
    assert all(r.ok and not r.created for r in again)
