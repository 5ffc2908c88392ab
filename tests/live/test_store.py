"""LiveStore: what is kept, in any event order, and the resource tree."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.live import store as live_store
from tidegate.model.keys import ResourceKey

OBJECTS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "tree.yaml").read_text()
)
EXPECTED_TREE = [
    (0, "Deployment.apps shop/web"),
    (0, "Service shop/web"),
    (1, "ReplicaSet.apps shop/web-1"),
    (2, "Pod shop/web-1-a"),
    (2, "Pod shop/web-1-b"),
]


def fresh() -> list[dict[str, Any]]:
    return copy.deepcopy(OBJECTS)


def tree(store: live_store.LiveStore) -> list[tuple[int, str]]:
    return sorted((n.depth, str(n.key)) for n in store.resource_tree("guestbook"))


# Every order of the first seven events: children may arrive before their owners.
ORDERS = list(itertools.islice(itertools.permutations(range(7)), 0, 5040, 97))


@pytest.mark.parametrize("order", ORDERS)
def test_any_event_order_gives_the_same_tree(order: tuple[int, ...]) -> None:
    objs = fresh()
    store = live_store.LiveStore()
    for i in (*order, 7):
        store.upsert(objs[i])
    store.sweep()
    assert tree(store) == EXPECTED_TREE
    assert len(store) == 5  # the untracked Deployment's family is not kept
    assert store.app_of(ResourceKey("", "Pod", "shop", "web-1-a")) == "guestbook"


def test_slimming_keeps_managed_fields_only_on_tracked() -> None:
    store = live_store.LiveStore()
    for obj in fresh():
        store.upsert(obj)
    dep = store.get(ResourceKey("apps", "Deployment", "shop", "web"))
    rs = store.get(ResourceKey("apps", "ReplicaSet", "shop", "web-1"))
    assert dep is not None and rs is not None
    assert dep["metadata"]["managedFields"] and "managedFields" not in rs["metadata"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in dep["metadata"]["annotations"]


def test_changes_report_the_owning_app() -> None:
    objs = fresh()
    store = live_store.LiveStore()
    assert store.upsert(objs[0]) == {"guestbook"}
    assert store.upsert(objs[1]) == {"guestbook"}
    assert store.upsert(objs[2]) == {"guestbook"}  # a Pod change refreshes the app
    assert store.upsert(objs[4]) == set()  # untracked
    assert store.remove(objs[2]) == {"guestbook"}
    assert store.get(ResourceKey("", "Pod", "shop", "web-1-a")) is None


def test_untracking_drops_descendants() -> None:
    store = live_store.LiveStore()
    for obj in fresh():
        store.upsert(obj)
    dep = fresh()[0]
    del dep["metadata"]["annotations"]
    assert store.upsert(dep) == {"guestbook"}
    assert tree(store) == [(0, "Service shop/web")]
    assert len(store) == 1


def test_relist_replaces_a_kind() -> None:
    objs = fresh()
    store = live_store.LiveStore()
    for obj in objs:
        store.upsert(obj)
    pods = [o for o in fresh() if o["kind"] == "Pod" and o["metadata"]["name"] != "web-1-b"]
    changed = store.replace_kind("", "Pod", pods)
    assert changed == {"guestbook"}
    assert (2, "Pod shop/web-1-b") not in tree(store)
    assert store.replace_kind("", "Pod", copy.deepcopy(pods)) == set()  # same versions: no change


def test_child_tracked_by_another_app_is_not_in_our_tree() -> None:
    objs = fresh()
    objs[1]["metadata"]["annotations"] = {
        "argocd.argoproj.io/tracking-id": "other:apps/ReplicaSet:shop/web-1"
    }
    store = live_store.LiveStore()
    for obj in objs:
        store.upsert(obj)
    assert tree(store) == [(0, "Deployment.apps shop/web"), (0, "Service shop/web")]
    assert store.app_of(ResourceKey("", "Pod", "shop", "web-1-a")) == "other"


def _installed(objs: list[dict[str, Any]], installation: str) -> list[dict[str, Any]]:
    """``objs`` with every tracked object stamped with ``installation``."""
    for obj in objs:
        annotations = obj["metadata"].get("annotations") or {}
        if "argocd.argoproj.io/tracking-id" in annotations:
            annotations["argocd.argoproj.io/installation-id"] = installation
    return objs


@pytest.mark.parametrize(
    ("ours", "theirs", "kept"),
    [
        ("a", "a", EXPECTED_TREE),
        ("a", "b", []),  # same app name, another installation: not ours, nor its Pods
        ("", "b", []),  # no id of our own: objects with any id are another installation's
        ("a", "", []),  # objects of an installation without id are not ours either
    ],
)
def test_only_our_installation_is_tracked(
    ours: str, theirs: str, kept: list[tuple[int, str]]
) -> None:
    store = live_store.LiveStore(installation_id=ours)
    for obj in _installed(fresh(), theirs) if theirs else fresh():
        store.upsert(obj)
    store.sweep()
    assert tree(store) == kept
    assert store.apps() == ({"guestbook"} if kept else set())


@pytest.mark.parametrize("order", ORDERS[:12])
def test_top_level_lists_untracked_owner_less_objects_by_key(order: tuple[int, ...]) -> None:
    objs = fresh()
    store = live_store.LiveStore()
    for i in (*order, 7):
        store.upsert(objs[i])
    store.sweep()
    assert store.top_level("shop") == {
        ResourceKey("apps", "Deployment", "shop", "web"): "guestbook",
        ResourceKey("", "Service", "shop", "web"): "guestbook",
        # untracked: listed by key only (the object itself is not kept), its family is not
        ResourceKey("apps", "Deployment", "shop", "other"): None,
    }
    assert store.top_level("elsewhere") == {}
    assert store.drain_loose_changes() == [ResourceKey("apps", "Deployment", "shop", "other")]
    assert store.drain_loose_changes() == []


def test_untracked_keys_follow_deletes_relists_and_adoption() -> None:
    objs = fresh()
    store = live_store.LiveStore()
    for obj in objs:
        store.upsert(obj)
    other = ResourceKey("apps", "Deployment", "shop", "other")
    store.drain_loose_changes()
    # Adopted: it becomes tracked, so it is no longer an untracked key.
    adopted = copy.deepcopy(objs[4])
    adopted["metadata"]["annotations"] = {
        "argocd.argoproj.io/tracking-id": "shop-app:apps/Deployment:shop/other"
    }
    adopted["metadata"]["resourceVersion"] = "9"
    store.upsert(adopted)
    assert store.top_level("shop")[other] == "shop-app"
    assert store.drain_loose_changes() == [other]
    # Released again, then gone from a relist of its kind.
    store.upsert(objs[4])
    assert store.top_level("shop")[other] is None
    store.replace_kind("apps", "Deployment", [objs[0]])
    assert other not in store.top_level("shop")
    assert store.drain_loose_changes() == [other, other]
    # Deleted by a watch event.
    store.upsert(objs[4])
    store.remove(objs[4])
    assert other not in store.top_level("shop")
    # Cluster-scoped objects are never candidates.
    store.upsert({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "uid": "n1"}})
    assert store.drain_loose_changes() == [other, other]
