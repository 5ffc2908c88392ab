"""The Kustomize renderer: ``kustomize build`` (or ``kubectl kustomize``) on the source path.

The tree is shared and read-only, so options are never written into it. Without options the
build runs in place. With options, a *shadow tree* is made in a temp dir: the directories on the
way from the root to the source path are real, their other entries are symlinks to the
original, the source directory itself is copied with hard links (falling back to copies), and
its kustomization file is replaced by the edited one. Relative references (``../base``) resolve
exactly as before, and kustomize's default load restrictor keeps working: files are read from
inside the kustomization root, other kustomization directories from anywhere in the repository.

Before building, the graph of local ``resources``/``bases``/``components`` is walked: an entry
that is absolute or resolves outside the repository is refused (kustomize itself only restricts
files, not directories). Remote entries (URLs) are left to kustomize.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tidegate.model import errors
from tidegate.render import directory, kustomize_edit, manifests, paths, process, request, tools

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_REFERENCE_FIELDS = ("resources", "bases", "components")


def find_kustomization(app_dir: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = app_dir / name
        if candidate.is_file():
            return candidate
    return None


def _load_kustomization(root: Path, file: Path, *, limits: request.RenderLimits) -> dict[str, Any]:
    where = paths.display(root, file)
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


def _is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith("git@")


def check_references(root: Path, app_dir: Path, *, limits: request.RenderLimits) -> None:
    """Refuse local kustomization references that leave the repository (whole graph)."""
    seen: set[Path] = set()
    pending = [app_dir]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        file = find_kustomization(current)
        if file is None:
            continue
        doc = _load_kustomization(root, file, limits=limits)
        where = paths.display(root, file)
        for field in _REFERENCE_FIELDS:
            entries = doc.get(field) or []
            if not isinstance(entries, list):
                raise errors.ManifestError(f"{where}: {field} must be a list")
            for entry in entries:
                if not isinstance(entry, str) or _is_remote(entry):
                    continue
                target = paths.resolve_inside(
                    root, entry, base=current, what=f"{where}: {field} entry"
                )
                if target.is_dir():
                    pending.append(target)


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def build_shadow(root: Path, app_dir: Path, into: Path) -> Path:
    """A tree under ``into`` that reads like ``root`` but owns a private copy of ``app_dir``.
    Returns the copy of ``app_dir``."""
    source, target = root, into
    for part in app_dir.relative_to(root).parts:
        with os.scandir(source) as scan:
            for entry in scan:
                if entry.name != part:
                    os.symlink(entry.path, target / entry.name)
        source, target = source / part, target / part
        target.mkdir()
    shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy, dirs_exist_ok=True)
    return target


def _write_kustomization(app_copy: Path, original: Path, doc: dict[str, Any]) -> None:
    edited = app_copy / original.name
    edited.unlink()  # a hard link to the shared tree: replace it, never write through it
    edited.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _prepare(
    root: Path,
    app_dir: Path,
    temp: Path,
    *,
    options: request.KustomizeOptions,
    limits: request.RenderLimits,
) -> tuple[Path, dict[str, str]]:
    """Check the source and, with options, build the shadow tree. Returns the directory to
    build and the path replacements for error messages."""
    kustomization = find_kustomization(app_dir)
    if kustomization is None:
        raise errors.RenderError(
            f"{paths.display(root, app_dir)}: no kustomization file in the source path"
        )
    check_references(root, app_dir, limits=limits)
    for component in options.components:
        paths.resolve_inside(root, component, base=app_dir, what="kustomize component")
    if options.is_empty():
        return app_dir, {str(root): "<repo>"}
    shadow = temp / "tree"
    shadow.mkdir()
    target = build_shadow(root, app_dir, shadow)
    doc = _load_kustomization(root, kustomization, limits=limits)
    _write_kustomization(target, kustomization, kustomize_edit.edit_kustomization(doc, options))
    return target, {str(shadow): "<repo>", str(root): "<repo>"}


async def render_kustomize(
    root: Path,
    app_dir: Path,
    *,
    options: request.KustomizeOptions,
    limits: request.RenderLimits,
    budget: manifests.ByteBudget,
    found: tools.Tools,
) -> list[dict[str, Any]]:
    build = found.require_kustomize()
    where = f"kustomize build {paths.display(root, app_dir)}"
    with tempfile.TemporaryDirectory(prefix="tidegate-kustomize-") as temp:
        target, replacements = await asyncio.to_thread(
            _prepare, root, app_dir, Path(temp), options=options, limits=limits
        )
        output = await process.run(
            [*build, str(target)],
            what=where,
            time_limit=limits.timeout_seconds,
            max_stdout=limits.max_total_bytes - budget.used,
            max_stderr=limits.max_stderr_bytes,
            cwd=Path(temp),
            replacements=replacements,
        )
    budget.take(len(output), where)
    return await asyncio.to_thread(
        manifests.parse_yaml,
        manifests.decode(output, where=where),
        where=where,
        max_alias_expansion=limits.max_alias_expansion,
    )
