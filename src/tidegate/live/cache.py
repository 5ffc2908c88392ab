"""The live-state cache of one cluster: one list+watch per resource kind feeding a LiveStore.

A supervisor task discovers the listable/watchable kinds (minus a deny-list), runs one reflector
task per kind, and rediscovers when CustomResourceDefinitions change. Failures are state, not
exceptions: :attr:`ClusterCache.state` says whether the cluster is connected, the last error and
when it was last in sync; every reflector retries by itself with backoff, so one unreachable
cluster never blocks another.

It is also a :class:`tidegate.kube.feed.Feed`: :meth:`ClusterCache.subscribe` shares a kind's one
watch with workload controllers (Rollouts, analysis) instead of letting them open their own
(:mod:`tidegate.live.fanout`); a subscribed kind is watched even when deny-listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable

from tidegate.kube import client as kube_client
from tidegate.kube import discovery, watch
from tidegate.live import fanout
from tidegate.live import store as live_store
from tidegate.metrics import families as metric_families
from tidegate.model import constants, errors, labelselector
from tidegate.model.keys import ResourceKey

log = logging.getLogger(__name__)

# on_change(apps, key): key is None after a relist, when many objects may have changed; apps is
# empty when an untracked object without owners appeared in or left key's namespace.
OnChange = Callable[[set[str], ResourceKey | None], None]

# (group, kind) never cached: high churn, no place in a resource tree (Argo CD's exclusions).
DEFAULT_DENY: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Event"),
        ("events.k8s.io", "Event"),
        ("", "Endpoints"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("coordination.k8s.io", "Lease"),
        ("", "ComponentStatus"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("authentication.k8s.io", "TokenReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    }
)
CRD_GROUP_KIND = ("apiextensions.k8s.io", "CustomResourceDefinition")
STOP_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class CacheState:
    cluster: str
    connected: bool
    synced: bool
    error: str
    last_sync: float | None  # wall-clock time of the last successful list or watch event
    kinds: int
    objects: int


class ClusterCache:
    """Start with :meth:`start`, stop with :meth:`stop`; read through :attr:`store`."""

    def __init__(
        self,
        *,
        client: kube_client.KubeClient,
        on_change: OnChange | None = None,
        deny: Collection[tuple[str, str]] = DEFAULT_DENY,
        only: Collection[tuple[str, str]] | None = None,
        tracking_method: str = constants.TRACKING_ANNOTATION,
        installation_id: str = "",
        watch_timeout_seconds: int = 300,
        rediscover_interval: float = 300.0,
        backoff: Callable[[], watch.Backoff] = watch.Backoff,
    ) -> None:
        self.client = client
        self.store = live_store.LiveStore(
            tracking_method=tracking_method, installation_id=installation_id
        )
        self._on_change = on_change
        self._deny = frozenset(deny)
        self._only = frozenset(only) if only is not None else None
        self._watch_timeout = watch_timeout_seconds
        self._rediscover_interval = rediscover_interval
        self._backoff = backoff
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._resources: dict[tuple[str, str], discovery.APIResource] = {}
        self._fanout = fanout.Fanout()
        self._listed: set[tuple[str, str]] = set()
        self._errors: dict[tuple[str, str], str] = {}
        self._discovery_error = ""
        self._last_sync: float | None = None
        self._rediscover = asyncio.Event()
        self._synced = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(
                self._supervise(), name=f"live-cache-{self.client.name}"
            )

    async def stop(self) -> None:
        tasks = [t for t in (self._supervisor, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: a task that ignores its cancel must not hang whoever stops the cache.
            done, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.warning(
                        "live cache %s: task %s ended with %r",
                        self.client.name,
                        task.get_name(),
                        task.exception(),
                    )
            for task in pending:
                log.warning(
                    "live cache %s: task %s did not stop", self.client.name, task.get_name()
                )
        self._supervisor = None
        self._tasks.clear()
        self._fanout.close()

    async def subscribe(
        self,
        group: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> AsyncIterator[watch.WatchEvent]:
        """The events of one kind from the cache's own watch of it (see
        :mod:`tidegate.kube.feed`); ends when the cache stops."""
        gk = (group, kind)
        subscriber = fanout.Subscriber(gk, namespace, labelselector.parse(label_selector))
        if self._fanout.add(subscriber):
            self._list_for_subscribers(gk)
        try:
            while True:
                event = await subscriber.queue.get()
                if event is None:
                    return
                yield event
        finally:
            self._fanout.remove(subscriber)

    def _list_for_subscribers(self, gk: tuple[str, str]) -> None:
        """Get a complete list of ``gk`` for a first subscriber: restart its reflector (the
        kind was watched for the store alone, which keeps only tracked objects), or have it
        discovered now (not watched yet: a kind newly wanted, or one the cluster lacks)."""
        task, res = self._tasks.get(gk), self._resources.get(gk)
        if task is None or res is None:
            self._rediscover.set()
            return
        task.cancel()
        self._tasks[gk] = asyncio.create_task(
            self._run_kind(res), name=f"live-{self.client.name}-{res.group_kind}"
        )

    async def wait_synced(self) -> None:
        """Return once every watched kind has been listed once (bound it with asyncio.timeout)."""
        await self._synced.wait()

    @property
    def state(self) -> CacheState:
        error = self._discovery_error or next(iter(self._errors.values()), "")
        return CacheState(
            cluster=self.client.name,
            connected=not error and self._last_sync is not None,
            synced=self._synced.is_set(),
            error=error,
            last_sync=self._last_sync,
            kinds=len(self._tasks),
            objects=len(self.store),
        )

    def watched(self) -> set[tuple[str, str]]:
        return set(self._tasks)

    # -- supervision -------------------------------------------------------------------------

    def _wanted(
        self, resources: Iterable[discovery.APIResource]
    ) -> dict[tuple[str, str], discovery.APIResource]:
        wanted = {}
        subscribed = self._fanout.kinds()
        for res in resources:
            gk = (res.group, res.kind)
            excluded = gk in self._deny or (self._only is not None and gk not in self._only)
            if excluded and gk not in subscribed:
                continue
            wanted[gk] = res
        return wanted

    async def _supervise(self) -> None:
        backoff = self._backoff()
        while True:
            try:
                self.client.discovery.invalidate()
                wanted = self._wanted(await self.client.discovery.watchable())
            except errors.KubeError as exc:
                self._discovery_error = str(exc)
                log.warning("live cache %s: discovery failed: %s", self.client.name, exc)
                await asyncio.sleep(backoff.next())
                continue
            self._discovery_error = ""
            backoff.reset()
            for gk in self._fanout.kinds() - set(wanted):
                self._fanout.absent(gk)
            for gk in [gk for gk in self._tasks if gk not in wanted]:
                self._tasks.pop(gk).cancel()
                self._resources.pop(gk, None)
                self._listed.discard(gk)
                self._errors.pop(gk, None)
                for key in [k for k in self.store if (k.group, k.kind) == gk]:
                    obj = self.store.get(key)
                    if obj is not None:
                        self._notify(self.store.remove(obj), key)
                self._notify(self.store.replace_kind(gk[0], gk[1], []), None)  # untracked keys
            for gk, res in wanted.items():
                if gk not in self._tasks:
                    self._resources[gk] = res
                    self._tasks[gk] = asyncio.create_task(
                        self._run_kind(res), name=f"live-{self.client.name}-{res.group_kind}"
                    )
            self._check_synced()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # races with the event, and stop() then waited for this task forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._rediscover_interval):
                    await self._rediscover.wait()
            await asyncio.sleep(0.2)  # coalesce bursts of CRD events
            self._rediscover.clear()

    def _check_synced(self) -> None:
        if not self._synced.is_set() and self._tasks and self._listed >= set(self._tasks):
            dropped = self.store.sweep()
            log.info(
                "live cache %s: synced %d kinds, %d objects (%d orphans dropped)",
                self.client.name,
                len(self._tasks),
                len(self.store),
                dropped,
            )
            self._synced.set()

    async def _run_kind(self, res: discovery.APIResource) -> None:
        gk = (res.group, res.kind)
        async for event in watch.reflect(
            self.client, res, timeout_seconds=self._watch_timeout, backoff=self._backoff()
        ):
            if event.type == "ERROR":
                self._errors[gk] = event.reason
                self._fanout.failed(gk, event.reason)
                continue
            self._errors.pop(gk, None)
            self._last_sync = time.time()
            if event.type == "RELISTED":
                self._fanout.relisted(gk, event.items, event.reason)
                changed = self.store.replace_kind(res.group, res.kind, event.items)
                self._notify(changed, None)  # with no app changed, reports untracked keys only
                if gk not in self._listed:
                    self._listed.add(gk)
                    self._check_synced()
                elif event.reason == "expired":
                    self.store.sweep()
            elif event.type in ("ADDED", "MODIFIED", "DELETED") and event.object is not None:
                metric_families.CLUSTER_EVENTS.labels(
                    self.client.config.server, res.group, res.kind
                ).inc()
                self._fanout.changed(gk, event)
            if event.type in ("ADDED", "MODIFIED") and event.object is not None:
                key = ResourceKey.of(event.object)
                self._notify(self.store.upsert(event.object), key)
            elif event.type == "DELETED" and event.object is not None:
                key = ResourceKey.of(event.object)
                self._notify(self.store.remove(event.object), key)
            if gk == CRD_GROUP_KIND and event.type != "BOOKMARK":
                self._rediscover.set()

    def _notify(self, apps: set[str], key: ResourceKey | None) -> None:
        # An untracked owner-less object appeared or went: reported once per namespace as
        # on_change(set(), key), for apps watching orphaned resources there.
        loose = {k.namespace: k for k in self.store.drain_loose_changes()}
        if self._on_change is None:
            return
        try:
            if apps:
                self._on_change(apps, key)
            for changed in loose.values():
                self._on_change(set(), changed)
        except Exception:  # a failing callback must not stop the watch
            log.exception("live cache %s: on_change callback failed", self.client.name)
