"""``tidegate appset create|get|list|delete``: ApplicationSets on the management cluster.

Objects live in the control namespace (``--namespace``, ``TIDEGATE_NAMESPACE``, else ``argocd``)
of the cluster the kubeconfig names, exactly as ``kubectl`` would find them. Exit codes: 0 ok,
1 failure (not found, refused, cluster unreachable), 2 usage error (bad flags, unreadable or
invalid file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tidegate.cli import appset_generate, kubeopts, output
from tidegate.model import constants

if TYPE_CHECKING:
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config

app = typer.Typer(
    name="appset",
    help="Create, inspect and delete ApplicationSets (generators of Applications).",
    no_args_is_help=True,
)


def _config(kubeconfig: str | None, context: str | None) -> kube_config.ClusterConfig:
    from tidegate.model import errors

    try:
        return kubeopts.cluster_config(kubeconfig, context)
    except errors.ConfigError as exc:  # exit 1, as in every command (kubectl's code)
        raise output.fail(str(exc)) from None


def _key(namespace: str, name: str) -> Any:
    from tidegate.model.keys import ResourceKey

    return ResourceKey(constants.GROUP, constants.KIND_APPLICATION_SET, namespace, name)


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
    cfg: kube_config.ClusterConfig, docs: Sequence[dict[str, Any]], *, upsert: bool
) -> list[tuple[str, str]]:
    from tidegate.kube import client as kube_client
    from tidegate.model import errors

    results: list[tuple[str, str]] = []
    async with kube_client.client_for(cfg) as client:
        for doc in docs:
            name = str(doc["metadata"].get("name"))
            current = await client.get_or_none(_key(doc["metadata"]["namespace"], name))
            if current is None:
                await client.create(doc)
                results.append((name, "created"))
            elif current.get("spec") == doc.get("spec") and _same_meta(current, doc):
                results.append((name, "unchanged"))
            elif not upsert:
                raise errors.TidegateError(
                    f"ApplicationSet {name!r} already exists with a different spec; "
                    "use --upsert to update it"
                )
            else:
                await client.apply(doc, force=True)
                results.append((name, "updated"))
    return results


def _same_meta(current: Mapping[str, Any], doc: Mapping[str, Any]) -> bool:
    old, new = current.get("metadata") or {}, doc.get("metadata") or {}
    return all(
        (old.get(k) or {}).items() >= (new.get(k) or {}).items() for k in ("labels", "annotations")
    )


@app.command("create")
def create(
    file: Path = typer.Option(
        ..., "--file", "-f", help="ApplicationSet manifest (YAML/JSON; '-' reads stdin)."
    ),
    upsert: bool = typer.Option(
        False, "--upsert", help="Update the set if it exists with a different spec."
    ),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Create ApplicationSets from a file in the control namespace of the management cluster.

    A set that exists with the same spec is left 'unchanged'; with a different spec the command
    fails unless --upsert is given.
    """
    docs = _load(file, namespace)
    cfg = _config(kubeconfig, context)
    for name, action in kubeopts.run(_create(cfg, docs, upsert=upsert)):
        typer.echo(f"applicationset.argoproj.io/{name} {action}")


async def _fetch_sets(client: kube_client.KubeClient, namespace: str) -> list[dict[str, Any]]:
    res = await client.resource(constants.GROUP, constants.KIND_APPLICATION_SET)
    return (await client.list(res, namespace=namespace)).items


async def _fetch_apps(client: kube_client.KubeClient, namespace: str) -> list[dict[str, Any]]:
    res = await client.resource(constants.GROUP, constants.KIND_APPLICATION)
    return (await client.list(res, namespace=namespace)).items


async def _get(
    cfg: kube_config.ClusterConfig, namespace: str, name: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    from tidegate.appset import policy
    from tidegate.kube import client as kube_client

    async with kube_client.client_for(cfg) as client:
        appset = await client.get_or_none(_key(namespace, name))
        if appset is None:
            return None, []
        apps = [
            a for a in await _fetch_apps(client, namespace) if policy.controller_owner(a) == name
        ]
    return appset, apps


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
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    fmt: output.Format = output.OUTPUT_OPTION,
) -> None:
    """Show an ApplicationSet: its conditions and the Applications it generated.

    Exit code 1 when the set does not exist or reports ErrorOccurred=True.
    """
    cfg = _config(kubeconfig, context)
    appset, apps = kubeopts.run(_get(cfg, namespace, name))
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
    if _condition(appset, "ErrorOccurred").get("status") == "True":
        raise typer.Exit(1)


async def _list(cfg: kube_config.ClusterConfig, namespace: str) -> list[dict[str, Any]]:
    from tidegate.kube import client as kube_client

    async with kube_client.client_for(cfg) as client:
        return await _fetch_sets(client, namespace)


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
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    fmt: output.Format = output.OUTPUT_OPTION,
) -> None:
    """List the ApplicationSets of the control namespace."""
    cfg = _config(kubeconfig, context)
    sets = sorted(kubeopts.run(_list(cfg, namespace)), key=lambda s: str(s["metadata"]["name"]))
    if fmt in (output.Format.json, output.Format.yaml):
        for appset in sets:
            appset.get("metadata", {}).pop("managedFields", None)
        output.dump(sets, fmt)
        return
    headers = ["name", "apps", "status", "rollout"]
    if fmt is output.Format.wide:
        headers += ["strategy", "error"]
    output.table(headers, [set_row(s, wide=fmt is output.Format.wide) for s in sets])


async def _delete(cfg: kube_config.ClusterConfig, namespace: str, name: str) -> bool:
    from tidegate.kube import client as kube_client

    async with kube_client.client_for(cfg) as client:
        return await client.delete(_key(namespace, name), propagation="Background")


@app.command("delete")
def delete(
    name: str = typer.Argument(..., help="ApplicationSet name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Delete an ApplicationSet and, by garbage collection, its Applications.

    Unless the set preserves resources on deletion, the Application controller prunes each
    Application's resources before the Application goes away.
    """
    cfg = _config(kubeconfig, context)
    if not yes and not typer.confirm(
        f"Delete ApplicationSet {name!r} and the Applications it generated?", default=False
    ):
        raise output.fail("not confirmed; nothing deleted")
    if not kubeopts.run(_delete(cfg, namespace, name)):
        raise output.fail(f"ApplicationSet {name!r} not found in namespace {namespace!r}")
    typer.echo(f"applicationset.argoproj.io/{name} deleted")


app.command("generate")(appset_generate.generate)
