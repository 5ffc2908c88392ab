"""``tidegate proj``: AppProjects, with the argocd CLI's verbs, flags and meanings.

Projects are objects in the control namespace of the management cluster (``--kubeconfig`` /
``--context`` / ``-n``, as every command). Exit codes: 0 ok (also for argocd's no-ops, such as
adding a source already allowed); 1 refused or not found (unknown project, a destination already
there or missing, a window ID that does not exist, a project still used by applications); 2
usage error (a malformed flag value, an invalid sync window, an unreadable file).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidegate.cli import (
    app_common,
    edit_cmd,
    kubeopts,
    output,
    proj_access,
    proj_edit_cmd,
    proj_role_cmd,
    proj_windows_cmd,
    remote,
)

if TYPE_CHECKING:
    from tidegate.cli import projspec

app = typer.Typer(
    name="proj",
    help="Create, inspect, edit and delete AppProjects (Tidegate's tenancy boundary).",
    no_args_is_help=True,
)

NAME: Any = typer.Argument(..., help="Project name.")
Opt = typer.Option


class ListFormat(enum.StrEnum):
    wide = "wide"
    table = "table"
    name = "name"
    yaml = "yaml"
    json = "json"


# -- create / set ----------------------------------------------------------------------------

Dest = Annotated[
    list[str] | None,
    Opt("--dest", "-d", help="Permitted destination SERVER,NAMESPACE (repeatable)."),
]
Src = Annotated[list[str] | None, Opt("--src", "-s", help="Permitted source repository URL.")]
Description = Annotated[str | None, Opt("--description", help="Project description.")]
SignatureKeys = Annotated[
    list[str] | None,
    Opt("--signature-keys", help="GnuPG key IDs commits must be signed with (comma list)."),
]
SourceNamespaces = Annotated[
    list[str] | None,
    Opt("--source-namespaces", help="Namespaces whose Applications may use it (comma list)."),
]
AllowCluster = Annotated[
    list[str] | None,
    Opt("--allow-cluster-resource", help="Allowed cluster-scoped GROUP/KIND (repeatable)."),
]
DenyCluster = Annotated[
    list[str] | None,
    Opt("--deny-cluster-resource", help="Denied cluster-scoped GROUP/KIND (repeatable)."),
]
AllowNamespaced = Annotated[
    list[str] | None,
    Opt("--allow-namespaced-resource", help="Allowed namespaced GROUP/KIND (repeatable)."),
]
DenyNamespaced = Annotated[
    list[str] | None,
    Opt("--deny-namespaced-resource", help="Denied namespaced GROUP/KIND (repeatable)."),
]
DestServiceAccounts = Annotated[
    list[str] | None,
    Opt("--dest-service-accounts", help="SERVER,NAMESPACE,SERVICE-ACCOUNT (repeatable)."),
]
Orphaned = Annotated[
    bool | None,
    Opt(
        "--orphaned-resources/--no-orphaned-resources",
        help="Monitor orphaned resources (--no-...: stop, argocd's --orphaned-resources=false).",
        show_default=False,
    ),
]
OrphanedWarn = Annotated[
    bool | None,
    Opt(
        "--orphaned-resources-warn/--no-orphaned-resources-warn",
        help="Warn (an app condition) when orphaned resources are found.",
        show_default=False,
    ),
]


def _options(params: Mapping[str, Any]) -> projspec.ProjectOptions:
    """The spec flags among a command's parameters (named as ``ProjectOptions``' fields)."""
    from tidegate.cli import projspec

    fields = {f.name for f in dataclasses.fields(projspec.ProjectOptions)}
    # An empty list means the flag was not given (a list flag cannot be given empty).
    given: dict[str, Any] = {
        k: (v or None) if isinstance(v, list) else v for k, v in params.items() if k in fields
    }
    return projspec.ProjectOptions(**given)


def _load(file: str) -> dict[str, Any]:
    import sys

    from tidegate.cli.appspec import FlagError
    from tidegate.model import errors
    from tidegate.render import manifests

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        docs = manifests.parse_yaml(text, where=file, max_alias_expansion=10_000)
    except OSError as exc:
        raise FlagError("--file", f"cannot read {file}: {exc.strerror}") from None
    except errors.ManifestError as exc:
        raise FlagError("--file", str(exc)) from None
    if len(docs) != 1 or docs[0].get("kind") != "AppProject":
        raise FlagError("--file", f"{file} must hold exactly one AppProject")
    return docs[0]


async def _create(projects: proj_access.Projects, project: dict[str, Any], *, upsert: bool) -> str:
    from tidegate.cli import projspec
    from tidegate.model import errors

    name = projspec.name_of(project)
    existing = await projects.get_or_none(name)
    if existing is None:
        try:
            await projects.create(project)
            return f"project '{name}' created"
        except errors.KubeConflictError:  # created by someone else meanwhile
            existing = await projects.get(name)
    if _same_spec(existing, project):
        return f"project '{name}' unchanged"
    if not upsert:
        raise errors.ConfigError(
            f"project '{name}' already exists in namespace '{projects.namespace}' with a"
            " different spec; use --upsert to overwrite it"
        )
    updated = {**existing, "spec": project.get("spec") or {}}
    await projects.replace(updated)
    return f"project '{name}' updated"


def _same_spec(a: dict[str, Any], b: dict[str, Any]) -> bool:
    from tidegate.model import project as model_project

    def spec(obj: dict[str, Any]) -> Any:
        return model_project.dump_project(model_project.parse_project(obj)).get("spec")

    return bool(spec(a) == spec(b))


@app.command("create")
def create(
    name: Annotated[str | None, typer.Argument(help="Project name (optional with -f).")] = None,
    file: Annotated[
        str | None, Opt("--file", "-f", help="AppProject manifest, '-' for stdin.")
    ] = None,
    upsert: Annotated[
        bool, Opt("--upsert", help="Overwrite a project of the same name with another spec.")
    ] = False,
    dest: Dest = None,
    src: Src = None,
    description: Description = None,
    signature_keys: SignatureKeys = None,
    source_namespaces: SourceNamespaces = None,
    allow_cluster_resource: AllowCluster = None,
    deny_cluster_resource: DenyCluster = None,
    allow_namespaced_resource: AllowNamespaced = None,
    deny_namespaced_resource: DenyNamespaced = None,
    dest_service_accounts: DestServiceAccounts = None,
    orphaned_resources: Orphaned = None,
    orphaned_resources_warn: OrphanedWarn = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Create a project from flags or from -f FILE (flags given with -f override the file).

    Same spec already there: 'unchanged'; another spec: exit 1 unless --upsert.
    """
    from tidegate.cli import projspec

    opts = _options(locals())

    async def go() -> str:
        base = _load(file) if file else None
        project = projspec.new_project(name or "", namespace, opts, base=base)
        projspec.check_model(project)
        projspec.validate(project)
        async with proj_access.connect(kubeconfig, context, namespace, core=core) as projects:
            return await _create(projects, project, upsert=upsert)

    typer.echo(app_common.run(go()))


