"""The metrics counted as things happen, with Argo CD's names, types, labels and buckets.

Argo CD's (docs: "Metrics" of the operator manual) come first, then Tidegate's own
(``tidegate_``). State gauges (``argocd_app_info``, cluster gauges, cache sizes, queue depth)
are read at scrape time by the collectors of the controller and are not declared here.

``app_context`` names the Application a piece of work belongs to, so that Kubernetes requests
made on its behalf are counted per app (``argocd_app_k8s_request_total``) without threading the
app through every call: the controller sets it around a refresh or an operation.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator, Mapping

from tidegate.metrics import registry

# Argo CD's buckets (controller/metrics/metrics.go, reposerver/metrics/metrics.go).
RECONCILE_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 16)
GIT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 10, 20)
APPSET_RECONCILE_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 16)
# Tidegate's: sub-second steps up to a long helm render or a slow rollout.
STEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)

APP_SYNC_TOTAL = registry.counter(
    "argocd_app_sync_total",
    "Number of application syncs.",
    ("namespace", "name", "project", "dest_server", "phase", "dry_run"),
)
APP_SYNC_DURATION = registry.counter(
    "argocd_app_sync_duration_seconds_total",
    "Application sync performance in seconds total.",
    ("namespace", "name", "project", "dest_server"),
)
APP_K8S_REQUESTS = registry.counter(
    "argocd_app_k8s_request_total",
    "Number of Kubernetes requests executed during application reconciliation.",
    (
        "namespace",
        "name",
        "project",
        "server",
        "response_code",
        "verb",
        "resource_kind",
        "resource_namespace",
        "dry_run",
    ),
)
APP_RECONCILE = registry.histogram(
    "argocd_app_reconcile",
    "Application reconciliation performance in seconds.",
    ("namespace", "dest_server"),
    buckets=RECONCILE_BUCKETS,
)
CLUSTER_EVENTS = registry.counter(
    "argocd_cluster_events_total",
    "Number of processed cluster events.",
    ("server", "group", "kind"),
)
GIT_REQUESTS = registry.counter(
    "argocd_git_request_total",
    "Number of git requests performed by repo server",
    ("repo", "request_type"),
)
GIT_DURATION = registry.histogram(
    "argocd_git_request_duration_seconds",
    "Git requests duration seconds.",
    ("repo", "request_type"),
    buckets=GIT_BUCKETS,
)
APPSET_RECONCILE = registry.histogram(
    "argocd_appset_reconcile",
    "Application reconciliation performance in seconds.",
    ("namespace", "name"),
    buckets=APPSET_RECONCILE_BUCKETS,
)

# -- Tidegate's own --------------------------------------------------------------------------
SYNC_PHASE_DURATION = registry.histogram(
    "tidegate_sync_phase_duration_seconds",
    "Time an operation spent in each of its phases (load, admit, render, permit, plan, "
    "execute, finish).",
    ("phase",),
    buckets=STEP_BUCKETS,
)
WORKQUEUE_LATENCY = registry.histogram(
    "tidegate_workqueue_latency_seconds",
    "Time an item waited in a work queue before a worker took it.",
    ("queue",),
    buckets=STEP_BUCKETS,
)
WORKQUEUE_ADDS = registry.counter(
    "tidegate_workqueue_adds_total", "Items added to a work queue.", ("queue",)
)
APP_REFRESH_REUSED = registry.counter(
    "tidegate_app_refresh_reused_total",
    "Refreshes that reused the last pass's comparison and status (nothing they depend on changed).",
    ("namespace",),
)
NOTIFICATIONS_DELIVERIES = registry.counter(
    "tidegate_notifications_deliveries_total",
    "Notifications sent, by service type and outcome (sent, failed).",
    ("service", "result"),
)
NOTIFICATIONS_RETRIES = registry.counter(
    "tidegate_notifications_retries_total",
    "Failed notification attempts that were retried after a backoff.",
    ("service",),
)
EVENTS_WRITTEN = registry.counter(
    "tidegate_k8s_events_total",
    "Kubernetes Events written about Tidegate's objects, by reason and outcome.",
    ("kind", "reason", "result"),
)


@dataclasses.dataclass(frozen=True)
class AppRef:
    namespace: str
    name: str
    project: str


_current_app: contextvars.ContextVar[AppRef | None] = contextvars.ContextVar(
    "tidegate_metrics_app", default=None
)


@contextlib.contextmanager
def app_context(namespace: str, name: str, project: str) -> Iterator[None]:
    """Count the Kubernetes requests made inside the block as ``name``'s."""
    token = _current_app.set(AppRef(namespace, name, project))
    try:
        yield
    finally:
        _current_app.reset(token)


def record_k8s_request(
    *, server: str, method: str, path: str, code: int, params: Mapping[str, str] | None
) -> None:
    """Count one Kubernetes request for the app of the current :func:`app_context` (if any)."""
    app = _current_app.get()
    if app is None:
        return
    kind, namespace = _resource_of(path)
    APP_K8S_REQUESTS.labels(
        app.namespace,
        app.name,
        app.project,
        server,
        str(code),
        _VERBS.get(method, method),
        kind,
        namespace,
        "true" if params and params.get("dryRun") else "false",
    ).inc()


_VERBS = {"GET": "Get", "PATCH": "Patch", "PUT": "Update", "POST": "Create", "DELETE": "Delete"}


def _resource_of(path: str) -> tuple[str, str]:
    """(resource, namespace) of an API path: ``/apis/apps/v1/namespaces/x/deployments/y``."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:] if parts[:1] == ["apis"] else []
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        if len(rest) == 2:
            return "namespaces", ""
        namespace, rest = rest[1], rest[2:]
    return (rest[0] if rest else ""), namespace


# -- delivery: Rollouts, analysis, promotions (Tidegate's own) ---------------------------------
ROLLOUT_STEPS = registry.counter(
    "tidegate_rollout_steps_total",
    "Canary steps a Rollout completed.",
    ("namespace", "rollout"),
)
ROLLOUT_ABORTS = registry.counter(
    "tidegate_rollout_aborts_total",
    "Rollout updates aborted (by hand or by a failed analysis).",
    ("namespace", "rollout"),
)
ANALYSIS_RUNS = registry.counter(
    "tidegate_analysis_runs_total",
    "AnalysisRuns that reached a final phase, by phase.",
    ("namespace", "phase"),
)
PROMOTIONS = registry.counter(
    "tidegate_promotions_total",
    "Promotions that ended, by project, stage and phase.",
    ("project", "stage", "phase"),
)
PROMOTION_DURATION = registry.histogram(
    "tidegate_promotion_duration_seconds",
    "Time a promotion took, from its first step to its end.",
    ("project", "stage"),
    buckets=STEP_BUCKETS,
)
