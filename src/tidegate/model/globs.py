"""Glob patterns as Argo CD matches them: the ONE glob engine of Tidegate (pure).

One parser, three entry points, named after what Argo CD uses where:

- :func:`matches`: Go's gobwas/glob, Argo CD's ``glob.Match``, for ``directory.include`` /
  ``exclude``, AppProject ``sourceRepos``, ``destinations`` and resource lists, sync windows,
  ignore rules, resource filters. Without a separator ``*`` is any run of characters (``/``
  included: the pattern is matched against the whole value). With ``separator`` (gobwas'
  separators, which Argo CD passes for ``sourceRepos``: ``/``), ``*`` and ``?`` do not match
  the separator and ``**`` matches any run including it.
- :func:`path_match`: Go's ``path.Match`` on slash-separated relative paths (the ApplicationSet
  git directory generator, webhook ``manifest-generate-paths``, plugin ``discover.fileName``):
  ``*``, ``?`` and character classes never match ``/``, ``**`` is just two ``*``, ``[^abc]``
  negates as ``[!abc]`` does.
- :func:`glob_match`: :func:`path_match` plus ``**`` as a whole path segment spanning any number
  of segments, none included (``a/**/b`` matches ``a/b`` and ``a/x/y/b``), as the zglob library
  Argo CD uses for the git files generator and plugin ``discover.find.glob``.

Syntax: ``*``, ``?``, ``[abc]``/``[a-z]``/``[!abc]`` character classes, ``{one,two}``
alternatives (nestable, may contain any of the above), ``\\`` escapes the next character. A
malformed pattern is a :class:`~tidegate.model.errors.SpecError` naming it. Patterns compile to
anchored regular expressions, cached.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from tidegate.model import errors

# What ``**`` means: any run at all (gobwas), two ``*`` (path.Match), whole segments (zglob).
DoubleStar = Literal["any", "star", "segments"]


class _Parser:
    def __init__(self, pattern: str, separator: str, doublestar: DoubleStar) -> None:
        self.pattern = pattern
        self.pos = 0
        self.separator = separator
        self.doublestar = doublestar
        # What ``*`` and ``?`` may match: anything, or anything but the separator.
        self.any_char = f"[^{re.escape(separator)}]" if separator else "."

    def error(self, message: str) -> errors.SpecError:
        return errors.SpecError(f"glob {self.pattern!r}: {message} at offset {self.pos}")

    def parse(self, *, in_braces: bool = False) -> str:
        out: list[str] = []
        pattern = self.pattern
        while self.pos < len(pattern):
            char = pattern[self.pos]
            if in_braces and char in ",}":
                return "".join(out)
            self.pos += 1
            if char == "*":
                out.append(self.stars(self.pos - 1))
            elif char == "?":
                out.append(self.any_char)
            elif char == "[":
                out.append(self.char_class())
            elif char == "{":
                out.append(self.alternatives())
            elif char == "\\":
                if self.pos >= len(pattern):
                    raise self.error("dangling escape")
                out.append(re.escape(pattern[self.pos]))
                self.pos += 1
            else:
                out.append(re.escape(char))
        if in_braces:
            raise self.error("unclosed '{'")
        return "".join(out)

    def stars(self, start: int) -> str:
        pattern = self.pattern
        while self.pos < len(pattern) and pattern[self.pos] == "*":
            self.pos += 1
        count = self.pos - start
        if count == 1 or self.doublestar == "star":
            return self.any_char + "*"
        if self.doublestar == "segments":
            sep = self.separator or "/"
            whole = (start == 0 or pattern[start - 1] == sep) and (
                self.pos == len(pattern) or pattern[self.pos] == sep
            )
            if not whole:
                return self.any_char + "*"
            if self.pos == len(pattern):
                return ".*"
            self.pos += 1  # the separator after ``**/`` belongs to it: zero segments match
            return f"(?:[^{re.escape(sep)}]+{re.escape(sep)})*"
        return ".*"

    def alternatives(self) -> str:
        options: list[str] = []
        while True:
            options.append(self.parse(in_braces=True))
            char = self.pattern[self.pos]
            self.pos += 1
            if char == "}":
                return "(?:" + "|".join(options) + ")"

    def char_class(self) -> str:
        pattern = self.pattern
        path_style = self.doublestar != "any"  # Go path.Match also negates with '^'
        negators = "!^" if path_style else "!"
        first = pattern[self.pos : self.pos + 1]
        end = pattern.find("]", self.pos + 1 if first and first in negators else self.pos)
        if end < 0:
            raise self.error("unclosed '['")
        body = pattern[self.pos : end]
        self.pos = end + 1
        negate = bool(body) and body[0] in negators
        if negate:
            body = body[1:]
        if not body:
            raise self.error("empty character class")
        escaped = "".join("\\" + c if c in "\\^[]" else c for c in body)
        if self.separator and path_style:  # path.Match: a class never matches '/'
            sep = re.escape(self.separator)
            return f"[^{sep}{escaped}]" if negate else f"(?!{sep})[{escaped}]"
        return f"[{'^' if negate else ''}{escaped}]"


@functools.lru_cache(maxsize=512)
def compile_glob(
    pattern: str, separator: str = "", doublestar: DoubleStar = "any"
) -> re.Pattern[str]:
    """The regular expression matching exactly the values ``pattern`` matches."""
    return re.compile(_Parser(pattern, separator, doublestar).parse() + r"\Z", re.DOTALL)


def matches(pattern: str, value: str, *, separator: str = "") -> bool:
    """gobwas / Argo CD ``glob.Match`` (see the module docstring)."""
    return compile_glob(pattern, separator).match(value) is not None


def _clean(path: str) -> str:
    return path.strip("/")


def path_match(pattern: str, path: str) -> bool:
    """Go ``path.Match`` on repository-relative paths (leading ``/`` ignored on both sides)."""
    return compile_glob(_clean(pattern), "/", "star").match(_clean(path)) is not None


def glob_match(pattern: str, path: str) -> bool:
    """Like :func:`path_match`, plus ``**`` spanning whole segments."""
    return compile_glob(_clean(pattern), "/", "segments").match(_clean(path)) is not None
