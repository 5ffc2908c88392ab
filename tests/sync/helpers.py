"""Helpers shared by the sync tests: fixture objects to planning inputs."""

from __future__ import annotations

from typing import Any

from tidegate.model import keys
from tidegate.sync import options, tasks


def key_of(text: str) -> keys.ResourceKey:
    group, kind, namespace, name = text.split("/")
    return keys.ResourceKey(group, kind, namespace, name)


def objects(items: list[dict[str, Any]] | None) -> dict[keys.ResourceKey, dict[str, Any]]:
    return {keys.ResourceKey.of(o): o for o in items or []}


def params(spec: dict[str, Any]) -> tasks.SyncParams:
    spec = dict(spec)
    spec["app_options"] = options.parse(spec.get("app_options", []), source="app")
    for field in ("resources", "out_of_sync"):
        if field in spec:
            spec[field] = frozenset(key_of(k) for k in spec[field])
    return tasks.SyncParams(**spec)


def label(task: tasks.SyncTask) -> str:
    return f"{task.key.kind}/{task.key.name}"
