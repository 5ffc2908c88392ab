"""Glob patterns as Argo CD matches them (Go's gobwas/glob without separators): the ONE glob
dialect of Tidegate, for ``directory.include``/``exclude``, AppProject ``sourceRepos``,
``destinations`` and resource lists, sync windows and ignore rules.

Syntax: ``*`` any run of characters (``/`` included: the pattern is matched against the whole
value with no separator rule), ``?`` one character, ``[abc]``/``[a-z]``/``[!abc]``
character classes, ``{one,two}`` alternatives (nestable, may contain any of the above), ``\\``
escapes the next character. Pure; patterns compile to anchored regular expressions.

With ``separator`` (gobwas' separators, which Argo CD passes for ``sourceRepos``: ``/``), ``*``
and ``?`` do not match the separator and ``**`` matches any run including it.
"""

from __future__ import annotations

import functools
import re

from tidegate.model import errors


class _Parser:
    def __init__(self, pattern: str, separator: str = "") -> None:
        self.pattern = pattern
        self.pos = 0
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
                stars = 1
                while self.pos < len(pattern) and pattern[self.pos] == "*":
                    self.pos += 1
                    stars += 1
                out.append(".*" if stars > 1 else self.any_char + "*")
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
        end = pattern.find(
            "]", self.pos + 1 if pattern[self.pos : self.pos + 1] == "!" else self.pos
        )
        if end < 0:
            raise self.error("unclosed '['")
        body = pattern[self.pos : end]
        self.pos = end + 1
        negate = body.startswith("!")
        if negate:
            body = body[1:]
        if not body:
            raise self.error("empty character class")
        escaped = "".join("\\" + c if c in "\\^[]" else c for c in body)
        return f"[{'^' if negate else ''}{escaped}]"


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str, separator: str = "") -> re.Pattern[str]:
    """The regular expression matching exactly the paths ``pattern`` matches."""
    return re.compile(_Parser(pattern, separator).parse() + r"\Z", re.DOTALL)


def matches(pattern: str, path: str, *, separator: str = "") -> bool:
    return compile_glob(pattern, separator).match(path) is not None
