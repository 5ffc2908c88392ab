"""Semantic versions and Helm's version constraints (the Masterminds/semver v3 dialect). Pure.

Helm, and so Argo CD, pick a chart version with this syntax, which differs from npm's and from
PEP 440 in ways that change the answer, so it is implemented here rather than borrowed:

- ``||`` separates alternatives; inside one, comparators are separated by commas or spaces
  (``>=1.0 <2.0`` and ``>=1.0, <2.0`` are the same);
- a version may start with ``v`` and may lack its minor or patch: a missing part, ``x``, ``X``
  or ``*`` is a wildcard (``1.2``, ``1.2.x`` and ``1.2.*`` all mean ``>=1.2.0 <1.3.0``);
- ``~1.2.3`` is ``>=1.2.3 <1.3.0``, ``~1`` is ``>=1.0.0 <2.0.0``; ``^1.2.3`` is ``>=1.2.3
  <2.0.0``, ``^0.2.3`` is ``>=0.2.3 <0.3.0``, ``^0.0.3`` is ``=0.0.3``;
- ``1.2 - 1.4.5`` is ``>=1.2 <=1.4.5``;
- prereleases (``1.3.0-rc.1``) match only an alternative that names a prerelease itself.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from tidegate.model import errors

_VERSION = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<meta>[0-9A-Za-z.-]+))?$"
)
_COMPARATOR = re.compile(
    r"^(?P<op>=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?\s*v?(?P<major>\d+|[xX*])"
    r"(?:\.(?P<minor>\d+|[xX*]))?(?:\.(?P<patch>\d+|[xX*]))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_HYPHEN = re.compile(r"(\S+)\s+-\s+(\S+)")
_WILD = ("x", "X", "*")


@functools.total_ordering
@dataclasses.dataclass(frozen=True)
class Version:
    """A semantic version; ``text`` is how it was written (kept for display and lookups)."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    text: str = dataclasses.field(default="", compare=False)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after all its prereleases; numeric identifiers before alphanumeric.
        parts = tuple(
            (0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease.split(".") if p
        )
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, parts)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text or f"{self.major}.{self.minor}.{self.patch}" + (
            f"-{self.prerelease}" if self.prerelease else ""
        )


def parse_version(text: str) -> Version | None:
    """``text`` as a version (missing minor/patch read as 0, as Helm does), or None."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return Version(
        int(match["major"]),
        int(match["minor"] or 0),
        int(match["patch"] or 0),
        match["pre"] or "",
        text.strip(),
    )


@dataclasses.dataclass(frozen=True)
class _Comparator:
    op: str
    version: Version
    wild: int  # 0: none, 1: the patch is a wildcard, 2: minor and patch, 3: everything

    def admits(self, v: Version) -> bool:
        c = self.version
        if self.wild == 3:
            return self.op not in ("!=", "<", ">")
        if self.op in ("", "="):
            return self._tilde(v) if self.wild else v == c
        if self.op == "!=":
            return not self._tilde(v) if self.wild else v != c
        if self.op == ">":
            if self.wild == 1:
                return (v.major, v.minor) > (c.major, c.minor)
            if self.wild == 2:
                return v.major > c.major
            return v > c
        if self.op == "<":
            return v < c
        if self.op in (">=", "=>"):
            return v >= c
        if self.op in ("<=", "=<"):
            if self.wild == 1:
                return (v.major, v.minor) <= (c.major, c.minor)
            if self.wild == 2:
                return v.major <= c.major
            return v <= c
        if self.op in ("~", "~>"):
            return self._tilde(v)
        return self._caret(v)

    def _tilde(self, v: Version) -> bool:
        c = self.version
        if v < c or v.major != c.major:
            return False
        return self.wild == 2 or v.minor == c.minor

    def _caret(self, v: Version) -> bool:
        c = self.version
        if v < c:
            return False
        if c.major > 0 or self.wild == 2:
            return v.major == c.major
        if v.major > 0:
            return False
        if c.minor > 0 or self.wild == 1:
            return v.minor == c.minor
        if v.minor > 0:
            return False
        return v.patch == c.patch


def _comparator(text: str, whole: str) -> _Comparator:
    match = _COMPARATOR.match(text)
    if match is None:
        raise errors.SpecError(f"version constraint {whole!r}: cannot read {text!r}")
    parts = [match["major"], match["minor"], match["patch"]]
    wild = 0
    for index, part in enumerate(parts):
        if part is None or part in _WILD:
            wild = 3 - index
            break
    numbers = [int(p) if p is not None and p not in _WILD else 0 for p in parts]
    if wild:
        numbers[3 - wild :] = [0] * wild
    version = Version(numbers[0], numbers[1], numbers[2], match["pre"] or "")
    return _Comparator(match["op"] or "", version, wild)


@dataclasses.dataclass(frozen=True)
class Constraint:
    """A parsed constraint: alternatives (OR) of comparators (AND)."""

    text: str
    alternatives: tuple[tuple[_Comparator, ...], ...]

    def admits(self, v: Version) -> bool:
        for group in self.alternatives:
            if v.prerelease and not any(c.version.prerelease for c in group):
                continue
            if all(c.admits(v) for c in group):
                return True
        return False


def parse_constraint(text: str) -> Constraint:
    """Read ``text``; a SpecError names the part that cannot be read."""
    alternatives: list[tuple[_Comparator, ...]] = []
    for alternative in text.split("||"):
        spaced = _HYPHEN.sub(r">=\1 <=\2", alternative.strip())
        # An operator may be followed by spaces (">= 1.0"): glue it to its version.
        spaced = re.sub(r"(=|!=|>=|=>|<=|=<|>|<|~>|~|\^)\s+(?=[vV\d xX*])", r"\1", spaced)
        tokens = [t for t in re.split(r"[\s,]+", spaced) if t]
        if not tokens:
            raise errors.SpecError(f"version constraint {text!r}: an alternative is empty")
        alternatives.append(tuple(_comparator(t, text) for t in tokens))
    return Constraint(text, tuple(alternatives))


def best(versions: list[str], wanted: str) -> str | None:
    """The version to use for ``wanted`` among ``versions`` (as written in an index): the
    exact string when listed, else the highest version the constraint admits; None if none.
    ``""`` and ``HEAD`` mean the newest release (no prerelease)."""
    if wanted in versions:
        return wanted
    constraint = parse_constraint(wanted if wanted not in ("", "HEAD") else "*")
    admitted = [
        v
        for v in (parse_version(text) for text in versions)
        if v is not None and constraint.admits(v)
    ]
    return str(max(admitted)) if admitted else None


def is_exact(text: str) -> bool:
    """Whether ``text`` names one full version (``1.2.3``, ``v1.2.3-rc.1``), not a range."""
    match = _VERSION.match(text.strip())
    return match is not None and match["minor"] is not None and match["patch"] is not None
