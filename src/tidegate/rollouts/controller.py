"""The Rollouts controller for one cluster (I/O): watch, plan, write.

It watches (through a :class:`~tidegate.kube.feed.Feed`: the management controller's live
cache, or watches of its own when standalone) Rollouts, the ReplicaSets labelled
``rollouts-pod-template-hash`` and the AnalysisRuns labelled ``rollout-type``; any change of
one (or a timer: a pause ending, a scale-down delay) queues its Rollout. A reconcile reads the
Services, traffic objects and analysis templates the Rollout names, asks
:func:`tidegate.rollouts.plan.plan` what to do, and writes: ReplicaSets first, then Service
selectors and traffic, then the status (a merge patch conditioned on the Rollout's
resourceVersion, so a promote or abort written meanwhile is never overwritten: the conflict
just queues the Rollout again).

With an instance id the controller handles only Rollouts labelled
``argo-rollouts.argoproj.io/controller-instance-id=<id>``; without, only those without the
label (Argo Rollouts' ``--instance-id``), so several controllers can share a cluster.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.kube import events as kube_events
from tidegate.kube import feed as kube_feed
from tidegate.kube import watch
from tidegate.metrics import families as metric_families
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.rollouts import analysis, names, plan, podhash, restart, spec, traffic, world
from tidegate.rollouts import events as rollout_events
from tidegate.rollouts.store import Key, Store, key_of, resource_version

log = logging.getLogger(__name__)

INSTANCE_ID_LABEL = "argo-rollouts.argoproj.io/controller-instance-id"
INVALID_RETRY_SECONDS = 5.0
MISSING_RETRY_SECONDS = 1.0
PROGRESSING_RESYNC_SECONDS = 5.0
# Progressing with nothing written this long: its ReplicaSets are read from the API server,
# not the shared cache (a watch event the cache missed must not hold it there for good).
STALL_SECONDS = 15.0
# Passes in a row that each wrote the status, looked at again at once (see _look_again).
STATUS_PASSES = 20
WORKERS = 4
_MANAGER = names.FIELD_MANAGER
_TRAFFIC_GROUPS = {"Ingress": "networking.k8s.io", "HTTPRoute": "gateway.networking.k8s.io"}


def instance_selector(instance_id: str) -> str:
    return f"{INSTANCE_ID_LABEL}={instance_id}" if instance_id else f"!{INSTANCE_ID_LABEL}"


class Controller:
    def __init__(
        self,
        client: kube_client.KubeClient,
        *,
        namespace: str | None = None,
        instance_id: str = "",
        feed: kube_feed.Feed | None = None,
    ) -> None:
        self.client = client
        # Where the watched objects come from: the controller's live cache when run from the
        # management controller (shared watches), else watches of its own.
        self.feed = feed if feed is not None else kube_feed.DirectFeed(client)
        self.namespace = namespace
        self.instance_id = instance_id
        self.store = Store()
        self.ready = asyncio.Event()
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._busy: set[Key] = set()
        self._again: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._listed = {"ReplicaSet": asyncio.Event(), names.ANALYSIS_RUN: asyncio.Event()}
        self.reconciles = 0
        self.last_write: dict[Key, float] = {}
        self._status_passes: dict[Key, int] = {}
        self.events = kube_events.EventRecorder(client, component="rollouts-controller")

    # -- queue ---------------------------------------------------------------------------------

    def enqueue(self, key: Key | None) -> None:
        if key is None or key not in self.store.rollouts:
            return
        if key in self._busy:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def enqueue_after(self, key: Key, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        when = loop.time() + max(0.0, seconds)
        held = self._timers.get(key)
        if held is not None and not held.cancelled() and held.when() <= when:
            return
        if held is not None:
            held.cancel()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.enqueue(key)

    async def _worker(self) -> None:
        # Never decide before the owned objects are known: a Rollout seen without its
        # ReplicaSets would look like a first deployment.
        for listed in self._listed.values():
            await listed.wait()
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._busy.add(key)
            try:
                await self.reconcile(key)
            except errors.KubeConflictError:
                self._again.add(key)
            except errors.KubeError as exc:
                log.warning("rollouts: %s/%s on cluster %s: %s", *key, self.client.name, exc)
                self.enqueue_after(key, 1.0)
            except Exception:
                log.exception("rollouts: reconciling %s/%s failed", *key)
                self.enqueue_after(key, 5.0)
            finally:
                self._busy.discard(key)
            if key in self._again:
                self._again.discard(key)
                self.enqueue(key)

    # -- one Rollout ---------------------------------------------------------------------------

    async def _get(self, group: str, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.client.get_or_none(ResourceKey(group, kind, ns, name))
        except errors.UnknownKindError:
            return None

    async def _world(self, rollout: Mapping[str, Any]) -> world.World:
        ns = key_of(rollout)[0]
        _, settings = spec.strategy(rollout)
        services = {
            name: await self._get("", "Service", ns, name) for name in spec.service_names(rollout)
        }
        objects: dict[str, Mapping[str, Any] | None] = {}
        for ref in traffic.wanted_objects(settings.get("trafficRouting") or {}):
            kind, _, name = ref.partition("/")
            objects[ref] = await self._get(_TRAFFIC_GROUPS[kind], kind, ns, name)
        templates: dict[tuple[str, bool], Mapping[str, Any] | None] = {}
        for name, cluster in spec.analysis_templates(rollout):
            kind = names.CLUSTER_ANALYSIS_TEMPLATE if cluster else names.ANALYSIS_TEMPLATE
            templates[(name, cluster)] = await self._get(
                names.GROUP, kind, "" if cluster else ns, name
            )
        workload = None
        workload_ref = (rollout.get("spec") or {}).get("workloadRef")
        if workload_ref:
            group = str(workload_ref.get("apiVersion") or "apps/v1").rpartition("/")[0]
            target = await self._get(
                group, str(workload_ref.get("kind")), ns, str(workload_ref.get("name"))
            )
            if target is not None:
                workload = (target.get("spec") or {}).get("template")
        return world.World(
            rollout=rollout,
            replica_sets=await self._replica_sets(rollout),
            now=datetime.datetime.now(datetime.UTC),
            services=services,
            traffic=objects,
            templates=templates,
            runs=self.store.owned("AnalysisRun", rollout),
            workload_template=workload,
        )

    async def _replica_sets(self, rollout: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Rollout's ReplicaSets from the shared cache; read from the API server instead
        when it has been Progressing with nothing written for :data:`STALL_SECONDS` (a watch
        event the cache missed would otherwise hold it there for good)."""
        cached = self.store.owned("ReplicaSet", rollout)
        key = key_of(rollout)
        last = self.last_write.get(key)
        phase = str((rollout.get("status") or {}).get("phase") or "")
        now = asyncio.get_running_loop().time()
        if phase != names.PHASE_PROGRESSING or last is None or now - last < STALL_SECONDS:
            return cached
        fresh = []
        for rs in cached:
            name = str((rs.get("metadata") or {}).get("name") or "")
            got = await self._get("apps", "ReplicaSet", key[0], name)
            if got is None:
                continue
            if resource_version(got) != resource_version(rs):
                log.info("rollouts: %s/%s: ReplicaSet %s was behind in the cache", *key, name)
            fresh.append(got)
        return fresh

    async def reconcile(self, key: Key) -> None:
        rollout = self.store.rollouts.get(key)
        if rollout is None:
            return
        self.reconciles += 1
        seen = await self._world(rollout)
        decided = plan.plan(seen)
        ctx = decided.context
        wrote = False
        if ctx is not None:
            wrote = await self._write(rollout, ctx)
            if not decided.problem:
                await restart.step(self.client, rollout, ctx, decided.status)
        patch = decided.status_patch(rollout)
        if patch:
            await self._patch_status(rollout, patch)
            wrote = True
            self._look_again(key)
        else:
            self._status_passes.pop(key, None)
        if wrote:
            self.last_write[key] = asyncio.get_running_loop().time()
        if decided.problem:  # a missing Service may come with the same sync: look soon
            self.enqueue_after(
                key, MISSING_RETRY_SECONDS if decided.missing else INVALID_RETRY_SECONDS
            )
            return
        after = decided.requeue_after
        if (decided.status.get("phase") or "") == names.PHASE_PROGRESSING:
            # Waiting for pods: ReplicaSet events bring the Rollout back; this look, every few
            # seconds while it progresses, bounds what a missed event can cost (the progress
            # deadline's wake-up, minutes away, must not replace it).
            after = (
                PROGRESSING_RESYNC_SECONDS
                if after is None
                else min(after, PROGRESSING_RESYNC_SECONDS)
            )
        if after is not None:
            self.enqueue_after(key, after)

    def _look_again(self, key: Key) -> None:
        """Another pass right after one that wrote the status: the store already holds what
        was written, so its watch event brings none, and the next pass may act on it (a
        promoted canary's old version is scaled down by the pass after the promotion). A pass
        that writes nothing ends the chain; one that writes every time is cut off after
        :data:`STATUS_PASSES` (then only events and timers bring it back)."""
        passes = self._status_passes.get(key, 0) + 1
        self._status_passes[key] = passes
        if passes <= STATUS_PASSES:
            self._again.add(key)
        elif passes == STATUS_PASSES + 1:
            log.info(
                "rollouts: %s/%s on cluster %s: the status changed on %d passes in a row; "
                "the next look waits for an event or a timer",
                *key,
                self.client.name,
                passes,
            )

    async def _write(self, rollout: Mapping[str, Any], ctx: world.Context) -> bool:
        ns, name = key_of(rollout)
        wrote = False
        for rs in ctx.create:
            try:
                created = await self.client.create(rs)
            except errors.KubeConflictError:
                continue
            self.store.put_owned("ReplicaSet", created)
            log.info("rollouts: %s/%s: created ReplicaSet %s", ns, name, podhash.name_of(rs))
            wrote = True
        targets = set(ctx.scales) | set(ctx.annotations)
        for rs_name in sorted(targets):
            body: dict[str, Any] = {}
            if rs_name in ctx.scales:
                body["spec"] = {"replicas": ctx.scales[rs_name]}
            if rs_name in ctx.annotations:
                body["metadata"] = {"annotations": ctx.annotations[rs_name]}
            updated = await self.client.patch(
                ResourceKey("apps", "ReplicaSet", ns, rs_name), body, field_manager=_MANAGER
            )
            self.store.put_owned("ReplicaSet", updated)
            if rs_name in ctx.scales:
                log.info(
                    "rollouts: %s/%s: scaled ReplicaSet %s to %d",
                    ns,
                    name,
                    rs_name,
                    ctx.scales[rs_name],
                )
            wrote = True
        for rs_name in ctx.deletes:
            await self.client.delete(ResourceKey("apps", "ReplicaSet", ns, rs_name))
            wrote = True
        for service, pod_hash in ctx.selectors.items():
            wrote |= await self._select(ns, name, service, pod_hash)
        for obj in ctx.apply:
            await self.client.apply(obj, force=True, field_manager=names.FIELD_MANAGER)
        for kind, obj_name, body in ctx.patches:
            await self.client.patch(
                ResourceKey(_TRAFFIC_GROUPS[kind], kind, ns, obj_name), body, field_manager=_MANAGER
            )
            wrote = True
        for run in ctx.runs:
            try:
                created = await self.client.create(run)
            except errors.KubeConflictError:
                continue
            self.store.put_owned("AnalysisRun", created)
            wrote = True
        for run_name in analysis.stale_runs(ctx):
            await self.client.patch(
                ResourceKey(names.GROUP, names.ANALYSIS_RUN, ns, run_name),
                {"spec": {"terminate": True}},
                field_manager=_MANAGER,
            )
        return wrote

    async def _select(self, ns: str, rollout: str, service: str, pod_hash: str) -> bool:
        current = await self._get("", "Service", ns, service)
        if current is None:
            return False
        selector = (current.get("spec") or {}).get("selector") or {}
        managed = ((current.get("metadata") or {}).get("annotations") or {}).get(names.MANAGED_BY)
        if selector.get(names.POD_HASH_LABEL) == pod_hash and managed == rollout:
            return False
        await self.client.patch(
            ResourceKey("", "Service", ns, service),
            {
                "metadata": {"annotations": {names.MANAGED_BY: rollout}},
                "spec": {"selector": {names.POD_HASH_LABEL: pod_hash}},
            },
            field_manager=_MANAGER,
        )
        log.info("rollouts: %s/%s: Service %s selects %s", ns, rollout, service, pod_hash)
        return True

    async def _patch_status(self, rollout: Mapping[str, Any], patch: dict[str, Any]) -> None:
        ns, name = key_of(rollout)
        version = (rollout.get("metadata") or {}).get("resourceVersion")
        body = {"metadata": {"resourceVersion": version}, "status": patch}
        try:
            updated = await self.client.patch(
                ResourceKey(names.GROUP, names.KIND, ns, name),
                body,
                subresource="status",
                field_manager=_MANAGER,
            )
        except errors.KubeNotFoundError:
            return
        self.store.put_rollout(updated)
        for happened in rollout_events.changes(
            rollout.get("status") or {}, updated.get("status") or {}, rollout.get("spec") or {}
        ):
            self.events.record(updated, happened)
            if happened.reason == "RolloutStepCompleted":
                metric_families.ROLLOUT_STEPS.labels(ns, name).inc()
            elif happened.reason == "RolloutAborted":
                metric_families.ROLLOUT_ABORTS.labels(ns, name).inc()
        if "phase" in patch or "currentStepIndex" in patch:
            status = updated.get("status") or {}
            log.info(
                "rollouts: %s/%s: %s step %s %s",
                ns,
                name,
                status.get("phase"),
                status.get("currentStepIndex"),
                status.get("message") or "",
            )

    # -- watches -------------------------------------------------------------------------------

    def _events(
        self, group: str, kind: str, label_selector: str | None = None
    ) -> AsyncIterator[watch.WatchEvent]:
        return self.feed.subscribe(
            group, kind, namespace=self.namespace, label_selector=label_selector
        )

    def _closed(self) -> kube_feed.FeedClosedError:
        return kube_feed.FeedClosedError(f"rollouts: the feed of cluster {self.client.name} closed")

    async def _watch_rollouts(self) -> None:
        selector = instance_selector(self.instance_id)
        async for event in self._events(names.GROUP, names.KIND, selector):
            if event.type == "RELISTED":
                self.store.replace_rollouts(event.items)
                for item in event.items:
                    self.enqueue(key_of(item))
                if not self.ready.is_set():
                    self.ready.set()
                    log.info(
                        "rollouts controller ready on cluster %s (%d Rollouts)",
                        self.client.name,
                        len(event.items),
                    )
            elif event.type in ("ADDED", "MODIFIED") and event.object is not None:
                if self.store.put_rollout(event.object):
                    self.enqueue(key_of(event.object))
            elif event.type == "DELETED" and event.object is not None:
                self.store.drop_rollout(event.object)
            elif event.type == "ERROR":
                log.warning("rollouts: watch Rollouts: %s", event.reason)
        raise self._closed()

    async def _watch_owned(self, group: str, kind: str, label: str) -> None:
        async for event in self._events(group, kind, label):
            if event.type == "RELISTED":
                for key in self.store.replace_owned(kind, event.items):
                    self.enqueue(key)
                self._listed[kind].set()
            elif event.type in ("ADDED", "MODIFIED") and event.object is not None:
                self.enqueue(self.store.put_owned(kind, event.object))
            elif event.type == "DELETED" and event.object is not None:
                self.enqueue(self.store.drop_owned(kind, event.object))
            elif event.type == "ERROR":
                log.warning("rollouts: watch %s: %s", kind, event.reason)
        raise self._closed()

    def _service_changed(self, service: Mapping[str, Any]) -> None:
        """A Service a Rollout names appeared or changed (a sync may have reset its selector):
        look at that Rollout again. Services are not kept, only routed."""
        ns, name = key_of(service)
        for key, rollout in list(self.store.rollouts.items()):
            if key[0] == ns and name in spec.service_names(rollout):
                self.enqueue(key)

    async def _watch_services(self) -> None:
        async for event in self._events("", "Service"):
            if event.type in ("ADDED", "MODIFIED") and event.object is not None:
                self._service_changed(event.object)
            elif event.type == "ERROR":
                log.warning("rollouts: watch Services: %s", event.reason)
        raise self._closed()

    async def run(self) -> None:
        """Reconcile Rollouts until cancelled, or until the feed closes
        (:class:`~tidegate.kube.feed.FeedClosedError`, in an ExceptionGroup)."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._watch_owned("apps", "ReplicaSet", names.POD_HASH_LABEL))
                group.create_task(
                    self._watch_owned(names.GROUP, names.ANALYSIS_RUN, names.ROLLOUT_TYPE_LABEL)
                )
                group.create_task(self._watch_rollouts())
                group.create_task(self._watch_services())
                for _ in range(WORKERS):
                    group.create_task(self._worker())
        finally:
            await self.events.aclose()  # its client may close with the feed
