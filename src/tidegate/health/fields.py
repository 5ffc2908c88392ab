"""Small readers over raw objects: nested lookups and conditions, tolerant of missing parts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def dig(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, or None as soon as a part is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def mapping(obj: Any, *path: str) -> Mapping[str, Any]:
    """The mapping at ``path``, or an empty one."""
    found = dig(obj, *path)
    return found if isinstance(found, Mapping) else {}


def items(obj: Any, *path: str) -> list[Mapping[str, Any]]:
    """The list of mappings at ``path`` (non-mapping entries skipped), or an empty list."""
    found = dig(obj, *path)
    if not isinstance(found, Sequence) or isinstance(found, str):
        return []
    return [item for item in found if isinstance(item, Mapping)]


def integer(obj: Any, *path: str, default: int = 0) -> int:
    """The integer at ``path`` (numeric strings accepted), else ``default``."""
    found = dig(obj, *path)
    if isinstance(found, bool):
        return default
    if isinstance(found, int):
        return found
    if isinstance(found, str) and found.strip().lstrip("-").isdigit():
        return int(found)
    return default


def optional_integer(obj: Any, *path: str) -> int | None:
    """The integer at ``path`` (numeric strings accepted), or None when it is absent or not one
    (a Go pointer field that is nil)."""
    found = dig(obj, *path)
    if found is None or isinstance(found, bool):
        return None
    value = integer(obj, *path, default=-(2**63))
    return None if value == -(2**63) else value


def text(obj: Any, *path: str) -> str:
    """The string at ``path``, or an empty string."""
    found = dig(obj, *path)
    return found if isinstance(found, str) else ""


def condition(obj: Any, kind: str) -> Mapping[str, Any] | None:
    """The ``status.conditions`` entry of type ``kind``, if any."""
    for cond in items(obj, "status", "conditions"):
        if cond.get("type") == kind:
            return cond
    return None


def condition_is(obj: Any, kind: str, status: str) -> bool:
    """True if condition ``kind`` exists with ``status`` (``"True"``/``"False"``)."""
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == status


def generation_observed(obj: Any) -> bool:
    """True once the controller has seen the latest spec (observedGeneration >= generation)."""
    generation = integer(obj, "metadata", "generation")
    return integer(obj, "status", "observedGeneration") >= generation
