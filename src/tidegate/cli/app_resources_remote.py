"""``tidegate app actions list``, ``get-resource``, ``patch-resource`` and ``delete-resource``
through the API server: the app's matching resources (its ``status.resources``, filtered as the
direct mode filters them) read with ``GET /api/v1/applications/{name}/resource``, their actions
with ``GET .../resource/actions``, patched (``POST .../resource``, a merge patch) and deleted
(``DELETE .../resource``); each call names the app's namespace (``appNamespace``). The objects
come masked by the server; those absent from the cluster are skipped, as directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidegate.cli import app_remote
from tidegate.controller import resource_actions
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

Obj = dict[str, Any]
Filters = tuple[str | None, str | None, str | None, str | None]


def target(res: Mapping[str, Any]) -> dict[str, str]:
    """The query naming one resource of ``status.resources`` (Argo CD's resource fields)."""
    return {
        "namespace": str(res.get("namespace") or ""),
        "resourceName": str(res.get("name") or ""),
        "kind": str(res.get("kind") or ""),
        "group": str(res.get("group") or ""),
        "version": str(res.get("version") or ""),
    }


async def live(
    apps: app_remote.RemoteApps, raw: Obj, resources: list[Obj]
) -> list[resource_actions.Live]:
    """The live objects of ``resources`` (entries of the app ``raw``'s ``status.resources``)."""
    name = str(raw["metadata"]["name"])
    found = []
    for res in resources:
        params = {**target(res), **apps.params_of(raw)}
        try:
            body = await apps.call("GET", f"/api/v1/applications/{name}/resource", params=params)
        except errors.KubeNotFoundError:
            continue
        key = ResourceKey(
            params["group"], params["kind"], params["namespace"], params["resourceName"]
        )
        found.append(resource_actions.Live(key, params["version"], json.loads(body["manifest"])))
    return found


async def action_rows(apps: app_remote.RemoteApps, raw: Obj, resources: list[Obj]) -> list[Obj]:
    """``{resource, action}`` for each action the server offers on each of ``resources``."""
    name = str(raw["metadata"]["name"])
    rows = []
    for res in resources:
        params = {**target(res), **apps.params_of(raw)}
        path = f"/api/v1/applications/{name}/resource/actions"
        try:
            body = await apps.call("GET", path, params=params)
        except errors.KubeNotFoundError:
            continue
        resource = {"group": params["group"], "kind": params["kind"],
                    "namespace": params["namespace"], "name": params["resourceName"]}  # fmt: skip
        rows += [{"resource": resource, "action": a} for a in body.get("actions") or []]
    return rows


def _key_params(apps: app_remote.RemoteApps, raw: Obj, key: ResourceKey, version: str) -> Obj:
    return {"namespace": key.namespace, "resourceName": key.name, "kind": key.kind,
            "group": key.group, "version": version, **apps.params_of(raw)}  # fmt: skip


async def patch(
    apps: app_remote.RemoteApps, raw: Obj, key: ResourceKey, version: str, body: Obj
) -> None:
    """Merge-patch one resource of the app ``raw``."""
    params = {**_key_params(apps, raw, key, version), "patchType": "application/merge-patch+json"}
    path = f"/api/v1/applications/{raw['metadata']['name']}/resource"
    await apps.call("POST", path, params=params, body=json.dumps(body))


async def delete(
    apps: app_remote.RemoteApps, raw: Obj, key: ResourceKey, version: str, *, force: bool,
    orphan: bool,
) -> None:  # fmt: skip
    """Delete one resource of the app ``raw`` (``orphan``: its dependents stay)."""
    params = {**_key_params(apps, raw, key, version), "force": str(force).lower(),
              "orphan": str(orphan).lower()}  # fmt: skip
    path = f"/api/v1/applications/{raw['metadata']['name']}/resource"
    await apps.call("DELETE", path, params=params)
