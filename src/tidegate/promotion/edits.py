"""Edits promotion steps make to files, on text (pure): Kustomize images and YAML keys.

Both keep the file's comments, order and quoting (ruamel.yaml's round trip), so a promotion's
commit changes only the lines it means to, as a person editing by hand would.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidegate.model import errors


class EditError(errors.TidegateError):
    """A file a promotion step cannot edit as asked."""


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    return y


def _load(text: str, what: str) -> Any:
    try:
        return _yaml().load(text) if text.strip() else CommentedMap()
    except Exception as exc:  # ruamel raises many error types; all mean "not YAML"
        raise EditError(f"{what} is not valid YAML: {exc}") from None


def _dump(doc: Any) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def set_kustomize_images(text: str, images: Sequence[Mapping[str, str]], what: str) -> str:
    """``kustomize edit set image`` on a kustomization: each of ``images`` is ``{image,
    newName?, newTag? | digest?}``; an entry for the same ``name`` is updated, else appended."""
    doc = _load(text, what)
    if not isinstance(doc, dict):
        raise EditError(f"{what} is not a kustomization (not a mapping)")
    entries = doc.get("images")
    if entries is None:
        entries = CommentedSeq()
        doc["images"] = entries
    if not isinstance(entries, list):
        raise EditError(f"{what}: images is not a list")
    for image in images:
        name = image["image"]
        entry = next((e for e in entries if isinstance(e, dict) and e.get("name") == name), None)
        if entry is None:
            entry = CommentedMap()
            entry["name"] = name
            entries.append(entry)
        if image.get("newName"):
            entry["newName"] = image["newName"]
        if image.get("digest"):
            entry.pop("newTag", None)
            entry["digest"] = image["digest"]
        elif image.get("tag"):
            entry.pop("digest", None)
            entry["newTag"] = image["tag"]
    return _dump(doc)


_INDEX = re.compile(r"^(0|[1-9]\d*)$")


def _path(key: str, what: str) -> list[str]:
    # Dots separate keys; a backslash escapes a dot that belongs to a key (`a\.b.c`).
    parts = [p.replace("\0", ".") for p in key.replace("\\.", "\0").split(".")]
    if not key or any(p == "" for p in parts):
        raise EditError(f"{what}: key {key!r} is not a dotted path")
    return parts


def update_yaml(text: str, updates: Sequence[Mapping[str, Any]], what: str) -> str:
    """Set each ``{key: "a.b.0.c", value}``; missing maps are created, list indexes must exist
    (or be the next index, which appends)."""
    doc = _load(text, what)
    for update in updates:
        key = str(update.get("key") or "")
        parts = _path(key, what)
        node = doc
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not _INDEX.match(part):
                    raise EditError(f"{what}: {key!r}: {part!r} is not a list index")
                index = int(part)
                if index > len(node):
                    raise EditError(f"{what}: {key!r}: index {index} is past the list's end")
                if index == len(node):
                    node.append(CommentedMap() if not last else None)
                if last:
                    node[index] = update.get("value")
                else:
                    node = node[index]
            elif isinstance(node, dict):
                if last:
                    node[part] = update.get("value")
                else:
                    if part not in node or node[part] is None:
                        node[part] = CommentedMap()
                    node = node[part]
            else:
                raise EditError(f"{what}: {key!r}: {'.'.join(parts[:i])!r} is not a map or list")
    return _dump(doc)


def _same_repository(a: object, b: object) -> bool:
    return str(a or "").strip().rstrip("/") == str(b or "").strip().rstrip("/")


def update_chart_dependencies(
    text: str, charts: Sequence[Mapping[str, Any]], what: str
) -> tuple[str, list[str]]:
    """Set the ``version`` of each Chart.yaml dependency named by ``charts`` (``{repository,
    name, version}``, as Kargo's ``helm-update-chart`` takes them; a repository matches with or
    without a trailing ``/``). Returns the new text and one ``name: old -> new`` line per
    changed dependency. A chart that is not a dependency of the Chart.yaml is an error."""
    doc = _load(text, what)
    if not isinstance(doc, dict):
        raise EditError(f"{what} is not a Chart.yaml (not a mapping)")
    deps = doc.get("dependencies")
    if deps is not None and not isinstance(deps, list):
        raise EditError(f"{what}: dependencies is not a list")
    changes: list[str] = []
    for chart in charts:
        repo, name = str(chart.get("repository") or ""), str(chart.get("name") or "")
        version = str(chart.get("version") or "")
        if not repo or not name or not version:
            raise EditError(f"{what}: each chart needs repository, name and version: {chart!r}")
        dep = next(
            (
                d
                for d in deps or ()
                if isinstance(d, dict)
                and str(d.get("name") or "") == name
                and _same_repository(d.get("repository"), repo)
            ),
            None,
        )
        if dep is None:
            raise EditError(f"{what}: no dependency {name!r} from repository {repo!r}")
        old = str(dep.get("version") or "")
        if old != version:
            dep["version"] = version
            changes.append(f"{name}: {old or '(none)'} -> {version}")
    return (_dump(doc) if changes else text), changes
