"""Watches of the destination under an open resource tree: a Pod created or deleted, a
ReplicaSet scaled, wakes the tree's stream, which then reads the tree again.

The server keeps no cache of the destinations (:mod:`tidegate.api.app_tree` reads them on
demand). While a client holds ``/api/v1/stream/applications/NAME/resource-tree`` open, the
stream holds one :class:`DestinationWatch`: a watch (:func:`tidegate.kube.watch.reflect`) of
each kind of :data:`app_tree.CHILD_KINDS` in each namespace the app manages objects in (at most
:data:`WATCH_NAMESPACES`), on the destination's pooled client. Every event sets
:attr:`DestinationWatch.changed`; the stream clears it before reading the tree, so a burst of
events costs one read more, not one per event. Bounded: at most :data:`MAX_WATCHED_TREES`
streams hold watches at once (a further stream reads the tree on changes of the app only, as
before, and says so in the log); the watches end when the stream ends (the client went away).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tidegate.api import app_tree, context
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import watch
from tidegate.model import errors as tg_errors

log = logging.getLogger(__name__)
Obj = dict[str, Any]
MAX_WATCHED_TREES = 16
WATCH_NAMESPACES = 5
Target = tuple[kube_config.ClusterConfig, tuple[str, ...]]


class _Slots:
    """How many trees are watched now, against MAX_WATCHED_TREES (one server, one loop)."""

    used = 0


class DestinationWatch:
    """The watches of one open tree. :meth:`follow` (again) whenever the app changes: the
    watches move when its destination or namespaces do. :meth:`close` ends them and frees
    the slot."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.changed = asyncio.Event()
        self.reason = ""  # why the destination is not watched ("" when it is, or need not be)
        self._target: Target | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._slot = False

    async def follow(self, ctx: context.ServerContext, app: Obj) -> None:
        where = tuple(app_tree.namespaces(app_tree.resource_tree(app))[:WATCH_NAMESPACES])
        try:
            config = await app_tree.destination(ctx, app)
        except (tg_errors.TidegateError, OSError) as exc:
            self.reason = str(exc)
            self._stop()
            return
        target = (config, where)
        if target == self._target:
            return
        self._stop()
        if not where:
            return
        if not self._slot:
            if _Slots.used >= MAX_WATCHED_TREES:
                self.reason = f"more than {MAX_WATCHED_TREES} open trees are watched"
                log.info("tree of %s not watched: %s", self.name, self.reason)
                return
            _Slots.used += 1
            self._slot = True
        client = await app_tree.pooled_client(config)
        self._target, self.reason = target, ""
        self._tasks = [
            asyncio.create_task(self._watch(client, group, kind, namespace))
            for namespace in where
            for group, kind in app_tree.CHILD_KINDS
        ]

    async def _watch(
        self, client: kube_client.KubeClient, group: str, kind: str, namespace: str
    ) -> None:
        try:
            res = await client.resource(group, kind)
        except tg_errors.UnknownKindError:
            return  # e.g. no Argo Rollouts on this cluster
        except tg_errors.TidegateError as exc:
            log.warning("tree of %s: cannot watch %s: %s", self.name, kind, exc)
            return
        # The first list counts as a change too: something may have changed between the
        # stream's first read of the tree and the start of this watch.
        async for event in watch.reflect(client, res, namespace=namespace):
            if event.type in ("ADDED", "MODIFIED", "DELETED", "RELISTED"):
                self.changed.set()

    def _stop(self) -> None:
        # Cancelled, not awaited: this also runs while the stream's own task is being
        # cancelled (the client went away), where an await would be interrupted.
        tasks, self._tasks, self._target = self._tasks, [], None
        for task in tasks:
            task.cancel()

    def close(self) -> None:
        self._stop()
        if self._slot:
            _Slots.used -= 1
            self._slot = False

    @property
    def watching(self) -> int:
        """How many watches run (for tests and the log)."""
        return sum(1 for t in self._tasks if not t.done())


def watched_trees() -> int:
    """How many open trees hold watches now."""
    return _Slots.used
