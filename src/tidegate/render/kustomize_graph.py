"""The graph of kustomizations a build would read, walked and checked before kustomize runs.

Starting at the source path, every kustomization reachable through ``resources``, ``bases``,
``components``, ``transformers``, ``generators`` and ``validators`` is read (nested bases and
components, in the repository and in remote repositories alike), and every reference in it is
classified (:mod:`tidegate.render.references`):

- a local directory or file must resolve (symlinks followed) inside the tree it is written in;
- a remote repository is checked against the project's ``sourceRepos`` and Tidegate's own
  directories, then fetched by Tidegate (:mod:`tidegate.render.remotes`) and walked in turn;
- file fields (``patches``, ``patchesStrategicMerge``, ``patchesJson6902``, generators'
  ``files``/``envs``/``env``, ``configurations``, ``crds``, ``openapi``, ``replacements``,
  ``helmCharts`` value files, ``helmGlobals``) take local paths only;
- ``helmCharts`` repositories must be http(s)/oci URLs the project permits, or local paths.

A refused reference raises :class:`ReferenceRefusedError` (or :class:`PathEscapeError`) naming
the app, the file, the field and entry, and the rule. Nothing has run at that point.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tidegate.model import errors
from tidegate.render import directory, manifests, paths, references, remotes, request

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DIRECTORY_FIELDS = ("resources", "bases", "components", "transformers", "generators", "validators")
_LIST_FILE_FIELDS = ("configurations", "crds", "patchesStrategicMerge")
_PATH_ITEM_FIELDS = ("patches", "patchesJson6902", "replacements")
_GENERATOR_FIELDS = ("configMapGenerator", "secretGenerator")


def find_kustomization(app_dir: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = app_dir / name
        if candidate.is_file():
            return candidate
    return None


def load_kustomization(
    root: Path, file: Path, *, limits: request.RenderLimits, where: str
) -> dict[str, Any]:
    budget = manifests.ByteBudget(limits.max_file_bytes)
    text = directory.read_bounded(root, file, limits=limits, budget=budget)
    docs = manifests.load_yaml_documents(
        text, where=where, max_alias_expansion=limits.max_alias_expansion
    )
    doc = docs[0] if docs else None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise errors.ManifestError(f"{where}: a kustomization must be a mapping")
    return doc


@dataclasses.dataclass
class Visit:
    """One kustomization read during the walk."""

    tree: int  # index into Graph.roots
    directory: Path  # resolved
    file: Path
    doc: dict[str, Any]
    via_symlink: bool  # reached through a symlinked directory
    # (field, position) of each remote entry -> (tree index, resolved target directory)
    remote: dict[tuple[str, int], tuple[int, Path]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Graph:
    roots: list[Path]  # [the app's repository, then each remote tree]
    labels: list[str]  # how each tree is named in messages
    visits: list[Visit]

    def has_remote(self) -> bool:
        return any(visit.remote for visit in self.visits)


@dataclasses.dataclass
class _Scan:
    directories: list[tuple[Path, bool]]
    remote: list[tuple[str, int, str, references.Remote]]
    chart_repos: list[tuple[str, str]]  # (what, url)


def _entries(doc: dict[str, Any], field: str, where: str) -> list[Any]:
    value = doc.get(field) or []
    if not isinstance(value, list):
        raise errors.ManifestError(f"{where}: {field} must be a list")
    return value


def _file_entries(doc: dict[str, Any], where: str) -> Iterator[tuple[str, str]]:
    """(label, path) of every file reference in a kustomization (inline patches skipped)."""
    for field in _LIST_FILE_FIELDS:
        for pos, entry in enumerate(_entries(doc, field, where)):
            if isinstance(entry, str) and "\n" not in entry and not entry.lstrip().startswith("{"):
                yield f"{field}[{pos}]", entry
    for field in _PATH_ITEM_FIELDS:
        for pos, item in enumerate(_entries(doc, field, where)):
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield f"{field}[{pos}].path", item["path"]
    for field in _GENERATOR_FIELDS:
        for pos, item in enumerate(_entries(doc, field, where)):
            if not isinstance(item, dict):
                continue
            for key in ("files", "envs"):
                for index, value in enumerate(item.get(key) or []):
                    if isinstance(value, str):
                        yield f"{field}[{pos}].{key}[{index}]", value.rpartition("=")[2]
            if isinstance(item.get("env"), str):
                yield f"{field}[{pos}].env", item["env"]
    openapi = doc.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield "openapi.path", openapi["path"]
    for pos, chart in enumerate(_entries(doc, "helmCharts", where)):
        if not isinstance(chart, dict):
            continue
        if isinstance(chart.get("valuesFile"), str):
            yield f"helmCharts[{pos}].valuesFile", chart["valuesFile"]
        for index, value in enumerate(chart.get("additionalValuesFiles") or []):
            if isinstance(value, str):
                yield f"helmCharts[{pos}].additionalValuesFiles[{index}]", value
    globals_ = doc.get("helmGlobals")
    if isinstance(globals_, dict):
        for key in ("chartHome", "configHome"):
            if isinstance(globals_.get(key), str):
                yield f"helmGlobals.{key}", globals_[key]


def _local(root: Path, base: Path, entry: str, *, what: str) -> tuple[Path, bool]:
    """The resolved target of a local reference (inside ``root``) and whether the way to it
    goes through a symlink (kustomize joins paths lexically, then follows links)."""
    target = paths.resolve_inside(root, entry, base=base, what=what)
    lexical = Path(os.path.normpath(base / entry))
    return target, lexical != target


def scan(root: Path, base: Path, doc: dict[str, Any], *, where: str) -> _Scan:
    """Classify every reference of one kustomization (reads only directory entries)."""
    found = _Scan([], [], [])
    for field in DIRECTORY_FIELDS:
        for pos, entry in enumerate(_entries(doc, field, where)):
            if not isinstance(entry, str) or "\n" in entry:
                continue  # inline transformer/generator configuration
            what = f"{where}: {field}[{pos}]"
            kind = references.classify_directory(entry, what=what)
            if isinstance(kind, references.Remote):
                found.remote.append((field, pos, entry, kind))
                continue
            target, via_symlink = _local(root, base, kind, what=what)
            if target.is_dir():
                found.directories.append((target, via_symlink))
    for label, entry in _file_entries(doc, where):
        what = f"{where}: {label}"
        _local(root, base, references.classify_file(entry, what=what), what=what)
    for pos, chart in enumerate(_entries(doc, "helmCharts", where)):
        if isinstance(chart, dict) and isinstance(chart.get("repo"), str):
            what = f"{where}: helmCharts[{pos}].repo"
            kind, value = references.classify_chart_repository(chart["repo"], what=what)
            if kind == "local":
                _local(root, base, value, what=what)
            elif kind == "remote":
                found.chart_repos.append((what, value))
    return found


async def collect(
    root: Path,
    app_dir: Path,
    *,
    app: str,
    extra: tuple[Path, ...],
    limits: request.RenderLimits,
    fetcher: remotes.Fetcher,
) -> Graph:
    """Walk the kustomizations reachable from ``app_dir`` (and ``extra`` directories, the
    components the app's options add), fetching remote repositories as they are named."""
    graph = Graph([root], [""], [])
    pending: list[tuple[int, Path, bool]] = [(0, app_dir, False)]
    pending += [(0, path, False) for path in extra]
    seen: set[tuple[int, Path]] = set()
    prefix = f"app {app}: " if app else ""
    while pending:
        tree, current, via_symlink = pending.pop(0)
        if (tree, current) in seen:
            continue
        seen.add((tree, current))
        file = find_kustomization(current)
        if file is None:
            continue  # kustomize reports a directory without a kustomization itself
        tree_root = graph.roots[tree]
        where = f"{prefix}{graph.labels[tree]}{paths.display(tree_root, file)}"
        doc = await asyncio.to_thread(
            load_kustomization, tree_root, file, limits=limits, where=where
        )
        found = await asyncio.to_thread(scan, tree_root, current, doc, where=where)
        for what, url in found.chart_repos:
            fetcher.check(url, what=what, entry=url)
        visit = Visit(tree, current, file, doc, via_symlink)
        pending += [(tree, path, link) for path, link in found.directories]
        for field, pos, entry, remote in found.remote:
            what = f"{where}: {field}[{pos}]"
            fetched = await fetcher.fetch(remote, what=what, entry=entry)
            if fetched.root not in graph.roots:
                graph.roots.append(fetched.root)
                graph.labels.append(f"{remote.repo_url}@{fetched.commit[:12]}:")
            index = graph.roots.index(fetched.root)
            target = paths.resolve_inside(
                fetched.root, remote.path or ".", what=f"{what} path {remote.path!r}"
            )
            if not target.is_dir():
                raise references.refuse(
                    what, entry, f"{remote.path!r} is not a directory in {remote.repo_url}"
                )
            visit.remote[(field, pos)] = (index, target)
            pending.append((index, target, False))
        graph.visits.append(visit)
    return graph
