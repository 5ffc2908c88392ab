"""``tidegate app unset`` and ``app remove-source`` (argocd's flags; the edits are
:mod:`tidegate.cli.appspec_unset`'s). Both send a JSON merge patch of ``spec`` carrying the
``resourceVersion`` read, after validating the result; nothing to remove prints
``unchanged``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidegate.cli import app_common, kubeopts

Names = list[str] | None
SourceName = Annotated[
    str | None, typer.Option("--source-name", help="Multi-source: the source of this name.")
]


def _bool(flag: str, help_text: str) -> Any:
    return typer.Option(f"--{flag}", help=help_text)


async def _edit(name: str, namespace: str, kubeconfig: str | None, context: str | None,
                change: Any) -> str:  # fmt: skip
    from tidegate.cli import app_access, appspec

    ns, app_name = appspec.split_name(name, namespace)
    async with app_access.connect(kubeconfig, context, ns) as apps:
        current = await apps.get(app_name)
        spec = change(current.get("spec") or {})
        app_common.validate({**current, "spec": spec})
        patch = appspec.merge_patch(current.get("spec") or {}, spec)
        if not patch:
            return f"application '{app_name}' unchanged"
        version = str((current.get("metadata") or {}).get("resourceVersion") or "")
        await apps.patch(app_name, {"spec": patch}, resource_version=version)
        return f"application '{app_name}' updated"


def unset(
    name: str = app_common.NAME_ARGUMENT,
    nameprefix: Annotated[bool, _bool("nameprefix", "Kustomize namePrefix.")] = False,
    namesuffix: Annotated[bool, _bool("namesuffix", "Kustomize nameSuffix.")] = False,
    kustomize_namespace: Annotated[bool, _bool("kustomize-namespace", "Kustomize ns.")] = False,
    ignore_missing_components: Annotated[
        bool, _bool("ignore-missing-components", "Kustomize ignoreMissingComponents.")
    ] = False,
    kustomize_image: Annotated[
        Names, typer.Option("--kustomize-image", help="Image override, by image name.")
    ] = None,
    kustomize_replica: Annotated[
        Names, typer.Option("--kustomize-replica", help="Replica override, by name.")
    ] = None,
    parameter: Annotated[Names, typer.Option("--parameter", help="Helm parameter name.")] = None,
    values: Annotated[Names, typer.Option("--values", help="Helm value file.")] = None,
    values_literal: Annotated[bool, _bool("values-literal", "Helm literal values.")] = False,
    ignore_missing_value_files: Annotated[
        bool, _bool("ignore-missing-value-files", "Helm ignoreMissingValueFiles.")
    ] = False,
    pass_credentials: Annotated[bool, _bool("pass-credentials", "Helm passCredentials.")] = False,
    plugin_env: Annotated[Names, typer.Option("--plugin-env", help="Plugin env name.")] = None,
    ref: Annotated[bool, _bool("ref", "The source's ref.")] = False,
    source_position: Annotated[
        int | None, typer.Option("--source-position", min=1, help="Multi-source: which source.")
    ] = None,
    source_name: SourceName = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Remove source fields of an Application (argocd app unset)."""
    from tidegate.cli import appspec_unset

    flags = appspec_unset.UnsetFlags(
        nameprefix=nameprefix, namesuffix=namesuffix, kustomize_namespace=kustomize_namespace,
        ignore_missing_components=ignore_missing_components,
        kustomize_images=tuple(kustomize_image or ()),
        kustomize_replicas=tuple(kustomize_replica or ()), parameters=tuple(parameter or ()),
        values=tuple(values or ()), values_literal=values_literal,
        ignore_missing_value_files=ignore_missing_value_files, pass_credentials=pass_credentials,
        plugin_env=tuple(plugin_env or ()), ref=ref,
    )  # fmt: skip
    if not flags.given():
        raise typer.BadParameter("nothing to unset: give at least one flag")

    def change(spec: Any) -> Any:
        from tidegate.cli import appspec_extra

        at = appspec_extra.source_position(spec, position=source_position, name=source_name)
        return appspec_unset.unset(spec, flags, at)

    app_common.echo(app_common.run(_edit(name, namespace, kubeconfig, context, change)))


def remove_source(
    name: str = app_common.NAME_ARGUMENT,
    source_position: Annotated[
        int, typer.Option("--source-position", help="The source to remove (1-based).")
    ] = -1,
    source_name: SourceName = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
) -> None:
    """Remove a source from a multi-source Application (argocd app remove-source)."""
    from tidegate.cli import appspec_unset

    if source_position < 1 and not source_name:
        raise typer.BadParameter("--source-position N (1-based) or --source-name is required")

    def change(spec: Any) -> Any:
        from tidegate.cli import appspec_extra

        at = appspec_extra.source_position(spec, position=source_position, name=source_name)
        return appspec_unset.remove_source(spec, at or source_position)

    app_common.echo(app_common.run(_edit(name, namespace, kubeconfig, context, change)))
