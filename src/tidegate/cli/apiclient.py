"""Calls to a Tidegate (or Argo CD) API server with the session ``tidegate login`` stored.

:func:`call` answers the reply's JSON, or fails the command (exit 1) with the server's message
and HTTP status; 401 adds a hint to log in again. Tokens never reach the output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tidegate.cli import apiconfig, output


def session(config: str | None) -> tuple[str, str, bool]:
    """(the server's URL, the session token, whether TLS is unverified) of the current
    context."""
    path = Path(config).expanduser() if config else apiconfig.default_path()
    conf = apiconfig.load(path)
    name = str(conf.get("current-context") or "")
    ctx = apiconfig.context(conf, name) if name else None
    if ctx is None:
        raise output.fail("no current context: run 'tidegate login SERVER' first")
    server: dict[str, Any] = next(
        (s for s in conf["servers"] if s.get("server") == ctx.get("server")), {}
    )
    user: dict[str, Any] = next((u for u in conf["users"] if u.get("name") == ctx.get("user")), {})
    token = str(user.get("auth-token") or "")
    if not token:
        raise output.fail(f"context {name!r} has no session: run 'tidegate login' again")
    scheme = "http" if server.get("plain-text") else "https"
    return f"{scheme}://{ctx['server']}", token, bool(server.get("insecure"))


_session = session  # the older name


def call(
    config: str | None,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, Any] | None = None,
) -> Any:
    import httpx

    url, token, insecure = session(config)
    headers = {"Authorization": f"Bearer {token}"}
    content = None
    if body is not None or method in ("POST", "PUT", "PATCH", "DELETE"):
        headers["Content-Type"] = "application/json"
        content = json.dumps(body if body is not None else {})
    try:
        with httpx.Client(base_url=url, verify=not insecure, timeout=60.0) as client:
            resp = client.request(method, path, content=content, headers=headers, params=params)
    except httpx.HTTPError as exc:
        raise output.fail(f"cannot reach {url}: {exc}") from None
    if resp.status_code >= 400:
        try:
            message = str(resp.json().get("message") or resp.text)
        except ValueError:
            message = resp.text[:200]
        hint = " (log in again with 'tidegate login')" if resp.status_code == 401 else ""
        raise output.fail(f"{message} (HTTP {resp.status_code}){hint}")
    return resp.json() if resp.content else {}
