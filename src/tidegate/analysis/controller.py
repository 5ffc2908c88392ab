"""The analysis controller for one cluster: AnalysisRuns -> measurements -> status (I/O).

It lists and watches AnalysisRuns (all namespaces, or one) and gives each run that is not
finished its own worker: the worker takes the measurements that are due (``assess.tasks``),
through the metric's provider, records them and the phases (``assess``), writes the status
with the object (Argo Rollouts' CRD has no status subresource; a CRD that has one is written
through it) and sleeps until the next measurement is due or the run changes (``spec.terminate``).
A run whose spec cannot run (a bad condition, an unsupported provider, an arg that cannot be
resolved) ends in ``Error`` with the cause in ``status.message``. Secret arg values are read
when measuring, never written, and masked in messages.

The seam for the fleet: :class:`AnalysisController` takes one :class:`KubeClient`; the
controller's per-cluster runtime runs one per registered cluster, ``run(stop)`` until ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tidegate.analysis import args, assess, names, validate
from tidegate.analysis import providers as providers_mod
from tidegate.kube import client as kube_client
from tidegate.kube import feed as kube_feed
from tidegate.kube import status as kube_status
from tidegate.kube import watch
from tidegate.metrics import families as metric_families
from tidegate.model import errors
from tidegate.model import secrets as model_secrets
from tidegate.model.keys import ResourceKey

log = logging.getLogger(__name__)

Key = tuple[str, str]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _version(obj: Mapping[str, Any]) -> int:
    text = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else -1


def _resolved(run: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """``run`` with its metrics' ``{{args.x}}`` filled from ``values`` where possible."""
    spec = dict(run.get("spec") or {})
    metrics = []
    for metric in spec.get("metrics") or ():
        try:
            metrics.append(args.substitute(metric, values, metric=str(metric.get("name"))))
        except names.AnalysisSpecError:
            metrics.append(metric)
    spec["metrics"] = metrics
    return {**run, "spec": spec}


