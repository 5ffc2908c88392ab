"""``tidegate app actions run`` through the API server (logged in, no ``--core``).

The app's matching resources (its ``status.resources``, filtered as the direct mode filters
them) are looked up with ``GET .../resource/actions``: one the cluster no longer has is skipped,
as directly, and the rest must offer the action, enabled, before anything runs (the same
refusal, worded by :func:`tidegate.lua.actions.check_offered`). Then one call per resource:
``POST /api/v1/applications/{name}/resource/actions`` (the resource in the query, the action
name as the body), or ``.../actions/v2`` (everything in the body) when parameters are given;
``appNamespace`` names an app outside the server's namespace. The server checks RBAC
(``applications, action/<group>/<kind>/<action>``), the project and the script, records the
call in its audit log, and says what changed in the ``Tidegate-Action-Result`` header (an Argo
CD server does not: nothing is printed then, as argocd prints nothing).

The server runs one resource per call, so with ``--all`` a failure can come after others were
changed: the error then says which were changed and which were not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidegate.cli import app_remote, app_resources_remote
from tidegate.model import constants, errors

Obj = dict[str, Any]


def where(res: Mapping[str, Any]) -> str:
    """``NAMESPACE/NAME`` of a ``status.resources`` entry (``NAME`` when cluster-scoped)."""
    ns, name = res.get("namespace") or "", res.get("name") or ""
    return f"{ns}/{name}" if ns else str(name)


def describe(res: Mapping[str, Any]) -> str:
    """``KIND NAMESPACE/NAME``: how action refusals name the object."""
    return f"{res.get('kind') or '?'} {where(res)}"


def check_selection(found: Sequence[str], *, kind: str, app: str, all_: bool) -> None:
    """Refuse when nothing matched, or several did without ``--all`` (``found``: their
    ``NAMESPACE/NAME``). The same wording in both modes. Pure."""
    if not found:
        raise errors.ConfigError(f"no {kind} of application {app} matches")
    if len(found) > 1 and not all_:
        raise errors.ConfigError(
            f"{len(found)} resources match ({', '.join(found)}): "
            "narrow with --resource-name or use --all"
        )


def failure(
    app: str, action: str, res: Mapping[str, Any], message: str, *,
    changed: Sequence[str], unchanged: Sequence[str],
) -> str:  # fmt: skip
    """The error for a call the server refused: the app, the resource and the action, the
    server's reason, and (several resources) which were changed before it and which not."""
    name = app.rpartition("/")[2]
    message = message.removeprefix(f"application {name}: ")
    text = f"application {app}: action {action!r} on {res.get('group') or ''}/{res.get('kind')}"
    text += f" {where(res)}: {message}"
    if changed or unchanged:
        text += f" (changed: {', '.join(changed) or 'none'};"
        text += f" not changed: {', '.join(unchanged) or 'none'})"
    return text


def request(
    app: str, res: Mapping[str, Any], action: str, params: Mapping[str, str],
    app_params: Mapping[str, str],
) -> tuple[str, Obj, Any]:  # fmt: skip
    """``(path, query, body)`` of the call running ``action`` on ``res``. Pure."""
    path = f"/api/v1/applications/{app}/resource/actions"
    query = {**app_resources_remote.target(res), **app_params}
    if not params:
        return path, query, action  # the deprecated form: the body is the action name
    body: Obj = {"name": app, **query, "action": action}
    body["resourceActionParameters"] = [{"name": k, "value": v} for k, v in params.items()]
    return path + "/v2", {}, body


def changes(headers: Mapping[str, str]) -> list[str]:
    """The ``KIND/NAME patched|unchanged|created`` lines the server's header lists."""
    value = headers.get(constants.HEADER_ACTION_RESULT) or ""
    return [line.strip() for line in value.split(",") if line.strip()]


async def run(
    apps: app_remote.RemoteApps, raw: Obj, resources: list[Obj], *, app: str, kind: str,
    action: str, params: Mapping[str, str], all_: bool, echo: Callable[[str], None],
) -> None:  # fmt: skip
    """Run ``action`` on the live ones of ``resources`` (of the app ``raw``, named ``app`` by
    the user), echoing what changed as each call returns."""
    from tidegate.lua import actions as lua_actions

    name = str(raw["metadata"]["name"])
    app_params = apps.params_of(raw)
    live: list[tuple[Obj, dict[str, bool]]] = []
    for res in resources:
        query = {**app_resources_remote.target(res), **app_params}
        path = f"/api/v1/applications/{name}/resource/actions"
        try:
            body = await apps.call("GET", path, params=query)
        except errors.KubeNotFoundError:
            continue  # listed in the status, gone from the cluster
        offered = {str(a.get("name")): bool(a.get("disabled")) for a in body.get("actions") or []}
        live.append((res, offered))
    check_selection([where(res) for res, _ in live], kind=kind, app=app, all_=all_)
    for res, offered in live:  # every refusal the list can tell, before anything changes
        lua_actions.check_offered(describe(res), action, offered)
    done: list[str] = []
    for index, (res, _) in enumerate(live):
        path, query, body = request(name, res, action, params, app_params)
        try:
            resp = await apps.send("POST", path, params=query, body=body)
        except errors.TidegateError as exc:
            several = len(live) > 1
            rest = [where(r) for r, _ in live[index:]] if several else []
            raise errors.ConfigError(
                failure(app, action, res, str(exc), changed=done, unchanged=rest)
            ) from None
        for line in changes(resp.headers):
            echo(line)
        done.append(where(res))
