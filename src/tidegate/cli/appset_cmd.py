"""``tidegate appset create|get|list|delete``: ApplicationSets on the management cluster.

Objects live in the control namespace (``--namespace``, ``TIDEGATE_NAMESPACE``, else ``argocd``)
of the cluster the kubeconfig names, exactly as ``kubectl`` would find them. Exit codes: 0 ok,
1 failure (not found, refused, cluster unreachable), 2 usage error (bad flags, unreadable or
invalid file).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import typer

from tidegate.cli import appset_access, appset_flags, appset_generate, kubeopts, output, remote
from tidegate.model import constants

app = typer.Typer(
    name="appset",
    help="Create, inspect and delete ApplicationSets (generators of Applications).",
    no_args_is_help=True,
)


class Target(NamedTuple):
    """Where a command works: the management cluster's flags and the mode (``--core``)."""

    kubeconfig: str | None
    context: str | None
    namespace: str
    core: bool


def _sets(
    target: Target,
) -> contextlib.AbstractAsyncContextManager[appset_access.AppSets | appset_access.RemoteAppSets]:
    return appset_access.connect(
        target.kubeconfig, target.context, target.namespace, core=target.core
    )


def _load(path: Path, namespace: str) -> list[dict[str, Any]]:
    """The ApplicationSets of a YAML/JSON file (one or more documents), validated."""
    import yaml

    from tidegate.model import appset as appset_model
    from tidegate.model import errors

    try:
        text = _stdin() if str(path) == "-" else path.read_text()
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except OSError as exc:
        raise output.fail(f"cannot read {path}: {exc.strerror}", 2) from None
    except yaml.YAMLError as exc:
        raise output.fail(f"{path}: not valid YAML: {exc}", 2) from None
    if not docs:
        raise output.fail(f"{path}: no ApplicationSet in the file", 2)
    out = []
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict) or doc.get("kind") != constants.KIND_APPLICATION_SET:
            kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
            raise output.fail(
                f"{path}: document {index}: expected an ApplicationSet, got {kind}", 2
            )
        meta = dict(doc.get("metadata") or {})
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise output.fail(
                f"{path}: ApplicationSet {meta.get('name')!r} is in namespace "
                f"{meta['namespace']!r}, not the control namespace {namespace!r}",
                2,
            )
        meta["namespace"] = namespace
        doc = {**doc, "metadata": meta}
        try:
            appset_model.parse_applicationset(doc)
        except errors.SpecError as exc:
            raise output.fail(f"{path}: {exc}", 2) from None
        out.append(doc)
    return out


def _stdin() -> str:
    import sys

    return sys.stdin.read()


async def _create(
    target: Target, docs: Sequence[dict[str, Any]], *, upsert: bool, dry_run: bool, wait: bool
) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, action, the set as stored afterwards, or the manifest for a dry run)."""
    results: list[tuple[str, str, dict[str, Any]]] = []
    async with _sets(target) as sets:
        for doc in docs:
            name = str(doc["metadata"].get("name"))
            current = await sets.get_or_none(name)
            done = appset_flags.action(current, doc, upsert=upsert)  # raises before any write
            if dry_run:
                results.append((name, done, doc))
                continue
            if done == "created":
                await sets.create(doc)
            elif done == "updated":
                await sets.upsert(doc)
            results.append((name, done, await sets.get_or_none(name) or doc))
        if wait and not dry_run:
            ready = await appset_flags.wait_up_to_date(sets, [n for n, _, _ in results])
            results = [(n, a, r) for (n, a, _), r in zip(results, ready, strict=True)]
    return results


@app.command("create")
def create(
    file: Path = typer.Option(
        ..., "--file", "-f", help="ApplicationSet manifest (YAML/JSON; '-' reads stdin)."
    ),
    upsert: bool = typer.Option(
        False, "--upsert", help="Update the set if it exists with a different spec."
    ),
    dry_run: bool = appset_flags.DRY_RUN,
    wait: bool = appset_flags.CREATE_WAIT,
    fmt: output.Format = typer.Option(
        output.Format.wide, "--output", "-o", help="wide (one line per set), json or yaml."
    ),
    appset_namespace: str | None = appset_flags.APPSET_NAMESPACE,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Create ApplicationSets from a file in the control namespace of the management cluster.

    A set that exists with the same spec is left 'unchanged'; with a different spec the command
    fails unless --upsert is given. --dry-run writes nothing and shows the Applications the set
    would generate; --wait returns once each set's resources are up to date.
    """
    namespace = appset_flags.namespace(namespace, appset_namespace)
    docs = _load(file, namespace)
    target = Target(kubeconfig, context, namespace, core=core)
    results = kubeopts.run(_create(target, docs, upsert=upsert, dry_run=dry_run, wait=wait))
    previews: list[list[dict[str, Any]]] = []
    if dry_run:
        previews = [
            kubeopts.run(
                appset_generate._generate(
                    [doc],
                    kubeconfig=kubeconfig,
                    context=context,
                    namespace=namespace,
                    cache_dir=None,
                    core=core,
                )
            )
            for _, _, doc in results
        ]
    if fmt in (output.Format.json, output.Format.yaml):
        shown = [
            appset_flags.with_preview(obj, previews[i]) if dry_run else obj
            for i, (_, _, obj) in enumerate(results)
        ]
        for obj in shown:
            obj.get("metadata", {}).pop("managedFields", None)
        output.dump(shown[0] if len(shown) == 1 else shown, fmt)
        return
    for i, (name, action, _) in enumerate(results):
        typer.echo(
            f"applicationset.argoproj.io/{name} {action}" + (" (dry run)" if dry_run else "")
        )
        if dry_run:
            from tidegate.cli import app_show

            app_show.print_list(previews[i], wide=False)


