"""``{{args.NAME}}`` in a metric's fields, replaced by the run's arg values (pure).

Every string of the metric (provider fields, conditions, counts written as strings) is
templated; an ``{{args.x}}`` the run does not define is an error naming the metric, so a typo is
an ``Error`` measurement with the cause rather than a query for the literal text. Other
``{{...}}`` text is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tidegate.analysis import names

_TAG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+?)\s*\}\}")


def values(run_args: list[Mapping[str, Any]], secrets: Mapping[str, str]) -> dict[str, str]:
    """Arg name -> value; ``secrets`` holds the values read for ``valueFrom.secretKeyRef``."""
    out: dict[str, str] = {}
    for arg in run_args:
        name = str(arg.get("name") or "")
        if arg.get("value") is not None:
            out[name] = str(arg["value"])
        elif name in secrets:
            out[name] = secrets[name]
    return out


def substitute(value: Any, args: Mapping[str, str], *, metric: str) -> Any:
    """``value`` (any JSON-like structure) with every ``{{args.x}}`` replaced."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in args:
                raise names.AnalysisSpecError(
                    f"metric {metric}: {{{{args.{name}}}}} is not an arg of the run"
                )
            return args[name]

        return _TAG.sub(one, value)
    if isinstance(value, Mapping):
        return {k: substitute(v, args, metric=metric) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, args, metric=metric) for v in value]
    return value
