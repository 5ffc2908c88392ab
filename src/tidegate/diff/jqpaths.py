"""jq path expressions (``jqPathExpressions`` of ignoreDifferences), evaluated by real jq.

Argo CD deletes ``del(<expr>)`` with gojq; we ask jq for ``path(<expr>)`` instead, so the same
paths can be deleted from both sides or copied from live into desired. Evaluation errors (the
expression iterates over a field the object does not have) mean "nothing matches", as in Argo CD;
an expression that does not compile is a :class:`SpecError` naming it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import jq

from tidegate.diff import paths
from tidegate.model import errors


@functools.lru_cache(maxsize=512)
def _compiled(expression: str) -> Any:
    try:
        return jq.compile(f"[path(({expression})?)]")
    except ValueError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise errors.SpecError(f"invalid jq path expression {expression!r}: {detail}") from exc


def validate(expression: str) -> None:
    """Raise :class:`SpecError` if ``expression`` is not a valid jq program."""
    _compiled(expression)


def find(obj: Any, expression: str) -> list[paths.Path]:
    """Concrete paths in ``obj`` selected by the jq path expression (missing ones dropped).

    Runs jq in this process, unbounded: the controller evaluates through
    :mod:`tidegate.sandbox.jqpool` instead and hands the raw paths to :func:`existing`.
    """
    program = _compiled(expression)
    try:
        found = program.input_value(obj).first()
    except ValueError as exc:
        raise not_a_path_expression(expression, str(exc)) from exc
    return existing(obj, found or [])


def not_a_path_expression(expression: str, detail: str) -> errors.SpecError:
    return errors.SpecError(f"jq expression {expression!r} is not a path expression: {detail}")


def existing(obj: Any, found: Iterable[Sequence[str | int]]) -> list[paths.Path]:
    """The paths jq reported, as tuples, keeping those that exist in ``obj``."""
    out: list[paths.Path] = []
    for raw in found:
        path = tuple(raw)
        if path and paths.exists(obj, path):
            out.append(path)
    return out
