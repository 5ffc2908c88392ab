"""The in-memory live state of one cluster and its indexes (no I/O).

Kept: objects tracked by an Application, and objects owned (``ownerReferences``) by a kept
object, transitively (a tracked Deployment's ReplicaSets and their Pods). An owned object whose
owner has not been seen yet is kept *pending*: watches of different kinds arrive in any order.
Once an owner is known to be untracked, its pending descendants are dropped; :meth:`sweep` drops
pending objects whose owner never showed up (call it after the initial lists).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tidegate.live import tracking
from tidegate.model import constants
from tidegate.model.keys import ResourceKey


@dataclasses.dataclass(frozen=True, slots=True)
class TreeNode:
    """One object of an Application's resource tree; ``parents`` are owner uids."""

    key: ResourceKey
    uid: str
    api_version: str
    parents: tuple[str, ...]
    depth: int
    object: Mapping[str, Any]


class LiveStore:
    def __init__(
        self, *, tracking_method: str = constants.TRACKING_ANNOTATION, installation_id: str = ""
    ) -> None:
        self._method = tracking_method
        self._installation_id = installation_id
        self._objects: dict[ResourceKey, dict[str, Any]] = {}
        self._by_uid: dict[str, ResourceKey] = {}
        self._children: dict[str, set[ResourceKey]] = {}
        self._by_app: dict[str, set[ResourceKey]] = {}
        self._app_of_key: dict[ResourceKey, str] = {}
        # uid -> (group, kind) of objects seen and dropped: their owned objects are dropped too.
        self._untracked: dict[str, tuple[str, str]] = {}
        # namespace -> keys of untracked namespaced objects without owners (only their keys are
        # kept): the candidates for AppProject orphanedResources. Changes since the last
        # :meth:`drain_loose_changes` are listed in _loose_changed.
        self._loose: dict[str, set[ResourceKey]] = {}
        self._loose_changed: list[ResourceKey] = []

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, key: ResourceKey) -> dict[str, Any] | None:
        return self._objects.get(key)

    def __iter__(self) -> Iterator[ResourceKey]:
        return iter(self._objects)

    def apps(self) -> set[str]:
        return set(self._by_app)

    def tracked(self, app: str) -> list[dict[str, Any]]:
        """Objects tracked directly by ``app`` (not their owned descendants)."""
        return [self._objects[k] for k in sorted(self._by_app.get(app, ()))]

    def app_of(self, key: ResourceKey) -> str | None:
        """The app tracking ``key`` or, following owners, tracking its nearest tracked ancestor."""
        seen: set[ResourceKey] = set()
        todo = [key]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            app = self._app_of_key.get(current)
            if app:
                return app
            obj = self._objects.get(current)
            if obj is None:
                continue
            todo.extend(self._by_uid[u] for u in tracking.owner_uids(obj) if u in self._by_uid)
        return None

    def top_level(self, namespace: str) -> dict[ResourceKey, str | None]:
        """Objects of ``namespace`` without owners: untracked ones (None) and tracked ones
        (their app's name), for AppProject ``orphanedResources``."""
        found: dict[ResourceKey, str | None] = dict.fromkeys(self._loose.get(namespace, ()))
        for key, app in self._app_of_key.items():
            if key.namespace == namespace and not tracking.owner_uids(self._objects[key]):
                found[key] = app
        return found

    def drain_loose_changes(self) -> list[ResourceKey]:
        """Keys of untracked owner-less objects that appeared or went since the last call."""
        changed, self._loose_changed = self._loose_changed, []
        return changed

    # -- changes: each returns the apps whose state changed ----------------------------------

    def upsert(self, obj: dict[str, Any]) -> set[str]:
        key = ResourceKey.of(obj)
        before = self.app_of(key)
        app = tracking.tracked_app(obj, method=self._method, installation_id=self._installation_id)
        uid = tracking.uid_of(obj)
        owners = tracking.owner_uids(obj)
        keep = app is not None or (
            bool(owners) and any(o in self._by_uid or o not in self._untracked for o in owners)
        )
        if not keep:
            self._drop(key)
            if not owners:
                self._set_loose(key, True)
            if uid:
                self._untracked[uid] = (key.group, key.kind)
                self._drop_children(uid)
            return {before} if before else set()
        self._set_loose(key, False)
        self._untracked.pop(uid, None)
        old = self._objects.get(key)
        if old is not None:
            self._unindex(key, old)
        tracking.slim(obj, keep_managed_fields=app is not None)
        self._objects[key] = obj
        if uid:
            self._by_uid[uid] = key
        for owner in owners:
            self._children.setdefault(owner, set()).add(key)
        if app is not None:
            self._app_of_key[key] = app
            self._by_app.setdefault(app, set()).add(key)
        after = self.app_of(key)
        return {a for a in (before, after) if a}

    def remove(self, obj: Mapping[str, Any]) -> set[str]:
        key = ResourceKey.of(obj)
        before = self.app_of(key)
        self._drop(key)
        self._set_loose(key, False)
        self._untracked.pop(tracking.uid_of(obj), None)
        return {before} if before else set()

    def replace_kind(self, group: str, kind: str, items: Iterable[dict[str, Any]]) -> set[str]:
        """A fresh list of one kind replaces what was held for it (after a relist)."""
        changed: set[str] = set()
        incoming: dict[ResourceKey, dict[str, Any]] = {ResourceKey.of(o): o for o in items}
        for key in [k for k in self._objects if k.group == group and k.kind == kind]:
            if key not in incoming:
                changed |= self.remove(self._objects[key])
        for keys in list(self._loose.values()):
            for key in [k for k in keys if k.group == group and k.kind == kind]:
                if key not in incoming:
                    self._set_loose(key, False)
        stale = [u for u, gk in self._untracked.items() if gk == (group, kind)]
        for uid in stale:
            del self._untracked[uid]
        for key, obj in incoming.items():
            old = self._objects.get(key)
            if old is not None and _version(old) == _version(obj):
                continue
            changed |= self.upsert(obj)
        return changed

    def sweep(self) -> int:
        """Drop kept objects that belong to no app (owners never seen); return how many."""
        orphans = [k for k in self._objects if self.app_of(k) is None]
        for key in orphans:
            obj = self._objects[key]
            self._drop(key)
            uid = tracking.uid_of(obj)
            if uid:
                self._untracked[uid] = (key.group, key.kind)
        return len(orphans)

    # -- resource tree -----------------------------------------------------------------------

    def resource_tree(self, app: str) -> list[TreeNode]:
        """The app's tracked objects and, breadth first, everything they own."""
        nodes: list[TreeNode] = []
        seen: set[ResourceKey] = set()
        level = sorted(self._by_app.get(app, ()))
        depth = 0
        while level:
            following: list[ResourceKey] = []
            for key in level:
                if key in seen:
                    continue
                seen.add(key)
                obj = self._objects[key]
                uid = tracking.uid_of(obj)
                nodes.append(
                    TreeNode(
                        key=key,
                        uid=uid,
                        api_version=str(obj.get("apiVersion") or ""),
                        parents=tracking.owner_uids(obj) if depth else (),
                        depth=depth,
                        object=obj,
                    )
                )
                # Children tracked by an app of their own are that app's, not ours.
                following.extend(
                    k for k in sorted(self._children.get(uid, ())) if k not in self._app_of_key
                )
            level = following
            depth += 1
        return nodes

    # -- internals ---------------------------------------------------------------------------

    def _set_loose(self, key: ResourceKey, loose: bool) -> None:
        """Record whether ``key`` is an untracked owner-less namespaced object."""
        if not key.namespace:
            return
        keys = self._loose.get(key.namespace)
        if loose and (keys is None or key not in keys):
            self._loose.setdefault(key.namespace, set()).add(key)
            self._loose_changed.append(key)
        elif not loose and keys is not None and key in keys:
            keys.discard(key)
            if not keys:
                del self._loose[key.namespace]
            self._loose_changed.append(key)

    def _unindex(self, key: ResourceKey, obj: Mapping[str, Any]) -> None:
        uid = tracking.uid_of(obj)
        if uid and self._by_uid.get(uid) == key:
            del self._by_uid[uid]
        for owner in tracking.owner_uids(obj):
            siblings = self._children.get(owner)
            if siblings is not None:
                siblings.discard(key)
                if not siblings:
                    del self._children[owner]
        app = self._app_of_key.pop(key, None)
        if app is not None:
            members = self._by_app.get(app)
            if members is not None:
                members.discard(key)
                if not members:
                    del self._by_app[app]

    def _drop(self, key: ResourceKey) -> None:
        obj = self._objects.pop(key, None)
        if obj is not None:
            self._unindex(key, obj)

    def _drop_children(self, uid: str) -> None:
        """``uid`` is untracked: drop its kept children unless another owner keeps them."""
        for child_key in sorted(self._children.get(uid, ())):
            child = self._objects.get(child_key)
            if child is not None and child_key not in self._app_of_key:
                self.upsert(child)  # re-evaluates against the now-known owner


def _version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
