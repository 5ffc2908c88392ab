"""ApplicationSet generators: turn ``spec.generators`` into parameter sets (pure, no I/O).

Supported kinds: ``list``, ``clusters``, ``git`` (directories / files), ``matrix``, ``merge``;
each may carry a post ``selector``. Inputs (clusters, git contents) come from the caller through
:class:`context.Context`. Every error names the generator by its path, e.g.
``generators[0].matrix.generators[1].git``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.appset import params, selectors
from tidegate.appset.generators import clusters, combine, context, elements, git
from tidegate.model import errors

GitReader = context.GitReader
Context = context.Context

_LEAVES = {"list": elements.generate, "clusters": clusters.generate, "git": git.generate}
_COMBINERS = {"matrix": combine.matrix, "merge": combine.merge}
_UNSUPPORTED = ("scmProvider", "pullRequest", "clusterDecisionResource", "plugin")
_MAX_COMBINER_DEPTH = 2  # a matrix/merge may contain one more level of matrix/merge


@dataclasses.dataclass(frozen=True)
class Generated:
    """One parameter set and the template override of the top-level generator that made it."""

    params: params.Params
    template: Mapping[str, Any] | None


def _kind(generator: Mapping[str, Any], where: str) -> str:
    if not isinstance(generator, Mapping):
        raise errors.GeneratorError(f"{where}: a generator must be an object")
    kinds = [k for k in generator if k not in ("selector", "template")]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        raise errors.GeneratorError(
            f"{where}: exactly one generator kind per entry is required (found: {found})"
        )
    kind = kinds[0]
    if kind in _UNSUPPORTED:
        raise errors.GeneratorError(f"{where}: the {kind} generator is not supported")
    if kind not in _LEAVES and kind not in _COMBINERS:
        raise errors.GeneratorError(f"{where}: unknown generator kind {kind!r}")
    return kind


def _run(
    generator: Mapping[str, Any],
    *,
    ctx: context.Context,
    where: str,
    depth: int,
    parent: params.Params | None,
) -> list[params.Params]:
    if parent is not None:
        # A matrix child sees the parameters of the child before it.
        generator = ctx.renderer.render(generator, parent)
    kind = _kind(generator, where)
    spec = generator[kind] or {}
    if not isinstance(spec, Mapping):
        raise errors.GeneratorError(f"{where}.{kind}: must be an object")
    here = f"{where}.{kind}"
    if kind in _COMBINERS:
        if depth >= _MAX_COMBINER_DEPTH:
            raise errors.GeneratorError(f"{here}: matrix/merge generators can only be nested once")

        def child(
            spec_: Mapping[str, Any], where_: str, parent_: params.Params | None
        ) -> list[params.Params]:
            return _run(spec_, ctx=ctx, where=where_, depth=depth + 1, parent=parent_)

        out = _COMBINERS[kind](spec, ctx=ctx, where=here, child=child)
    else:
        out = _LEAVES[kind](spec, ctx=ctx, where=here)
    selector = generator.get("selector")
    if not selectors.is_empty(selector):
        selectors.validate(selector, where=f"{where}.selector")
        out = [
            item
            for item in out
            if selectors.matches(
                selector, params.selector_labels(item, go_template=ctx.go_template)
            )
        ]
    return out


def generate(generators: Sequence[Mapping[str, Any]], *, ctx: context.Context) -> list[Generated]:
    """All parameter sets of ``spec.generators``, in generator order."""
    out: list[Generated] = []
    for index, generator in enumerate(generators or []):
        where = f"generators[{index}]"
        items = _run(generator, ctx=ctx, where=where, depth=0, parent=None)
        override = generator.get("template") if isinstance(generator, Mapping) else None
        out.extend(Generated(item, override or None) for item in items)
    return out
