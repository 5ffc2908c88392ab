"""The controller's ``/metrics``: Argo CD's state gauges read from memory at scrape time.

Nothing here is updated per event: :class:`StateCollector` walks the app records, the cluster
registry and the live caches when Prometheus scrapes, so 10,000 apps cost one pass (measured in
bench/metrics_bench.py). The counters and histograms are in :mod:`tidegate.metrics.families`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from tidegate.controller import appstate, clusters, scheduler
from tidegate.controller import compare as cmp
from tidegate.controller import runtime as runtime_mod


class MetricsSource(Protocol):
    """What the collector reads of the controller."""

    namespace: str
    states: appstate.AppStates
    registry: clusters.ClusterRegistry
    runtimes: runtime_mod.Runtimes
    scheduler: scheduler.Scheduler
    deps: cmp.CompareDeps


def app_identity(raw: Mapping[str, Any], control_namespace: str) -> tuple[str, str, str, str]:
    """(namespace, name, project, dest_server) of an Application, its metric labels."""
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    dest = spec.get("destination") or {}
    return (
        str(meta.get("namespace") or control_namespace),
        str(meta.get("name") or ""),
        str(spec.get("project") or "default"),
        str(dest.get("server") or dest.get("name") or ""),
    )


_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """``label_<key>`` with the characters Prometheus refuses replaced by ``_``."""
    return "label_" + _LABEL_CHARS.sub("_", key)


def _operation(raw: Mapping[str, Any]) -> str:
    if (raw.get("metadata") or {}).get("deletionTimestamp"):
        return "delete"
    return "sync" if (raw.get("operation") or {}).get("sync") is not None else ""


def _autosync(spec: Mapping[str, Any]) -> str:
    """``automated: {}`` enables automated sync (only ``enabled: false`` turns it off)."""
    automated = (spec.get("syncPolicy") or {}).get("automated")
    on = isinstance(automated, Mapping) and automated.get("enabled") is not False
    return "true" if on else "false"


def _repo(spec: Mapping[str, Any]) -> str:
    source = spec.get("source") or next(iter(spec.get("sources") or []), None) or {}
    return str(source.get("repoURL") or "")


class StateCollector:
    """Collects ``argocd_app_*`` and ``argocd_cluster_*`` gauges and Tidegate's state gauges."""

    def __init__(
        self,
        source: MetricsSource,
        *,
        app_labels: Sequence[str] = (),
        extra: Sequence[Callable[[], Iterable[Metric]]] = (),
    ) -> None:
        self._source = source
        self._app_labels = tuple(app_labels)  # --metrics-application-labels
        self._extra = extra  # state gauges of other parts (queues, caches)

    def collect(self) -> Iterable[Metric]:
        yield from self._apps()
        yield from self._clusters()
        yield from self._tidegate()
        for extra in self._extra:
            yield from extra()

    def _apps(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "argocd_app_info",
            "Information about application.",
            labels=(
                "namespace",
                "name",
                "project",
                "autosync_enabled",
                "repo",
                "dest_server",
                "dest_namespace",
                "sync_status",
                "health_status",
                "operation",
            ),
        )
        condition = GaugeMetricFamily(
            "argocd_app_condition",
            "Report application conditions.",
            labels=("namespace", "name", "project", "condition"),
        )
        label_keys = [label_name(k) for k in self._app_labels]
        labels = GaugeMetricFamily(
            "argocd_app_labels",
            "Argo Application labels converted to Prometheus labels",
            labels=("namespace", "name", "project", *label_keys),
        )
        control = self._source.namespace
        for state in self._source.states:
            raw = state.raw
            spec = raw.get("spec") or {}
            status = raw.get("status") or {}
            dest = spec.get("destination") or {}
            namespace, name, project, dest_server = app_identity(raw, control)
            info.add_metric(
                (
                    namespace,
                    name,
                    project,
                    _autosync(spec),
                    _repo(spec),
                    dest_server,
                    str(dest.get("namespace") or ""),
                    str((status.get("sync") or {}).get("status") or "Unknown"),
                    str((status.get("health") or {}).get("status") or "Unknown"),
                    _operation(raw),
                ),
                1.0,
            )
            for cond in status.get("conditions") or []:
                if isinstance(cond, Mapping) and cond.get("type"):
                    condition.add_metric((namespace, name, project, str(cond["type"])), 1.0)
            if label_keys:
                app_meta_labels = (raw.get("metadata") or {}).get("labels") or {}
                values = [str(app_meta_labels.get(k, "")) for k in self._app_labels]
                labels.add_metric((namespace, name, project, *values), 1.0)
        yield info
        yield condition
        if label_keys:
            yield labels

    def _clusters(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "argocd_cluster_info",
            "Information about cluster.",
            labels=("server", "k8s_version", "name"),
        )
        objects = GaugeMetricFamily(
            "argocd_cluster_api_resource_objects",
            "Number of k8s resource objects in the cache.",
            labels=("server",),
        )
        resources = GaugeMetricFamily(
            "argocd_cluster_api_resources",
            "Number of monitored kubernetes API resources.",
            labels=("server",),
        )
        connection = GaugeMetricFamily(
            "argocd_cluster_connection_status",
            "The k8s cluster current connection status.",
            labels=("server", "k8s_version"),
        )
        age = GaugeMetricFamily(
            "argocd_cluster_cache_age_seconds",
            "Cluster cache age in seconds.",
            labels=("server",),
        )
        now = time.time()
        for cluster in self._source.registry.clusters():
            rt = self._source.runtimes.get(cluster.server)
            version = rt.server_version if rt is not None else ""
            info.add_metric((cluster.server, version, cluster.name), 1.0)
            if rt is None:
                continue  # no app uses it yet: nothing cached, no connection opened
            state = rt.cache.state
            objects.add_metric((cluster.server,), float(state.objects))
            resources.add_metric((cluster.server,), float(state.kinds))
            up = state.connected and not rt.down_error
            connection.add_metric((cluster.server, version), 1.0 if up else 0.0)
            if state.last_sync is not None:
                age.add_metric((cluster.server,), max(0.0, now - state.last_sync))
        yield from (info, objects, resources, connection, age)

    def _tidegate(self) -> Iterable[Metric]:
        source = self._source
        queue = source.scheduler.queue
        yield gauge(
            "tidegate_workqueue_depth",
            "Items waiting in a work queue (not yet taken by a worker).",
            {(queue.name,): float(len(queue))},
            ("queue",),
        )
        yield gauge(
            "tidegate_workqueue_in_progress",
            "Items a worker of the queue is processing now.",
            {(queue.name,): float(queue.processing)},
            ("queue",),
        )
        live = sum(rt.cache.state.objects for rt in source.runtimes.all())
        yield gauge(
            "tidegate_cache_entries",
            "Entries of the controller's caches: live objects of all clusters, rendered "
            "manifests, app records.",
            {
                ("live_objects",): float(live),
                ("render",): float(len(source.deps.render_cache)),
                ("apps",): float(len(source.states)),
            },
            ("cache",),
        )
        yield gauge(
            "tidegate_cache_bytes",
            "Approximate size of the render cache in bytes.",
            {("render",): float(source.deps.render_cache.size_bytes)},
            ("cache",),
        )
        running = sum(1 for state in source.states if state.operating())
        yield gauge("tidegate_operations_running", "Operations running now.", {(): running}, ())


def gauge(
    name: str, doc: str, values: Mapping[tuple[str, ...], float], labels: Sequence[str]
) -> Metric:
    """One gauge family from ``{label values: value}`` (for the ``extra`` collectors)."""
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for key, value in values.items():
        family.add_metric(key, value)
    return family
