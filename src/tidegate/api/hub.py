"""One watch of Applications shared by every list and stream of the server (a fan-out hub).

:class:`AppHub` runs :func:`tidegate.kube.watch.reflect` on the control namespace's
Applications, keeps the current objects (so a list is served from memory, sorted by name) and
hands each change to every subscriber's bounded queue. A subscriber that falls too far behind
is dropped (its stream ends with an error and the client reconnects) instead of slowing the
others down or growing memory without bound.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from tidegate.kube import client as kube_client
from tidegate.kube import discovery, watch
from tidegate.model import constants

log = logging.getLogger(__name__)

Obj = dict[str, Any]
QUEUE_SIZE = 1000
APPLICATIONS = discovery.APIResource(
    constants.GROUP,
    constants.VERSION,
    constants.KIND_APPLICATION,
    "applications",
    True,
    frozenset({"get", "list", "create", "update", "patch", "delete", "watch"}),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    type: str  # ADDED, MODIFIED, DELETED
    app: Obj
    encoded: bytes  # the app's JSON, encoded once for every subscriber


class Subscription:
    """The changes one client receives, from the moment it subscribed."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, change: Change) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)  # tells the reader it has been dropped


class AppHub:
    """The Applications (or another ``resource``: the ApplicationSet stream runs one of its
    own) of one namespace, as last seen, and their changes.

    With ``other_namespaces`` (a predicate: Applications in any namespace) it watches every
    namespace and keeps the objects of the namespaces the predicate accepts too, keyed
    ``<namespace>/<name>`` (:func:`key`); those of ``namespace`` stay keyed by name."""

    def __init__(
        self,
        client: kube_client.KubeClient,
        namespace: str,
        resource: discovery.APIResource = APPLICATIONS,
        *,
        other_namespaces: Callable[[str], bool] | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.resource = resource
        self.other_namespaces = other_namespaces
        self.apps: dict[str, Obj] = {}
        self.encoded: dict[str, bytes] = {}
        self._names: list[str] = []
        self.resource_version = ""
        self.ready = asyncio.Event()
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None

    # -- reading ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Application keys (:meth:`key`), sorted."""
        return self._names

    def key(self, obj: Obj) -> str:
        """``<name>`` in the hub's namespace, ``<namespace>/<name>`` in another one."""
        meta = obj.get("metadata") or {}
        name, ns = str(meta.get("name") or ""), str(meta.get("namespace") or "")
        return f"{ns}/{name}" if ns and ns != self.namespace else name

    def _kept(self, obj: Obj) -> bool:
        ns = str((obj.get("metadata") or {}).get("namespace") or self.namespace)
        return ns == self.namespace or (
            self.other_namespaces is not None and self.other_namespaces(ns)
        )

    def sorted_apps(self, start_after: str = "") -> Iterator[Obj]:
        """The apps in name order, from just after ``start_after``."""
        names = self._names
        i = bisect.bisect_right(names, start_after) if start_after else 0
        for name in names[i:]:
            app = self.apps.get(name)
            if app is not None:
                yield app

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        sub = Subscription()
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    async def wait_for(
        self, name: str, check: Callable[[Obj | None], bool], *, seconds: float
    ) -> bool:
        """Wait (bounded) until ``check`` holds for app ``name`` (a :meth:`key`) as the hub
        sees it."""
        with self.subscribe() as sub:
            if check(self.apps.get(name)):
                return True
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds
            while (left := end - loop.time()) > 0:
                try:
                    change = await asyncio.wait_for(sub.queue.get(), left)
                except TimeoutError:
                    return False
                if change is None:
                    return check(self.apps.get(name))
                if self.key(change.app) == name and check(
                    None if change.type == "DELETED" else change.app
                ):
                    return True
        return False

    # -- feeding ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.resource.plural}-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        every = self.other_namespaces is not None
        namespace = None if every else self.namespace
        async for event in watch.reflect(self.client, self.resource, namespace=namespace):
            if event.resource_version:
                self.resource_version = event.resource_version
            if event.type == "RELISTED":
                self._replace([i for i in event.items if self._kept(i)])
                self.ready.set()
            elif (
                event.type in ("ADDED", "MODIFIED", "DELETED")
                and event.object is not None
                and self._kept(event.object)
            ):
                self._apply(event.type, event.object)
            elif event.type == "ERROR":
                log.warning("watch of %s failed, retrying: %s", self.resource.plural, event.reason)

    def _replace(self, items: list[Obj]) -> None:
        fresh = {self.key(i): i for i in items}
        for name in list(self.apps):
            if name not in fresh:
                self._apply("DELETED", self.apps[name])
        for name, obj in fresh.items():
            old = self.apps.get(name)
            if old is None:
                self._apply("ADDED", obj)
            elif _version(old) != _version(obj):
                self._apply("MODIFIED", obj)

    def _apply(self, kind: str, obj: Obj) -> None:
        obj.setdefault("apiVersion", constants.API_VERSION)
        obj.setdefault("kind", self.resource.kind)
        name = self.key(obj)
        if kind == "DELETED":
            encoded = self.encoded.pop(name, b"") or msgspec.json.encode(obj)
            if self.apps.pop(name, None) is not None:
                i = bisect.bisect_left(self._names, name)
                if i < len(self._names) and self._names[i] == name:
                    self._names = self._names[:i] + self._names[i + 1 :]
        else:
            if name not in self.apps:
                bisect.insort(self._names, name)
            self.apps[name] = obj
            encoded = self.encoded[name] = msgspec.json.encode(obj)
        change = Change(kind, obj, encoded)
        for sub in list(self._subscribers):
            sub.offer(change)


def _version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
