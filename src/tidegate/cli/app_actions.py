"""``tidegate app actions list|run``: built-in and argocd-cm resource actions on an app's
resources. Logged in (``tidegate login``, no ``--core``) both go through the API server
(:mod:`.app_resources_remote`, :mod:`.app_actions_remote`); directly, the CLI reads the
Application, argocd-cm and the live objects itself.

Resources are the ones the app's status lists, narrowed by ``--kind``, ``--group``,
``--resource-name`` and ``--resource-namespace`` (argocd's ``--namespace``; in Tidegate ``-n``
is the control namespace, as in every ``app`` command). ``run`` acts on exactly one resource
(or every match with ``--all``) and changes the cluster as Argo CD's server does: a ``patch``
result is sent as the JSON merge patch from the live object to the script's object, a
``create`` result is created. Exit codes: 0 ok, 1 failure (no such resource or action, a
script error, the API refused), 2 usage error.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidegate.cli import app_common, app_namespace, app_remote, kubeopts, output

actions = typer.Typer(
    name="actions", help="List and run resource actions (as 'argocd app actions').",
    no_args_is_help=True,
)  # fmt: skip

Obj = dict[str, Any]

Kind = Annotated[str | None, typer.Option("--kind", help="Resource kind.")]
Group = Annotated[str | None, typer.Option("--group", help="Resource API group.")]
ResourceName = Annotated[str | None, typer.Option("--resource-name", help="Resource name.")]
ResourceNamespace = Annotated[
    str | None, typer.Option("--resource-namespace", help="Resource namespace.")
]


def _matching(app: Obj, kind: str | None, group: str | None, name: str | None,
              namespace: str | None) -> list[Obj]:  # fmt: skip
    found = []
    for res in (app.get("status") or {}).get("resources") or []:
        if kind is not None and res.get("kind") != kind:
            continue
        if group is not None and (res.get("group") or "") != group:
            continue
        if name is not None and res.get("name") != name:
            continue
        if namespace is not None and (res.get("namespace") or "") != namespace:
            continue
        found.append(res)
    return found


async def _with_live(
    app_name: str, control: str, kubeconfig: str | None, context: str | None,
    filters: tuple[str | None, str | None, str | None, str | None], act: Any,
) -> Any:  # fmt: skip
    from tidegate.cli import app_access, app_compare, appspec
    from tidegate.controller import resource_actions
    from tidegate.model.keys import ResourceKey

    ns, name = appspec.split_name(app_name, control)
    # The control namespace holds argocd-cm's actions and the cluster Secrets; the app may be
    # in another namespace (NS/NAME, -N).
    async with app_access.connect(kubeconfig, context, control) as apps:
        raw = await apps.get(name, namespace=ns)
        registry = await resource_actions.registry(apps.client, apps.namespace)
        resources = _matching(raw, *filters)
        async with app_compare.open_context(apps, raw, cache_dir=None) as ctx:
            live: list[resource_actions.Live] = []
            for res in resources:
                key = ResourceKey(res.get("group") or "", res["kind"], res.get("namespace") or "",
                                  res["name"])  # fmt: skip
                obj = await ctx.client.get_or_none(key, version=res.get("version") or None)
                if obj is not None:
                    live.append(resource_actions.Live(key, str(res.get("version") or ""), obj))
            return await act(registry, ctx.client, live)


async def over_server(
    app_name: str, control: str, kubeconfig: str | None, context: str | None, core: bool,
    filters: tuple[str | None, str | None, str | None, str | None], act: Any,
) -> tuple[bool, Any]:  # fmt: skip
    """``(True, act(apps, raw, resources))`` through the API server when logged in (the app
    read in its namespace, its matching ``status.resources``); ``(False, None)``: direct."""
    from tidegate.cli import appspec, remote

    ns, name = appspec.split_name(app_name, control)
    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as srv:
        if srv is None:
            return False, None
        apps = app_remote.RemoteApps(srv.http, srv.session, control)
        raw = await apps.get(name, namespace=ns)
        return True, await act(apps, raw, _matching(raw, *filters))


@actions.command("list")
def list_(
    name: str = app_common.NAME_ARGUMENT,
    kind: Kind = None,
    group: Group = None,
    resource_name: ResourceName = None,
    resource_namespace: ResourceNamespace = None,
    fmt: Annotated[
        output.Format,
        typer.Option("--output", "-o", "--out", help="table, wide, json or yaml (argocd: --out)."),
    ] = output.Format.table,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """List the actions offered for the app's resources (built-in and argocd-cm's); logged
    in, as the API server offers them."""

    async def act(registry: Any, client: Any, live: list[Any]) -> list[Obj]:
        from tidegate.controller import resource_actions

        rows = []
        for item in live:
            key = item.key
            for action in resource_actions.offered(registry, item.obj):
                resource = {"group": key.group, "kind": key.kind, "namespace": key.namespace,
                            "name": key.name}  # fmt: skip
                rows.append({"resource": resource, "action": action})
        return rows

    async def go() -> list[Obj]:
        from tidegate.cli import app_resources_remote

        remote, rows = await over_server(name, namespace, kubeconfig, context, core, filters,
                                         app_resources_remote.action_rows)  # fmt: skip
        if remote:
            return list(rows)
        return list(await _with_live(name, namespace, kubeconfig, context, filters, act))

    filters = (kind, group, resource_name, resource_namespace)
    rows = app_common.run(go())
    if fmt in (output.Format.json, output.Format.yaml):
        output.dump(rows, fmt)
        return
    output.table(
        ["group", "kind", "name", "action", "disabled"],
        [
            [r["resource"]["group"], r["resource"]["kind"], r["resource"]["name"],
             r["action"]["name"], str(r["action"]["disabled"]).lower()]
            for r in rows
        ],
    )  # fmt: skip


@actions.command("run")
def run(
    name: str = app_common.NAME_ARGUMENT,
    action: str = typer.Argument(..., help="Action name."),
    kind: Kind = None,
    group: Group = None,
    resource_name: ResourceName = None,
    resource_namespace: ResourceNamespace = None,
    all_: Annotated[bool, typer.Option("--all", help="Run on every matching resource.")] = False,
    parameters: Annotated[
        list[str] | None,
        typer.Option(
            "--resource-action-parameters",
            help="An action parameter NAME=VALUE (repeatable).",
        ),
    ] = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """Run an action on the app's matching resource (exactly one unless --all); prints
    KIND/NAME patched|unchanged|created. Logged in, through the API server (its RBAC
    applications, action/<group>/<kind>/<action>, and its audit log), one call per resource;
    --core: directly, every script run before the first change."""
    params = {}
    for item in parameters or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise output.fail(f"--resource-action-parameters {item!r}: expected NAME=VALUE", 2)
        params[key] = value
    if kind is None:
        raise output.fail("--kind is required", 2)

    async def act(registry: Any, client: Any, live: list[Any]) -> list[str]:
        from tidegate.cli import app_actions_remote
        from tidegate.controller import resource_actions

        found = [f"{i.key.namespace}/{i.key.name}" if i.key.namespace else i.key.name
                 for i in live]  # fmt: skip
        app_actions_remote.check_selection(found, kind=str(kind), app=name, all_=all_)
        # Every script runs before anything changes: one failure changes nothing.
        planned = resource_actions.plan(registry, live, action, params)
        return await resource_actions.apply(client, planned)

    async def act_remote(apps: Any, raw: Any, resources: list[Obj]) -> None:
        from tidegate.cli import app_actions_remote

        await app_actions_remote.run(apps, raw, resources, app=name, kind=str(kind),
                                     action=action, params=params, all_=all_,
                                     echo=app_common.echo)  # fmt: skip

    async def go() -> list[str]:
        remote, _ = await over_server(name, namespace, kubeconfig, context, core, filters,
                                      act_remote)  # fmt: skip
        if remote:
            return []  # printed as each call returned
        return list(await _with_live(name, namespace, kubeconfig, context, filters, act))

    filters = (kind, group, resource_name, resource_namespace)
    for line in app_common.run(go()):
        app_common.echo(line)


# argocd's -N/--app-namespace on both verbs (cli/app_namespace.py).
app_namespace.install(actions, ("list", "run"))
