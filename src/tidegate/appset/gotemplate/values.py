"""Go's view of template values: the "no value" marker, truthiness, type names and printing."""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from typing import Any, Final


class _Missing:
    """Go's invalid ``reflect.Value``: what a missing map key yields outside missingkey=error."""

    _instance: _Missing | None = None

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Final = _Missing()
NO_VALUE: Final = "<no value>"


def is_nil(value: object) -> bool:
    return value is None or value is MISSING


def truth(value: object) -> bool:
    """Go template truth: false, 0, nil and empty strings, lists and maps are false."""
    if is_nil(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | Mapping | Sequence):
        return len(value) > 0
    return True


def type_name(value: object) -> str:
    """The Go type a JSON-decoded value would have, for error messages."""
    if is_nil(value):
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, Sequence):
        return "[]interface {}"
    return type(value).__name__


def format_float(value: float) -> str:
    """Go's ``%v`` for a float64: shortest digits, exponent below 1e-4 or from 1e6."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(str(d) for d in digits)
    exp10 = len(mantissa) + exponent - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        head, tail = mantissa[0], mantissa[1:]
        body = head + ("." + tail if tail else "")
        return f"{prefix}{body}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    return prefix + format(decimal.Decimal(mantissa).scaleb(exponent), "f")


def to_text(value: Any, *, nested: bool = False) -> str:
    """Print a value as Go's ``fmt.Sprint`` would for JSON-decoded data."""
    if is_nil(value):
        return "<nil>" if nested else NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, Mapping):
        items = " ".join(f"{k}:{to_text(value[k], nested=True)}" for k in sorted(value))
        return f"map[{items}]"
    if isinstance(value, Sequence):
        return "[" + " ".join(to_text(v, nested=True) for v in value) + "]"
    return str(value)