class AnalysisController:
    """Reconciles every AnalysisRun of one cluster (``namespace`` narrows it to one)."""

    def __init__(
        self,
        client: kube_client.KubeClient,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        http: httpx.AsyncClient | None = None,
        poll_seconds: float = 1.0,
        now: Callable[[], datetime.datetime] = _now,
        feed: kube_feed.Feed | None = None,
    ) -> None:
        self.client = client
        # Where the runs come from: a shared live cache, or a watch of its own.
        self.feed = feed if feed is not None else kube_feed.DirectFeed(client)
        self.namespace = namespace
        # Only the runs matching it (the Rollouts controller's runs of one instance id).
        self.label_selector = label_selector
        self.poll_seconds = poll_seconds
        self.now = now
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(follow_redirects=True)
        self._insecure_http: httpx.AsyncClient | None = None
        self.ready = asyncio.Event()
        self._latest: dict[Key, dict[str, Any]] = {}
        self._wake: dict[Key, asyncio.Event] = {}
        self._workers: dict[Key, asyncio.Task[None]] = {}
        self._status_subresource: bool | None = None

    # -- one run -------------------------------------------------------------------------

    async def _secret_values(self, run: Mapping[str, Any]) -> dict[str, str]:
        """Arg name -> value of every ``valueFrom.secretKeyRef`` arg (read now, never stored)."""
        ns = _key(run)[0]
        out: dict[str, str] = {}
        for arg in (run.get("spec") or {}).get("args") or ():
            ref = (arg.get("valueFrom") or {}).get("secretKeyRef")
            if not ref:
                continue
            name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
            secret = await self.client.get_or_none(ResourceKey("", "Secret", ns, name))
            if secret is None:
                raise names.AnalysisSpecError(
                    f"arg {arg.get('name')}: Secret {ns}/{name} not found"
                )
            data = (secret.get("data") or {}).get(key)
            if data is None:
                raise names.AnalysisSpecError(
                    f"arg {arg.get('name')}: Secret {ns}/{name} has no key {key!r}"
                )
            out[str(arg.get("name"))] = model_secrets.decode(str(data)) or ""
        return out

    def _context(self, run: Mapping[str, Any]) -> providers_mod.Context:
        if self._insecure_http is None:
            self._insecure_http = httpx.AsyncClient(follow_redirects=True, verify=False)
        return providers_mod.Context(
            run=run,
            client=self.client,
            http=self.http,
            insecure_http=self._insecure_http,
            now=self.now,
            poll_seconds=self.poll_seconds,
        )

    async def _measure(
        self, task: assess.Task, run: Mapping[str, Any], values: Mapping[str, str]
    ) -> dict[str, Any]:
        ctx = self._context(run)
        name = str(task.metric.get("name"))
        try:
            metric = args.substitute(task.metric, values, metric=name)
            provider = providers_mod.for_metric(metric)
        except names.AnalysisSpecError as exc:
            base = task.incomplete or {"startedAt": assess.stamp(self.now())}
            return {**base, "phase": names.ERROR, "message": str(exc)}
        if task.incomplete is None:
            return await provider.run(metric, ctx)
        if assess.is_terminating(run):
            return await provider.terminate(metric, task.incomplete, ctx)
        return await provider.resume(metric, task.incomplete, ctx)

    async def reconcile(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Take the measurements due now and write the status; returns the run as written."""
        now = self.now()
        status = obj.get("status") or {}
        if names.completed(status.get("phase")):
            return dict(obj)
        try:
            if status.get("metricResults") is None:
                validate.check_run(obj)
            secrets = await self._secret_values(obj)
        except names.AnalysisSpecError as exc:
            message = str(exc)
            if not message.startswith("analysis spec invalid"):
                message = f"unable to resolve metric arguments: {message}"
            return await self._write(obj, assess.error_run(obj, message, now=now))
        plain = args.values(list((obj.get("spec") or {}).get("args") or ()), {})
        every = args.values(list((obj.get("spec") or {}).get("args") or ()), secrets)
        hidden = sorted(set(secrets.values()), key=len, reverse=True)
        try:
            run = assess.assess_run(_resolved(obj, plain), now=now)  # sets startedAt
            due = assess.tasks(run, now=now)
            measured = await asyncio.gather(*(self._measure(t, run, every) for t in due))
            for task, measurement in zip(due, measured, strict=True):
                if measurement.get("message"):
                    measurement["message"] = kube_status.mask(measurement["message"], hidden)
                run = assess.record(
                    run,
                    str(task.metric.get("name")),
                    measurement,
                    replaces_last=task.incomplete is not None,
                    now=self.now(),
                )
            run = assess.assess_run(run, now=self.now())
        except names.AnalysisSpecError as exc:
            return await self._write(obj, assess.error_run(obj, str(exc), now=now))
        return await self._write(obj, run)

    async def _write(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        status = new.get("status") or {}
        if status == (old.get("status") or {}):
            return dict(old)
        ns, name = _key(old)
        if status.get("phase") != (old.get("status") or {}).get("phase"):
            log.info("analysis: AnalysisRun %s/%s is %s", ns, name, status.get("phase"))
            if status.get("phase") in names.COMPLETED:
                metric_families.ANALYSIS_RUNS.labels(ns, str(status.get("phase"))).inc()
        key = ResourceKey(names.GROUP, names.RUN_KIND, ns, name)
        body = {
            "metadata": {"resourceVersion": (old.get("metadata") or {}).get("resourceVersion")},
            "status": status,
        }
        written = await self.client.patch(
            key, body, subresource="status" if self._status_subresource else None
        )
        if self._status_subresource is None:
            self._status_subresource = (written.get("status") or {}) != status
            if self._status_subresource:
                written = await self.client.patch(key, body, subresource="status")
        return written

    # -- the workers ---------------------------------------------------------------------

    def _offer(self, obj: dict[str, Any]) -> None:
        """A newer view of a run: keep it and wake (or start) its worker."""
        key = _key(obj)
        current = self._latest.get(key)
        if current is not None and 0 <= _version(obj) < _version(current):
            return  # an event older than what this controller wrote
        self._latest[key] = obj
        if names.completed((obj.get("status") or {}).get("phase")):
            return
        self._wake.setdefault(key, asyncio.Event()).set()
        worker = self._workers.get(key)
        if worker is None or worker.done():
            self._workers[key] = asyncio.create_task(self._work(key), name=f"analysis {key}")

    def _forget(self, key: Key) -> None:
        self._latest.pop(key, None)
        self._wake.pop(key, None)
        worker = self._workers.pop(key, None)
        if worker is not None:
            worker.cancel()

    async def _work(self, key: Key) -> None:
        backoff = watch.Backoff()
        while True:
            wake = self._wake.setdefault(key, asyncio.Event())
            wake.clear()
            obj = self._latest.get(key)
            if obj is None:
                return
            delay: float | None
            try:
                written = await self.reconcile(obj)
                backoff.reset()
                if _version(written) >= _version(self._latest.get(key) or {}):
                    self._latest[key] = written
                when = assess.next_time(written, now=self.now())
                if names.completed((written.get("status") or {}).get("phase")):
                    return
                delay = None if when is None else (when - self.now()).total_seconds()
            except errors.KubeConflictError:
                fresh = await self.client.get_or_none(
                    ResourceKey(names.GROUP, names.RUN_KIND, *key)
                )
                if fresh is None:
                    return
                self._latest[key] = fresh
                continue
            except errors.KubeNotFoundError:
                return
            except errors.KubeError as exc:
                log.warning("analysis: AnalysisRun %s/%s: %s", *key, exc)
                delay = backoff.next()
            except Exception:  # a bug must not silently stop this run's worker for good
                log.exception("analysis: AnalysisRun %s/%s: reconcile failed", *key)
                delay = backoff.next()
            if delay is not None:
                delay = max(delay, 0.05)  # due now: look again at once, without spinning
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)

    # -- the watch -----------------------------------------------------------------------

    async def _watch(self) -> None:
        events = self.feed.subscribe(
            names.GROUP,
            names.RUN_KIND,
            namespace=self.namespace,
            label_selector=self.label_selector,
        )
        async for event in events:
            if event.type == "RELISTED" and event.reason == kube_feed.ABSENT:
                log.info("analysis: waiting for the AnalysisRun CRD on %s", self.client.name)
            if event.type == "RELISTED":
                present = {_key(item) for item in event.items}
                for key in list(self._latest):
                    if key not in present:
                        self._forget(key)
                for item in event.items:
                    self._offer(item)
                if not self.ready.is_set():
                    self.ready.set()
                    log.info(
                        "analysis controller ready on %s (%d AnalysisRuns)",
                        self.client.name,
                        len(event.items),
                    )
            elif event.type in ("ADDED", "MODIFIED") and event.object is not None:
                self._offer(event.object)
            elif event.type == "DELETED" and event.object is not None:
                self._forget(_key(event.object))
            elif event.type == "ERROR":
                log.warning("analysis: watch: %s", event.reason)
        raise kube_feed.FeedClosedError(f"analysis: the feed of cluster {self.client.name} closed")

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Reconcile AnalysisRuns until ``stop`` is set (or the task is cancelled)."""
        watcher = asyncio.create_task(self._watch(), name=f"analysis watch {self.client.name}")
        try:
            if stop is None:
                await watcher
            else:
                stopper = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait(
                    {watcher, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                stopper.cancel()
                if watcher in done:
                    watcher.result()
        finally:
            watcher.cancel()
            for key in list(self._workers):
                self._forget(key)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
            if self._own_http:
                await self.http.aclose()
            if self._insecure_http is not None:
                await self._insecure_http.aclose()
