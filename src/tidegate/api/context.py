"""What every request handler reaches: the management cluster client, the control namespace,
the account Secrets and the shared Application hub (one per server process)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from tidegate.api import render_gate
from tidegate.auth import access, passwords

if TYPE_CHECKING:
    from tidegate.api import account_book, bootstrap
    from tidegate.api import hub as app_hub
    from tidegate.api import sso as sso_api
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config
    from tidegate.store import audit as audit_store

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_KEEPALIVE_SECONDS = 15.0


def _account_book() -> account_book.AccountBook:
    from tidegate.api import account_book

    return account_book.AccountBook()


def _sso() -> sso_api.Sso:
    from tidegate.api import sso as sso_api

    return sso_api.Sso()


@dataclasses.dataclass
class ServerContext:
    client: kube_client.KubeClient
    namespace: str
    secrets: bootstrap.SecretStore
    hub: app_hub.AppHub
    insecure: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS
    refresh_wait_seconds: float = 10.0
    management: kube_config.ClusterConfig | None = None  # renders reach destinations with it
    cache_dir: Path | None = None  # the server's repository cache (rendering)
    login_failures: passwords.FailureCounter = dataclasses.field(
        default_factory=passwords.FailureCounter
    )
    policy: access.PolicyRef = dataclasses.field(default_factory=access.PolicyRef)
    accounts: account_book.AccountBook = dataclasses.field(default_factory=_account_book)
    audit: audit_store.AuditLog | None = None
    sso: sso_api.Sso = dataclasses.field(default_factory=_sso)
    renders: render_gate.RenderGate = dataclasses.field(default_factory=render_gate.RenderGate)
    # Applications in any namespace: also serve those of these namespaces (globs, /regex/).
    application_namespaces: tuple[str, ...] = ()


def of(conn: HTTPConnection) -> ServerContext:
    """The context of the server handling ``conn`` (a FastAPI dependency)."""
    ctx: ServerContext = conn.app.state.ctx
    return ctx
