"""Path matching and name normalisation used by the generators (pure).

- :func:`path_match` is Go's ``path.Match`` (Tidegate's one glob dialect,
  :mod:`tidegate.model.globs`, with ``/`` as separator): ``*`` and ``?`` never cross ``/``,
  ``[...]`` classes with ranges and ``^`` negation, ``\\`` escapes. The git directory generator
  uses it.
- :func:`glob_match` adds ``**`` (any number of whole segments, including none) for the git files
  generator, so ``config/**/config.json`` matches both ``config/config.json`` and
  ``config/a/b/config.json``. A git-backed ``GitReader`` should use it too.
- :func:`normalize` makes a string a valid DNS-1123 subdomain-ish name, as Argo CD's
  ``nameNormalized``, ``basenameNormalized`` and the ``normalize`` template function do.
"""

from __future__ import annotations

import re

from tidegate.model import errors, globs

_INVALID_NAME_CHARS = re.compile(r"[^-a-z0-9.]")
_MAX_NAME = 253


def normalize(name: str) -> str:
    """Lower-case, replace anything but ``[-a-z0-9.]`` by ``-``, cut at 253, trim ``-``/``.``."""
    cleaned = _INVALID_NAME_CHARS.sub("-", name.lower())[:_MAX_NAME]
    return cleaned.strip("-.")


def _clean(path: str) -> str:
    return path.strip("/")


def _match(pattern: str, path: str, *, globstar: bool) -> bool:
    try:
        return globs.matches(_clean(pattern), _clean(path), separator="/", globstar=globstar)
    except errors.SpecError as exc:
        raise errors.GeneratorError(f"bad pattern {pattern!r}: {exc}") from None


def path_match(pattern: str, path: str) -> bool:
    """Go ``path.Match`` on repository-relative paths (leading ``/`` ignored on both sides)."""
    return _match(pattern, path, globstar=False)


def glob_match(pattern: str, path: str) -> bool:
    """Like :func:`path_match`, plus ``**`` spanning whole segments."""
    return _match(pattern, path, globstar=True)


def hidden(path: str) -> bool:
    """True when a segment starts with ``.`` (``.git``, ``.github``): the generator skips them."""
    return any(part.startswith(".") for part in _clean(path).split("/") if part)
