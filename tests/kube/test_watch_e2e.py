"""The list+watch reflector against a real API server: events, bookmarks, relist after 410."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncGenerator

import pytest

from tidegate.kube import client as kube_client
from tidegate.kube import stages, watch
from tidegate.model.keys import ResourceKey

pytestmark = pytest.mark.e2e


async def next_event(
    events: AsyncGenerator[watch.WatchEvent, None],
    *,
    skip_bookmarks: bool = True,
    within: float = 30,
) -> watch.WatchEvent:
    async with asyncio.timeout(within):
        async for event in events:
            if skip_bookmarks and event.type == "BOOKMARK":
                continue
            return event
    raise AssertionError("watch ended")


def cm(ns: str, name: str, value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": {"v": value},
    }


async def test_list_then_create_modify_delete(dev: kube_client.KubeClient, namespace: str) -> None:
    res = await dev.resource("", "ConfigMap")
    await dev.apply(cm(namespace, "before", "0"))
    events = watch.reflect(dev, res, namespace=namespace)
    try:
        first = await next_event(events)
        assert first.type == "RELISTED" and first.reason == "initial"
        assert "before" in {o["metadata"]["name"] for o in first.items}
        assert all(o["kind"] == "ConfigMap" and o["apiVersion"] == "v1" for o in first.items)

        await dev.apply(cm(namespace, "x", "1"))
        added = await next_event(events)
        assert added.type == "ADDED" and added.object and added.object["metadata"]["name"] == "x"
        await dev.apply(cm(namespace, "x", "2"))
        modified = await next_event(events)
        assert (
            modified.type == "MODIFIED"
            and modified.object
            and modified.object["data"] == {"v": "2"}
        )
        await dev.delete(ResourceKey("", "ConfigMap", namespace, "x"))
        deleted = await next_event(events)
        assert (
            deleted.type == "DELETED"
            and deleted.object
            and deleted.object["metadata"]["name"] == "x"
        )
    finally:
        await events.aclose()


async def test_bookmarks_advance_the_resource_version(
    dev: kube_client.KubeClient, namespace: str
) -> None:
    # The API server sends a bookmark about two seconds before a watch's timeout.
    res = await dev.resource("", "ConfigMap")
    events = watch.reflect(dev, res, namespace=namespace, timeout_seconds=4)
    try:
        listed = await next_event(events)
        assert listed.type == "RELISTED"
        # (kube-controller-manager may add kube-root-ca.crt to the fresh namespace meanwhile.)
        bookmark = await next_event(events, skip_bookmarks=False, within=20)
        while bookmark.type == "ADDED":
            bookmark = await next_event(events, skip_bookmarks=False, within=20)
        assert bookmark.type == "BOOKMARK" and bookmark.object is None
        assert int(bookmark.resource_version) >= int(listed.resource_version)
        # The reflector keeps watching across the server-side timeout.
        await dev.apply(cm(namespace, "after-bookmark", "1"))
        added = await next_event(events)
        assert added.type == "ADDED"
    finally:
        await events.aclose()


async def test_too_old_resource_version_relists(
    dev: kube_client.KubeClient, namespace: str
) -> None:
    # The watch cache of a custom resource starts when its CRD is established, at the current
    # (etcd-wide) revision: a watch from resourceVersion "1" is older than anything it holds,
    # and the server answers 410 Gone (an ERROR event "too old resource version"), exactly as
    # after an etcd compaction. (Built-in kinds of this young test bed still hold revision 1.)
    group = f"t{secrets.token_hex(3)}.example.com"
    crd_key = ResourceKey("apiextensions.k8s.io", "CustomResourceDefinition", "", f"things.{group}")
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_key.name},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
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

    def thing(name: str) -> dict[str, object]:
        return {
            "apiVersion": f"{group}/v1",
            "kind": "Thing",
            "metadata": {"name": name, "namespace": namespace},
        }

    try:
        results = await stages.apply_staged(dev, [crd, thing("existing")])
        assert all(r.ok for r in results), [r.error for r in results]
        res = await dev.resource(group, "Thing")
        events = watch.reflect(
            dev,
            res,
            namespace=namespace,
            resource_version="1",
            backoff=watch.Backoff(initial=0.1, maximum=1.0),
        )
        try:
            first = await next_event(events)
            # A just-established resource may answer 429 "storage is (re)initializing" first:
            # the reflector reports it and retries.
            while first.type == "ERROR":
                assert "initializing" in first.reason, first.reason
                first = await next_event(events)
            assert first.type == "RELISTED" and first.reason == "expired"
            assert {o["metadata"]["name"] for o in first.items} == {"existing"}
            await dev.apply(thing("later"))
            added = await next_event(events)
            assert added.type == "ADDED" and added.object
            assert added.object["metadata"]["name"] == "later"
        finally:
            await events.aclose()
    finally:
        await dev.delete(crd_key)
