"""The ``list`` generator: literal ``elements`` and/or an ``elementsYaml`` string."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from tidegate.appset import params
from tidegate.appset.generators import context
from tidegate.model import errors


def generate(spec: Mapping[str, Any], *, ctx: context.Context, where: str) -> list[params.Params]:
    elements = list(spec.get("elements") or [])
    raw_yaml = spec.get("elementsYaml")
    if raw_yaml:
        try:
            extra = yaml.safe_load(str(raw_yaml))
        except yaml.YAMLError as exc:
            raise errors.GeneratorError(f"{where}.elementsYaml: invalid YAML: {exc}") from None
        if extra is not None and not isinstance(extra, list):
            raise errors.GeneratorError(f"{where}.elementsYaml: must be a YAML list of objects")
        elements.extend(extra or [])
    out: list[params.Params] = []
    for index, element in enumerate(elements):
        if not isinstance(element, Mapping):
            raise errors.GeneratorError(
                f"{where}.elements[{index}]: must be an object, got {type(element).__name__}"
            )
        out.append(dict(element) if ctx.go_template else params.flatten(element))
    return out
