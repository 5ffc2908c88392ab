"""``tidegate app logs NAME``: the logs of the app's pods, as ``argocd app logs`` prints them (each
line's content; the pods one after the other, or interleaved as they come with ``--follow``).

Pods are those the app's resources own (``--group/--kind/--name/--resource-namespace`` narrow
the resources; argocd's ``--namespace`` is ``--resource-namespace`` here because ``-n`` is the
control namespace in every ``app`` verb, as for ``actions``). Lines go through argocd's
``--filter`` (``!`` negates; case-insensitive unless ``--match-case``) and ``--until-time``. The
selection and the filters are :mod:`tidegate.controller.app_pods`, which the API server's logs
endpoints use too. Logged in, the API server's ``GET /api/v1/applications/{name}/logs``
(``api/app_logs.py``) does the same work and streams the lines. Exit 0; 1 when the app, its
destination or a log cannot be read (the error names the pod); 2 for a bad flag value. No pod
matching: a note on stderr, exit 0.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidegate.cli import app_common, app_remote, kubeopts, output


def logs(
    name: str = app_common.NAME_ARGUMENT,
    group: Annotated[str | None, typer.Option("--group", help="Resource group.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Resource kind.")] = None,
    resource_name: Annotated[str | None, typer.Option("--name", help="Resource name.")] = None,
    resource_namespace: Annotated[
        str | None,
        typer.Option("--resource-namespace", help="Resource namespace (argocd's --namespace)."),
    ] = None,
    container: Annotated[
        str, typer.Option("--container", "-c", help="Container (default: the pod's default).")
    ] = "",
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    tail: Annotated[
        int, typer.Option("--tail", help="Lines from the end of each log (-1: all).")
    ] = -1,
    since_seconds: Annotated[
        int, typer.Option("--since-seconds", min=0, help="Only lines newer than this (0: all).")
    ] = 0,
    until_time: Annotated[
        str | None, typer.Option("--until-time", help="Only lines up to this RFC 3339 time.")
    ] = None,
    filter_: Annotated[
        str, typer.Option("--filter", help="Only lines containing this ('!text': not).")
    ] = "",
    match_case: Annotated[
        bool, typer.Option("--match-case", "-m", help="Case-sensitive --filter.")
    ] = False,
    previous: Annotated[
        bool, typer.Option("--previous", "-p", help="The previous container instance's log.")
    ] = False,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Print the logs of the application's pods (argocd app logs); through the API server when
    logged in (GET /api/v1/applications/{name}/logs), else directly (--core)."""
    from tidegate.cli import appspec
    from tidegate.controller import app_pods
    from tidegate.model import errors

    try:
        until = app_pods.parse_time(until_time) if until_time else None
    except errors.ConfigError as exc:
        raise output.fail(f"--until-time: {exc}", 2) from None
    sel = app_pods.Selector(group, kind, resource_name, resource_namespace)
    query = app_pods.LogQuery(container, follow, None if tail < 0 else tail,
                              since_seconds or None, previous)  # fmt: skip

    def show(stamp: str, content: str) -> bool:
        """Print a kept line; False once past --until-time (the rest of that log is later)."""
        if app_pods.after(stamp, until):
            return False
        if app_pods.keeps(content, filter_, match_case=match_case):
            typer.echo(content)
        return True

    async def one(client: Any, pod: Any) -> None:
        async for stamp, content in app_pods.lines(client, pod, query):
            if not show(stamp, content):
                return

    async def through_server(apps: app_remote.RemoteApps, ns: str, app_name: str) -> None:
        params = {"follow": str(follow).lower(), "previous": str(previous).lower(),
                  "matchCase": str(match_case).lower()}  # fmt: skip
        given = {"container": container, "filter": filter_, "kind": kind, "group": group,
                 "resourceName": resource_name, "namespace": resource_namespace,
                 "untilTime": until_time, "tailLines": None if tail < 0 else str(tail),
                 "sinceSeconds": str(since_seconds) if since_seconds else None}  # fmt: skip
        params.update({k: v for k, v in given.items() if v is not None and v != ""})
        params.update(apps.app_params(ns))
        seen = False
        async for message in apps.stream(f"/api/v1/applications/{app_name}/logs", params):
            entry = message.get("result") or {}
            if entry.get("last"):
                break
            seen = True
            typer.echo(str(entry.get("content") or ""))
        if not seen:
            typer.echo(f"application '{app_name}': no log line (or no pod matches)", err=True)

    async def go() -> None:
        from tidegate.cli import app_access
        from tidegate.controller import local_compare

        ns, app_name = appspec.split_name(name, namespace)
        async with app_remote.connect(kubeconfig, context, namespace, core=core) as apps:
            if isinstance(apps, app_remote.RemoteApps):
                await through_server(apps, ns, app_name)
                return
            assert isinstance(apps, app_access.Apps)
            raw = await apps.get(app_name, namespace=ns)
            wanted = app_pods.selected((raw.get("status") or {}).get("resources") or [], sel)
            async with local_compare.destination(apps, raw) as (_, client):
                pods = await app_pods.pods_of(client, wanted)
                if not pods:
                    typer.echo(f"application '{ns}/{app_name}': no pod matches", err=True)
                    return
                if follow:
                    import asyncio

                    await asyncio.gather(*(one(client, p) for p in pods))
                    return
                for pod in pods:
                    await one(client, pod)

    app_common.run(go())
