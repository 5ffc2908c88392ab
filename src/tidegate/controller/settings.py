"""Controller settings: plain data, defaults as Argo CD's application controller has them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tidegate.controller import sharding
from tidegate.model import constants
from tidegate.sources import gitcmd


@dataclasses.dataclass(frozen=True)
class Settings:
    namespace: str = constants.DEFAULT_CONTROL_NAMESPACE
    # Other namespaces whose Applications are reconciled too (globs or /regex/; argocd:
    # --application-namespaces). Their apps are keyed and tracked as ``<namespace>_<name>``.
    application_namespaces: tuple[str, ...] = ()
    app_resync_seconds: float = 180.0  # Git poll interval (argocd: timeout.reconciliation)
    resync_jitter: float = 0.2  # fraction of the interval added at random
    refresh_workers: int = 8  # argocd: --status-processors
    operation_workers: int = 4  # argocd: --operation-processors
    # At most this many of them on one destination cluster (0: all of operation_workers but
    # one, at least 1), so one cluster's syncs never take every slot (docs/controller.md).
    operation_workers_per_cluster: int = 0
    self_heal_timeout_seconds: float = 5.0
    self_heal_backoff_max_seconds: float = 180.0
    tracking_method: str = constants.TRACKING_ANNOTATION
    # argocd-cm installationID wins; this is the default when the ConfigMap has none ("" = off).
    installation_id: str = ""
    cache_dir: Path | None = None
    # The audit log the controller records its operations in ("" = none; see journal.py).
    audit_db: str = ""
    webhook_port: int | None = None  # None: no webhook endpoint; 0: any free port
    webhook_host: str = "127.0.0.1"
    max_webhook_body_bytes: int = 1024 * 1024
    default_revision_history_limit: int = 10
    # Config management plugins: a directory of ConfigManagementPlugin files (None: none).
    plugin_dir: Path | None = None
    # Bound on one source's render, plugins included (Argo CD's exec timeout: 90 s).
    render_timeout_seconds: float = 90.0
    # Timeouts and concurrency of every git command (docs/sources.md "Faults"); a repository
    # that does not answer within them is served from its last fetch (docs/controller.md "Faults").
    git_limits: gitcmd.GitLimits = dataclasses.field(default_factory=gitcmd.GitLimits)
    # /metrics (docs/observability.md): None: not served; 0: any free port (argocd: 8082).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # True: the port is the default one; when it is busy /metrics is not served (a warning)
    # instead of the controller refusing to start (several controllers on one machine).
    metrics_port_optional: bool = False
    # Application labels exposed as argocd_app_labels (argocd: --metrics-application-labels).
    metrics_app_labels: tuple[str, ...] = ()
    # Cluster Secret labels exposed as argocd_cluster_labels (--metrics-cluster-labels), and
    # ApplicationSet labels as argocd_appset_labels (--metrics-applicationset-labels).
    metrics_cluster_labels: tuple[str, ...] = ()
    metrics_appset_labels: tuple[str, ...] = ()
    # Notifications inside this process (argocd-notifications-cm; the CLI turns them on,
    # --no-notifications leaves them to `tidegate notifications-controller`).
    notifications: bool = False
    # Sharding across controller replicas (docs/sharding.md); None: this process takes every
    # cluster, without Leases.
    sharding: sharding.ShardingSettings | None = None
