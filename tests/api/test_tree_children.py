"""The resource tree's live children joined to the managed nodes (pure)."""

from __future__ import annotations

from typing import Any

from tidegate.api import app_tree

APP = {
    "status": {
        "resources": [
            {
                "group": "apps",
                "version": "v1",
                "kind": "Deployment",
                "namespace": "shop",
                "name": "web",
                "status": "Synced",
                "health": {"status": "Healthy"},
            },
            {"version": "v1", "kind": "Service", "namespace": "shop", "name": "web"},
        ]
    }
}


def obj(
    api_version: str, kind: str, name: str, owners: list[tuple[str, str, str]], **extra: Any
) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"uid-{name}",
            "ownerReferences": [
                {"apiVersion": a, "kind": k, "name": n, "uid": f"uid-{n}", "controller": True}
                for a, k, n in owners
            ],
        },
        **extra,
    }


RS = obj(
    "apps/v1",
    "ReplicaSet",
    "web-5d9",
    [("apps/v1", "Deployment", "web")],
    spec={"replicas": 1},
    status={"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
)
POD = obj(
    "v1",
    "Pod",
    "web-5d9-abc",
    [("apps/v1", "ReplicaSet", "web-5d9")],
    spec={"restartPolicy": "Always", "containers": [{"name": "web", "image": "nginx:1.27"}]},
    status={
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "web", "ready": True, "state": {"running": {}}}],
    },
)
STRANGER = obj(
    "v1", "Pod", "other", [("apps/v1", "ReplicaSet", "not-ours")], status={"phase": "Running"}
)
SLICE = obj("discovery.k8s.io/v1", "EndpointSlice", "web-x", [("v1", "Service", "web")])


def nodes_by_name(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"] + "/" + n["kind"]: n for n in tree["nodes"]}


def test_children_follow_owner_references_transitively() -> None:
    tree = app_tree.with_children(app_tree.resource_tree(APP), [POD, STRANGER, SLICE, RS])
    nodes = nodes_by_name(tree)
    assert set(nodes) == {
        "web/Deployment",
        "web/Service",
        "web-5d9/ReplicaSet",
        "web-5d9-abc/Pod",
        "web-x/EndpointSlice",
    }
    rs, pod = nodes["web-5d9/ReplicaSet"], nodes["web-5d9-abc/Pod"]
    assert rs["parentRefs"] == [
        {
            "group": "apps",
            "kind": "Deployment",
            "namespace": "shop",
            "name": "web",
            "uid": "uid-web",
        }
    ]
    assert pod["parentRefs"][0]["name"] == "web-5d9" and pod["group"] == ""
    assert pod["health"] == {"status": "Healthy"}
    assert {"name": "Containers", "value": "1/1"} in pod["info"]
    assert {"name": "Status Reason", "value": "Running"} in pod["info"]
    assert pod["images"] == ["nginx:1.27"]
    assert nodes["web-x/EndpointSlice"]["parentRefs"][0]["kind"] == "Service"
    assert "parentRefs" not in nodes["web/Deployment"]


def test_children_are_bounded() -> None:
    pods = [
        obj("v1", "Pod", f"web-5d9-{i}", [("apps/v1", "ReplicaSet", "web-5d9")]) for i in range(10)
    ]
    tree = app_tree.with_children(app_tree.resource_tree(APP), [RS, *pods], limit=4)
    assert len(tree["nodes"]) == 2 + 4


def test_a_managed_object_is_never_listed_twice() -> None:
    managed_pod = {"version": "v1", "kind": "Pod", "namespace": "shop", "name": "web-5d9-abc"}
    app = {"status": {"resources": [*APP["status"]["resources"], managed_pod]}}
    tree = app_tree.with_children(app_tree.resource_tree(app), [RS, POD])
    names = [n["name"] for n in tree["nodes"]]
    assert names.count("web-5d9-abc") == 1


def test_a_managed_rollout_shows_its_step_and_weight() -> None:
    from tidegate.api import app_tree

    tree = {
        "nodes": [
            {
                "group": "argoproj.io",
                "kind": "Rollout",
                "namespace": "web",
                "name": "r",
                "version": "v1alpha1",
            }
        ]
    }
    live = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "r", "namespace": "web", "uid": "u1"},
        "spec": {
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 60}]}}
        },
        "status": {"phase": "Paused", "currentStepIndex": 1},
    }
    [node] = app_tree.with_children(tree, [live])["nodes"]
    assert node["info"] == [
        {"name": "Status", "value": "Paused"},
        {"name": "Step", "value": "1/3"},
        {"name": "Weight", "value": "20%"},
    ]
    done = {**live, "status": {"phase": "Healthy", "currentStepIndex": 3}}
    assert app_tree.rollout_info(done)[1:] == [
        {"name": "Step", "value": "3/3"},
        {"name": "Weight", "value": "100%"},
    ]
