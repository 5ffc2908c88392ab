"""The one error of the expression language: where in the source, and why."""

from __future__ import annotations


class ExprError(ValueError):
    """An expression outside the supported subset, or one that failed when evaluated.

    ``str()`` gives the cause and, when known, the position (1-based column) and the source.
    """

    def __init__(self, cause: str, source: str | None = None, pos: int | None = None) -> None:
        self.cause = cause
        self.source = source
        self.pos = pos
        where = f" at column {pos + 1}" if pos is not None else ""
        text = f" in {source!r}" if source is not None else ""
        super().__init__(f"{cause}{where}{text}")
