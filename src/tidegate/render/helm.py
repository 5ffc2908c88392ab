"""The Helm renderer: ``helm template`` on a chart directory in the repository.

Command, in Argo CD's order: ``helm template <release> <chart> --namespace <ns>
[--kube-version V] [--values F]... [--values <inline values>] [--set/--set-string]...
[--set-file]... [--api-versions A]... (--include-crds | --skip-crds)
[--skip-schema-validation] [--skip-tests]``. Value files (and ``fileParameters``) are
relative to the chart directory and must stay inside the repository (checked after resolving
symlinks). Inline values (``valuesObject`` wins over ``values``) go through a temp file.
Helm's cache/config/data homes point into a temp dir so a render neither reads nor writes the
user's Helm state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from tidegate.model import errors
from tidegate.render import (
    directory,
    manifests,
    paths,
    process,
    references,
    remotes,
    request,
    tools,
)

_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


def set_value(value: str) -> str:
    """Escape commas in a ``--set`` value (Helm would split on them), keeping ``{a,b}`` lists."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return _UNESCAPED_COMMA.sub(r"\\,", value)


def value_file_paths(
    root: Path,
    chart_dir: Path,
    options: request.HelmOptions,
    ref_roots: tuple[tuple[str, Path], ...] = (),
    fetched: dict[str, Path] | None = None,
) -> list[Path]:
    """The value files to pass, resolved; missing ones skipped if the options allow it.

    ``$<ref>/path`` names a file in the tree of the source with that ``ref`` (multi-source
    apps); it must stay inside that tree, as other value files stay inside the chart's repo.
    URLs are looked up in ``fetched`` (see :func:`fetch_remote_value_files`).
    """
    return _resolve_files(root, chart_dir, options.value_files, options, ref_roots, fetched)


def file_parameter_paths(
    root: Path,
    chart_dir: Path,
    options: request.HelmOptions,
    ref_roots: tuple[tuple[str, Path], ...] = (),
) -> list[tuple[str, Path]]:
    """``fileParameters`` as (name, resolved path), checked as value files are (never
    skipped: a missing file is an error, as in Argo CD; never a URL)."""
    strict = dataclasses.replace(options, ignore_missing_value_files=False)
    names = [name for name, _ in options.file_parameters]
    files = tuple(path for _, path in options.file_parameters)
    found = _resolve_files(root, chart_dir, files, strict, ref_roots, None, what="file")
    return list(zip(names, found, strict=True))


def _resolve_files(
    root: Path,
    chart_dir: Path,
    wanted: tuple[str, ...],
    options: request.HelmOptions,
    ref_roots: tuple[tuple[str, Path], ...],
    fetched: dict[str, Path] | None,
    *,
    what: str = "value file",
) -> list[Path]:
    refs = dict(ref_roots)
    resolved: list[Path] = []
    for value_file in wanted:
        remote = references.classify_value_file(value_file, what=f"Helm {what}")
        if remote is not None:
            if fetched is None or value_file not in fetched:
                raise references.refuse(f"Helm {what}", value_file, remotes.RULE_NO_REMOTES)
            path = fetched[value_file]
        elif value_file.startswith("$"):
            name, _, rest = value_file[1:].partition("/")
            if name not in refs:
                known = ", ".join(sorted(refs)) or "none"
                raise errors.RenderError(
                    f"Helm {what} {value_file!r}: no source has ref {name!r} (refs: {known})"
                )
            ref_root = refs[name].resolve()
            path = paths.resolve_inside(ref_root, rest, what=f"Helm {what} (${name})")
        else:
            path = paths.resolve_inside(root, value_file, base=chart_dir, what=f"Helm {what}")
        if not path.is_file():
            if options.ignore_missing_value_files:
                continue
            where = "its ref source" if value_file.startswith("$") else "the repository"
            where = "its remote repository" if remote is not None else where
            raise errors.RenderError(f"Helm {what} {value_file!r} not found in {where}")
        resolved.append(path)
    return resolved


async def fetch_remote_value_files(
    options: request.HelmOptions, fetcher: remotes.Fetcher, *, where: str
) -> dict[str, Path]:
    """Value files given as repository URLs, fetched (after the project check) -> local path."""
    found: dict[str, Path] = {}
    for value_file in options.value_files:
        what = f"{where}: Helm value file"
        remote = references.classify_value_file(value_file, what=what)
        if remote is None:
            continue
        tree = await fetcher.fetch(remote, what=what, entry=value_file)
        found[value_file] = paths.resolve_inside(
            tree.root, remote.path, what=f"{what} {remote.repo_url} path"
        )
    return found


