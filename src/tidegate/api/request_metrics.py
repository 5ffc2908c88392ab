"""The API server's request metrics, named as Argo CD's server exposes them (port 8083).

Argo CD's API is gRPC behind a gateway, so its dashboards read ``grpc_server_handled_total``
(``grpc_type``, ``grpc_service``, ``grpc_method``, ``grpc_code``) and
``grpc_server_handling_seconds``. Tidegate serves the same REST routes directly; this
middleware maps each to the service of its router tag (``application.ApplicationService``) and
the handler's name in CamelCase, and the HTTP status to the gRPC code the gateway would have
answered with. Also ``argocd_login_request_total{status}`` and ``argocd_info{version}``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import tidegate
from tidegate.metrics import registry, text

HANDLED = registry.counter(
    "grpc_server_handled_total",
    "Total number of RPCs completed on the server, regardless of success or failure.",
    ("grpc_type", "grpc_service", "grpc_method", "grpc_code"),
)
STARTED = registry.counter(
    "grpc_server_started_total",
    "Total number of RPCs started on the server.",
    ("grpc_type", "grpc_service", "grpc_method"),
)
HANDLING = registry.histogram(
    "grpc_server_handling_seconds",
    "Histogram of response latency (seconds) of gRPC that had been application-level "
    "handled by the server.",
    ("grpc_type", "grpc_service", "grpc_method"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOGINS = registry.counter(
    "argocd_login_request_total", "Number of login requests to the Argo CD API server.", ("status",)
)

_CODES = {
    400: "InvalidArgument",
    401: "Unauthenticated",
    403: "PermissionDenied",
    404: "NotFound",
    409: "AlreadyExists",
    412: "FailedPrecondition",
    429: "ResourceExhausted",
    499: "Canceled",
    501: "Unimplemented",
    503: "Unavailable",
    504: "DeadlineExceeded",
}
# Router tags as Argo CD's proto packages name the services.
_PACKAGES = {
    "ApplicationService": "application",
    "ApplicationSetService": "applicationset",
    "ClusterService": "cluster",
    "RepositoryService": "repository",
    "RepoCredsService": "repocreds",
    "ProjectService": "project",
    "SessionService": "session",
    "AccountService": "account",
    "SettingsService": "settings",
    "VersionService": "version",
}


def grpc_code(status: int) -> str:
    if status < 400:
        return "OK"
    return _CODES.get(status, "Internal" if status >= 500 else "Unknown")


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _names(scope: dict[str, Any]) -> tuple[str, str] | None:
    route = scope.get("route")
    endpoint = scope.get("endpoint")
    tags = list(getattr(route, "tags", None) or [])
    if endpoint is None or not tags:
        return None  # static files, the UI's pages, unknown paths: not an API method
    tag = str(tags[0])
    service = f"{_PACKAGES.get(tag, tag.removesuffix('Service').lower())}.{tag}"
    return service, camel(getattr(endpoint, "__name__", "unknown"))


class RequestMetrics:
    """Pure ASGI middleware (streams pass through untouched)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            names = _names(scope)
            if names is not None:
                path = scope.get("path", "")
                streamed = "/stream/" in path or path.endswith("/stream")  # .../projects/P/stream
                grpc_type = "server_stream" if streamed else "unary"
                STARTED.labels(grpc_type, *names).inc()
                HANDLED.labels(grpc_type, *names, grpc_code(status)).inc()
                HANDLING.labels(grpc_type, *names).observe(time.perf_counter() - started)
            if scope.get("path") == "/api/v1/session" and scope.get("method") == "POST":
                LOGINS.labels("success" if status < 400 else "failure").inc()


def info() -> Iterable[str]:
    """``argocd_info{version}``."""
    yield text.gauge_lines(
        "argocd_info", "ArgoCD version information", ("version",), [((tidegate.__version__,), 1.0)]
    )
