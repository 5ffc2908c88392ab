"""Parse manifest text (YAML streams, JSON) into Kubernetes objects, defensively.

Pure: text in, dicts out. YAML goes through libyaml (``yaml.CSafeLoader``); before a document
is constructed, its node graph is checked so that aliases cannot expand it beyond a budget (an
alias bomb of a few hundred bytes is rejected in microseconds instead of exhausting memory), and
recursive anchors are refused. Values are JSON-shaped: YAML timestamps stay strings, as the
Kubernetes YAML decoder leaves them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml
import yaml.nodes

from tidegate.model import errors

# An alias token can only start after whitespace, a flow indicator or ':' (or at the start).
# This over-approximates ("*.example.com" matches), which only costs a needless check.
_ALIAS = re.compile(r"(?<![^\s\[{,:])\*")


class _Loader(yaml.CSafeLoader):
    """libyaml parser with constructors that keep values JSON-shaped."""


def _construct_plain_string(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_plain_string)
_Loader.add_constructor("tag:yaml.org,2002:binary", _construct_plain_string)


class ByteBudget:
    """Running total of bytes read in one render, against a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int, what: str) -> None:
        self.used += size
        if self.used > self.limit:
            raise errors.ManifestError(
                f"{what}: render output exceeds the limit of {self.limit} bytes in total"
            )


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.nodes.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.nodes.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def check_alias_expansion(root: yaml.Node, *, max_expansion: int, where: str) -> None:
    """Refuse a node graph whose aliases would add more than ``max_expansion`` nodes once
    expanded, or that refers to itself. Linear in the number of distinct nodes."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] - len(sizes) > max_expansion:
                raise errors.ManifestError(
                    f"{where}: YAML aliases expand to more than {max_expansion} extra nodes "
                    "(alias bomb?)"
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise errors.ManifestError(f"{where}: YAML anchor refers to itself")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _yaml_error(exc: yaml.YAMLError, where: str) -> errors.ManifestError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return errors.ManifestError(
            f"{where}: invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
        )
    return errors.ManifestError(f"{where}: invalid YAML: {problem}")


def load_yaml_documents(text: str, *, where: str, max_alias_expansion: int) -> list[Any]:
    """All documents of a YAML stream, empty ones as ``None`` (so indexes match the file)."""
    guard = "&" in text and _ALIAS.search(text) is not None  # no alias, nothing to expand
    loader = _Loader(text)
    documents: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                documents.append(None)
                continue
            if guard:
                check_alias_expansion(
                    node,
                    max_expansion=max_alias_expansion,
                    where=f"{where}: document {len(documents) + 1}",
                )
            documents.append(loader.construct_document(node))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, where) from exc
    finally:
        loader.dispose()
    return documents


def _flatten(obj: Any, where: str, out: list[dict[str, Any]]) -> None:
    if not isinstance(obj, dict):
        raise errors.ManifestError(
            f"{where}: expected a Kubernetes object (a mapping), got {type(obj).__name__}"
        )
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    missing = [f for f, v in (("apiVersion", api_version), ("kind", kind)) if not v]
    if missing:
        raise errors.ManifestError(f"{where}: object has no {' and no '.join(missing)}")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise errors.ManifestError(f"{where}: apiVersion and kind must be strings")
    items = obj.get("items")
    if kind.endswith("List") and isinstance(items, list):
        for index, item in enumerate(items, start=1):
            _flatten(item, f"{where}, item {index}", out)
        return
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise errors.ManifestError(f"{where}: metadata must be a mapping")
    out.append(obj)


def objects_from_documents(documents: list[Any], *, where: str) -> list[dict[str, Any]]:
    """Validate documents as Kubernetes objects: skip empty ones, flatten ``*List`` kinds."""
    out: list[dict[str, Any]] = []
    for index, document in enumerate(documents, start=1):
        if document is None:
            continue
        _flatten(document, f"{where}: document {index}", out)
    return out


def parse_yaml(text: str, *, where: str, max_alias_expansion: int) -> list[dict[str, Any]]:
    documents = load_yaml_documents(text, where=where, max_alias_expansion=max_alias_expansion)
    return objects_from_documents(documents, where=where)


def parse_json(text: str, *, where: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.ManifestError(
            f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    out: list[dict[str, Any]] = []
    # A top-level array holds several objects (as Jsonnet programs commonly return).
    for item in document if isinstance(document, list) else [document]:
        _flatten(item, where, out)
    return out


def decode(data: bytes, *, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errors.ManifestError(f"{where}: not UTF-8 text ({exc.reason})") from exc