def check_dependencies(
    root: Path,
    chart_dir: Path,
    fetcher: remotes.Fetcher,
    *,
    where: str,
    limits: request.RenderLimits,
) -> None:
    """Refuse Chart.yaml dependencies (the chart's and its vendored subcharts') whose
    ``repository`` leaves the repository or names a repository the project does not permit."""
    pending = [chart_dir]
    while pending:
        chart = pending.pop()
        file = chart / "Chart.yaml"
        if file.is_file():
            shown = f"{where}{paths.display(root, file)}"
            budget = manifests.ByteBudget(limits.max_file_bytes)
            text = directory.read_bounded(root, file, limits=limits, budget=budget)
            docs = manifests.load_yaml_documents(
                text, where=shown, max_alias_expansion=limits.max_alias_expansion
            )
            doc = docs[0] if docs and isinstance(docs[0], dict) else {}
            for pos, dependency in enumerate(doc.get("dependencies") or []):
                if not isinstance(dependency, dict) or not isinstance(
                    dependency.get("repository"), str
                ):
                    continue
                what = f"{shown}: dependencies[{pos}].repository"
                url = dependency["repository"]
                kind, value = references.classify_chart_repository(url, what=what)
                if kind == "local":
                    paths.resolve_inside(root, value, base=chart, what=what)
                elif kind == "remote":
                    fetcher.check(value, what=what, entry=url)
        subcharts = chart / "charts"
        if subcharts.is_dir() and not subcharts.is_symlink():
            pending += [p for p in sorted(subcharts.iterdir()) if p.is_dir() and not p.is_symlink()]


def template_args(
    *,
    release: str,
    chart_dir: Path,
    namespace: str,
    value_files: list[Path],
    inline_values: Path | None,
    options: request.HelmOptions,
    kube_version: str | None,
    api_versions: tuple[str, ...],
    file_parameters: list[tuple[str, Path]] | None = None,
) -> list[str]:
    args = ["template", release, str(chart_dir)]
    if namespace:
        args += ["--namespace", namespace]
    if kube_version:
        args += ["--kube-version", kube_version]
    for file in value_files:
        args += ["--values", str(file)]
    if inline_values is not None:
        args += ["--values", str(inline_values)]
    for parameter in options.parameters:
        flag = "--set-string" if parameter.force_string else "--set"
        args += [flag, f"{parameter.name}={set_value(parameter.value)}"]
    for name, path in file_parameters or []:
        args += ["--set-file", f"{name}={path}"]
    for api_version in api_versions:
        args += ["--api-versions", api_version]
    args.append("--skip-crds" if options.skip_crds else "--include-crds")
    if options.skip_schema_validation:
        args.append("--skip-schema-validation")
    if options.skip_tests:
        args.append("--skip-tests")
    return args


def _helm_env(temp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{name}_HOME"] = str(temp / name.lower())
    return env


async def render_helm(
    root: Path,
    chart_dir: Path,
    *,
    req: request.RenderRequest,
    limits: request.RenderLimits,
    budget: manifests.ByteBudget,
    found: tools.Tools,
    fetcher: remotes.Fetcher,
) -> list[dict[str, Any]]:
    helm = found.require_helm()
    options = req.helm
    where = f"helm template {paths.display(root, chart_dir)}"
    app = f"app {req.app_name}: " if req.app_name else ""
    await asyncio.to_thread(check_dependencies, root, chart_dir, fetcher, where=app, limits=limits)
    fetched = await fetch_remote_value_files(options, fetcher, where=f"{app}{where}")
    value_files = await asyncio.to_thread(
        value_file_paths, root, chart_dir, options, req.ref_roots, fetched
    )
    file_parameters = await asyncio.to_thread(
        file_parameter_paths, root, chart_dir, options, req.ref_roots
    )
    with tempfile.TemporaryDirectory(prefix="tidegate-helm-") as temp_name:
        temp = Path(temp_name)
        inline = options.values_object_json or options.values
        inline_file = temp / "inline-values.yaml" if inline else None
        if inline_file is not None:
            inline_file.write_text(inline, encoding="utf-8")
        args = template_args(
            release=options.release_name or req.app_name or "release-name",
            chart_dir=chart_dir,
            namespace=options.namespace or req.namespace,
            value_files=value_files,
            inline_values=inline_file,
            options=options,
            kube_version=req.kube_version,
            api_versions=req.api_versions,
            file_parameters=file_parameters,
        )
        output = await process.run(
            [*helm, *args],
            what=where,
            time_limit=limits.timeout_seconds,
            max_stdout=limits.max_total_bytes - budget.used,
            max_stderr=limits.max_stderr_bytes,
            env=_helm_env(temp),
            cwd=temp,
            replacements={str(temp): "<tmp>", str(root): "<repo>"},
        )
    budget.take(len(output), where)
    return await asyncio.to_thread(
        manifests.parse_yaml,
        manifests.decode(output, where=where),
        where=where,
        max_alias_expansion=limits.max_alias_expansion,
    )
