"""The CLI over a Tidegate (or Argo CD) API server: which mode a command runs in, and the calls.

With a current login context (``tidegate login``) the ``app``, ``appset``, ``cluster``,
``repo``, ``repocreds`` and ``proj`` commands talk to its server instead of the management
cluster, as ``argocd`` does; ``--core``, or naming a management cluster with
``--kubeconfig``/``--context`` on the command line, keeps the direct mode (the ``KUBECONFIG``
environment variable alone does not). Each resource has an access class for the direct mode and
a remote twin offering the same methods (``app_remote.RemoteApps``, ``proj_remote``,
``appset_access``, ``cred_remote``), so printing and exit codes are the same code either way.
:class:`Remote` maps the server's errors onto the Tidegate errors the direct mode raises (exit
1, the server's message; 404 is ``KubeNotFoundError``), and never shows the token. Requests go
through httpx2, the kube client's HTTP stack (the system's CA bundle, which kubectl and argocd
trust too); ``httpx`` would import its own CLI's rich and pygments, ~0.1 s of start-up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from typing import Any

import typer

from tidegate.model import errors

Obj = dict[str, Any]
CORE_OPTION: Any = typer.Option(
    False, "--core", help="Work on the management cluster directly, even when logged in."
)
TIMEOUT = 60.0
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclasses.dataclass(frozen=True)
class Session:
    url: str
    token: str
    verify: bool
    context: str


def session(*, core: bool, kubeconfig: str | None, context: str | None) -> Session | None:
    """The current login context's server, unless the direct mode was asked for."""
    explicit_kubeconfig = kubeconfig is not None and kubeconfig != os.environ.get("KUBECONFIG")
    if core or context or explicit_kubeconfig:
        return None
    from tidegate.cli import apiconfig

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


def quote(value: str) -> str:
    """A path parameter (a URL, a server) encoded whole, slashes too."""
    return urllib.parse.quote(value, safe="")


class Remote:
    """Calls to the session's server; errors as the direct mode's errors."""

    def __init__(self, http: Any, session: Session) -> None:
        self.http = http
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        resp = await self.send(method, path, body=body, params=params)
        return resp.json() if resp.content else {}

    async def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """:meth:`call`, returning the whole response (its headers too) when it succeeded."""
        import httpx2 as httpx

        kwargs: dict[str, Any] = {"params": dict(params or {})}
        if body is not None or method in ("POST", "PUT", "PATCH", "DELETE"):
            kwargs["content"] = json.dumps(body if body is not None else {})
            kwargs["headers"] = JSON_HEADERS
        try:
            resp = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise errors.KubeError(f"cannot reach {self.session.url}: {exc}") from None
        if resp.status_code < 400:
            return resp
        try:
            message = str(resp.json().get("message") or resp.text)
        except ValueError:
            message = resp.text[:200]
        if resp.status_code == 401:
            message += f" (log in again: tidegate login, context {self.session.context!r})"
        if resp.status_code == 404:
            raise errors.KubeNotFoundError(message, code=404)
        if resp.status_code == 409 and _grpc_code(resp) == GRPC_ABORTED:
            raise errors.KubeConflictError(message, code=409)  # changed meanwhile: read again
        raise errors.ConfigError(message)

    async def get_or_none(self, path: str, **params: Any) -> Obj | None:
        try:
            found: Obj = await self.call("GET", path, params=params)
        except errors.KubeNotFoundError:
            return None
        return found

    async def delete(self, path: str, **params: Any) -> bool:
        """DELETE ``path``; False when there was nothing to delete (404)."""
        try:
            await self.call("DELETE", path, params=params)
        except errors.KubeNotFoundError:
            return False
        return True

    async def items(self, path: str, **params: Any) -> list[Obj]:
        body = await self.call("GET", path, params=params)
        return [dict(i) for i in body.get("items") or []]


GRPC_ABORTED = 10


def _grpc_code(resp: Any) -> int:
    try:
        return int(resp.json().get("code") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0


@contextlib.asynccontextmanager
async def open_remote(
    *, core: bool, kubeconfig: str | None, context: str | None
) -> AsyncIterator[Remote | None]:
    """A :class:`Remote` with a current login context, else None (the direct mode)."""
    found = session(core=core, kubeconfig=kubeconfig, context=context)
    if found is None:
        yield None
        return
    import httpx2 as httpx

    headers = {"Authorization": f"Bearer {found.token}"}
    async with httpx.AsyncClient(
        base_url=found.url, verify=found.verify, headers=headers, timeout=TIMEOUT
    ) as http:
        yield Remote(http, found)
