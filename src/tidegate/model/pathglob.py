"""Go's path globs on slash-separated relative paths (pure): the second glob dialect, for
matching *file paths*, as opposed to :mod:`tidegate.model.globs` (whole values, ``*`` crosses
``/``).

- :func:`path_match` is Go's ``path.Match`` / ``filepath.Match``: ``*`` and ``?`` never cross
  ``/``, ``[...]`` classes with ranges and ``^`` negation, ``\\`` escapes.
- :func:`glob_match` adds ``**`` (any number of whole segments, including none), as the zglob
  library Argo CD uses for ApplicationSet git files and plugin ``discover.find.glob``.

A malformed pattern is a :class:`~tidegate.model.errors.SpecError` naming it.
"""

from __future__ import annotations

import functools
import re

from tidegate.model import errors


def _segment_regex(pattern: str) -> str:
    """Translate one path.Match pattern (no ``**`` handling) into a regex fragment."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i + 1 >= len(pattern):
                raise errors.SpecError(f"bad pattern {pattern!r}: trailing backslash")
            out.append(re.escape(pattern[i + 1]))
            i += 1
        elif ch == "[":
            end = i + 1
            if end < len(pattern) and pattern[end] == "^":
                end += 1
            if end < len(pattern) and pattern[end] == "]":
                raise errors.SpecError(f"bad pattern {pattern!r}: empty character class")
            while end < len(pattern) and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            if end >= len(pattern):
                raise errors.SpecError(f"bad pattern {pattern!r}: unclosed '['")
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            parts: list[str] = []
            j = 0
            while j < len(body):
                if body[j] == "\\" and j + 1 < len(body):
                    parts.append(re.escape(body[j + 1]))
                    j += 2
                elif body[j] == "-" and parts and j + 1 < len(body):
                    parts.append("-" + re.escape(body[j + 1]))
                    j += 2
                else:
                    parts.append(re.escape(body[j]))
                    j += 1
            out.append(("[^/" if negate else "[") + "".join(parts) + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str, doublestar: bool) -> re.Pattern[str]:
    if not doublestar:
        return re.compile(_segment_regex(pattern) + r"\Z")
    segments = pattern.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
        else:
            out.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(out) + r"\Z")


def _clean(path: str) -> str:
    return path.strip("/")


def path_match(pattern: str, path: str) -> bool:
    """Go ``path.Match`` on repository-relative paths (leading ``/`` ignored on both sides)."""
    return _compiled(_clean(pattern), False).match(_clean(path)) is not None


def glob_match(pattern: str, path: str) -> bool:
    """Like :func:`path_match`, plus ``**`` spanning whole segments."""
    return _compiled(_clean(pattern), True).match(_clean(path)) is not None
