"""``tidegate app resources NAME [--orphaned|--no-orphaned] [-o table|wide|json|yaml]``: the
app's resources as ``argocd app resources`` lists them, ``GROUP KIND NAMESPACE NAME ORPHANED``
(``-o wide`` adds ``STATUS HEALTH``).

The managed ones are ``status.resources`` (``ORPHANED No``); the orphaned ones (``Yes``) are the
objects of the app's destination namespace that no app tracks, by the rules of the project's
``orphanedResources`` (its ignore list; nothing when the project does not monitor them, as in
argocd, and stderr says so). They are read on demand from the destination
(:mod:`tidegate.controller.orphan_scan`). As argocd: without the flag both are listed,
``--orphaned`` lists only the orphaned ones, ``--no-orphaned`` (argocd's ``--orphaned=false``,
as ``proj set --no-orphaned-resources``) only the managed ones.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidegate.cli import app_common, app_remote, kubeopts, output

Orphaned = Annotated[
    bool | None,
    typer.Option(
        "--orphaned/--no-orphaned",
        help="Only the orphaned resources (--no-orphaned, argocd's --orphaned=false: only the"
        " managed ones; default both).",
    ),
]


async def _orphans(apps: Any, raw: dict[str, Any]) -> list[dict[str, Any]]:
    from tidegate.controller import local_compare, orphan_scan, orphans
    from tidegate.model import application as model_app
    from tidegate.model import project as model_project

    app = model_app.parse_application(raw)
    project = await apps.project(app.spec.project_name)
    if not orphans.monitored(model_project.parse_project(project) if project else None):
        typer.echo(_UNMONITORED.format(project=app.spec.project_name), err=True)
        return []  # argocd's tree has no orphaned nodes then; the destination is not read
    listed = await apps.list_apps(all_namespaces=True)
    async with local_compare.destination(apps, raw) as (_, client):
        found = await orphan_scan.for_app(
            client, app, project=project, apps=listed, control_namespace=apps.namespace,
            installation_id=await local_compare.installation_id(apps),
        )  # fmt: skip
    for skipped in found.skipped:
        typer.echo(f"warning: not listed: {skipped}", err=True)
    return [{"group": k.group, "kind": k.kind, "namespace": k.namespace, "name": k.name,
             "orphaned": True} for k in found.orphans]  # fmt: skip


async def _orphans_through_server(
    apps: app_remote.RemoteApps, raw: dict[str, Any]
) -> list[dict[str, Any]]:
    """The server's resource tree's ``orphanedNodes`` (absent: the project does not monitor)."""
    meta = raw["metadata"]
    tree = await apps.call(
        "GET", f"/api/v1/applications/{meta['name']}/resource-tree", params=apps.params_of(raw)
    )
    if "orphanedNodes" not in tree:
        project = (raw.get("spec") or {}).get("project") or "default"
        typer.echo(_UNMONITORED.format(project=project), err=True)
        return []
    return [{"group": n.get("group") or "", "kind": n.get("kind") or "",
             "namespace": n.get("namespace") or "", "name": n.get("name") or "",
             "orphaned": True} for n in tree["orphanedNodes"]]  # fmt: skip


_UNMONITORED = (
    "note: project '{project}' does not monitor orphaned resources"
    " (tidegate proj set --orphaned-resources): none are listed"
)


def resources(
    name: str = app_common.NAME_ARGUMENT,
    orphaned: Orphaned = None,
    fmt: output.Format = output.OUTPUT_OPTION,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """List an Application's resources, managed and orphaned (argocd app resources); through
    the API server when logged in (the resource tree's orphanedNodes), else directly."""
    from tidegate.cli import appspec

    only = orphaned

    async def go() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        ns, app_name = appspec.split_name(name, namespace)
        # The control namespace holds projects and Secrets; the app may be in another one.
        async with app_remote.connect(kubeconfig, context, namespace, core=core) as apps:
            raw = await apps.get(app_name, namespace=ns)
            if only is False:
                return raw, []
            if isinstance(apps, app_remote.RemoteApps):
                return raw, await _orphans_through_server(apps, raw)
            return raw, await _orphans(apps, raw)

    raw, found_orphans = app_common.run(go())
    managed = [] if only else list((raw.get("status") or {}).get("resources") or [])
    if fmt in (output.Format.json, output.Format.yaml):
        output.dump([*managed, *found_orphans], fmt)
        return
    wide = fmt is output.Format.wide
    headers = ["group", "kind", "namespace", "name", "orphaned"]
    rows = []
    for res in managed:
        row = [res.get("group") or "", res.get("kind") or "", res.get("namespace") or "",
               res.get("name") or "", "No"]  # fmt: skip
        if wide:
            row += [res.get("status") or "", (res.get("health") or {}).get("status") or ""]
        rows.append(row)
    for res in found_orphans:
        row = [res["group"], res["kind"], res["namespace"], res["name"], "Yes"]
        rows.append([*row, "", ""] if wide else row)
    output.table([*headers, "status", "health"] if wide else headers, rows)
