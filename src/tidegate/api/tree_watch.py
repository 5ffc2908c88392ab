"""Watches of the destination under an open resource tree: a Pod created or deleted, a
ReplicaSet scaled, wakes the tree's stream, which then reads the tree again.

The server keeps no cache of the destinations (:mod:`tidegate.api.app_tree` reads them on
demand). While a client holds ``/api/v1/stream/applications/NAME/resource-tree`` open, the
stream holds one :class:`DestinationWatch`: it listens to a watch
(:func:`tidegate.kube.watch.reflect`) of each kind of :data:`app_tree.CHILD_KINDS` in each
namespace the app manages objects in (at most :data:`WATCH_NAMESPACES`), on the destination's
pooled client. Every event sets :attr:`DestinationWatch.changed`; the stream clears it before
reading the tree, so a burst of events costs one read more, not one per event.

The watches are shared: streams of trees on the same cluster and namespace (two pages of one
app, a page reloaded) listen to the same watch, and a watch nobody listens to is ended after
:data:`GRACE_SECONDS` (a reload or a step back does not open new connections and lists).
Bounded: at most :data:`MAX_WATCHED_TREES` streams listen at once (a further stream reads the
tree on changes of the app only, as before, and logs why) and at most :data:`MAX_WATCHES`
watches run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, ClassVar

from tidegate.api import app_tree, context
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import watch
from tidegate.model import errors as tg_errors

log = logging.getLogger(__name__)
Obj = dict[str, Any]
MAX_WATCHED_TREES = 16
MAX_WATCHES = 16 * len(app_tree.CHILD_KINDS)
WATCH_NAMESPACES = 5
GRACE_SECONDS = 30.0
Key = tuple[kube_config.ClusterConfig, str, str, str]  # cluster, namespace, group, kind
Target = tuple[kube_config.ClusterConfig, tuple[str, ...]]


@dataclasses.dataclass
class _Watch:
    task: asyncio.Task[None]
    listeners: set[asyncio.Event] = dataclasses.field(default_factory=set)
    idle: asyncio.TimerHandle | None = None  # when nobody listens: the end, after the grace


class _Shared:
    """The running watches and how many trees listen (one server, one event loop)."""

    watches: ClassVar[dict[Key, _Watch]] = {}
    trees = 0


async def _run(client: kube_client.KubeClient, key: Key) -> None:
    _, namespace, group, kind = key
    try:
        res = await client.resource(group, kind)
    except tg_errors.UnknownKindError:
        return  # e.g. no Argo Rollouts on this cluster: nothing to watch, nothing to wake
    except tg_errors.TidegateError as exc:
        log.warning("cannot watch %s in %s on cluster %s: %s", kind, namespace, client.name, exc)
        return
    async for event in watch.reflect(client, res, namespace=namespace):
        if event.type in ("ADDED", "MODIFIED", "DELETED", "RELISTED"):
            found = _Shared.watches.get(key)
            for listener in found.listeners if found is not None else ():
                listener.set()


def _end(key: Key) -> None:
    found = _Shared.watches.get(key)
    if found is not None and not found.listeners:
        del _Shared.watches[key]
        found.task.cancel()


def _listen(client: kube_client.KubeClient, key: Key, listener: asyncio.Event) -> bool:
    """Listen to the watch of ``key`` (started when missing); False when none may start."""
    found = _Shared.watches.get(key)
    if found is None:
        if len(_Shared.watches) >= MAX_WATCHES:
            return False
        found = _Shared.watches[key] = _Watch(asyncio.create_task(_run(client, key)))
    elif found.idle is not None:
        found.idle.cancel()
        found.idle = None
    found.listeners.add(listener)
    # Its first list (RELISTED) wakes a new watch's listeners; an existing watch has listed
    # already: wake this one, something may have changed since its tree was read.
    listener.set()
    return True


def _unlisten(key: Key, listener: asyncio.Event) -> None:
    found = _Shared.watches.get(key)
    if found is None:
        return
    found.listeners.discard(listener)
    if not found.listeners and found.idle is None:
        found.idle = asyncio.get_running_loop().call_later(GRACE_SECONDS, _end, key)


class DestinationWatch:
    """What one open tree listens to. :meth:`follow` (again) whenever the app changes: it moves
    when the app's destination or namespaces do. :meth:`close` stops listening."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.changed = asyncio.Event()
        self.reason = ""  # why the destination is not watched ("" when it is, or need not be)
        self._target: Target | None = None
        self._keys: list[Key] = []
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
            if _Shared.trees >= MAX_WATCHED_TREES:
                self.reason = f"more than {MAX_WATCHED_TREES} open trees are watched"
                log.info("tree of %s not watched: %s", self.name, self.reason)
                return
            _Shared.trees += 1
            self._slot = True
        client = await app_tree.pooled_client(config)
        self._target, self.reason = target, ""
        for namespace in where:
            for group, kind in app_tree.CHILD_KINDS:
                key = (config, namespace, group, kind)
                if _listen(client, key, self.changed):
                    self._keys.append(key)
                else:
                    self.reason = f"more than {MAX_WATCHES} watches of destinations run"

    def _stop(self) -> None:
        keys, self._keys, self._target = self._keys, [], None
        for key in keys:
            _unlisten(key, self.changed)

    def close(self) -> None:
        self._stop()
        if self._slot:
            _Shared.trees -= 1
            self._slot = False

    @property
    def watching(self) -> int:
        """How many watches this tree listens to."""
        return len(self._keys)


def watched_trees() -> int:
    """How many open trees listen to watches now."""
    return _Shared.trees


def running_watches() -> int:
    """How many watches of destinations run now (listened to, or in their grace period)."""
    return len(_Shared.watches)
