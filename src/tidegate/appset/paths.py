"""Path matching and name normalisation used by the generators (pure).

- :func:`path_match` is Go's ``path.Match`` (:func:`tidegate.model.globs.path_match`, of
  Tidegate's one glob engine): ``*`` and ``?`` never cross ``/``,
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


def path_match(pattern: str, path: str) -> bool:
    """Go ``path.Match`` on repository-relative paths (leading ``/`` ignored on both sides)."""
    try:
        return globs.path_match(pattern, path)
    except errors.SpecError as exc:
        raise errors.GeneratorError(str(exc)) from None


def glob_match(pattern: str, path: str) -> bool:
    """Like :func:`path_match`, plus ``**`` spanning whole segments."""
    try:
        return globs.glob_match(pattern, path)
    except errors.SpecError as exc:
        raise errors.GeneratorError(str(exc)) from None


def hidden(path: str) -> bool:
    """True when a segment starts with ``.`` (``.git``, ``.github``): the generator skips them."""
    return any(part.startswith(".") for part in path.strip("/").split("/") if part)
