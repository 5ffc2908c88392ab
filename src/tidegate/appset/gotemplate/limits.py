"""Bounds on what one template render may cost: templates are tenant input (pure).

A template is a small program: ``{{ repeat 1000000000 "x" }}`` or two nested ``range``s over a
large integer would otherwise exhaust the controller's memory or time. Each render gets a
:class:`Budget`; exceeding one of the limits below is a
:class:`~tidegate.model.errors.TemplateLimitError` naming the template and the limit, raised
before the big value is built (never a MemoryError or a hang).

The limits are generous for what ApplicationSet templates produce (names, paths, labels, short
YAML snippets: a few kilobytes):
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_OUTPUT_BYTES = 1024 * 1024
"""Characters one render may output (Kubernetes objects are limited to ~1.5 MB anyway)."""

MAX_STRING_BYTES = 1024 * 1024
"""Characters of any single value a function returns (``repeat``, ``indent``, ``printf``
padding, ``toJson``...), checked before the value is built where its size is known in advance."""

MAX_WORK_BYTES = 16 * 1024 * 1024
"""Characters all function results and the output of one render may add up to: a loop that
builds a large string again and again is stopped even if each string is within the limit."""

MAX_RANGE_ITERATIONS = 100_000
"""Iterations of all ``range`` loops of one render together (nested loops multiply)."""


class LimitExceeded(Exception):
    """Raised during execution; the executor turns it into a TemplateLimitError."""


def _exceeded(what: str, amount: int, unit: str, limit: int, name: str) -> LimitExceeded:
    return LimitExceeded(
        f"{what} would take {amount:,} {unit}, over the limit of {limit:,}"
        f" (tidegate.appset.gotemplate.limits.{name})"
    )


def check_string(what: str, size: int) -> None:
    """Refuse to build a string of ``size`` characters (call before building it)."""
    if size > MAX_STRING_BYTES:
        raise _exceeded(what, size, "characters", MAX_STRING_BYTES, "MAX_STRING_BYTES")


def measure(
    what: str, value: Any, limit: int = MAX_STRING_BYTES, name: str = "MAX_STRING_BYTES"
) -> int:
    """About how many characters ``value`` prints as (at least 1 per node), stopping as soon as
    it passes ``limit``; shared sub-lists (``list $l $l``) count each time they appear."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            total += 2
            for key, child in item.items():
                total += len(str(key)) + 2
                stack.append(child)
        elif isinstance(item, list | tuple):
            total += 2
            stack.extend(item)
        else:
            total += 8
        if total > limit:
            raise _exceeded(what, total, "characters", limit, name)
    return total


class Budget:
    """What one render has used so far."""

    def __init__(self) -> None:
        self.output = 0
        self.work = 0
        self.iterations = 0

    def emit(self, size: int) -> None:
        self.output += size
        if self.output > MAX_OUTPUT_BYTES:
            raise _exceeded(
                "the output", self.output, "characters", MAX_OUTPUT_BYTES, "MAX_OUTPUT_BYTES"
            )
        self.spend(size)

    def spend(self, size: int) -> None:
        self.work += size
        if self.work > MAX_WORK_BYTES:
            raise _exceeded(
                "the values built", self.work, "characters", MAX_WORK_BYTES, "MAX_WORK_BYTES"
            )

    def iterate(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_RANGE_ITERATIONS:
            raise _exceeded(
                "range loops",
                self.iterations,
                "iterations",
                MAX_RANGE_ITERATIONS,
                "MAX_RANGE_ITERATIONS",
            )

    def result(self, name: str, value: Any) -> None:
        """Account for a function's result."""
        if isinstance(value, str):
            check_string(name, len(value))
            self.spend(len(value))
        elif isinstance(value, list | tuple | Mapping):
            self.spend(len(value))
