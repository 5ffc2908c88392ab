"""Label selectors in the API server's string form, evaluated in memory (pure).

A watch shared by several consumers (:meth:`tidegate.live.cache.ClusterCache.subscribe`) is
made without a selector; each consumer's ``labelSelector`` is then applied to the objects as the
API server would have applied it: ``k``, ``!k``, ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``,
``k notin (a,b)``, joined by commas (all must hold). A selector outside that grammar is a
:class:`~tidegate.model.errors.SpecError` when parsed, never a silent non-match.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from tidegate.model import errors

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9._/-]+)\s*"
    r"(?:(?P<op>==|!=|=|\s+in\s+|\s+notin\s+)\s*(?P<value>\([^)]*\)|[A-Za-z0-9._-]*))?\s*$"
)


@dataclasses.dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # Exists, DoesNotExist, In, NotIn
    values: frozenset[str] = frozenset()

    def holds(self, labels: Mapping[str, Any]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return self.key in labels and str(labels[self.key]) in self.values
        return self.key not in labels or str(labels[self.key]) not in self.values


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse(text: str | None) -> tuple[Requirement, ...]:
    """The requirements of ``text`` (empty: everything matches)."""
    found: list[Requirement] = []
    for part in _split(text or ""):
        match = _REQUIREMENT.match(part)
        op = (match["op"] or "").strip() if match else ""
        if not match or (match["neg"] and op):
            raise errors.SpecError(f"invalid label selector requirement {part.strip()[:80]!r}")
        key, value = match["key"], match["value"] or ""
        if match["neg"]:
            found.append(Requirement(key, "DoesNotExist"))
        elif not op:
            found.append(Requirement(key, "Exists"))
        elif op in ("=", "==", "!="):
            found.append(Requirement(key, "NotIn" if op == "!=" else "In", frozenset({value})))
        else:
            if not value.startswith("("):
                raise errors.SpecError(f"label selector {op!r} needs a list: {part.strip()[:80]!r}")
            values = frozenset(v.strip() for v in value[1:-1].split(",") if v.strip())
            found.append(Requirement(key, "In" if op == "in" else "NotIn", values))
    return tuple(found)


def matches(requirements: tuple[Requirement, ...], obj: Mapping[str, Any]) -> bool:
    """Whether ``obj``'s labels meet every requirement."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.holds(labels) for r in requirements)
