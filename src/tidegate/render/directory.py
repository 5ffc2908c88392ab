"""The Directory renderer: ``.yaml``/``.yml``/``.json`` manifests and ``.jsonnet`` programs
under the source path.

Blocking (file reads, parsing, the Jsonnet worker): the caller runs it in a worker thread. Files
are visited in lexical, depth-first order and their objects keep that order; ``exclude`` wins
over ``include``; other file types are ignored, unless ``disableExtensionFilter`` is set (as
argocd's): then ``include``/``exclude`` alone select, and a selected file of another extension
(``secret.yaml.sealed``) is read as YAML, skipped when it is not YAML or holds no object with
``apiVersion`` and ``kind`` (a README, a licence).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tidegate.model import errors, globs
from tidegate.render import jsonnet, manifests, paths, request

_YAML_SUFFIXES = (".yaml", ".yml")


def read_bounded(
    root: Path, file: Path, *, limits: request.RenderLimits, budget: manifests.ByteBudget
) -> str:
    """The text of ``file``, refusing it above the per-file limit or the render's budget."""
    where = paths.display(root, file)
    try:
        size = file.stat().st_size
        if size > limits.max_file_bytes:
            raise errors.ManifestError(
                f"{where}: file is {size} bytes, over the limit of {limits.max_file_bytes}"
            )
        with file.open("rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise errors.RenderError(f"{where}: cannot read: {exc.strerror}") from exc
    if len(data) > limits.max_file_bytes:
        raise errors.ManifestError(f"{where}: file is over the limit of {limits.max_file_bytes}")
    budget.take(len(data), where)
    return manifests.decode(data, where=where)


def render_directory(
    root: Path,
    app_dir: Path,
    *,
    options: request.DirectoryOptions,
    limits: request.RenderLimits,
    budget: manifests.ByteBudget,
) -> list[dict[str, Any]]:
    """All objects of the manifest files under ``app_dir`` (``root`` resolved, ``app_dir``
    inside it)."""
    selected: list[tuple[Path, bool]] = []  # (file, is Jsonnet), in walk order
    for walked in paths.walk_files(root, app_dir, recurse=options.recurse):
        name = walked.path.name
        is_jsonnet = name.endswith(".jsonnet")
        known = is_jsonnet or name.endswith(".json") or name.endswith(_YAML_SUFFIXES)
        if not known and not options.disable_extension_filter:
            continue
        if options.exclude and globs.matches(options.exclude, walked.relative):
            continue
        if options.include and not globs.matches(options.include, walked.relative):
            continue
        selected.append((walked.path, is_jsonnet))
    programs = [file for file, is_jsonnet in selected if is_jsonnet]
    evaluated = dict(jsonnet.evaluate(root, programs, options=options.jsonnet, limits=limits))
    objects: list[dict[str, Any]] = []
    for file, is_jsonnet in selected:
        where = paths.display(root, file)
        if is_jsonnet:
            text = evaluated[file]
            budget.take(len(text), where)
            objects.extend(manifests.parse_json(text, where=where))
            continue
        text = read_bounded(root, file, limits=limits, budget=budget)
        if file.name.endswith(".json"):
            objects.extend(manifests.parse_json(text, where=where))
        elif not file.name.endswith(_YAML_SUFFIXES):  # selected only without the filter
            objects.extend(_manifest_like(text, where=where, limits=limits))
        else:
            objects.extend(
                manifests.parse_yaml(
                    text, where=where, max_alias_expansion=limits.max_alias_expansion
                )
            )
    return objects


def _manifest_like(text: str, *, where: str, limits: request.RenderLimits) -> list[dict[str, Any]]:
    """The objects of a file of another extension: none when it is not YAML or holds no
    Kubernetes object (argocd skips such files when the extension filter is off)."""
    try:
        found = manifests.parse_yaml(
            text, where=where, max_alias_expansion=limits.max_alias_expansion
        )
    except errors.ManifestError:
        return []
    return [o for o in found if o.get("apiVersion") and o.get("kind")]
