"""Paths into JSON-like objects: RFC 6901 JSON Pointers and the get/set/delete verbs on them.

A path is a tuple of steps: ``str`` for a mapping key, ``int`` for a list index. A JSON Pointer
is parsed without knowing the object, so its numeric steps stay strings until resolved against a
list (``resolve``).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from tidegate.model import errors

Step = str | int
Path = tuple[Step, ...]

_MISSING: Any = object()


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """Split an RFC 6901 pointer (``/spec/a~1b/0``) into unescaped reference tokens."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise errors.SpecError(f"JSON pointer {pointer!r} must start with '/'")
    return tuple(tok.replace("~1", "/").replace("~0", "~") for tok in pointer[1:].split("/"))


def format_pointer(path: Path) -> str:
    """The RFC 6901 text of a path."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in path)


def resolve(obj: Any, tokens: tuple[str, ...]) -> Path | None:
    """Turn pointer tokens into a concrete path in ``obj``; None if any step does not exist."""
    out: list[Step] = []
    cur = obj
    for tok in tokens:
        if isinstance(cur, Mapping):
            if tok not in cur:
                return None
            out.append(tok)
            cur = cur[tok]
        elif isinstance(cur, list):
            if not tok.isdigit() or int(tok) >= len(cur):
                return None
            out.append(int(tok))
            cur = cur[int(tok)]
        else:
            return None
    return tuple(out)


def get(obj: Any, path: Path, default: Any = None) -> Any:
    """The value at ``path``, or ``default`` when a step is missing."""
    cur = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return default
        elif not isinstance(cur, Mapping) or step not in cur:
            return default
        cur = cur[step]
    return cur


def exists(obj: Any, path: Path) -> bool:
    return get(obj, path, _MISSING) is not _MISSING


def delete(obj: Any, path: Path) -> None:
    """Remove the value at ``path`` in place (lists shrink); a missing path is a no-op."""
    if not path:
        return
    parent = get(obj, path[:-1], _MISSING)
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        parent.pop(last, None)
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        del parent[last]


def delete_all(obj: Any, paths: list[Path]) -> None:
    """Delete many paths; list indices are removed from the highest down so they stay valid."""
    for path in sorted(set(paths), key=_deletion_order, reverse=True):
        delete(obj, path)


def _deletion_order(path: Path) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, s) if isinstance(s, int) else (1, s) for s in path)


def put(obj: Any, path: Path, value: Any) -> bool:
    """Set ``value`` at ``path`` in place, creating missing mappings; False if impossible."""
    if not path:
        return False
    cur = obj
    for step, nxt in itertools.pairwise(path):
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return False
            cur = cur[step]
            continue
        if not isinstance(cur, dict):
            return False
        if step not in cur or not isinstance(cur[step], dict | list):
            if isinstance(nxt, int):
                return False
            cur[step] = {}
        cur = cur[step]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(cur, list) or last >= len(cur):
            return False
        cur[last] = copy.deepcopy(value)
    else:
        if not isinstance(cur, dict):
            return False
        cur[last] = copy.deepcopy(value)
    return True


def leaves(obj: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar (and empty container) in ``obj`` with its path."""
    if isinstance(obj, Mapping) and obj:
        for k, v in obj.items():
            yield from leaves(v, (*prefix, str(k)))
    elif isinstance(obj, list) and obj:
        for i, v in enumerate(obj):
            yield from leaves(v, (*prefix, i))
    else:
        yield prefix, obj
