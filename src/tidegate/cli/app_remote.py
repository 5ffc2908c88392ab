"""``tidegate app list|get|sync`` through a Tidegate (or Argo CD) API server.

With a current login context (``tidegate login``) these commands talk to its server instead of
the management cluster, as ``argocd`` does; ``--core``, or naming a management cluster with
``--kubeconfig``/``--context`` on the command line, keeps the direct mode (the ``KUBECONFIG``
environment variable alone does not). :class:`RemoteApps` offers the methods of
:class:`~tidegate.cli.app_access.Apps` those commands use, so printing, following an operation
and exit codes are the same code either way. Errors of the server become the same Tidegate
errors the direct mode raises (exit 1), with the server's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

import typer

from tidegate.model import errors

Obj = dict[str, Any]
CORE_OPTION: Any = typer.Option(
    False, "--core", help="Work on the management cluster directly, even when logged in."
)
TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class Session:
    url: str
    token: str
    verify: bool
    context: str


def session(*, core: bool, kubeconfig: str | None, context: str | None) -> Session | None:
    """The current login context's server, unless the direct mode was asked for."""
    from tidegate.cli import apiconfig

    explicit_kubeconfig = kubeconfig is not None and kubeconfig != os.environ.get("KUBECONFIG")
    if core or context or explicit_kubeconfig:
        return None
    path = apiconfig.default_path()
    try:
        config = apiconfig.load(path)
    except (OSError, ValueError):
        return None
    name = str(config.get("current-context") or "")
    ctx = apiconfig.context(config, name) if name else None
    if ctx is None:
        return None
    empty: dict[str, Any] = {}
    server = next((s for s in config["servers"] if s.get("server") == ctx.get("server")), empty)
    user = next((u for u in config["users"] if u.get("name") == ctx.get("user")), empty)
    token = str(user.get("auth-token") or "")
    if not token:
        raise errors.ConfigError(
            f"context {name!r} has no session: run 'tidegate login', or use --core"
        )
    scheme = "http" if server.get("plain-text") else "https"
    return Session(
        url=f"{scheme}://{ctx.get('server')}",
        token=token,
        verify=not server.get("insecure"),
        context=name,
    )


class RemoteApps:
    """Applications through the API server (the subset of ``app_access.Apps`` in use)."""

    def __init__(self, http: Any, session: Session, namespace: str) -> None:
        self._http = http
        self.session = session
        self.namespace = namespace

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            resp = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise errors.KubeError(f"cannot reach {self.session.url}: {exc}") from None
        if resp.status_code < 400:
            return resp.json()
        try:
            message = str(resp.json().get("message") or resp.text)
        except ValueError:
            message = resp.text[:200]
        if resp.status_code == 401:
            message += f" (log in again: tidegate login, context {self.session.context!r})"
        if resp.status_code == 404:
            raise errors.KubeNotFoundError(message)
        raise errors.ConfigError(message)

    async def get(self, name: str, *, namespace: str | None = None) -> Obj:
        found = await self.get_or_none(name, namespace=namespace)
        if found is None:
            ns = namespace or self.namespace
            raise errors.ConfigError(f"application '{name}' not found in namespace '{ns}'")
        return found

    async def get_or_none(
        self, name: str, *, namespace: str | None = None, refresh: str | None = None
    ) -> Obj | None:
        params = {"refresh": refresh} if refresh else {}
        try:
            app: Obj = await self._call("GET", f"/api/v1/applications/{name}", params=params)
        except errors.KubeNotFoundError:
            return None
        return app

    async def refreshed(self, name: str, *, hard: bool, within: float) -> tuple[Obj, bool]:
        """The app after the server had the controller refresh it (the server waits up to its
        own limit, then this polls for ``within`` seconds); False when the refresh was not taken."""
        from tidegate.model import constants

        def pending(app: Obj) -> bool:
            annotations = (app.get("metadata") or {}).get("annotations") or {}
            return constants.ANNOTATION_REFRESH in annotations

        app = await self.get_or_none(name, refresh="hard" if hard else "normal")
        if app is None:
            raise errors.ConfigError(
                f"application '{name}' not found in namespace '{self.namespace}'"
            )
        deadline = asyncio.get_running_loop().time() + within
        while pending(app) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
            app = await self.get(name)
        return app, not pending(app)

    async def list_apps(
        self, *, selector: str | None = None, all_namespaces: bool = False
    ) -> list[Obj]:
        params = {"selector": selector} if selector else {}
        body = await self._call("GET", "/api/v1/applications", params=params)
        return list(body.get("items") or [])

    async def sync(self, name: str, operation: Mapping[str, Any]) -> None:
        """Request the sync ``operation`` (as the direct mode would write it) as a SyncRequest."""
        await self._call(
            "POST",
            f"/api/v1/applications/{name}/sync",
            content=json.dumps(sync_request(operation)),
            headers={"Content-Type": "application/json"},
        )

    async def poll(
        self, name: str, *, namespace: str | None = None, interval: float = 0.5
    ) -> AsyncIterator[Obj | None]:
        while True:
            yield await self.get_or_none(name, namespace=namespace)
            await asyncio.sleep(interval)


def sync_request(operation: Mapping[str, Any]) -> Obj:
    """Argo CD's SyncRequest body for an Application ``operation``. Pure."""
    sync = operation.get("sync") or {}
    body: Obj = {
        "prune": bool(sync.get("prune")),
        "dryRun": bool(sync.get("dryRun")),
    }
    if sync.get("revision"):
        body["revision"] = sync["revision"]
    if sync.get("revisions"):
        body["revisions"] = list(sync["revisions"])
    if sync.get("syncStrategy"):
        body["strategy"] = sync["syncStrategy"]
    if sync.get("resources"):
        body["resources"] = list(sync["resources"])
    if sync.get("syncOptions"):
        body["syncOptions"] = {"items": list(sync["syncOptions"])}
    if operation.get("retry"):
        body["retryStrategy"] = operation["retry"]
    if operation.get("info"):
        body["infos"] = list(operation["info"])
    return body


@contextlib.asynccontextmanager
async def connect(
    kubeconfig: str | None, context: str | None, namespace: str, *, core: bool
) -> AsyncIterator[Any]:
    """``RemoteApps`` with a current login context, else ``app_access.Apps`` (direct)."""
    found = session(core=core, kubeconfig=kubeconfig, context=context)
    if found is None:
        from tidegate.cli import app_access

        async with app_access.connect(kubeconfig, context, namespace) as apps:
            yield apps
        return
    import httpx

    headers = {"Authorization": f"Bearer {found.token}"}
    async with httpx.AsyncClient(
        base_url=found.url, verify=found.verify, headers=headers, timeout=TIMEOUT
    ) as http:
        yield RemoteApps(http, found, namespace)
