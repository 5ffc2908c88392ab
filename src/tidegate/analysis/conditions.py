"""A metric's ``successCondition`` / ``failureCondition`` through :mod:`tidegate.expr` (pure).

The environment holds one name, ``result`` (the provider's value: a list of floats for a
Prometheus vector, a float for a scalar, the JSON value a web ``jsonPath`` selects), and Argo
Rollouts' functions ``isNaN``, ``isInf``, ``asInt``, ``asFloat`` and ``default`` beside the
language's built-ins. A condition must give a bool. The verdict follows Argo Rollouts: no
condition means Successful; a success condition alone fails when false; a failure condition
alone succeeds when false; with both, failure wins, and neither true is Inconclusive.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

from tidegate import expr
from tidegate.analysis import names


def _number(value: Any, fn: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise expr.ExprError(f"{fn}: expected a number, got {type(value).__name__}")
    return float(value)


def _is_nan(value: Any) -> bool:
    return math.isnan(_number(value, "isNaN"))


def _is_inf(value: Any) -> bool:
    return math.isinf(_number(value, "isInf"))


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise expr.ExprError("asInt: expected a number or a string, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise expr.ExprError(f"asInt: cannot convert {value} to an integer")
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise expr.ExprError(f"asInt: cannot convert {value!r} to an integer") from None


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise expr.ExprError("asFloat: expected a number or a string, got bool")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise expr.ExprError(f"asFloat: cannot convert {value!r} to a float") from None


def _default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


FUNCTIONS: Mapping[str, Any] = {
    "isNaN": _is_nan,
    "isInf": _is_inf,
    "asInt": _as_int,
    "asFloat": _as_float,
    "default": _default,
}
NAMES = frozenset({"result"})


@functools.lru_cache(maxsize=512)
def compile_condition(source: str) -> expr.Program:
    """The compiled condition; :class:`expr.ExprError` if it is outside the subset."""
    return expr.compile(source, functions=FUNCTIONS, names=NAMES)


def _holds(source: str, result: Any, which: str) -> bool:
    value = compile_condition(source).evaluate({"result": result})
    if not isinstance(value, bool):
        raise expr.ExprError(f"{which} {source!r} gave {type(value).__name__}, expected bool")
    return value


def verdict(metric: Mapping[str, Any], result: Any) -> str:
    """The measurement's phase for ``result``; :class:`expr.ExprError` when a condition cannot
    be evaluated (the measurement is then an ``Error`` with that message)."""
    success_src = str(metric.get("successCondition") or "")
    failure_src = str(metric.get("failureCondition") or "")
    if not success_src and not failure_src:
        return names.SUCCESSFUL
    success = _holds(success_src, result, "successCondition") if success_src else False
    failure = _holds(failure_src, result, "failureCondition") if failure_src else False
    if success_src and not failure_src:
        failure = not success
    elif failure_src and not success_src:
        success = not failure
    if failure:
        return names.FAILED
    return names.SUCCESSFUL if success else names.INCONCLUSIVE
