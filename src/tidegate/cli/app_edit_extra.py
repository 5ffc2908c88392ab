"""The Typer options of argocd's ``--kustomize-*``, ``--directory-include/-exclude``,
``--ignore-missing-components`` and ``--sync-retry-*`` flags (``app create`` and ``app set``)
and their conversion to :mod:`tidegate.cli.appspec_extra`'s flag records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from tidegate.cli import appspec_extra

StrList = list[str] | None


def _bool(flag: str, help_text: str) -> Any:
    return typer.Option(f"--{flag}/--no-{flag}", help=help_text)


CommonLabel = Annotated[
    StrList, typer.Option("--kustomize-common-label", help="Kustomize common label K=V (repeat).")
]
CommonAnnotation = Annotated[
    StrList,
    typer.Option("--kustomize-common-annotation", help="Kustomize common annotation K=V (repeat)."),
]
ForceCommonLabel = Annotated[
    bool | None, _bool("kustomize-force-common-label", "Override existing common labels.")
]
ForceCommonAnnotation = Annotated[
    bool | None, _bool("kustomize-force-common-annotation", "Override existing annotations.")
]
LabelWithoutSelector = Annotated[
    bool | None, _bool("kustomize-label-without-selector", "Common labels not on selectors.")
]
LabelIncludeTemplates = Annotated[
    bool | None, _bool("kustomize-label-include-templates", "Common labels on pod templates too.")
]
KustomizeNamespace = Annotated[
    str | None, typer.Option("--kustomize-namespace", help="Kustomize namespace.")
]
Replica = Annotated[
    StrList, typer.Option("--kustomize-replica", help="Kustomize replicas NAME=COUNT (repeat).")
]
KubeVersion = Annotated[
    str | None, typer.Option("--kustomize-kube-version", help="Kube version for Capabilities.")
]
ApiVersions = Annotated[
    StrList, typer.Option("--kustomize-api-versions", help="API versions (repeat).")
]
IgnoreMissingComponents = Annotated[
    bool | None, _bool("ignore-missing-components", "Kustomize: skip missing components.")
]
DirectoryInclude = Annotated[
    str | None, typer.Option("--directory-include", help="Directory: glob of files to include.")
]
DirectoryExclude = Annotated[
    str | None, typer.Option("--directory-exclude", help="Directory: glob of files to exclude.")
]
DirectoryDisableExtensionFilter = Annotated[
    bool | None,
    _bool(
        "directory-disable-extension-filter",
        "Directory: also files of other extensions (*.yaml.sealed); include/exclude select.",
    ),
]
RetryLimit = Annotated[
    int | None,
    typer.Option("--sync-retry-limit", help="Retries of a failed sync (0 removes, <0 unlimited)."),
]
RetryDuration = Annotated[
    str | None,
    typer.Option("--sync-retry-backoff-duration", help="First backoff (default 5s)."),
]
RetryMaxDuration = Annotated[
    str | None,
    typer.Option("--sync-retry-backoff-max-duration", help="Longest backoff (default 3m0s)."),
]
RetryFactor = Annotated[
    int | None, typer.Option("--sync-retry-backoff-factor", help="Backoff factor (default 2).")
]
RetryRefresh = Annotated[
    bool | None, _bool("sync-retry-refresh", "Retry with the latest revision after a commit.")
]


def _given(values: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None}


def source_extras(**values: Any) -> appspec_extra.SourceExtras | None:
    from tidegate.cli import appspec_extra

    flags = appspec_extra.SourceExtras(**_given(values))
    return flags if flags.given() else None


def retry_flags(**values: Any) -> appspec_extra.RetryFlags | None:
    from tidegate.cli import appspec_extra

    flags = appspec_extra.RetryFlags(**_given(values))
    return flags if flags.given() else None
