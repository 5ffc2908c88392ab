"""CreateNamespace with syncPolicy.managedNamespaceMetadata: the namespace task (pure)."""

from __future__ import annotations

from typing import Any

from tidegate.model.keys import ResourceKey
from tidegate.sync import options, tasks

NS = ResourceKey("", "Namespace", "", "shop")
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"}}


def _params(**extra: Any) -> tasks.SyncParams:
    return tasks.SyncParams(
        app_name="web",
        app_options=options.parse(["CreateNamespace=true"], source="test"),
        destination_namespace="shop",
        **extra,
    )


def _namespace_tasks(live: dict[ResourceKey, Any], **extra: Any) -> list[tasks.SyncTask]:
    built = tasks.build({ResourceKey.of(CM): CM}, live, params=_params(**extra))
    return [t for t in built if t.key == NS]


def test_missing_namespace_is_created_with_the_managed_metadata() -> None:
    [task] = _namespace_tasks(
        {}, namespace_labels=(("team", "a"),), namespace_annotations=(("owner", "x"),)
    )
    assert task.action is tasks.Action.CREATE
    assert task.target is not None
    assert task.target["metadata"] == {
        "name": "shop",
        "labels": {"team": "a"},
        "annotations": {"owner": "x"},
    }


def test_existing_namespace_gets_missing_metadata_applied() -> None:
    live = {
        NS: {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"team": "old"}},
        }
    }
    [task] = _namespace_tasks(live, namespace_labels=(("team", "a"),))
    assert task.action is tasks.Action.APPLY
    assert task.target is not None and task.target["metadata"]["labels"] == {"team": "a"}


def test_existing_namespace_with_the_metadata_or_none_wanted_needs_nothing() -> None:
    live = {
        NS: {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"team": "a", "other": "b"}},
        }
    }
    assert _namespace_tasks(live, namespace_labels=(("team", "a"),)) == []
    assert _namespace_tasks(live) == []
