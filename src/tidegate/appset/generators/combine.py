"""The combining generators: ``matrix`` (cross product of two children) and ``merge`` (base
parameter sets overridden by later children that agree on the ``mergeKeys``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tidegate.appset import params
from tidegate.appset.generators import context
from tidegate.model import errors

# (generator spec, where, parent params or None) -> parameter sets
Child = Callable[[Mapping[str, Any], str, "params.Params | None"], list[params.Params]]


def _children(spec: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    children = spec.get("generators")
    if not isinstance(children, list):
        raise errors.GeneratorError(f"{where}.generators: required list of generators")
    return children


def _uses_templates(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, Mapping):
        return any(_uses_templates(k) or _uses_templates(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_uses_templates(v) for v in value)
    return False


def matrix(
    spec: Mapping[str, Any], *, ctx: context.Context, where: str, child: Child
) -> list[params.Params]:
    children = _children(spec, where)
    if len(children) != 2:
        raise errors.GeneratorError(
            f"{where}: a matrix needs exactly 2 child generators, got {len(children)}"
        )
    first_where, second_where = f"{where}.generators[0]", f"{where}.generators[1]"
    firsts = child(children[0], first_where, None)
    # The second child may use the first's parameters; only re-run it per set when it does.
    shared = None if _uses_templates(children[1]) else child(children[1], second_where, None)
    out: list[params.Params] = []
    for first in firsts:
        seconds = shared if shared is not None else child(children[1], second_where, first)
        for second in seconds:
            if ctx.go_template:
                out.append(params.combine_nested(first, second))
            else:
                out.append(params.combine_flat(first, second, where=where))
    return out


def _key(item: Mapping[str, Any], keys: list[str], go_template: bool) -> str:
    return json.dumps(
        [params.lookup(item, k, go_template=go_template) for k in keys], sort_keys=True
    )


def _index(
    items: list[params.Params], keys: list[str], go_template: bool, where: str
) -> dict[str, params.Params]:
    indexed: dict[str, params.Params] = {}
    for item in items:
        key = _key(item, keys, go_template)
        if key in indexed:
            raise errors.GeneratorError(
                f"{where}: two parameter sets share the merge key values {key}"
            )
        indexed[key] = item
    return indexed


def merge(
    spec: Mapping[str, Any], *, ctx: context.Context, where: str, child: Child
) -> list[params.Params]:
    children = _children(spec, where)
    if len(children) < 2:
        raise errors.GeneratorError(f"{where}: a merge needs at least 2 child generators")
    keys = [str(k) for k in spec.get("mergeKeys") or []]
    if not keys:
        raise errors.GeneratorError(f"{where}.mergeKeys: at least one merge key is required")
    base = _index(
        child(children[0], f"{where}.generators[0]", None),
        keys,
        ctx.go_template,
        f"{where}.generators[0]",
    )
    for index in range(1, len(children)):
        child_where = f"{where}.generators[{index}]"
        overrides = _index(
            child(children[index], child_where, None), keys, ctx.go_template, child_where
        )
        for key, override in overrides.items():
            if key in base:
                current = base[key]
                base[key] = (
                    params.deep_merge(current, override)
                    if ctx.go_template
                    else {**current, **override}
                )
    return list(base.values())
