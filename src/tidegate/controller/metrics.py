"""The controller's ``/metrics``: Argo CD's state gauges read from memory at scrape time.

Nothing here is updated per event: :class:`StateCollector` walks the app records, the cluster
registry and the live caches when Prometheus scrapes. An app's lines are formatted once per
stored copy (kept with the copy, compared by identity), so a scrape of 10,000 unchanged apps
is a join of ready strings (bench/metrics_bench.py). Counters and histograms:
:mod:`tidegate.metrics.families`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from tidegate.controller import appstate, clusters, scheduler
from tidegate.controller import compare as cmp
from tidegate.controller import runtime as runtime_mod
from tidegate.metrics import text


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


label_name = text.label_name


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


APP_INFO_LABELS = (
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
)


class StateCollector:
    """Collects ``argocd_app_*`` and ``argocd_cluster_*`` gauges and Tidegate's state gauges."""

    def __init__(
        self,
        source: MetricsSource,
        *,
        app_labels: Sequence[str] = (),
        cluster_labels: Sequence[str] = (),
    ) -> None:
        self._source = source
        self._cluster_labels = tuple(cluster_labels)  # --metrics-cluster-labels
        self._app_labels = tuple(app_labels)  # --metrics-application-labels
        self._label_names = ("namespace", "name", "project", *map(label_name, app_labels))
        # instance name -> (the stored copy, info line, labels line, condition lines)
        self._lines: dict[str, tuple[Mapping[str, Any], str, str, str]] = {}
        # The copies the last scrape rendered (kept, so identity is a safe test), and its text.
        self._last_raws: Sequence[Mapping[str, Any]] = ()
        self._last_chunks: list[str] = []

    def collect(self) -> Iterable[str]:
        yield from self._apps()
        yield from self._clusters()
        yield from self._tidegate()

    def _app_lines(self, raw: Mapping[str, Any]) -> tuple[str, str, str]:
        spec = raw.get("spec") or {}
        status = raw.get("status") or {}
        dest = spec.get("destination") or {}
        namespace, name, project, dest_server = app_identity(raw, self._source.namespace)
        info = (
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
        )
        info_line = f"argocd_app_info{text.label_text(APP_INFO_LABELS, info)} 1.0\n"
        labels_line = ""
        if self._app_labels:
            meta_labels = (raw.get("metadata") or {}).get("labels") or {}
            values = [
                namespace,
                name,
                project,
                *(str(meta_labels.get(k, "")) for k in self._app_labels),
            ]
            labels_line = f"argocd_app_labels{text.label_text(self._label_names, values)} 1.0\n"
        conditions = "".join(
            "argocd_app_condition"
            + text.label_text(CONDITION_LABELS, (namespace, name, project, str(c["type"])))
            + " 1.0\n"
            for c in status.get("conditions") or []
            if isinstance(c, Mapping) and c.get("type")
        )
        return info_line, labels_line, conditions

    def _apps(self) -> Iterable[str]:
        states = list(self._source.states)
        raws = [state.raw for state in states]
        last = self._last_raws
        if len(raws) == len(last) and all(a is b for a, b in zip(raws, last, strict=True)):
            yield from self._last_chunks  # no app changed since the last scrape
            return
        chunks = list(self._app_chunks(states))
        self._last_raws, self._last_chunks = raws, chunks
        yield from chunks

    def _app_chunks(self, states: list[appstate.AppState]) -> Iterable[str]:
        info, labels, conditions = [], [], []
        cache, fresh = self._lines, {}
        for state in states:
            raw = state.raw
            found = cache.get(state.name)
            if found is None or found[0] is not raw:
                found = (raw, *self._app_lines(raw))
            fresh[state.name] = found
            info.append(found[1])
            labels.append(found[2])
            conditions.append(found[3])
        self._lines = fresh  # apps gone are dropped with their lines
        yield text.header("argocd_app_info", "Information about application.", "gauge")
        yield "".join(info)
        yield text.header("argocd_app_condition", "Report application conditions.", "gauge")
        yield "".join(conditions)
        if self._app_labels:
            yield text.header(
                "argocd_app_labels",
                "Argo Application labels converted to Prometheus labels",
                "gauge",
            )
            yield "".join(labels)

    def _clusters(self) -> Iterable[str]:
        info, objects, resources, connection, age = [], [], [], [], []
        labelled: list[tuple[tuple[str, ...], float]] = []
        now = time.time()
        for cluster in self._source.registry.clusters():
            rt = self._source.runtimes.get(cluster.server)
            version = rt.server_version if rt is not None else ""
            info.append(((cluster.server, version, cluster.name), 1.0))
            if self._cluster_labels:
                values = (
                    cluster.name,
                    cluster.server,
                    *(str(cluster.labels.get(k, "")) for k in self._cluster_labels),
                )
                labelled.append((values, 1.0))
            if rt is None:
                continue  # no app uses it yet: nothing cached, no connection opened
            state = rt.cache.state
            objects.append(((cluster.server,), float(state.objects)))
            resources.append(((cluster.server,), float(state.kinds)))
            up = state.connected and not rt.down_error
            connection.append(((cluster.server, version), 1.0 if up else 0.0))
            if state.last_sync is not None:
                age.append(((cluster.server,), max(0.0, now - state.last_sync)))
        yield text.gauge_lines(
            "argocd_cluster_info",
            "Information about cluster.",
            ("server", "k8s_version", "name"),
            info,
        )
        if self._cluster_labels:
            yield text.gauge_lines(
                "argocd_cluster_labels",
                "Argo Cluster labels converted to Prometheus labels",
                ("name", "server", *map(label_name, self._cluster_labels)),
                labelled,
            )
        yield text.gauge_lines(
            "argocd_cluster_api_resource_objects",
            "Number of k8s resource objects in the cache.",
            ("server",),
            objects,
        )
        yield text.gauge_lines(
            "argocd_cluster_api_resources",
            "Number of monitored kubernetes API resources.",
            ("server",),
            resources,
        )
        yield text.gauge_lines(
            "argocd_cluster_connection_status",
            "The k8s cluster current connection status.",
            ("server", "k8s_version"),
            connection,
        )
        yield text.gauge_lines(
            "argocd_cluster_cache_age_seconds", "Cluster cache age in seconds.", ("server",), age
        )

    def _tidegate(self) -> Iterable[str]:
        source = self._source
        queue = source.scheduler.queue
        yield text.gauge_lines(
            "tidegate_workqueue_depth",
            "Items waiting in a work queue (not yet taken by a worker).",
            ("queue",),
            [((queue.name,), float(len(queue)))],
        )
        yield text.gauge_lines(
            "tidegate_workqueue_in_progress",
            "Items a worker of the queue is processing now.",
            ("queue",),
            [((queue.name,), float(queue.processing))],
        )
        live = sum(rt.cache.state.objects for rt in source.runtimes.all())
        yield text.gauge_lines(
            "tidegate_cache_entries",
            "Entries of the controller's caches: live objects of all clusters, rendered "
            "manifests, app records.",
            ("cache",),
            [
                (("live_objects",), float(live)),
                (("render",), float(len(source.deps.render_cache))),
                (("apps",), float(len(source.states))),
            ],
        )
        yield text.gauge_lines(
            "tidegate_cache_bytes",
            "Approximate size of the render cache in bytes.",
            ("cache",),
            [(("render",), float(source.deps.render_cache.size_bytes))],
        )
        running = sum(1 for state in source.states if state.operating())
        yield text.gauge_lines(
            "tidegate_operations_running", "Operations running now.", (), [((), float(running))]
        )


CONDITION_LABELS = ("namespace", "name", "project", "condition")
