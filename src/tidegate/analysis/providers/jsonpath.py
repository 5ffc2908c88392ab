"""The JSONPath a web metric's ``jsonPath`` uses, Kubernetes style (pure).

``{$.data.ok}``, ``{.items[0].value}``, ``{$['a-b'].c}``, ``{$.items[*].v}`` (a list) and
``{$}`` (the whole document). Braces are optional.
"""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(-?\d+|\*)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


class JSONPathError(ValueError):
    pass


def select(doc: Any, path: str) -> Any:
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    values: list[Any] = [doc]
    many = False
    pos = 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise JSONPathError(f"jsonPath {path!r}: cannot parse at {text[pos:]!r}")
        pos = match.end()
        key, index, q1, q2 = match.groups()
        nxt: list[Any] = []
        for value in values:
            if index == "*":
                many = True
                nxt.extend(value if isinstance(value, list) else list(_values(value)))
            elif index is not None:
                if not isinstance(value, list) or not -len(value) <= int(index) < len(value):
                    raise JSONPathError(f"jsonPath {path!r}: index {index} out of range")
                nxt.append(value[int(index)])
            else:
                field = key if key is not None else (q1 if q1 is not None else q2)
                if not isinstance(value, dict) or field not in value:
                    raise JSONPathError(f"jsonPath {path!r}: {field} is not found")
                nxt.append(value[field])
        values = nxt
    return values if many else values[0]


def _values(value: Any) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else []
