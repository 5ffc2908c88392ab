"""Field ownership from ``metadata.managedFields`` (``fieldsV1``), as server-side apply records it.

A fieldsV1 tree maps ``f:<field>`` (a mapping key), ``k:<json>`` (a list element identified by
its key fields), ``v:<json>`` (a set element by value), ``i:<n>`` (an element by index) and ``.``
(the element itself) to subtrees; an empty subtree means "this whole value".
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from tidegate.diff import paths

_MISSING: Any = object()

FieldsTree = Mapping[str, Any]


def owned_tree(obj: Mapping[str, Any], managers: Collection[str]) -> dict[str, Any]:
    """The union of the fieldsV1 trees of ``managers`` in ``obj``'s managedFields."""
    merged: dict[str, Any] = {}
    meta = obj.get("metadata") or {}
    for entry in meta.get("managedFields") or []:
        if isinstance(entry, Mapping) and entry.get("manager") in managers:
            fields = entry.get("fieldsV1")
            if isinstance(fields, Mapping):
                _merge(merged, fields)
    return merged


def string_data_as_data(tree: FieldsTree) -> dict[str, Any]:
    """A Secret's ownership tree with ``f:stringData`` keys owned as ``f:data`` keys.

    The API server folds an applied ``stringData`` into ``data`` and never stores
    ``stringData``, but managedFields keep recording the applier as the owner of
    ``f:stringData``. Whoever owns ``stringData.<k>`` decides ``data.<k>``.
    """
    out: dict[str, Any] = {}
    _merge(out, tree)
    string_data = out.pop("f:stringData", None)
    if isinstance(string_data, Mapping) and string_data:
        _merge(out.setdefault("f:data", {}), string_data)
    return out


def _merge(into: dict[str, Any], tree: FieldsTree) -> None:
    for key, sub in tree.items():
        if not isinstance(sub, Mapping):
            continue
        target = into.setdefault(key, {})
        _merge(target, sub)


def _is_whole(node: FieldsTree) -> bool:
    return not node or set(node) == {"."}


def _element_key(node: FieldsTree, index: int, elem: Any) -> str | None:
    """The key in ``node`` that describes list element ``elem`` at ``index``, if any."""
    for key in node:
        if key == f"i:{index}":
            return key
        if key.startswith(("v:", "k:")):
            try:
                ident = json.loads(key[2:])
            except ValueError:
                continue
            if key.startswith("v:") and ident == elem:
                return key
            if key.startswith("k:") and _matches(elem, ident):
                return key
    return None


def _matches(elem: Any, ident: Any) -> bool:
    return (
        isinstance(elem, Mapping)
        and isinstance(ident, Mapping)
        and all(elem.get(f) == v for f, v in ident.items())
    )


def _element_child(node: FieldsTree, index: int, elem: Any) -> FieldsTree | None:
    key = _element_key(node, index, elem)
    return None if key is None else node[key]


def owned_paths(obj: Any, tree: FieldsTree, prefix: paths.Path = ()) -> Iterator[paths.Path]:
    """Concrete paths of the values in ``obj`` that ``tree`` owns as a whole."""
    if _is_whole(tree):
        if prefix:
            yield prefix
        return
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            sub = tree.get(f"f:{key}")
            if sub is not None:
                yield from owned_paths(value, sub, (*prefix, str(key)))
    elif isinstance(obj, list):
        for index, elem in enumerate(obj):
            sub = _element_child(tree, index, elem)
            if sub is not None:
                yield from owned_paths(elem, sub, (*prefix, index))
    elif prefix:
        yield prefix


def keep_owned(predicted: Any, live: Any, tree: FieldsTree | None) -> Any:
    """``predicted`` where every value ``tree`` does not own is replaced by ``live``'s value.

    This removes what mutating webhooks and defaulting by other managers added in the dry-run
    result, so the server-side diff shows only the changes Tidegate's own apply would make.
    Returns ``_MISSING`` (dropped by the caller) when an unowned value is absent from live.
    """
    if tree is None:
        return live
    if _is_whole(tree):
        return predicted
    if isinstance(predicted, Mapping):
        live_map = live if isinstance(live, Mapping) else {}
        out: dict[str, Any] = {}
        for key, value in predicted.items():
            kept = keep_owned(value, live_map.get(key, _MISSING), tree.get(f"f:{key}"))
            if kept is not _MISSING:
                out[key] = kept
        return out
    if isinstance(predicted, list):
        live_list = live if isinstance(live, list) else []
        items: list[Any] = []
        for index, elem in enumerate(predicted):
            key = _element_key(tree, index, elem)
            sub = None if key is None else tree[key]
            kept = keep_owned(elem, _counterpart(live_list, index, elem, key), sub)
            if kept is not _MISSING:
                items.append(kept)
        return items
    return predicted


def _counterpart(live_list: list[Any], index: int, elem: Any, key: str | None) -> Any:
    """The live list element that corresponds to predicted ``elem``."""
    if key is not None and key.startswith("k:"):
        ident = json.loads(key[2:])
        return next((c for c in live_list if _matches(c, ident)), _MISSING)
    if key is not None and key.startswith("i:"):
        return live_list[index] if index < len(live_list) else _MISSING
    if elem in live_list:
        return elem
    if isinstance(elem, Mapping) and "name" in elem:
        return next(
            (c for c in live_list if isinstance(c, Mapping) and c.get("name") == elem["name"]),
            _MISSING,
        )
    return _MISSING


def is_missing(value: Any) -> bool:
    return value is _MISSING
