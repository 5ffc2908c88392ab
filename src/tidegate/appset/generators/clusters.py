"""The ``clusters`` generator: one parameter set per registered cluster matching ``selector``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.appset import params, paths, selectors
from tidegate.appset.generators import context
from tidegate.model import constants, errors

# Never exposed as a parameter: on a Secret it holds the Secret's data.
_HIDDEN_ANNOTATIONS = frozenset({constants.ANNOTATION_LAST_APPLIED})


def _cluster_params(cluster: Mapping[str, Any], *, go_template: bool) -> params.Params:
    name = str(cluster.get("name") or "")
    labels = {str(k): str(v) for k, v in (cluster.get("labels") or {}).items()}
    annotations = {
        str(k): str(v)
        for k, v in (cluster.get("annotations") or {}).items()
        if k not in _HIDDEN_ANNOTATIONS
    }
    base: params.Params = {
        "name": name,
        "nameNormalized": paths.normalize(name),
        "server": str(cluster.get("server") or ""),
        "project": str(cluster.get("project") or ""),
    }
    if go_template:
        base["metadata"] = {"labels": labels, "annotations": annotations}
        return base
    base.update({f"metadata.labels.{k}": v for k, v in labels.items()})
    base.update({f"metadata.annotations.{k}": v for k, v in annotations.items()})
    return base


def add_values(
    out: params.Params, values: Mapping[str, Any], *, ctx: context.Context, where: str
) -> params.Params:
    """Render the generator's ``values`` against ``out`` and add them as ``values.<key>``."""
    if not isinstance(values, Mapping):
        raise errors.GeneratorError(f"{where}.values: must be a map of strings")
    rendered = {str(k): ctx.renderer.render_string(str(v), out) for k, v in values.items()}
    if ctx.go_template:
        out["values"] = rendered
    else:
        out.update({f"values.{k}": v for k, v in rendered.items()})
    return out


def generate(spec: Mapping[str, Any], *, ctx: context.Context, where: str) -> list[params.Params]:
    selector = spec.get("selector") or {}
    selectors.validate(selector, where=f"{where}.selector")
    select_all = selectors.is_empty(selector)
    out: list[params.Params] = []
    for cluster in ctx.clusters:
        if cluster.get("local") and not select_all:
            continue  # the implicit in-cluster entry has no Secret, hence no labels to match
        labels = {str(k): str(v) for k, v in (cluster.get("labels") or {}).items()}
        if not selectors.matches(selector, labels):
            continue
        item = _cluster_params(cluster, go_template=ctx.go_template)
        if spec.get("values"):
            item = add_values(item, spec["values"], ctx=ctx, where=where)
        out.append(item)
    if spec.get("flatList"):
        flat: params.Params = {"clusters": out}
        return [flat if ctx.go_template else params.flatten(flat)]
    return out
