"""Per-destination-cluster runtime: one client and one live cache, started on first use."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tidegate import kube
from tidegate.controller import clusters, looplag
from tidegate.kube import config as kube_config
from tidegate.live import cache as live_cache
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

log = logging.getLogger("tidegate.controller")

SYNC_WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05  # how often a wait for the first sync checks whether the cluster is down
PROBE_SECONDS = 1.0  # while a cluster is down: how often it is asked whether it answers again
PROBE_TIMEOUT = 5.0
HANG_CHECK_SECONDS = 5.0  # work on a cluster running longer than this asks whether it answers
# A synced cluster is asked every HEARTBEAT_SECONDS whether it answers; HEARTBEAT_MISSES
# unanswered asks in a row mark it down. Its watches alone would notice a hung server only when
# their read timeout ends (over five minutes), and a refresh answered from the cache asks the
# server nothing, so its apps would stay Synced all that time.
HEARTBEAT_SECONDS = 10.0
HEARTBEAT_MISSES = 3

T = TypeVar("T")


@dataclasses.dataclass
class ClusterRuntime:
    cluster: clusters.Cluster
    config: kube_config.ClusterConfig
    client: kube.KubeClient
    cache: live_cache.ClusterCache
    server_version: str = ""
    _api_versions: tuple[str, ...] = ()
    _capabilities_index: object = None
    # Down: the cluster stopped answering after its cache had synced (mark_down). Its apps are
    # reported unreachable until a probe gets an answer again; then ``on_recovered`` runs.
    down_error: str = ""
    on_recovered: Callable[[str], None] | None = None
    # Marked down by the heartbeat, when no refresh may run to notice: recompute its apps.
    on_down: Callable[[str], None] | None = None
    _probe: asyncio.Task[None] | None = None
    _heartbeat: asyncio.Task[None] | None = None
    _checked_at: float = 0.0
    # Replaced (settings changed) or dropped (cluster removed): its client and cache are closed.
    closed: bool = False
    started_at: float = dataclasses.field(default_factory=time.monotonic)

    async def ready(self, wait: float = SYNC_WAIT_SECONDS) -> bool:
        """True once the cache has listed every kind; False if that takes over ``wait`` s, or
        as soon as the cluster is known to be unreachable (:meth:`unreachable`).

        Failing fast matters: every refresh of an app on a cluster that is down used to hold a
        refresh worker for the whole ``wait``, so a handful of such apps starved the apps of
        every other cluster.
        """
        if self.cache.state.synced:
            return not await self._lost()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not self.cache.state.synced:
            if self.unreachable():
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, POLL_SECONDS)):
                    await self.cache.wait_synced()
        return True

    async def capabilities(self) -> tuple[str | None, tuple[str, ...]]:
        """The cluster's version and served API versions, for ``helm template --kube-version
        --api-versions`` (as Argo CD passes them). Cached with discovery; (None, ()) while the
        cluster cannot be asked."""
        try:
            index = await self.client.discovery.index()
            if not self.server_version or index is not self._capabilities_index:
                body = (await self.client.request("GET", "/version", what="get /version")).body
                self.server_version = str(body.get("gitVersion") or "")
                versions = {r.api_version for r in index.resources}
                kinds = {f"{r.api_version}/{r.kind}" for r in index.resources}
                self._api_versions = tuple(sorted(versions | kinds))
                self._capabilities_index = index
        except errors.KubeError:
            return (self.server_version or None), self._api_versions
        return (self.server_version or None), self._api_versions

    def loading(self, grace: float) -> bool:
        """The cache's first sync is still under way on a cluster that answered its discovery,
        within ``grace`` seconds of this runtime's start: not a reason to call its apps
        Unknown yet (a restarted controller listing a big cluster on a busy API server). A
        discovery still pending may be a hung server: that is not loading."""
        state = self.cache.state
        if state.synced or state.kinds == 0 or self.unreachable():
            return False
        return time.monotonic() - self.started_at < grace

    def unreachable(self) -> bool:
        """Not synced yet, discovery failed and nothing could be watched: the cluster cannot be
        reached now (a per-kind error after discovery worked is not enough: it may clear); or,
        once synced, it was marked down (:meth:`mark_down`) and has not answered since."""
        if self.down_error:
            return True
        state = self.cache.state
        return not state.synced and state.kinds == 0 and bool(state.error)

    async def _lost(self) -> bool:
        """Whether a synced cluster is down. Down stays down until a probe gets an answer,
        whatever the cache's watches do meanwhile (they fail and retry one by one, so their
        state alone would flap). A watch error makes a refresh ask the server (at most once per
        ``PROBE_SECONDS``)."""
        if self.down_error:
            return True
        if not self.cache.state.error or time.monotonic() - self._checked_at < PROBE_SECONDS:
            return False
        self._checked_at = time.monotonic()
        problem = await self._answer()
        if problem:
            self.mark_down(problem)
        return bool(problem)

    async def _answer(self) -> str:
        """'' if the API server answers ``/version``, else why not. Asked outside the
        client's limits: a hung server holds every ordinary request slot."""
        asked = time.monotonic()
        try:
            await self.client.ping(within=PROBE_TIMEOUT)
        except errors.ClusterUnreachableError as exc:
            timed_out = time.monotonic() - asked >= PROBE_TIMEOUT
            if timed_out and looplag.too_busy_since(asked, PROBE_TIMEOUT):
                # Our loop, not the server, may be what was slow: no verdict this time (a
                # refused connection is one, however busy we are).
                log.info("cluster %s: no answer, but this process was too busy to tell (%s)",
                         self.cluster.name, exc)  # fmt: skip
                return ""
            return str(exc)
        return ""

    async def guarded(self, work: Awaitable[T]) -> T:
        """``work`` (requests to this cluster), given up on if the server hangs: when it has
        not finished after ``HANG_CHECK_SECONDS``, the server is asked ``/version``; no answer
        marks the cluster down and cancels ``work`` with :class:`ClusterUnreachableError`.

        A server that accepts connections and never answers would otherwise hold each caller
        for the whole request timeout (30 s), and with them the refresh processors that
        other clusters' apps need. A slow but answering server is waited for, however long.
        """
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=HANG_CHECK_SECONDS)
                if done:
                    return task.result()
                problem = self.down_error or await self._answer()
                if problem:
                    self.mark_down(problem)
                    raise errors.ClusterUnreachableError(problem)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def mark_down(self, error: str) -> None:
        """The cluster stopped answering (``error`` says how): its apps are unreachable until
        a probe, every ``PROBE_SECONDS``, gets an answer."""
        if not self.down_error:
            log.warning("cluster %s: down: %s", self.cluster.name, error)
        self.down_error = error
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(
                self._until_answers(), name=f"probe-{self.cluster.name}"
            )

    async def _until_answers(self) -> None:
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            problem = await self._answer()
            if not problem:
                break
            self.down_error = problem
        log.info("cluster %s: answers again", self.cluster.name)
        self.down_error = ""
        if self.on_recovered is not None:
            self.on_recovered(self.cluster.server)

    def start_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(
                self._beat(), name=f"heartbeat-{self.cluster.name}"
            )

    async def _beat(self) -> None:
        """Ask a synced, answering cluster whether it still answers; after
        ``HEARTBEAT_MISSES`` unanswered asks in a row (each given ``PROBE_TIMEOUT``), mark it
        down. One slow answer on a busy server is not enough."""
        misses = 0
        while not self.closed:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if self.down_error or not self.cache.state.synced:
                misses = 0
                continue
            problem = await self._answer()
            misses = misses + 1 if problem else 0
            if misses >= HEARTBEAT_MISSES and not self.down_error:
                self.mark_down(f"{problem} ({misses} checks in a row)")
                if self.on_down is not None:
                    self.on_down(self.cluster.server)
                misses = 0

    def stop_probe(self) -> None:
        for task in (self._probe, self._heartbeat):
            if task is not None:
                task.cancel()


