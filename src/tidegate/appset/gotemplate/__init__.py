"""A small interpreter for the Go ``text/template`` subset ApplicationSets use (pure, no I/O).

Supported: fields (``.a.b``), variables (``$x := ...``, ``$x = ...``, ``$``), pipelines,
parentheses, ``if``/``else if``/``else``, ``range`` (lists, maps in key order, ints; with
``$i, $v :=``, ``break``, ``continue``), ``with``, comments, ``{{-``/``-}}`` trimming, and the
functions in :mod:`.funcs`. Anything else raises a TemplateError naming the construct.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tidegate.appset.gotemplate import execute, funcs, parse
from tidegate.model import errors

MissingKey = execute.MissingKey


def missingkey_option(options: Sequence[str]) -> MissingKey:
    """Read ``goTemplateOptions``; only ``missingkey=...`` exists in text/template."""
    mode = MissingKey.DEFAULT
    for option in options:
        key, _, value = option.partition("=")
        if key != "missingkey":
            raise errors.TemplateError(f"goTemplateOptions: unknown option {option!r}")
        if value == "error":
            mode = MissingKey.ERROR
        elif value in ("", "default", "invalid", "zero"):
            mode = MissingKey.DEFAULT
        else:
            raise errors.TemplateError(f"goTemplateOptions: unknown missingkey value {value!r}")
    return mode


class Templates:
    """Parses each distinct template string once and renders it against parameter maps."""

    def __init__(self, *, missingkey: MissingKey = MissingKey.DEFAULT) -> None:
        self.missingkey = missingkey
        self._parsed: dict[str, tuple[parse.Node, ...]] = {}

    def compile(self, source: str) -> tuple[parse.Node, ...]:
        nodes = self._parsed.get(source)
        if nodes is None:
            nodes = parse.parse(source)
            unknown = execute.check_functions(nodes, funcs.FUNCTIONS)
            if unknown is not None:
                raise errors.TemplateError(
                    f"template {source!r}: function {unknown!r} is not supported"
                )
            self._parsed[source] = nodes
        return nodes

    def render(self, source: str, data: Any) -> str:
        if "{{" not in source:
            return source
        return execute.execute(
            self.compile(source),
            data,
            funcs=funcs.FUNCTIONS,
            missingkey=self.missingkey,
            source=source,
            accessors=funcs.ACCESSORS,
        )
