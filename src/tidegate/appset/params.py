"""Parameter sets: the values a generator hands to the template (pure).

With the default fasttemplate a parameter set is flat (``{"path.basename": "app"}``, every value a
string); with ``goTemplate: true`` it is nested JSON-like data (``{"path": {"basename": "app"}}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.model import errors

Params = dict[str, Any]


def scalar_text(value: Any) -> str:
    """How a non-string leaf becomes a flat parameter: ``true``, ``3``, ``1.5``; null -> ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested maps become dotted keys and lists ``key.<index>`` keys, as Argo CD flattens files."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    elif prefix:
        out[prefix] = scalar_text(value)
    return out


def combine_flat(first: Mapping[str, Any], second: Mapping[str, Any], *, where: str) -> Params:
    """Matrix (fasttemplate): union of both sets; the same key with different values is an error."""
    combined = dict(first)
    for key, value in second.items():
        if key in combined and combined[key] != value:
            raise errors.GeneratorError(
                f"{where}: both children produce parameter {key!r} with different values "
                f"({combined[key]!r} and {value!r}); use pathParamPrefix or rename one"
            )
        combined[key] = value
    return combined


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> Params:
    """Maps merge recursively; any other value in ``override`` replaces the one in ``base``."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def combine_nested(first: Mapping[str, Any], second: Mapping[str, Any]) -> Params:
    """Matrix (goTemplate): deep merge where the first child's values take precedence."""
    return deep_merge(second, first)


def lookup(params: Mapping[str, Any], key: str, *, go_template: bool) -> Any:
    """A merge key's value: a flat key, or with goTemplate a dotted path through nested maps."""
    if key in params or not go_template:
        return params.get(key)
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def selector_labels(params: Mapping[str, Any], *, go_template: bool) -> dict[str, str]:
    """The string map a post-selector matches against: nested parameters flattened."""
    if not go_template:
        return {k: v if isinstance(v, str) else scalar_text(v) for k, v in params.items()}
    return flatten(params)
