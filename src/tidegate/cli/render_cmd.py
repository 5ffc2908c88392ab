"""``tidegate render``: print the manifests a source renders to, without any cluster."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from tidegate import render as render_pkg


class RenderOutput(enum.StrEnum):
    yaml = "yaml"
    json = "json"


class Tracking(enum.StrEnum):
    annotation = "annotation"
    label = "label"
    annotation_and_label = "annotation+label"


def _pairs(values: list[str], flag: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=flag)
        pairs.append((name, rest))
    return pairs


def _is_git_dir(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


async def _render_from_git(
    repo: str | None, revision: str, make_request: Any, cache_dir: Path | None, local: Path
) -> render_pkg.RenderResult:
    """Render ``repo`` at ``revision`` (or, with ``repo`` None, the plain directory ``local``).
    Remote bases and value files are fetched through the same cache, without credentials; with
    no project here, any http(s)/ssh repository is permitted (``make_request`` says ``*``)."""
    import contextlib
    import tempfile

    from tidegate import render, sources
    from tidegate.sources import trees

    with contextlib.ExitStack() as stack:
        if cache_dir is None:
            temp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tidegate-")))
            stack.callback(trees.make_writable, temp)  # checkouts are read-only
            cache_dir = temp
        cache = sources.RepoCache(cache_dir, allow_local=True)
        remotes = sources.RemoteRepos(cache, credentials=lambda _url: None)
        if repo is None:
            return await render.render(make_request(local, ""), repos=remotes)
        commit = await cache.resolve(repo, revision)
        tree = await cache.checkout(repo, commit)
        return await render.render(make_request(tree, commit), repos=remotes)


def render(
    repo: Annotated[
        str,
        typer.Option(
            "--repo",
            help="Git repository URL, local git directory, or a plain local directory.",
        ),
    ],
    path: Annotated[str, typer.Option("--path", help="Source path inside the repository.")] = ".",
    revision: Annotated[
        str, typer.Option("--revision", help="Branch, tag or commit (git repositories only).")
    ] = "HEAD",
    app_name: Annotated[
        str, typer.Option("--app-name", help="Application name for tracking metadata.")
    ] = "",
    namespace: Annotated[
        str, typer.Option("--dest-namespace", help="Destination namespace (as in app create).")
    ] = "",
    deprecated_namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace", "-n", hidden=True, help="Deprecated spelling of --dest-namespace."
        ),
    ] = None,
    release_name: Annotated[
        str, typer.Option("--release-name", help="Helm release name (default: app name).")
    ] = "",
    values: Annotated[
        list[str] | None,
        typer.Option("--values", help="Helm value file, relative to the chart (repeatable)."),
    ] = None,
    helm_set: Annotated[
        list[str] | None, typer.Option("--helm-set", help="Helm --set NAME=VALUE (repeatable).")
    ] = None,
    helm_set_string: Annotated[
        list[str] | None,
        typer.Option("--helm-set-string", help="Helm --set-string NAME=VALUE (repeatable)."),
    ] = None,
    skip_crds: Annotated[
        bool, typer.Option("--helm-skip-crds", help="Leave out the chart's CRDs.")
    ] = False,
    kube_version: Annotated[
        str | None, typer.Option("--kube-version", help="Kubernetes version for Helm.")
    ] = None,
    api_versions: Annotated[
        list[str] | None,
        typer.Option("--api-versions", help="API version the cluster serves (repeatable)."),
    ] = None,
    name_prefix: Annotated[
        str, typer.Option("--nameprefix", "--name-prefix", help="Kustomize namePrefix.")
    ] = "",
    name_suffix: Annotated[
        str, typer.Option("--namesuffix", "--name-suffix", help="Kustomize nameSuffix.")
    ] = "",
    kustomize_image: Annotated[
        list[str] | None,
        typer.Option("--kustomize-image", help="Kustomize image override (repeatable)."),
    ] = None,
    kustomize_namespace: Annotated[
        str, typer.Option("--kustomize-namespace", help="Kustomize namespace.")
    ] = "",
    recurse: Annotated[
        bool, typer.Option("--directory-recurse", help="Directory: include subdirectories.")
    ] = False,
    include: Annotated[
        str, typer.Option("--directory-include", help="Directory: glob of files to include.")
    ] = "",
    exclude: Annotated[
        str, typer.Option("--directory-exclude", help="Directory: glob of files to exclude.")
    ] = "",
    tracking: Annotated[
        Tracking, typer.Option("--tracking", help="Tracking metadata (needs --app-name).")
    ] = Tracking.annotation,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Reuse this git cache directory.")
    ] = None,
    output: Annotated[
        RenderOutput, typer.Option("--output", "-o", help="Output format: yaml or json.")
    ] = RenderOutput.yaml,
) -> None:
    """Render a source path (Directory, Kustomize or Helm) and print the manifests.

    Nothing is sent to a cluster. Flags are the source flags of ``tidegate app create``
    (``-n/--namespace`` is the control namespace everywhere else, so here the destination
    namespace is ``--dest-namespace``; ``-n`` is still accepted, with a warning).

    Exit codes: 0 ok, 1 render failed (the error names the file and cause), 2 usage error.
    """
    import asyncio
    import json
    import sys

    import yaml

    from tidegate import render as render_pkg
    from tidegate.cli import output as output_helpers
    from tidegate.model import errors

    if deprecated_namespace is not None:
        typer.echo("warning: render -n/--namespace is deprecated; use --dest-namespace", err=True)
        if namespace and namespace != deprecated_namespace:
            raise output_helpers.fail("--dest-namespace and -n/--namespace disagree", 2)
        namespace = deprecated_namespace
    parameters = tuple(
        render_pkg.HelmParameter(name, value, force_string=force)
        for force, flag, raw in (
            (False, "--helm-set", helm_set),
            (True, "--helm-set-string", helm_set_string),
        )
        for name, value in _pairs(raw or [], flag)
    )

    def make_request(root: Path, commit: str) -> render_pkg.RenderRequest:
        return render_pkg.RenderRequest(
            root=root,
            path=path,
            commit=commit,
            app_name=app_name,
            namespace=namespace,
            directory=render_pkg.DirectoryOptions(recurse, include, exclude),
            kustomize=render_pkg.KustomizeOptions(
                images=tuple(kustomize_image or ()),
                name_prefix=name_prefix,
                name_suffix=name_suffix,
                namespace=kustomize_namespace,
            ),
            helm=render_pkg.HelmOptions(
                release_name=release_name,
                value_files=tuple(values or ()),
                parameters=parameters,
                skip_crds=skip_crds,
            ),
            kube_version=kube_version,
            api_versions=tuple(api_versions or ()),
            tracking=render_pkg.TrackingMethod(tracking.value),
            source_repos=("*",),
        )

    local = Path(repo)
    try:
        if "://" not in repo and local.is_dir() and not _is_git_dir(local):
            if revision != "HEAD":
                raise output_helpers.fail(
                    f"--revision given, but {repo} is not a git repository", 2
                )
            result = asyncio.run(_render_from_git(None, revision, make_request, cache_dir, local))
        else:
            source = str(local.resolve()) if "://" not in repo and local.is_dir() else repo
            result = asyncio.run(_render_from_git(source, revision, make_request, cache_dir, local))
    except errors.TidegateError as exc:
        raise output_helpers.fail(str(exc)) from None
    objects = list(result.objects)
    if output is RenderOutput.json:
        document = {"apiVersion": "v1", "kind": "List", "items": objects}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        text = yaml.dump_all(objects, Dumper=yaml.CSafeDumper, sort_keys=False, explicit_start=True)
        sys.stdout.write(text)
