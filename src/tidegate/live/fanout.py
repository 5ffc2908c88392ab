"""The live cache's watches shared with other consumers (no I/O of its own).

The cache keeps only what Applications track; a workload controller (Rollouts, analysis) needs
every object of a few kinds. :class:`Fanout` holds, for each kind someone subscribed to, a
*mirror* (every object of the kind, as the cache's single watch of it reports them) and the
subscribers' queues. Each subscriber sees the watch through its own namespace and label
selector, as if it had made the request itself: a ``RELISTED`` with the matching objects first
(from the mirror when the kind is already mirrored), then the matching changes; an object whose
labels stop matching is reported ``DELETED`` to that subscriber.

Each subscriber gets its own copies: the cache's store slims the objects it keeps in place and
the app controller reads them, so a consumer never shares a dict with either (as with watches
of its own, where each decoded its own objects).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.kube import feed, watch
from tidegate.model import labelselector
from tidegate.model.keys import ResourceKey

GroupKind = tuple[str, str]


@dataclasses.dataclass(eq=False)
class Subscriber:
    group_kind: GroupKind
    namespace: str | None
    requirements: tuple[labelselector.Requirement, ...]
    # None: the feed closed (the cache stopped).
    queue: asyncio.Queue[watch.WatchEvent | None] = dataclasses.field(default_factory=asyncio.Queue)

    def wants(self, obj: Mapping[str, Any]) -> bool:
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        if self.namespace is not None and namespace != self.namespace:
            return False
        return labelselector.matches(self.requirements, obj)

    def relisted(self, items: Iterable[dict[str, Any]], reason: str) -> None:
        chosen = [copy.deepcopy(item) for item in items if self.wants(item)]
        self.queue.put_nowait(watch.WatchEvent("RELISTED", items=chosen, reason=reason))


class Fanout:
    def __init__(self) -> None:
        self._subscribers: dict[GroupKind, list[Subscriber]] = {}
        self._mirrors: dict[GroupKind, dict[ResourceKey, dict[str, Any]]] = {}
        self._absent: set[GroupKind] = set()
        self._pending: set[GroupKind] = set()  # a list was asked for, its answer not seen yet

    def kinds(self) -> set[GroupKind]:
        """The kinds someone subscribed to."""
        return set(self._subscribers)

    def add(self, subscriber: Subscriber) -> bool:
        """Register ``subscriber``; True when its kind must be listed (afresh) for it."""
        gk = subscriber.group_kind
        self._subscribers.setdefault(gk, []).append(subscriber)
        mirror = self._mirrors.get(gk)
        if mirror is not None:
            subscriber.relisted(mirror.values(), "initial")
            return False
        if gk in self._absent:
            subscriber.relisted((), feed.ABSENT)
        if gk in self._pending:
            return False
        self._pending.add(gk)
        return True

    def remove(self, subscriber: Subscriber) -> None:
        gk = subscriber.group_kind
        held = self._subscribers.get(gk, [])
        if subscriber in held:
            held.remove(subscriber)
        if not held:
            self._subscribers.pop(gk, None)
            self._mirrors.pop(gk, None)
            self._pending.discard(gk)

    def relisted(self, gk: GroupKind, items: list[dict[str, Any]], reason: str) -> None:
        """The cache's watch of ``gk`` (re)listed: the complete set."""
        subscribers = self._subscribers.get(gk)
        if not subscribers:
            return
        self._pending.discard(gk)
        self._absent.discard(gk)
        self._mirrors[gk] = {ResourceKey.of(item): item for item in items}
        for subscriber in subscribers:
            subscriber.relisted(items, reason)

    def changed(self, gk: GroupKind, event: watch.WatchEvent) -> None:
        """An ADDED, MODIFIED or DELETED event of the cache's watch of ``gk``."""
        mirror = self._mirrors.get(gk)
        obj = event.object
        if mirror is None or obj is None:
            return  # nobody subscribed, or the subscribers' list has not come yet
        key = ResourceKey.of(obj)
        before = mirror.pop(key, None) if event.type == "DELETED" else mirror.get(key)
        if event.type != "DELETED":
            mirror[key] = obj
        for subscriber in self._subscribers.get(gk, ()):
            if subscriber.wants(obj):
                subscriber.queue.put_nowait(dataclasses.replace(event, object=copy.deepcopy(obj)))
            elif before is not None and subscriber.wants(before):  # its labels stopped matching
                mine = copy.deepcopy(obj)
                subscriber.queue.put_nowait(dataclasses.replace(event, type="DELETED", object=mine))

    def failed(self, gk: GroupKind, reason: str) -> None:
        for subscriber in self._subscribers.get(gk, ()):
            subscriber.queue.put_nowait(watch.WatchEvent("ERROR", reason=reason))

    def absent(self, gk: GroupKind) -> None:
        """``gk`` is not served (its CRD is missing or was removed): no objects."""
        self._pending.discard(gk)
        if gk in self._absent:
            return
        self._absent.add(gk)
        self._mirrors.pop(gk, None)
        for subscriber in self._subscribers.get(gk, ()):
            subscriber.relisted((), feed.ABSENT)

    def close(self) -> None:
        """The cache stopped: every subscription ends."""
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.queue.put_nowait(None)
        self._subscribers.clear()
        self._mirrors.clear()
        self._pending.clear()
