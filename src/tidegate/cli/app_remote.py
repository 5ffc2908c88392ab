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
from collections.abc import AsyncIterator, Mapping
from typing import Any

from tidegate.cli import remote
from tidegate.model import errors

Obj = dict[str, Any]
# The mode choice and the calls are shared by every resource's commands (cli/remote.py).
CORE_OPTION = remote.CORE_OPTION
TIMEOUT = remote.TIMEOUT
Session = remote.Session
session = remote.session


class RemoteApps:
    """Applications through the API server (the subset of ``app_access.Apps`` in use)."""

    def __init__(self, http: Any, session: Session, namespace: str) -> None:
        self._remote = remote.Remote(http, session)
        self.session = session
        self.namespace = namespace

    def _app_namespace(self, namespace: str | None = None) -> dict[str, str]:
        """argocd's ``appNamespace`` for an app named ``NS/NAME`` (or with ``-N``): sent when
        the namespace is not the default control namespace, which the server's own is."""
        import os

        from tidegate.model import constants

        ns = namespace or self.namespace
        default = os.environ.get(constants.ENV_CONTROL_NAMESPACE) or (
            constants.DEFAULT_CONTROL_NAMESPACE
        )
        return {"appNamespace": ns} if ns and ns != default else {}

    def app_params(self, namespace: str | None = None) -> dict[str, str]:
        """The query naming the app's namespace (``appNamespace``) for a call about an app of
        ``namespace`` (default: this client's), empty for the control namespace."""
        return self._app_namespace(namespace)

    def params_of(self, app: Mapping[str, Any]) -> dict[str, str]:
        """:meth:`app_params` for the namespace of the Application ``app`` (as read)."""
        return self._app_namespace(str((app.get("metadata") or {}).get("namespace") or "") or None)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self._remote.call(method, path, **kwargs)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any other call of the server (``app sync --preview-changes`` reads the diffs)."""
        return await self._remote.call(method, path, **kwargs)

    async def send(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`call`, returning the whole response (``app actions run`` reads a header)."""
        return await self._remote.send(method, path, **kwargs)

    async def stream(self, path: str, params: Mapping[str, str]) -> AsyncIterator[Obj]:
        """The messages of a streamed answer (one JSON object a line, as grpc-gateway sends
        them); an error status or an ``error`` message raises as :meth:`call` would."""
        import json

        import httpx2 as httpx  # remote.open_remote's client

        try:
            async with self._remote.http.stream(
                "GET", path, params=dict(params), timeout=httpx.Timeout(TIMEOUT, read=None)
            ) as resp:
                if resp.status_code >= 400:
                    body = await resp.aread()
                    try:
                        message = str(json.loads(body).get("message") or body.decode())
                    except ValueError:
                        message = body.decode(errors="replace")[:200]
                    if resp.status_code == 404:
                        raise errors.KubeNotFoundError(message, code=404)
                    raise errors.ConfigError(message)
                async for line in resp.aiter_lines():
                    if not line.strip():
                        continue
                    message_obj = json.loads(line)
                    if message_obj.get("error"):
                        raise errors.ConfigError(str(message_obj["error"].get("message") or ""))
                    yield message_obj
        except httpx.HTTPError as exc:
            raise errors.KubeError(f"cannot reach {self.session.url}: {exc}") from None

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
        params.update(self._app_namespace(namespace))
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
        params = {"selector": selector} if selector else {}  # every namespace served, as argocd
        body = await self._call("GET", "/api/v1/applications", params=params)
        return list(body.get("items") or [])

    async def sync(self, name: str, operation: Mapping[str, Any]) -> None:
        """Request the sync ``operation`` (as the direct mode would write it) as a SyncRequest."""
        body = {**sync_request(operation), **self._app_namespace()}
        await self._call("POST", f"/api/v1/applications/{name}/sync", body=body)

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
    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            yield RemoteApps(server.http, server.session, namespace)
            return
        from tidegate.cli import app_access

        async with app_access.connect(kubeconfig, context, namespace) as apps:
            yield apps
