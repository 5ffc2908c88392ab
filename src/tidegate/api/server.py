"""The ASGI app (:func:`create_app`) and the process around it (:func:`run`).

:func:`run` connects to the management cluster, creates the account Secrets and the TLS
certificate on first start (:mod:`tidegate.api.bootstrap`), starts the Application hub and
serves the app with uvicorn: HTTPS with the certificate kept in ``argocd-secret`` (or
``argocd-server-tls``), or plain HTTP with ``insecure``. The certificate's key is written to a
private temporary file only because uvicorn reads it from a path; it is removed at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import fastapi
import uvicorn
from starlette.responses import PlainTextResponse

import tidegate
from tidegate.api import (
    account,
    account_tokens,
    app_actions,
    app_details,
    app_logs,
    app_manifests,
    app_operations,
    app_resources,
    applications,
    appset_generate,
    audit,
    audit_trail,
    bootstrap,
    context,
    credentials,
    errors,
    projects,
    promotion,
    rbac_config,
    render_gate,
    repo_writes,
    request_metrics,
    role_tokens,
    sealed_certs,
    security,
    session,
    settings,
    sso,
    streams,
)
from tidegate.api import hub as app_hub
from tidegate.auth import passwords
from tidegate.controller import webhook_server
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.metrics import exposition
from tidegate.model import errors as tg_errors
from tidegate.store import audit as audit_store
from tidegate.sync import projects as sync_projects
from tidegate.web import audit_page as web_audit
from tidegate.web import catalogue as web_catalogue
from tidegate.web import pages as web_pages
from tidegate.web import promotion_page as web_promotion
from tidegate.web import rollouts_page as web_rollouts

log = logging.getLogger(__name__)


def create_app(ctx: context.ServerContext) -> fastapi.FastAPI:
    app = fastapi.FastAPI(
        title="Tidegate API",
        version=tidegate.__version__,
        description="Argo CD-compatible REST API of Tidegate (see docs/server.md).",
        openapi_url="/swagger.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    errors.install(app)
    app.add_middleware(security.Guard)
    app.add_middleware(audit_trail.AuditTrail)  # outermost: it also sees the Guard's refusals
    app.add_middleware(request_metrics.RequestMetrics)  # grpc_server_* (docs/observability.md)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/api/version", tags=["VersionService"])
    async def version() -> dict[str, Any]:
        return {
            "Version": f"v{tidegate.__version__}+tidegate",
            "BuildDate": "",
            "GitCommit": "",
            "GitTag": "",
            "GitTreeState": "",
            "GoVersion": "",
            "Compiler": "cpython",
            "Platform": "",
        }

    app.include_router(session.open_router)
    app.include_router(sso.open_router)
    for module in (
        session,
        streams,
        app_operations,
        app_details,
        app_manifests,
        app_resources,
        app_logs,
        app_actions,
        applications,
        appset_generate,
        projects,
        credentials,
        repo_writes,
        settings,
        account,
        account_tokens,
        audit,
        role_tokens,
        sealed_certs,
        promotion,
    ):
        app.include_router(module.router, dependencies=[security.AUTHENTICATED])
    # The web UI (tidegate.web): its pages check the session themselves, to redirect to /login.
    app.mount("/assets", web_pages.static_files(), name="assets")
    app.include_router(web_pages.router)
    app.include_router(web_catalogue.router)
    app.include_router(web_audit.router)
    app.include_router(web_rollouts.router)
    app.include_router(web_promotion.router)
    return app


async def run(
    *,
    mgmt: kube_config.ClusterConfig,
    namespace: str,
    address: str,
    port: int,
    insecure: bool,
    keepalive_seconds: float = context.DEFAULT_KEEPALIVE_SECONDS,
    rbac_reload_seconds: float = rbac_config.DEFAULT_INTERVAL,
    audit_db: str = "",
    audit_retention_days: float = 90.0,
    metrics_port: int | None = None,
    metrics_optional: bool = False,
    render_limit: int = render_gate.DEFAULT_LIMIT,
    render_queue: int = render_gate.DEFAULT_QUEUE,
    application_namespaces: tuple[str, ...] = (),
) -> None:
    """``application_namespaces``: also serve Applications of these namespaces (globs,
    ``/regex/``; api/app_namespaces.py). ``metrics_port``: serve /metrics there too (Argo CD's
    server: 8083; None: not);
    ``metrics_optional``: a busy port logs a warning instead of stopping the server."""
    audit_log = audit_store.AuditLog(audit_db) if audit_db else None
    if audit_log is not None:
        log.info("audit log in %s", audit_log.engine.url.render_as_string(hide_password=True))
    async with kube_client.client_for(mgmt) as client:
        store = bootstrap.SecretStore(client, namespace)
        hostnames = ("localhost", "127.0.0.1", socket.gethostname())
        pair = await store.ensure(tls=not insecure, hostnames=hostnames)
        others = application_namespaces
        hub = app_hub.AppHub(
            client,
            namespace,
            other_namespaces=(lambda ns: sync_projects.namespace_listed(others, ns))
            if others
            else None,
        )
        ctx = context.ServerContext(
            client=client,
            namespace=namespace,
            secrets=store,
            hub=hub,
            insecure=insecure,
            keepalive_seconds=keepalive_seconds,
            audit=audit_log,
            login_failures=passwords.FailureCounter(
                max_failures=int(os.environ.get("ARGOCD_SESSION_FAILURE_MAX_FAIL_COUNT", "5")),
                window=float(os.environ.get("ARGOCD_SESSION_FAILURE_WINDOW_SECONDS", "300")),
            ),
            management=mgmt,
            renders=render_gate.RenderGate(limit=render_limit, queue=render_queue),
            application_namespaces=application_namespaces,
        )
        reloader = rbac_config.PolicyReloader(
            client, namespace, ctx.policy, interval=rbac_reload_seconds
        )
        await reloader.start()
        retention = asyncio.create_task(_retain(audit_log, audit_retention_days))
        hub.start()
        try:
            with tempfile.TemporaryDirectory(prefix="tidegate-server-") as tmp:
                ctx.cache_dir = Path(tmp) / "repos"
                ssl: dict[str, Any] = {}
                if pair is not None:
                    ssl = _write_pair(Path(tmp), *pair)
                metrics_server = None
                if metrics_port is not None:
                    try:
                        metrics_server = await webhook_server.serve(
                            exposition.asgi_app(request_metrics.info),
                            address,
                            metrics_port,
                            what="server metrics endpoint",
                        )
                    except tg_errors.ConfigError as exc:
                        if not metrics_optional:
                            raise
                        log.warning("%s; /metrics is not served", exc)
                try:
                    await _serve(create_app(ctx), address, port, ssl=ssl, namespace=namespace)
                finally:
                    if metrics_server is not None:
                        await metrics_server.stop()
        finally:
            await hub.stop()
            await reloader.stop()
            retention.cancel()
            if audit_log is not None:
                audit_log.close()


async def _retain(audit_log: audit_store.AuditLog | None, days: float) -> None:
    """Drop audit entries older than ``days`` now and every hour (0: keep them all)."""
    while audit_log is not None and days > 0:
        cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
        try:
            dropped = await asyncio.to_thread(audit_log.prune, cutoff)
        except Exception as exc:
            log.error("audit retention failed: %s", exc)
        else:
            if dropped:
                log.info("audit retention dropped %d entries older than %s days", dropped, days)
        await asyncio.sleep(3600)


def _write_pair(directory: Path, cert: bytes, key: bytes) -> dict[str, Any]:
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return {"ssl_certfile": str(cert_path), "ssl_keyfile": str(key_path)}


async def _serve(
    app: fastapi.FastAPI, address: str, port: int, *, ssl: dict[str, Any], namespace: str
) -> None:
    sock = webhook_server.listen_socket(address, port, what="server")
    bound = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        **ssl,
    )
    server = uvicorn.Server(config)
    scheme = "https" if ssl else "http"
    host = f"[{address}]" if ":" in address else address
    log.info(
        "tidegate server listening on %s://%s:%d (control namespace %s)",
        scheme,
        host,
        bound,
        namespace,
        extra={"port": bound, "scheme": scheme},
    )
    with contextlib.closing(sock):
        await server.serve(sockets=[sock])


def main(**kwargs: Any) -> None:
    asyncio.run(run(**kwargs))
