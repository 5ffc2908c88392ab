"""Kubernetes Events about Tidegate's objects (core/v1 ``Event``), written without blocking.

:class:`EventRecorder` takes events from any part (the application controller, the
ApplicationSet controller, later the rollout and promotion controllers) and writes them from one
background task, so a slow or failing API server never holds up a reconcile: the queue is
bounded, and an event that does not fit, or that the API server refuses, is dropped with a
warning and counted (``tidegate_k8s_events_total{result="dropped"|"failed"}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import datetime as dt
import json
import logging
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.metrics import families as metric_families
from tidegate.model import errors

log = logging.getLogger("tidegate.events")

NORMAL = "Normal"
WARNING = "Warning"
DROP_WARNING_SECONDS = 10.0  # at most one "queue full" warning this often
MAX_MESSAGE = 1024  # the API server refuses longer messages in events.k8s.io; keep core short


@dataclasses.dataclass(frozen=True)
class EventSpec:
    """What happened to an object: ``reason`` (CamelCase), ``message``, ``type``."""

    reason: str
    message: str
    type: str = NORMAL


def event_object(
    involved: Mapping[str, Any],
    spec: EventSpec,
    *,
    component: str,
    now: dt.datetime,
    suffix: str,
) -> dict[str, Any]:
    """The core/v1 Event about ``involved`` (pure)."""
    meta = involved.get("metadata") or {}
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    name = str(meta.get("name") or "")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{suffix}", "namespace": str(meta.get("namespace") or "")},
        "involvedObject": {
            "apiVersion": str(involved.get("apiVersion") or ""),
            "kind": str(involved.get("kind") or ""),
            "name": name,
            "namespace": str(meta.get("namespace") or ""),
            "uid": str(meta.get("uid") or ""),
            "resourceVersion": str(meta.get("resourceVersion") or ""),
        },
        "reason": spec.reason,
        "message": spec.message[:MAX_MESSAGE],
        "type": spec.type,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": f"{component}-{os.getpid()}",
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def involved_selector(kind: str, namespace: str, name: str) -> str:
    """The ``fieldSelector`` of the events about one object (as ``kubectl describe`` uses)."""
    return (
        f"involvedObject.name={name},involvedObject.namespace={namespace},"
        f"involvedObject.kind={kind}"
    )


def newest_last(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events sorted by their last occurrence, oldest first (as ``kubectl get events``).
    Timestamps have whole seconds, so events of one second are put in the order they were
    written (their resourceVersion, which the API server increases with every write), not in
    the list's order (by name, which is random)."""

    def when(event: Mapping[str, Any]) -> tuple[str, int]:
        meta = event.get("metadata") or {}
        stamp = str(
            event.get("lastTimestamp")
            or event.get("eventTime")
            or meta.get("creationTimestamp")
            or ""
        )
        version = str(meta.get("resourceVersion") or "")
        return stamp, int(version) if version.isdigit() else 0

    return sorted(items, key=when)


class EventRecorder:
    """Writes events from a bounded queue; :meth:`record` never waits."""

    def __init__(
        self,
        client: kube_client.KubeClient,
        *,
        component: str,
        max_queued: int = 10_000,
    ) -> None:
        self._client = client
        self.component = component
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=max_queued)
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0  # since the last warning
        self._warned_at = -DROP_WARNING_SECONDS

    def record(self, involved: Mapping[str, Any], spec: EventSpec) -> None:
        """Queue an event about ``involved`` (dropped, with a warning, when the queue is full)."""
        obj = event_object(
            involved,
            spec,
            component=self.component,
            now=dt.datetime.now(dt.UTC),
            suffix=f"{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}{secrets.token_hex(4)}",
        )
        self.enqueue(obj)

    def enqueue(self, obj: dict[str, Any]) -> None:
        """Queue a whole Event object (dropped, with a warning at most every
        ``DROP_WARNING_SECONDS`` saying how many, when the queue is full)."""
        try:
            self._queue.put_nowait(obj)
        except asyncio.QueueFull:
            kind = str((obj.get("involvedObject") or {}).get("kind") or "")
            metric_families.EVENTS_WRITTEN.labels(kind, obj.get("reason", ""), "dropped").inc()
            self._dropped += 1
            now = time.monotonic()
            if now - self._warned_at >= DROP_WARNING_SECONDS:
                log.warning(
                    "event queue full (%d queued): dropped %d events, the last %s about %s",
                    self._queue.qsize(), self._dropped, obj.get("reason", ""), kind,
                )  # fmt: skip
                self._dropped, self._warned_at = 0, now
            return
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):  # no running loop: written on next start
                # A fresh context: the writer serves every app, not the write fence of the
                # shard whose work happened to record the first event (fence.py).
                self._task = asyncio.get_running_loop().create_task(
                    self._drain(), name="event-recorder", context=contextvars.Context()
                )

    async def _drain(self) -> None:
        while not self._queue.empty():
            obj = self._queue.get_nowait()
            involved = obj["involvedObject"]
            namespace = obj["metadata"]["namespace"]
            ref = f"{involved['kind']} {namespace}/{involved['name']}"
            what = f"write event {obj['reason']} about {ref}"
            try:
                await self._client.request(
                    "POST",
                    f"/api/v1/namespaces/{namespace}/events",
                    what=what,
                    body=json.dumps(obj).encode(),
                )
            except Exception as exc:  # an event never stops the writer
                metric_families.EVENTS_WRITTEN.labels(
                    involved["kind"], obj["reason"], "failed"
                ).inc()
                log.warning("%s", exc if isinstance(exc, errors.KubeError) else f"{what}: {exc}")
                continue
            metric_families.EVENTS_WRITTEN.labels(involved["kind"], obj["reason"], "written").inc()

    async def flush(self) -> None:
        """Wait until every queued event is written (tests, shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def aclose(self, *, grace: float = 0.0) -> None:
        """Stop writing; events still queued get ``grace`` seconds to be written first."""
        if self._task is not None and grace > 0:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.flush(), grace)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
