"""Glob patterns as Argo CD matches them (Go's gobwas/glob without separators): the ONE glob
dialect of Tidegate, for ``directory.include``/``exclude``, AppProject ``sourceRepos``,
``destinations`` and resource lists, sync windows and ignore rules.

Syntax: ``*`` any run of characters (``/`` included: the pattern is matched against the whole
value with no separator rule), ``?`` one character, ``[abc]``/``[a-z]``/``[!abc]``
character classes, ``{one,two}`` alternatives (nestable, may contain any of the above), ``\\``
escapes the next character. Pure; patterns compile to anchored regular expressions.

With ``separator="/"`` the same syntax follows Go's ``path.Match`` instead (the ApplicationSet git
generators' paths, webhook ``manifest-generate-paths``): ``*``, ``?`` and character classes
never match the separator, and ``[^abc]`` negates as ``[!abc]`` does. ``globstar=True`` adds
``**`` as a whole path segment: any number of segments, none included (``a/**/b`` matches
``a/b`` and ``a/x/y/b``).
"""

from __future__ import annotations

import functools
import re

from tidegate.model import errors


class _Parser:
    def __init__(self, pattern: str, separator: str | None, globstar: bool) -> None:
        self.pattern = pattern
        self.pos = 0
        self.separator = separator
        self.globstar = globstar
        # What ``*`` and ``?`` may match: anything, or anything but the separator.
        self.any = f"[^{re.escape(separator)}]" if separator else "."

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
                start = self.pos - 1
                while self.pos < len(pattern) and pattern[self.pos] == "*":
                    self.pos += 1
                if self.globstar and self.pos - start == 2 and self._whole_segment(start):
                    out.append(self._globstar())
                else:
                    out.append(self.any + "*")
            elif char == "?":
                out.append(self.any)
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

    def _whole_segment(self, start: int) -> bool:
        sep = self.separator or "/"
        before = start == 0 or self.pattern[start - 1] == sep
        after = self.pos == len(self.pattern) or self.pattern[self.pos] == sep
        return before and after

    def _globstar(self) -> str:
        """``**`` as a segment: at the end, the rest of the path; else whole segments and their
        separators (the separator after ``**`` is consumed here)."""
        sep = re.escape(self.separator or "/")
        if self.pos == len(self.pattern):
            return ".*"
        self.pos += 1
        return f"(?:[^{sep}]+{sep})*"

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
        negators = "!^" if self.separator else "!"
        first = pattern[self.pos : self.pos + 1]
        end = pattern.find("]", self.pos + 1 if first and first in negators else self.pos)
        if end < 0:
            raise self.error("unclosed '['")
        body = pattern[self.pos : end]
        self.pos = end + 1
        negate = body.startswith("!") or (self.separator is not None and body.startswith("^"))
        if negate:
            body = body[1:]
        if not body:
            raise self.error("empty character class")
        escaped = "".join("\\" + c if c in "\\^[]" else c for c in body)
        if self.separator:
            if negate:
                return f"[^{re.escape(self.separator)}{escaped}]"
            return f"(?!{re.escape(self.separator)})[{escaped}]"
        return f"[{'^' if negate else ''}{escaped}]"


@functools.lru_cache(maxsize=512)
def compile_glob(
    pattern: str, *, separator: str | None = None, globstar: bool = False
) -> re.Pattern[str]:
    """The regular expression matching exactly the values ``pattern`` matches."""
    return re.compile(_Parser(pattern, separator, globstar).parse() + r"\Z", re.DOTALL)


def matches(
    pattern: str, value: str, *, separator: str | None = None, globstar: bool = False
) -> bool:
    """Whether ``value`` matches ``pattern`` (a :class:`~tidegate.model.errors.SpecError` names
    a malformed pattern)."""
    return compile_glob(pattern, separator=separator, globstar=globstar).match(value) is not None