class Runtimes:
    """The runtimes of all destination clusters, keyed by server URL."""

    def __init__(
        self,
        *,
        on_change: Callable[[str, set[str], ResourceKey | None], None],
        tracking_method: str,
        installation_id: str = "",
        on_recovered: Callable[[str], None] | None = None,
    ) -> None:
        self._on_change = on_change
        self._on_recovered = on_recovered
        self._tracking = tracking_method
        # Read by the caches created from now on; the controller settles it before any exists.
        self.installation_id = installation_id
        self._runtimes: dict[str, ClusterRuntime] = {}
        self._lock = asyncio.Lock()

    def all(self) -> list[ClusterRuntime]:
        return list(self._runtimes.values())

    def get(self, server: str) -> ClusterRuntime | None:
        return self._runtimes.get(server)

    async def ensure(self, cluster: clusters.Cluster) -> ClusterRuntime:
        """The runtime of ``cluster``, (re)created when its connection settings changed."""
        config = cluster.require_config()
        async with self._lock:
            current = self._runtimes.get(cluster.server)
            if current is not None and current.config == config:
                current.cluster = cluster
                return current
            if current is not None:
                await self._close(current)
            client = kube.client_for(config, bulk=True)
            server = cluster.server
            cache = live_cache.ClusterCache(
                client=client,
                tracking_method=self._tracking,
                installation_id=self.installation_id,
                on_change=lambda apps, key: self._on_change(server, apps, key),
            )
            cache.start()
            runtime = ClusterRuntime(
                cluster,
                config,
                client,
                cache,
                on_recovered=self._on_recovered,
                on_down=self._on_recovered,  # the same: recompute the cluster's apps
            )
            runtime.start_heartbeat()
            self._runtimes[server] = runtime
            return runtime

    async def drop_missing(self, servers: set[str] | Callable[[], set[str]]) -> None:
        """Stop the runtimes of clusters that are no longer registered (or, given a function,
        not among what it answers when the runtimes are locked: no runtime created meanwhile
        for a cluster that is wanted again is closed)."""
        async with self._lock:
            kept = servers() if callable(servers) else servers
            for server in [s for s in self._runtimes if s not in kept]:
                await self._close(self._runtimes.pop(server))

    async def _close(self, runtime: ClusterRuntime) -> None:
        """Stop the cache's watches and close the client (its connections and credentials);
        a failure of either is logged and the other still runs."""
        runtime.closed = True
        runtime.stop_probe()
        try:
            await runtime.cache.stop()
        except Exception:
            log.exception("cluster %s: stopping its live cache failed", runtime.cluster.name)
        try:
            await runtime.client.aclose()
        except Exception:
            log.exception("cluster %s: closing its client failed", runtime.cluster.name)

    async def aclose(self) -> None:
        async with self._lock:
            for runtime in self._runtimes.values():
                await self._close(runtime)
            self._runtimes.clear()
