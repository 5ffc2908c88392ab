"""Applying a client's patch to an object: JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7386).

Pure. Used by ``PATCH /api/v1/applications/{name}``: the patch is applied to the Application as
read, and only the parts the server writes (spec, labels, annotations, finalizers) are taken
from the result. A patch that cannot apply raises :class:`PatchError` naming the operation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

MAX_OPERATIONS = 1000


class PatchError(ValueError):
    """A patch that is malformed or does not apply (HTTP 400)."""


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` removes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {str(path)[:80]!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"path {path!r} does not exist")
    return node, parts[-1]


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    node, last = _parent(doc, parts, path)
    if isinstance(node, dict) and last in node:
        return node[last]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node[int(last)]
    raise PatchError(f"path {path!r} does not exist")


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot remove the whole document")
    node, last = _parent(doc, parts, path)
    if isinstance(node, dict) and last in node:
        return node.pop(last)
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node.pop(int(last))
    raise PatchError(f"path {path!r} does not exist")


def _add(doc: Any, path: str, value: Any, *, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    node, last = _parent(doc, parts, path)
    if isinstance(node, dict):
        if replace and last not in node:
            raise PatchError(f"path {path!r} does not exist")
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list):
        if last == "-" and not replace:
            node.append(copy.deepcopy(value))
        elif last.isdigit() and int(last) <= len(node) - (1 if replace else 0):
            if replace:
                node[int(last)] = copy.deepcopy(value)
            else:
                node.insert(int(last), copy.deepcopy(value))
        else:
            raise PatchError(f"path {path!r} is out of range")
    else:
        raise PatchError(f"path {path!r} does not exist")
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 on a copy of ``doc``: add, remove, replace, move, copy, test."""
    if not isinstance(operations, Sequence) or isinstance(operations, str | bytes):
        raise PatchError("a JSON patch is a list of operations")
    if len(operations) > MAX_OPERATIONS:
        raise PatchError(f"a JSON patch may hold at most {MAX_OPERATIONS} operations")
    out = copy.deepcopy(doc)
    for i, op in enumerate(operations):
        if not isinstance(op, Mapping):
            raise PatchError(f"operation {i} is not an object")
        kind, path = op.get("op"), op.get("path")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {i} ({kind}) has no value")
        if kind == "add":
            out = _add(out, str(path), op["value"])
        elif kind == "remove":
            _remove(out, str(path))
        elif kind == "replace":
            out = _add(out, str(path), op["value"], replace=True)
        elif kind in ("move", "copy"):
            value = _get(out, str(op.get("from")))
            if kind == "move":
                _remove(out, str(op.get("from")))
            out = _add(out, str(path), value)
        elif kind == "test":
            if _get(out, str(path)) != op["value"]:
                raise PatchError(f"operation {i}: test of {str(path)!r} failed")
        else:
            raise PatchError(f"operation {i}: unknown op {str(kind)[:20]!r}")
    return out
