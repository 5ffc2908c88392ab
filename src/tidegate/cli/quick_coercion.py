"""Typer's option coercion without pydantic for the plain cases (issue 19's start-up target).

Typer 0.29 coerces every option value it processes through a pydantic ``TypeAdapter`` built
on first use, for a ``None`` too: a command with a dozen options imports pydantic (~50 ms of
CPU) and builds a dozen adapters before it runs. Most values need none of that: a ``str``
option given a string, a missing option (``None``), an enum option given one of its members
or names. :func:`install` puts a :class:`QuickCoercion` in front of each option of a built
command: it answers those cases exactly as the adapter would (the same Typer functions), and
hands every other value (numbers, paths, lists, custom parsers, a bad choice, so that the
error message stays Typer's own) to the adapter Typer would have built, built then.

It replaces the method of Typer's (private) parameter class that builds the adapter on first
use, ``get_runtime_param``, whose only caller is the parameter's ``process_value``; a Typer
without that method is left as it is.
"""

from __future__ import annotations

import enum
from typing import Any

import typer.core
from typer import _coercion, _param_types

_ABSENT = object()
_MARK = "_tidegate_quick_coercion"


class QuickCoercion:
    """A parameter's coercion: the plain cases here, the rest through Typer's adapter."""

    def __init__(self, descriptor: Any) -> None:
        self._descriptor = descriptor
        self._full: Any = None

    def quick(self, value: Any, *, multiple: bool, ctx: Any) -> Any:
        """``value`` coerced as Typer's adapter would, or ``_ABSENT`` when not a plain case."""
        if value is None:
            return () if multiple else None
        if multiple:
            return _ABSENT
        info = self._descriptor.parameter_info
        annotation = self._descriptor.annotation
        if info.parser is not None or self._descriptor.file_annotation is not None:
            return _ABSENT
        if annotation is str and type(value) is str:
            return value
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            try:
                return _param_types.coerce_cli_choice(
                    value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx
                )
            except ValueError:  # Typer's adapter words the error
                return _ABSENT
        return _ABSENT

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multiple = bool(param.multiple or param.nargs == -1)
        found = self.quick(value, multiple=multiple, ctx=ctx)
        if found is not _ABSENT:
            return found
        if self._full is None:
            self._full = _coercion.build_runtime_param(self._descriptor)
        return self._full.coerce(value, param=param, ctx=ctx)


def install() -> None:
    """Give every Typer parameter a :class:`QuickCoercion` when it first coerces a value (the
    help options Click adds to each command too); idempotent."""
    cls: Any = getattr(typer.core, "_TyperParameter", None)
    if cls is None or not hasattr(cls, "get_runtime_param") or getattr(cls, _MARK, False):
        return

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            self._runtime_param = QuickCoercion(self.type_descriptor)
        return self._runtime_param

    cls.get_runtime_param = get_runtime_param
    setattr(cls, _MARK, True)
