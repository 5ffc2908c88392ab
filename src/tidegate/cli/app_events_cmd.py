"""``tidegate app events NAME``: the Kubernetes Events about an Application.

The controller writes them (docs/observability.md): ``OperationStarted`` with the actor,
``OperationCompleted``, ``ResourceUpdated`` for sync and health status changes. The table is
``kubectl get events``'s: LAST SEEN, TYPE, REASON, MESSAGE (and COUNT, SOURCE with -o wide).
Logged in, they come from the API server (``GET /api/v1/applications/{name}/events``, with
``appNamespace`` for an app of another namespace); ``--core`` reads the app's namespace directly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tidegate.cli import app_common, app_remote, kubeopts, output


def _age(stamp: str, now: dt.datetime) -> str:
    try:
        then = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def rows(items: list[dict[str, Any]], *, wide: bool, now: dt.datetime) -> list[list[str]]:
    out = []
    for event in items:
        row = [
            _age(str(event.get("lastTimestamp") or event.get("eventTime") or ""), now),
            str(event.get("type") or ""),
            str(event.get("reason") or ""),
            str(event.get("message") or ""),
        ]
        if wide:
            source = (event.get("source") or {}).get("component") or ""
            row += [str(event.get("count") or 1), str(source)]
        out.append(row)
    return out


def events(
    name: str = app_common.NAME_ARGUMENT,
    fmt: output.Format = output.OUTPUT_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """List the events of an application (oldest first), as kubectl get events shows them."""
    from tidegate.cli import appspec

    async def go() -> list[dict[str, Any]]:
        from tidegate.kube import events as kube_events

        ns, app_name = appspec.split_name(name, namespace)
        async with app_remote.connect(kubeconfig, context, ns, core=core) as apps:
            if isinstance(apps, app_remote.RemoteApps):
                path = f"/api/v1/applications/{app_name}/events"
                body = await apps.call("GET", path, params=apps.app_params())
                return kube_events.newest_last(list(body.get("items") or []))
            await apps.get(app_name)  # a missing app is an error, not an empty list
            return list(await apps.events(app_name))

    items = app_common.run(go())
    if fmt in (output.Format.yaml, output.Format.json):
        output.dump(items, fmt)
        return
    wide = fmt is output.Format.wide
    headers = ["LAST SEEN", "TYPE", "REASON", "MESSAGE"] + (["COUNT", "SOURCE"] if wide else [])
    output.table(headers, rows(items, wide=wide, now=dt.datetime.now(dt.UTC)))
