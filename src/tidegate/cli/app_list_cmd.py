"""``tidegate app list``: the Applications of the control namespace (``-N``: of another one,
``-A``: of all), directly from the management cluster or through a logged-in API server
(:mod:`app_remote`), with argocd's filters. Its own module so that ``app list``, the most
frequent verb, imports nothing of the other verbs (issue 19's start-up target, docs/cli.md).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidegate.cli import app_common, app_remote, kubeopts, output


def list_(
    fmt: output.Format = output.OUTPUT_OPTION,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Label selector (k=v,k2!=v2).")
    ] = None,
    project: Annotated[
        list[str] | None, typer.Option("--project", "-p", help="Only these projects.")
    ] = None,
    repo: Annotated[
        str | None, typer.Option("--repo", "-r", help="Only apps with a source from this repo.")
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", "-c", help="Only apps whose destination is this server or name."),
    ] = None,
    path: Annotated[
        str | None, typer.Option("--path", help="Only apps with a source at this path.")
    ] = None,
    app_namespace: Annotated[
        str | None,
        typer.Option("--app-namespace", "-N", help="Only apps in this namespace (argocd's -N)."),
    ] = None,
    all_namespaces: Annotated[
        bool,
        typer.Option("--all-namespaces", "-A", help="Apps of every namespace (kubectl's -A)."),
    ] = False,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = app_remote.CORE_OPTION,
) -> None:
    """List applications of the control namespace (-N: of another one, -A: of all; argocd's
    filters -l, -p, -r, -c, --path)."""

    async def go() -> list[dict[str, Any]]:
        ns = app_namespace or namespace
        async with app_remote.connect(kubeconfig, context, ns, core=core) as apps:
            found: list[dict[str, Any]] = await apps.list_apps(
                selector=selector, all_namespaces=all_namespaces
            )
            return found

    from tidegate.cli import app_show

    found = app_common.run(go())
    if app_namespace:  # a server answers with every namespace it serves
        found = [a for a in found if (a.get("metadata") or {}).get("namespace") == app_namespace]
    if project:
        found = [a for a in found if (a.get("spec") or {}).get("project", "default") in project]
    if repo or cluster or path:
        found = [a for a in found if _matches(a, repo=repo, cluster=cluster, path=path)]
    found.sort(key=app_show.qualified_name)
    if fmt in (output.Format.yaml, output.Format.json):
        output.dump([app_show.without_managed_fields(a) for a in found], fmt)
    else:
        app_show.print_list(found, wide=fmt is output.Format.wide)


def _matches(app: dict[str, Any], *, repo: str | None, cluster: str | None,
             path: str | None) -> bool:  # fmt: skip
    """argocd's ``app list`` filters: a source's repo URL / path, the destination's server or
    name."""
    from tidegate.cli import app_show

    srcs = app_show.sources(app)
    dest = (app.get("spec") or {}).get("destination") or {}
    return (
        (repo is None or any(s.get("repoURL") == repo for s in srcs))
        and (path is None or any(s.get("path") == path for s in srcs))
        and (cluster is None or cluster in (dest.get("server"), dest.get("name")))
    )