async def _get(target: Target, name: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    async with _sets(target) as sets:
        appset = await sets.get_or_none(name)
        if appset is None:
            return None, []
        return appset, await sets.generated(name)


def _condition(appset: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for cond in (appset.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def app_rows(
    appset: Mapping[str, Any], apps: Sequence[Mapping[str, Any]], *, wide: bool
) -> list[list[str]]:
    """One row per generated Application: NAME CLUSTER SYNC HEALTH STEP ROLLOUT STATUS [...]."""
    steps = {
        str(e.get("application")): e
        for e in (appset.get("status") or {}).get("applicationStatus") or []
    }
    rows = []
    for app in sorted(apps, key=lambda a: str(a["metadata"]["name"])):
        name = str(app["metadata"]["name"])
        dest = (app.get("spec") or {}).get("destination") or {}
        app_status = app.get("status") or {}
        entry = steps.get(name) or {}
        row = [
            name,
            str(dest.get("name") or dest.get("server") or ""),
            str((app_status.get("sync") or {}).get("status") or "Unknown"),
            str((app_status.get("health") or {}).get("status") or "Unknown"),
            str(entry.get("step") or ""),
            str(entry.get("status") or ""),
        ]
        if wide:
            revision = str((app_status.get("sync") or {}).get("revision") or "")[:12]
            deleting = "deleting" if app["metadata"].get("deletionTimestamp") else ""
            row += [
                str(dest.get("namespace") or ""),
                revision,
                deleting or str(entry.get("message") or ""),
            ]
        rows.append(row)
    return rows


@app.command("get")
def get(
    name: str = typer.Argument(..., help="ApplicationSet name."),
    show_params: bool = appset_flags.SHOW_PARAMS,
    appset_namespace: str | None = appset_flags.APPSET_NAMESPACE,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
    fmt: output.Format = output.OUTPUT_OPTION,
) -> None:
    """Show an ApplicationSet: its conditions and the Applications it generated.

    Exit code 1 when the set does not exist or reports ErrorOccurred=True.
    """
    namespace = appset_flags.namespace(namespace, appset_namespace)
    target = Target(kubeconfig, context, namespace, core=core)
    appset, apps = kubeopts.run(_get(target, name))
    if appset is None:
        raise output.fail(f"ApplicationSet {name!r} not found in namespace {namespace!r}")
    if fmt in (output.Format.json, output.Format.yaml):
        appset.get("metadata", {}).pop("managedFields", None)
        output.dump(appset, fmt)
    else:
        strategy = ((appset.get("spec") or {}).get("strategy") or {}).get("type") or "AllAtOnce"
        typer.echo(f"Name:        {namespace}/{name}")
        typer.echo(f"Strategy:    {strategy}")
        rollout = _condition(appset, "RolloutProgressing")
        if rollout:
            typer.echo(f"Rollout:     {rollout.get('message', '')}")
        typer.echo("")
        conditions = (appset.get("status") or {}).get("conditions") or []
        output.table(
            ["condition", "status", "reason", "message", "last transition"],
            [
                [
                    c.get("type"),
                    c.get("status"),
                    c.get("reason"),
                    c.get("message"),
                    c.get("lastTransitionTime"),
                ]
                for c in conditions
            ],
        )
        typer.echo("")
        headers = ["name", "cluster", "sync", "health", "step", "rollout status"]
        if fmt is output.Format.wide:
            headers += ["namespace", "revision", "message"]
        output.table(headers, app_rows(appset, apps, wide=fmt is output.Format.wide))
        if show_params:
            appset_flags.print_params(appset)
    if _condition(appset, "ErrorOccurred").get("status") == "True":
        raise typer.Exit(1)


async def _list(target: Target, selector: str | None = None) -> list[dict[str, Any]]:
    async with _sets(target) as sets:
        return await sets.list_all(selector=selector)


def set_row(appset: Mapping[str, Any], *, wide: bool) -> list[str]:
    meta = appset.get("metadata") or {}
    status = appset.get("status") or {}
    error = _condition(appset, "ErrorOccurred")
    up_to_date = _condition(appset, "ResourcesUpToDate")
    rollout = _condition(appset, "RolloutProgressing")
    if error.get("status") == "True":
        state = "Error"
    elif up_to_date.get("status") == "True":
        state = "UpToDate"
    else:
        state = "Unknown" if not status else "Pending"
    row = [
        str(meta.get("name")),
        str(status.get("resourcesCount", len(status.get("resources") or []))),
        state,
        ("Progressing" if rollout.get("status") == "True" else "Complete") if rollout else "",
    ]
    if wide:
        strategy = ((appset.get("spec") or {}).get("strategy") or {}).get("type") or "AllAtOnce"
        row += [strategy, str(error.get("message") or "") if error.get("status") == "True" else ""]
    return row


@app.command("list")
def list_(
    project: list[str] | None = typer.Option(
        None, "--project", "-p", help="Only sets whose template uses this project (repeat)."
    ),
    selector: str | None = typer.Option(
        None, "--selector", "-l", help="Label selector (k=v,k2!=v2)."
    ),
    appset_namespace: str | None = appset_flags.APPSET_NAMESPACE,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
    fmt: output.Format = output.OUTPUT_OPTION,
) -> None:
    """List the ApplicationSets of the control namespace (-p: of these projects, -l: with
    these labels)."""
    namespace = appset_flags.namespace(namespace, appset_namespace)
    target = Target(kubeconfig, context, namespace, core=core)
    sets = sorted(kubeopts.run(_list(target, selector)), key=lambda s: str(s["metadata"]["name"]))
    if project:
        sets = [s for s in sets if appset_flags.template_project(s) in project]
    if fmt in (output.Format.json, output.Format.yaml):
        for appset in sets:
            appset.get("metadata", {}).pop("managedFields", None)
        output.dump(sets, fmt)
        return
    headers = ["name", "apps", "status", "rollout"]
    if fmt is output.Format.wide:
        headers += ["strategy", "error"]
    output.table(headers, [set_row(s, wide=fmt is output.Format.wide) for s in sets])


async def _delete(target: Target, name: str, *, wait: bool = False) -> bool:
    async with _sets(target) as sets:
        deleted = await sets.delete(name)
        if deleted and wait:
            await appset_flags.wait_gone(sets, [name])
        return deleted


@app.command("delete")
def delete(
    name: str = typer.Argument(..., help="ApplicationSet name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    wait: bool = appset_flags.DELETE_WAIT,
    appset_namespace: str | None = appset_flags.APPSET_NAMESPACE,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Delete an ApplicationSet and, by garbage collection, its Applications.

    Unless the set preserves resources on deletion, the Application controller prunes each
    Application's resources before the Application goes away.
    """
    namespace = appset_flags.namespace(namespace, appset_namespace)
    target = Target(kubeconfig, context, namespace, core=core)
    if not yes and not typer.confirm(
        f"Delete ApplicationSet {name!r} and the Applications it generated?", default=False
    ):
        raise output.fail("not confirmed; nothing deleted")
    if not kubeopts.run(_delete(target, name, wait=wait)):
        raise output.fail(f"ApplicationSet {name!r} not found in namespace {namespace!r}")
    typer.echo(f"applicationset.argoproj.io/{name} deleted")


app.command("generate")(appset_generate.generate)
