"""What the Rollouts controller holds of one cluster (no I/O): Rollouts, and the ReplicaSets
and AnalysisRuns each owns, indexed by the owner's uid; fed by the watches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Key = tuple[str, str]  # (namespace, name)


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def resource_version(obj: Mapping[str, Any]) -> int:
    """``metadata.resourceVersion`` as a number (0 when missing or not one)."""
    value = str((obj.get("metadata") or {}).get("resourceVersion") or "0")
    return int(value) if value.isdigit() else 0


def owner_uid(obj: Mapping[str, Any]) -> str:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("kind") == "Rollout" and ref.get("controller"):
            return str(ref.get("uid") or "")
    return ""


class Store:
    def __init__(self) -> None:
        self.rollouts: dict[Key, dict[str, Any]] = {}
        self._uids: dict[str, Key] = {}
        self._owned: dict[str, dict[str, dict[Key, dict[str, Any]]]] = {
            "ReplicaSet": {},
            "AnalysisRun": {},
        }

    def put_rollout(self, obj: dict[str, Any]) -> bool:
        """Keep ``obj`` unless an equal or newer version is held; True if kept."""
        key = key_of(obj)
        held = self.rollouts.get(key)
        if held is not None and resource_version(held) >= resource_version(obj) > 0:
            return False
        self.rollouts[key] = obj
        uid = str((obj.get("metadata") or {}).get("uid") or "")
        if uid:
            self._uids[uid] = key
        return True

    def drop_rollout(self, obj: Mapping[str, Any]) -> None:
        key = key_of(obj)
        self.rollouts.pop(key, None)
        uid = str((obj.get("metadata") or {}).get("uid") or "")
        self._uids.pop(uid, None)
        for owned in self._owned.values():
            owned.pop(uid, None)

    def replace_rollouts(self, items: list[dict[str, Any]]) -> None:
        self.rollouts.clear()
        self._uids.clear()
        for item in items:
            self.put_rollout(item)

    def put_owned(self, kind: str, obj: dict[str, Any]) -> Key | None:
        """Keep an owned object; the owning Rollout's key (None when not owned by one)."""
        uid = owner_uid(obj)
        if not uid:
            return None
        bucket = self._owned[kind].setdefault(uid, {})
        held = bucket.get(key_of(obj))
        version = resource_version(obj)
        if held is None or version > resource_version(held) or version == 0:
            bucket[key_of(obj)] = obj
        return self._uids.get(uid)

    def drop_owned(self, kind: str, obj: Mapping[str, Any]) -> Key | None:
        uid = owner_uid(obj)
        self._owned[kind].get(uid, {}).pop(key_of(obj), None)
        return self._uids.get(uid)

    def replace_owned(self, kind: str, items: list[dict[str, Any]]) -> set[Key]:
        self._owned[kind] = {}
        touched: set[Key] = set()
        for item in items:
            key = self.put_owned(kind, item)
            if key is not None:
                touched.add(key)
        return touched

    def owned(self, kind: str, rollout: Mapping[str, Any]) -> list[dict[str, Any]]:
        uid = str((rollout.get("metadata") or {}).get("uid") or "")
        return list(self._owned[kind].get(uid, {}).values())
