"""``tidegate server``: the Argo CD-compatible API server, in the foreground."""

from __future__ import annotations

import typer

from tidegate.cli import kubeopts
from tidegate.cli.controller_cmd import LOG_FORMAT, LOG_LEVEL


def server(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    port: int = typer.Option(8080, "--port", min=0, help="Port to listen on (0: any free one)."),
    address: str = typer.Option("0.0.0.0", "--address", help="Address to listen on."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Serve plain HTTP (TLS terminated elsewhere, or local use)."
    ),
    keepalive: float = typer.Option(
        15.0, "--stream-keepalive", min=0.1, help="Seconds between keepalives on idle streams."
    ),
    rbac_reload: float = typer.Option(
        2.0, "--rbac-reload-seconds", min=0.1, help="Seconds between re-reads of argocd-rbac-cm."
    ),
    data_dir: str | None = typer.Option(
        None, "--data-dir", help="Directory for the server's files (default: user data dir)."
    ),
    audit_db: str | None = typer.Option(
        None,
        "--audit-db",
        help="Audit log database: sqlite:///PATH or postgresql://... "
        "(default: audit-<namespace>.db in --data-dir).",
    ),
    audit_retention_days: float = typer.Option(
        90.0, "--audit-retention-days", min=0, help="Days audit entries are kept (0: forever)."
    ),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        min=-1,
        help="Serve /metrics on this port (0: any; -1: not). Default 8083, skipped with a "
        "warning when busy.",
    ),
    render_limit: int = typer.Option(
        4, "--render-concurrency", min=1, help="Renders (managed-resources, manifests) at once."
    ),
    render_queue: int = typer.Option(
        16, "--render-queue", min=0, help="Renders waiting for a slot; beyond them: 503."
    ),
    application_namespaces: str = typer.Option(
        "",
        "--application-namespaces",
        envvar="ARGOCD_APPLICATION_NAMESPACES",
        help="Also serve Applications in these namespaces (comma-separated globs, /regex/ "
        "allowed; argocd-cmd-params-cm application.namespaces). Their AppProject must list "
        "the namespace in sourceNamespaces.",
    ),
    loglevel: str = LOG_LEVEL,
    logformat: str = LOG_FORMAT,
) -> None:
    """Serve Argo CD's REST API (sessions, applications, streams) for the control namespace.

    On first start it generates the admin password into Secret argocd-initial-admin-secret
    (key 'password'), the JWT signing key and, unless --insecure, a self-signed certificate.
    """
    import asyncio

    from tidegate.api import server as api_server
    from tidegate.cli import logsetup

    logsetup.configure(loglevel, fmt=logformat)
    if not audit_db:
        from pathlib import Path

        import platformdirs

        directory = Path(data_dir or platformdirs.user_data_dir("tidegate"))
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        audit_db = f"sqlite:///{directory / f'audit-{namespace}.db'}"
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    try:
        asyncio.run(
            api_server.run(
                mgmt=mgmt,
                namespace=namespace,
                address=address,
                port=port,
                insecure=insecure,
                keepalive_seconds=keepalive,
                rbac_reload_seconds=rbac_reload,
                audit_db=audit_db,
                audit_retention_days=audit_retention_days,
                metrics_port=8083
                if metrics_port is None
                else None
                if metrics_port == -1
                else metrics_port,
                metrics_optional=metrics_port is None,
                render_limit=render_limit,
                render_queue=render_queue,
                application_namespaces=tuple(
                    p.strip() for p in application_namespaces.split(",") if p.strip()
                ),
            )
        )
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
