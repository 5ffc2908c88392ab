"""``tidegate app manifests`` through the API server: ``GET /api/v1/applications/{name}/
manifests`` (the target, rendered by the server; ``revision``, ``noCache`` for
``--hard-refresh``) or, for ``--source live``, the live states of ``.../managed-resources``.
Both name an app of another namespace with ``appNamespace``; Secret values come masked by the
server, as the direct mode masks them.
"""

from __future__ import annotations

import json
from typing import Any

from tidegate.cli import app_remote

Obj = dict[str, Any]


def live_states(items: list[Obj]) -> list[Obj]:
    """The live objects of managed-resources items (those absent from the cluster skipped)."""
    out = []
    for item in items:
        state = item.get("liveState")
        if isinstance(state, str) and state and state != "null":
            out.append(json.loads(state))
    return out


async def manifests(
    apps: app_remote.RemoteApps, name: str, *, live: bool, revision: str | None, hard: bool
) -> list[Obj]:
    """The app's manifests as the server renders (or reads) them."""
    params = apps.app_params()
    if live:
        body = await apps.call(
            "GET", f"/api/v1/applications/{name}/managed-resources", params=params
        )
        return live_states(list(body.get("items") or []))
    if revision:
        params["revision"] = revision
    if hard:
        params["noCache"] = "true"
    body = await apps.call("GET", f"/api/v1/applications/{name}/manifests", params=params)
    return [json.loads(m) for m in body.get("manifests") or []]
