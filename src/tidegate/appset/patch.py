"""Patches applied to rendered Applications (pure): ``templatePatch`` and JSON pointers.

A mapping patch is merged the way a strategic merge patch treats Application fields (they have
no list merge keys): maps merge recursively, lists and scalars replace, ``null`` deletes. A list
patch is an RFC 6902 JSON patch (``json+patch`` in Argo CD's docs): add, remove, replace, test,
move, copy.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from tidegate.model import errors


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``patch`` merged onto ``target``; ``None`` values delete keys."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_patch(out[key], value)
        elif isinstance(value, Mapping):
            out[key] = merge_patch({}, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def split_pointer(pointer: str) -> list[str]:
    """RFC 6901: ``/a/b~1c`` -> ``["a", "b/c"]``."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise errors.SpecError(f"JSON pointer {pointer!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _parent(doc: Any, parts: list[str], pointer: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise errors.SpecError(f"JSON pointer {pointer!r}: {part!r} does not exist")
    return node


def get_pointer(doc: Any, pointer: str) -> tuple[bool, Any]:
    """(found, value) at ``pointer``."""
    node = doc
    for part in split_pointer(pointer):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _remove(doc: Any, pointer: str) -> Any:
    parts = split_pointer(pointer)
    if not parts:
        raise errors.SpecError("cannot remove the whole document")
    parent, last = _parent(doc, parts, pointer), parts[-1]
    if isinstance(parent, MutableMapping) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise errors.SpecError(f"JSON pointer {pointer!r} does not exist")


def _add(doc: Any, pointer: str, value: Any, *, replace: bool) -> Any:
    parts = split_pointer(pointer)
    if not parts:
        return value
    parent, last = _parent(doc, parts, pointer), parts[-1]
    if isinstance(parent, MutableMapping):
        if replace and last not in parent:
            raise errors.SpecError(f"JSON pointer {pointer!r} does not exist")
        parent[last] = value
    elif isinstance(parent, list):
        index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
        if not 0 <= index <= len(parent) - (1 if replace else 0):
            raise errors.SpecError(f"JSON pointer {pointer!r}: index out of range")
        if replace:
            parent[index] = value
        else:
            parent.insert(index, value)
    else:
        raise errors.SpecError(f"JSON pointer {pointer!r}: parent is not a container")
    return doc


def json_patch(doc: Any, operations: Sequence[Mapping[str, Any]]) -> Any:
    """Apply RFC 6902 operations to a deep copy of ``doc``."""
    doc = copy.deepcopy(doc)
    for index, op in enumerate(operations):
        if not isinstance(op, Mapping):
            raise errors.SpecError(f"JSON patch operation {index} must be an object")
        kind, path = op.get("op"), str(op.get("path", ""))
        if kind in ("add", "replace"):
            doc = _add(doc, path, copy.deepcopy(op.get("value")), replace=kind == "replace")
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "test":
            found, value = get_pointer(doc, path)
            if not found or value != op.get("value"):
                raise errors.SpecError(f"JSON patch test failed at {path!r}")
        elif kind in ("move", "copy"):
            source = str(op.get("from", ""))
            found, value = get_pointer(doc, source)
            if not found:
                raise errors.SpecError(f"JSON patch {kind}: {source!r} does not exist")
            if kind == "move":
                _remove(doc, source)
            doc = _add(doc, path, copy.deepcopy(value), replace=False)
        else:
            raise errors.SpecError(f"JSON patch operation {index}: unknown op {kind!r}")
    return doc