@app.command("set")
def set_(
    name: str = NAME,
    dest: Dest = None,
    src: Src = None,
    description: Description = None,
    signature_keys: SignatureKeys = None,
    source_namespaces: SourceNamespaces = None,
    allow_cluster_resource: AllowCluster = None,
    deny_cluster_resource: DenyCluster = None,
    allow_namespaced_resource: AllowNamespaced = None,
    deny_namespaced_resource: DenyNamespaced = None,
    dest_service_accounts: DestServiceAccounts = None,
    orphaned_resources: Orphaned = None,
    orphaned_resources_warn: OrphanedWarn = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Replace the fields whose flags are given (the flags of create)."""
    from tidegate.cli import projspec
    from tidegate.cli.appspec import FlagError

    opts = _options(locals())
    if projspec.apply_options({}, opts) == 0:
        raise output.fail(str(FlagError("", "nothing to set: give at least one flag")), 2)

    def change(project: dict[str, Any]) -> projspec.Edit:
        before = dict(projspec.spec_of(project))
        projspec.apply_options(projspec.spec_of(project), opts)
        changed = projspec.spec_of(project) != before
        return projspec.Edit(changed, "updated" if changed else "unchanged")

    proj_access.run_edit(kubeconfig, context, namespace, name, change, core=core)


# -- get / list / delete ---------------------------------------------------------------------


def _shown(project: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (project.get("metadata") or {}).items() if k != "managedFields"}
    return {**project, "metadata": meta}


@app.command("get")
def get(
    name: str = NAME,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
    fmt: output.Format = output.OUTPUT_OPTION,
) -> None:
    """Show a project: argocd's summary, or the object with -o yaml|json."""
    from tidegate.cli import projshow

    async def go() -> tuple[dict[str, Any], list[str], list[str]]:
        async with proj_access.connect(kubeconfig, context, namespace, core=core) as projects:
            project = await projects.get(name)
            if fmt in (output.Format.yaml, output.Format.json):
                return project, [], []
            repos, clusters = await projects.scoped(name)
            return project, repos, clusters

    project, repos, clusters = app_common.run(go())
    if fmt in (output.Format.yaml, output.Format.json):
        output.dump(_shown(project), fmt)
        return
    for line in projshow.summary(project, scoped_repos=repos, scoped_clusters=clusters):
        typer.echo(line)


@app.command("list")
def list_(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
    fmt: Annotated[ListFormat, Opt("--output", "-o", help="Output format.")] = ListFormat.wide,
) -> None:
    """List projects (a table; -o name|yaml|json)."""
    from tidegate.cli import projshow

    async def go() -> list[dict[str, Any]]:
        async with proj_access.connect(kubeconfig, context, namespace, core=core) as projects:
            return await projects.list_all()

    found = app_common.run(go())
    if fmt is ListFormat.name:
        for project in found:
            typer.echo(project["metadata"]["name"])
    elif fmt in (ListFormat.yaml, ListFormat.json):
        output.dump([_shown(p) for p in found], output.Format(fmt.value))
    else:
        output.table(projshow.LIST_HEADERS, [projshow.list_row(p) for p in found])


@app.command("delete")
def delete(
    names: Annotated[list[str], typer.Argument(help="Project name(s).")],
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Delete projects; refused for 'default' and for a project applications still use."""

    async def go() -> list[str]:
        done = []
        async with proj_access.connect(kubeconfig, context, namespace, core=core) as projects:
            for name in names:
                await projects.delete_unused(name)
                done.append(f"project '{name}' deleted")
        return done

    for line in app_common.run(go()):
        typer.echo(line)


proj_edit_cmd.register(app)
app.command("edit")(edit_cmd.proj_edit)
app.add_typer(proj_windows_cmd.app)
app.add_typer(proj_role_cmd.app)
