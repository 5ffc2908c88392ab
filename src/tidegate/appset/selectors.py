"""Kubernetes label selectors (``matchLabels`` + ``matchExpressions``) over string maps (pure).

Used by the cluster generator (on cluster Secret labels), the post ``selector`` of any generator
(on the generated parameters, flattened) and the RollingSync steps (on Application labels).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.model import errors

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def is_empty(selector: Mapping[str, Any] | None) -> bool:
    """An absent or empty selector selects everything."""
    return not selector or (
        not selector.get("matchLabels") and not selector.get("matchExpressions")
    )


def validate(selector: Mapping[str, Any] | None, *, where: str) -> None:
    """Raise a GeneratorError naming ``where`` for an operator we do not know."""
    for expression in (selector or {}).get("matchExpressions") or []:
        operator = expression.get("operator")
        if operator not in OPERATORS:
            raise errors.GeneratorError(
                f"{where}: unknown selector operator {operator!r} "
                f"(want one of {', '.join(OPERATORS)})"
            )
        if not expression.get("key"):
            raise errors.GeneratorError(f"{where}: a matchExpressions entry has no key")


def matches_expressions(
    expressions: Sequence[Mapping[str, Any]], labels: Mapping[str, str]
) -> bool:
    """All expressions must hold (AND); In/NotIn test membership in ``values`` (OR)."""
    for expression in expressions:
        key = str(expression.get("key"))
        wanted = [str(v) for v in expression.get("values") or []]
        operator = expression.get("operator")
        present = key in labels
        if operator == "In":
            ok = present and labels[key] in wanted
        elif operator == "NotIn":
            ok = not present or labels[key] not in wanted
        elif operator == "Exists":
            ok = present
        elif operator == "DoesNotExist":
            ok = not present
        else:
            raise errors.GeneratorError(f"unknown selector operator {operator!r}")
        if not ok:
            return False
    return True


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes semantics: every matchLabels pair and every expression must hold."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != str(value):
            return False
    return matches_expressions(selector.get("matchExpressions") or [], labels)
