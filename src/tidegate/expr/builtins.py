"""The built-in functions and the operators' value semantics (expr-lang's, on Python values).

Values are Python's: ``None`` is nil, ``bool``, ``int``, ``float``, ``str``, ``list`` and
``Mapping``. Operators are strict about types as expr-lang is: ``1 < "a"`` and ``not 3`` are
errors, never quietly false. Numbers compare across int and float; a bool is not a number.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidegate.expr.errors import ExprError

MAX_RANGE = 1_000_000
MAX_PATTERN = 1_000


def type_name(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "array"
    return {int: "int", float: "float", str: "string"}.get(type(value), type(value).__name__)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def truth(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"{what} needs a bool, got {type_name(value)}")
    return value


def equal(a: object, b: object) -> bool:
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return a == b


def compare(op: str, a: Any, b: Any) -> bool:
    if not ((is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        raise ExprError(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def arithmetic(op: str, a: Any, b: Any) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "+" and isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return [*a, *b]
    if not (is_number(a) and is_number(b)):
        raise ExprError(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
        return a / b
    if op == "%":
        if not (isinstance(a, int) and isinstance(b, int)):
            raise ExprError(f"invalid operation: {type_name(a)} % {type_name(b)}")
        if b == 0:
            raise ExprError("integer divide by zero")
        return int(math.fmod(a, b))
    try:  # ** and ^ are always float, as Go's math.Pow
        return float(a) ** float(b)
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return math.inf


def membership(op: str, a: Any, b: Any) -> bool:
    if op == "in":
        if isinstance(b, Mapping):
            return a in b
        if isinstance(b, (list, tuple)):
            return any(equal(a, x) for x in b)
        raise ExprError(f"invalid operation: {type_name(a)} in {type_name(b)}")
    if not (isinstance(a, str) and isinstance(b, str)):
        raise ExprError(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "contains":
        return b in a
    if op == "startsWith":
        return a.startswith(b)
    if op == "endsWith":
        return a.endswith(b)
    return _regex(b).search(a) is not None


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    if len(pattern) > MAX_PATTERN:
        raise ExprError(f"regular expression longer than {MAX_PATTERN} characters")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ExprError(f"bad regular expression {pattern!r}: {exc}") from None


def number_range(a: Any, b: Any) -> list[int]:
    if not (isinstance(a, int) and isinstance(b, int)) or isinstance(a, bool):
        raise ExprError(f"invalid operation: {type_name(a)} .. {type_name(b)}")
    if b - a >= MAX_RANGE:
        raise ExprError(f"range {a}..{b} has more than {MAX_RANGE} elements")
    return list(range(a, b + 1))


# -- functions ---------------------------------------------------------------------------------


def _len(value: Any) -> int:
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    raise ExprError(f"len of {type_name(value)}")


def _int(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ExprError(f"invalid integer {value!r}") from None
    if is_number(value):
        return int(value)
    raise ExprError(f"int of {type_name(value)}")


def _float(value: Any) -> float:
    if isinstance(value, str) or is_number(value):
        try:
            return float(value)
        except ValueError:
            raise ExprError(f"invalid float {value!r}") from None
    raise ExprError(f"float of {type_name(value)}")


def to_string(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def _numbers(values: Sequence[Any], what: str) -> Sequence[Any]:
    if not isinstance(values, (list, tuple)) or not all(is_number(v) for v in values):
        raise ExprError(f"{what} needs an array of numbers")
    return values


def _str(fn: Callable[..., Any]) -> Callable[..., Any]:
    def checked(value: Any, *rest: Any) -> Any:
        if not isinstance(value, str):
            raise ExprError(f"{fn.__name__.strip('_')} of {type_name(value)}")
        return fn(value, *rest)

    return checked


def _sorted(values: Any) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        raise ExprError("sort of an array of mixed types") from None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "abs": lambda v: abs(_numbers([v], "abs")[0]),
    "int": _int,
    "float": _float,
    "string": to_string,
    "upper": _str(str.upper),
    "lower": _str(str.lower),
    "trim": _str(lambda s, chars=None: s.strip(chars)),
    "trimPrefix": _str(lambda s, p: s.removeprefix(p)),
    "trimSuffix": _str(lambda s, p: s.removesuffix(p)),
    "hasPrefix": _str(lambda s, p: s.startswith(p)),
    "hasSuffix": _str(lambda s, p: s.endswith(p)),
    "split": _str(lambda s, sep, n=-1: s.split(sep, n - 1 if n > 0 else -1)),
    "replace": _str(lambda s, old, new: s.replace(old, new)),
    "indexOf": _str(lambda s, sub: s.find(sub)),
    "lastIndexOf": _str(lambda s, sub: s.rfind(sub)),
    "repeat": _str(lambda s, n: s * min(int(n), MAX_RANGE // max(len(s), 1))),
    "join": lambda values, sep="": sep.join(to_string(v) for v in values),
    "keys": lambda m: sorted(m.keys()),
    "values": lambda m: [m[k] for k in sorted(m.keys())],
    "first": lambda values: values[0] if values else None,
    "last": lambda values: values[-1] if values else None,
    "max": lambda *v: max(_numbers(v[0] if len(v) == 1 else v, "max")),
    "min": lambda *v: min(_numbers(v[0] if len(v) == 1 else v, "min")),
    "mean": lambda v: sum(_numbers(v, "mean")) / len(v) if v else 0.0,
    "reverse": lambda values: list(reversed(values)),
    "sort": _sorted,
    "toJSON": lambda v: json.dumps(v, indent=2, sort_keys=True, default=str),
    "fromJSON": lambda s: json.loads(s),
    "type": type_name,
}


def _pred(pred: Callable[[Any], Any], item: Any, name: str) -> bool:
    return truth(pred(item), f"the predicate of {name}")


def _items(values: Any, name: str) -> Sequence[Any]:
    if isinstance(values, Mapping):
        return list(values.values())
    if not isinstance(values, (list, tuple)):
        raise ExprError(f"{name} needs an array, got {type_name(values)}")
    return values


def _sum(values: Any, pred: Callable[[Any], Any] | None = None) -> Any:
    items = _items(values, "sum")
    mapped = [pred(v) for v in items] if pred else items
    return sum(_numbers(mapped, "sum"))


def _count(values: Any, pred: Callable[[Any], Any] | None = None) -> int:
    items = _items(values, "count")
    if pred is None:
        return sum(1 for x in items if truth(x, "count"))
    return sum(1 for x in items if _pred(pred, x, "count"))


PREDICATES: dict[str, Callable[..., Any]] = {
    "all": lambda v, p: all(_pred(p, x, "all") for x in _items(v, "all")),
    "any": lambda v, p: any(_pred(p, x, "any") for x in _items(v, "any")),
    "none": lambda v, p: not any(_pred(p, x, "none") for x in _items(v, "none")),
    "one": lambda v, p: sum(1 for x in _items(v, "one") if _pred(p, x, "one")) == 1,
    "filter": lambda v, p: [x for x in _items(v, "filter") if _pred(p, x, "filter")],
    "map": lambda v, p: [p(x) for x in _items(v, "map")],
    "count": _count,
    "find": lambda v, p: next((x for x in _items(v, "find") if _pred(p, x, "find")), None),
    "findIndex": lambda v, p: next(
        (i for i, x in enumerate(_items(v, "findIndex")) if _pred(p, x, "findIndex")), -1
    ),
    "sum": _sum,
}
