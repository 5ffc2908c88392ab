"""``tidegate controller``: run the application and ApplicationSet controllers in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tidegate.cli import kubeopts

LOG_LEVEL: Any = typer.Option("info", "--loglevel", help="debug, info, warning or error.")
DEFAULT_METRICS_PORT = 8082  # argocd-application-controller's
LOG_FORMAT: Any = typer.Option("json", "--logformat", help="json or text.")


def controller(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    app_resync: float = typer.Option(
        180.0, "--app-resync", min=1.0, help="Seconds between Git polls of every app."
    ),
    status_processors: int = typer.Option(
        8, "--status-processors", min=1, help="Concurrent app refreshes."
    ),
    operation_processors: int = typer.Option(
        4,
        "--operation-processors",
        min=1,
        help="Concurrent sync operations at start; the adaptive operation gate moves between 1 "
        "and 8x this with the API servers' latency and 429s.",
    ),
    operation_processors_per_cluster: int = typer.Option(
        0,
        "--operation-processors-per-cluster",
        min=0,
        help="Concurrent sync operations on one destination cluster "
        "(0: all but one of what the adaptive operation gate admits, at least 1; "
        "the gate starts at --operation-processors).",
    ),
    webhook_port: int | None = typer.Option(
        None, "--webhook-port", help="Serve Git webhooks on this port (0: any free port)."
    ),
    webhook_address: str = typer.Option("127.0.0.1", "--webhook-address"),
    appsets: bool = typer.Option(
        True, "--appsets/--no-appsets", help="Also run the ApplicationSet controller."
    ),
    promotions: bool = typer.Option(
        True,
        "--promotions/--no-promotions",
        help="Also run the promotion controller (Kargo's Warehouses, Stages, Promotions).",
    ),
    promotions_shard: str = typer.Option(
        "",
        "--promotions-shard",
        envvar="SHARD_NAME",
        help="Take only the Kargo Projects labelled kargo.akuity.io/shard=NAME (default: only "
        "unlabelled ones), so several controllers can share a management cluster.",
    ),
    rollouts: bool = typer.Option(
        True,
        "--rollouts/--no-rollouts",
        help="Also reconcile Argo Rollouts' Rollouts on every registered cluster "
        "(--no-rollouts: leave them to another controller).",
    ),
    rollouts_instance_id: str = typer.Option(
        "",
        "--rollouts-instance-id",
        help="Handle only Rollouts labelled argo-rollouts.argoproj.io/controller-instance-id "
        "with this id (default: only those without the label).",
    ),
    sealed_secrets: bool = typer.Option(
        True,
        "--sealed-secrets/--no-sealed-secrets",
        help="Also unseal SealedSecrets on every registered cluster, with that cluster's keys "
        "(--no-sealed-secrets: leave them to another Sealed Secrets controller).",
    ),
    sealed_secrets_key_namespace: str = typer.Option(
        "kube-system",
        "--sealed-secrets-key-namespace",
        help="Namespace of the sealing key Secrets on each cluster (Sealed Secrets' "
        "controller namespace).",
    ),
    installation_id: str = typer.Option(
        "",
        "--installation-id",
        help="Installation id used when argocd-cm has no installationID. Applied objects "
        "carry it; objects with another id (or none) are not this installation's.",
    ),
    plugin_dir: str | None = typer.Option(
        None,
        "--plugin-dir",
        envvar="TIDEGATE_PLUGIN_DIR",
        help="Directory of ConfigManagementPlugin files (default: <config dir>/plugins).",
    ),
    render_timeout: float = typer.Option(
        90.0,
        "--render-timeout",
        min=0.1,
        help="Seconds one source's render (helm, kustomize, a plugin) may take.",
    ),
    application_namespaces: str = typer.Option(
        "",
        "--application-namespaces",
        envvar="ARGOCD_APPLICATION_NAMESPACES",
        help="Also reconcile Applications in these namespaces (comma-separated globs, "
        "/regex/ allowed; argocd-cmd-params-cm application.namespaces). Their AppProject "
        "must list the namespace in sourceNamespaces.",
    ),
    git_request_timeout: int = typer.Option(
        15,
        "--git-request-timeout",
        min=1,
        help="Seconds a git server may stay silent (connect, or below 1 kB/s) before the "
        "fetch fails and the repository's apps are served from the last fetch.",
    ),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        help="Serve Prometheus /metrics on this port (0: any free port; -1: not at all). "
        "Default 8082, skipped with a warning when busy.",
    ),
    metrics_address: str = typer.Option("127.0.0.1", "--metrics-address"),
    metrics_application_labels: list[str] = typer.Option(
        [],
        "--metrics-application-labels",
        help="Application label exposed in argocd_app_labels (repeat, or comma-separated).",
    ),
    metrics_cluster_labels: list[str] = typer.Option(
        [],
        "--metrics-cluster-labels",
        help="Cluster Secret label exposed in argocd_cluster_labels (repeat, or comma-separated).",
    ),
    metrics_applicationset_labels: list[str] = typer.Option(
        [],
        "--metrics-applicationset-labels",
        help="ApplicationSet label exposed in argocd_appset_labels (repeat, or comma-separated).",
    ),
    notifications: bool = typer.Option(
        True,
        "--notifications/--no-notifications",
        help="Send notifications (argocd-notifications-cm) from this process.",
    ),
    audit_db: str | None = typer.Option(
        None,
        "--audit-db",
        help="Audit log the operations are recorded in: sqlite:///PATH or postgresql://... "
        "(default: the server's default, audit-<namespace>.db in the user data dir).",
    ),
    replicas: int = typer.Option(
        0,
        "--replicas",
        envvar="ARGOCD_CONTROLLER_REPLICAS",
        min=0,
        help="Number of shards the clusters are spread over, held by the controller replicas "
        "through Leases (0: no sharding, this process takes every cluster).",
    ),
    shard: int = typer.Option(
        -1,
        "--shard",
        envvar="ARGOCD_CONTROLLER_SHARD",
        help="Hold only this shard (-1: claim free shards, a fair share of them).",
    ),
    sharding_method: str = typer.Option(
        "legacy",
        "--sharding-method",
        envvar="ARGOCD_CONTROLLER_SHARDING_ALGORITHM",
        help="How clusters are spread over shards: legacy, round-robin or consistent-hashing.",
    ),
    shard_lease_duration: int = typer.Option(
        15,
        "--shard-lease-duration",
        envvar="TIDEGATE_SHARD_LEASE_DURATION",
        min=1,
        help="Seconds a shard's Lease must go unrenewed before another replica takes it.",
    ),
    shard_renew_deadline: float = typer.Option(
        10.0,
        "--shard-renew-deadline",
        envvar="TIDEGATE_SHARD_RENEW_DEADLINE",
        help="Seconds after its last renewal at which a replica stops work on a shard "
        "(below the lease duration).",
    ),
    shard_retry_period: float = typer.Option(
        2.0,
        "--shard-retry-period",
        envvar="TIDEGATE_SHARD_RETRY_PERIOD",
        help="Seconds between two rounds of Lease renewals.",
    ),
    loglevel: str = LOG_LEVEL,
    logformat: str = LOG_FORMAT,
) -> None:
    """Reconcile every Application (and ApplicationSet) of the control namespace until Ctrl-C."""
    import asyncio

    from tidegate import daemon
    from tidegate.cli import logsetup
    from tidegate.controller import settings, sharding
    from tidegate.model import errors
    from tidegate.sources import gitcmd

    logsetup.configure(loglevel, fmt=logformat)
    from tidegate.render import plugin_config

    plugins = Path(plugin_dir) if plugin_dir else plugin_config.default_directory()
    try:
        shards = (
            sharding.ShardingSettings(
                replicas=replicas,
                shard=None if shard == -1 else shard,
                algorithm=sharding.parse_algorithm(sharding_method),
                lease_duration=shard_lease_duration,
                renew_deadline=shard_renew_deadline,
                retry_period=shard_retry_period,
            )
            if replicas
            else None
        )
    except errors.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    if not audit_db:
        import platformdirs

        directory = Path(platformdirs.user_data_dir("tidegate"))
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        audit_db = f"sqlite:///{directory / f'audit-{namespace}.db'}"
    conf = settings.Settings(
        sharding=shards,
        audit_db=audit_db,
        namespace=namespace,
        app_resync_seconds=app_resync,
        refresh_workers=status_processors,
        operation_workers=operation_processors,
        operation_workers_per_cluster=operation_processors_per_cluster,
        webhook_port=webhook_port,
        webhook_host=webhook_address,
        installation_id=installation_id.strip(),
        plugin_dir=plugins,
        render_timeout_seconds=render_timeout,
        application_namespaces=tuple(
            p.strip() for p in application_namespaces.split(",") if p.strip()
        ),
        metrics_port=None
        if metrics_port == -1
        else (DEFAULT_METRICS_PORT if metrics_port is None else metrics_port),
        metrics_host=metrics_address,
        notifications=notifications,
        metrics_port_optional=metrics_port is None,
        metrics_app_labels=_keys(metrics_application_labels),
        metrics_cluster_labels=_keys(metrics_cluster_labels),
        metrics_appset_labels=_keys(metrics_applicationset_labels),
        git_limits=gitcmd.GitLimits(
            connect_timeout=git_request_timeout, low_speed_time=git_request_timeout
        ),
    )
    try:
        asyncio.run(
            daemon.run(
                mgmt=mgmt,
                settings=conf,
                appsets=appsets,
                promotions=promotions,
                promotions_shard=promotions_shard.strip(),
                rollouts=rollouts,
                rollouts_instance_id=rollouts_instance_id.strip(),
                sealed_secrets=sealed_secrets,
                sealed_secrets_key_namespace=sealed_secrets_key_namespace,
            )
        )
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def _keys(args: list[str]) -> tuple[str, ...]:
    """Label keys of a repeated, comma-separated option."""
    return tuple(k.strip() for arg in args for k in arg.split(",") if k.strip())
