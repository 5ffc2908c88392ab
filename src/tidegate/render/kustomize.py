"""The Kustomize renderer: ``kustomize build`` (or ``kubectl kustomize``) on the source path.

First the whole kustomization graph is walked and checked (:mod:`render.kustomize_graph`):
local references must stay inside their tree, remote repositories must be permitted and are
fetched by Tidegate, everything else is refused, all before kustomize starts.

The tree is shared and read-only, so nothing is ever written into it. Without options and
without remote references the build runs in place. Otherwise a *shadow tree* is made in a temp
dir per tree that needs an edit: the directories on the way from the root to each kustomization
of the graph are real, their other entries are symlinks to the original, each kustomization
directory is copied with hard links (falling back to copies), and the kustomization files that
change are replaced: the app's options applied, each remote reference rewritten to the relative
path of the fetched tree. Relative references (``../base``) resolve exactly as before, and
kustomize's default load restrictor keeps working.

Kustomize runs with git's every transport disabled (``protocol.allow=never``), so even a
reference the walk did not see cannot make it fetch anything.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tidegate.model import errors
from tidegate.render import (
    kustomize_edit,
    manifests,
    paths,
    process,
    references,
    remotes,
    request,
    tools,
)
from tidegate.render import kustomize_graph as graph_mod

KUSTOMIZATION_FILES = graph_mod.KUSTOMIZATION_FILES
find_kustomization = graph_mod.find_kustomization

# Git as kustomize may run it: no configuration of the machine, no transport at all.
_NO_GIT = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "protocol.allow",
    "GIT_CONFIG_VALUE_0": "never",
    "GIT_ALLOW_PROTOCOL": "none",
    "GIT_TERMINAL_PROMPT": "0",
}


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def build_shadow(root: Path, owned: Iterable[Path], into: Path) -> None:
    """A tree at ``into`` that reads like ``root`` but owns private copies of the ``owned``
    directories (and real directories on the way to them); the rest are symlinks."""
    owned_parts = {path.relative_to(root).parts for path in owned}
    into.mkdir()

    def fill(source: Path, target: Path, parts: tuple[str, ...]) -> None:
        if parts in owned_parts:
            shutil.copytree(
                source, target, symlinks=True, copy_function=_link_or_copy, dirs_exist_ok=True
            )
            return
        depth = len(parts)
        below = {o[depth] for o in owned_parts if len(o) > depth and o[:depth] == parts}
        with os.scandir(source) as scan:
            for entry in scan:
                if entry.name in below:
                    (target / entry.name).mkdir()
                    fill(Path(entry.path), target / entry.name, (*parts, entry.name))
                else:
                    os.symlink(entry.path, target / entry.name)

    fill(root, into, ())


def _write_kustomization(file: Path, doc: dict[str, Any]) -> None:
    file.unlink()  # a hard link to the shared tree: replace it, never write through it
    file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _shadow(
    graph: graph_mod.Graph,
    app_dir: Path,
    temp: Path,
    *,
    options: request.KustomizeOptions,
) -> tuple[Path, dict[str, str]]:
    """Lay out every tree of the graph under ``temp`` and write the changed kustomizations.
    Returns the directory to build and the path replacements for messages."""
    temp = temp.resolve()  # kustomize reports paths with symlinks resolved
    edited = {v.tree for v in graph.visits if v.remote} | {0}
    for visit in graph.visits:
        if graph.has_remote() and visit.tree in edited and visit.via_symlink:
            where = paths.display(graph.roots[visit.tree], visit.file)
            raise errors.ReferenceRefusedError(
                f"{graph.labels[visit.tree]}{where}: reached through a symlinked directory, "
                "which is not supported with remote references or kustomize options"
            )

    def place(tree: int, path: Path) -> Path:
        return temp / f"t{tree}" / path.relative_to(graph.roots[tree])

    replacements: dict[str, str] = {}
    for index, root in enumerate(graph.roots):
        shown = "<repo>" if index == 0 else f"<{graph.labels[index].rstrip(':')}>"
        replacements[str(temp / f"t{index}")] = shown
        replacements[str(root)] = shown
        if index in edited:
            owned = [v.directory for v in graph.visits if v.tree == index]
            build_shadow(root, owned, temp / f"t{index}")
        else:
            os.symlink(root, temp / f"t{index}")
    for visit in graph.visits:
        is_app = visit.tree == 0 and visit.directory == app_dir
        if not visit.remote and not (is_app and not options.is_empty()):
            continue
        doc = copy.deepcopy(visit.doc)
        here = place(visit.tree, visit.directory)
        for (field, pos), (tree, target) in visit.remote.items():
            doc[field][pos] = os.path.relpath(place(tree, target), here)
        if is_app and not options.is_empty():
            doc = kustomize_edit.edit_kustomization(doc, options)
        _write_kustomization(place(visit.tree, visit.file), doc)
    ordered = dict(sorted(replacements.items(), key=lambda item: -len(item[0])))
    return place(0, app_dir), ordered


async def _prepare(
    root: Path,
    app_dir: Path,
    temp: Path,
    *,
    req: request.RenderRequest,
    limits: request.RenderLimits,
    fetcher: remotes.Fetcher,
) -> tuple[Path, dict[str, str]]:
    """Check the whole graph and, when something must change, build the shadow trees."""
    if find_kustomization(app_dir) is None:
        raise errors.RenderError(
            f"{paths.display(root, app_dir)}: no kustomization file in the source path"
        )
    options = req.kustomize
    extra: list[Path] = []
    for index, component in enumerate(options.components):
        what = f"app {req.app_name}: spec.source.kustomize.components[{index}]"
        kind = references.classify_directory(component, what=what)
        if isinstance(kind, references.Remote):
            raise references.refuse(what, component, "remote components are not supported here")
        extra.append(paths.resolve_inside(root, kind, base=app_dir, what="kustomize component"))
    graph = await graph_mod.collect(
        root, app_dir, app=req.app_name, extra=tuple(extra), limits=limits, fetcher=fetcher
    )
    if options.is_empty() and not graph.has_remote():
        return app_dir, {str(root): "<repo>"}
    return await asyncio.to_thread(_shadow, graph, app_dir, temp, options=options)


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return env | _NO_GIT


async def render_kustomize(
    root: Path,
    app_dir: Path,
    *,
    req: request.RenderRequest,
    limits: request.RenderLimits,
    budget: manifests.ByteBudget,
    found: tools.Tools,
    fetcher: remotes.Fetcher,
) -> list[dict[str, Any]]:
    build = found.require_kustomize()
    where = f"kustomize build {paths.display(root, app_dir)}"
    with tempfile.TemporaryDirectory(prefix="tidegate-kustomize-") as temp_name:
        temp = Path(temp_name)
        target, replacements = await _prepare(
            root, app_dir, temp, req=req, limits=limits, fetcher=fetcher
        )
        output = await process.run(
            [*build, str(target)],
            what=where,
            time_limit=limits.timeout_seconds,
            max_stdout=limits.max_total_bytes - budget.used,
            max_stderr=limits.max_stderr_bytes,
            env=_environment(),
            cwd=temp,
            replacements=replacements,
        )
    budget.take(len(output), where)
    return await asyncio.to_thread(
        manifests.parse_yaml,
        manifests.decode(output, where=where),
        where=where,
        max_alias_expansion=limits.max_alias_expansion,
    )
