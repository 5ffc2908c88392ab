"""Objects between Python and Lua, the way Argo CD passes them (pure).

Into Lua: mappings become tables with string keys, lists become arrays (``obj.items[1]``),
JSON ``null`` becomes ``nil`` (the key reads as absent), numbers become Lua numbers.

Out of Lua (Argo CD encodes the returned table to JSON): a table whose keys are exactly
``1..n`` is a list, an empty table is an empty list (Lua cannot tell ``{}`` from ``[]``; action
results are repaired against the original object, see :func:`restore_empty_maps`), any other
table is a mapping with its keys as text. Integral numbers come back as ``int``. Tables are read
with raw access only, so a metatable planted by a script runs no code here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import lupa.lua52 as lupa

MAX_DEPTH: Final = 200


class ConversionError(ValueError):
    """A script returned something that has no JSON form (a function, a cycle, bad UTF-8)."""


# Generous per-item costs (bytes) of Lua 5.2 values: table parts grow by powers of two, so a
# table may hold up to twice the slots it uses; strings are counted at every use.
_TABLE: Final = 96
_MAP_ENTRY: Final = 96
_LIST_ENTRY: Final = 40
_STRING: Final = 48


def lua_size(value: Any, *, limit: int) -> int:
    """An over-estimate of the Lua memory ``to_lua(value)`` allocates; stops counting past
    ``limit``. Building tables from Python happens outside any protected Lua call, where
    running out of memory aborts the process: callers check this against what is free."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += _STRING + len(item) * 4  # UTF-8: at most 4 bytes per character
        elif isinstance(item, Mapping):
            total += _TABLE + _MAP_ENTRY * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            total += _TABLE + _LIST_ENTRY * len(item)
            stack.extend(item)
        if total > limit:
            break
    return total


def to_lua(runtime: Any, value: Any) -> Any:
    """``value`` as a Lua value of ``runtime`` (tables built recursively; None is nil)."""
    if isinstance(value, Mapping | list | tuple):
        return runtime.table_from(value, recursive=True)
    return value


def from_lua(value: Any, *, _depth: int = 0) -> Any:
    """A Lua value as plain Python data (see the module docstring)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        if not math.isfinite(value):
            raise ConversionError(f"the number {value} has no JSON form")
        return value
    kind = lupa.lua_type(value)
    if kind != "table":
        raise ConversionError(f"a Lua {kind or type(value).__name__} has no JSON form")
    if _depth >= MAX_DEPTH:
        raise ConversionError(f"tables nested deeper than {MAX_DEPTH} (a cycle?)")
    entries = [(k, from_lua(v, _depth=_depth + 1)) for k, v in value.items()]
    if not entries:
        return []
    keys = [k for k, _ in entries]
    if all(isinstance(k, int | float) and not isinstance(k, bool) for k in keys):
        ordered = sorted(entries, key=lambda kv: kv[0])
        if [k for k, _ in ordered] == list(range(1, len(ordered) + 1)):
            return [v for _, v in ordered]
    return {_key_text(k): v for k, v in entries}


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    if isinstance(key, bool | int | float):
        return str(key).lower() if isinstance(key, bool) else str(key)
    raise ConversionError(f"a table key of type {lupa.lua_type(key) or type(key).__name__}")


def restore_empty_maps(new: Any, old: Any) -> Any:
    """Where the original object had a mapping and the script's result has an empty list (an
    empty Lua table), put the original mapping back, recursively, as Argo CD does for action
    results: a script that never touched ``metadata.annotations = {}`` must not turn it into
    ``[]``."""
    if isinstance(new, dict) and isinstance(old, Mapping):
        for key, value in list(new.items()):
            if key not in old:
                continue
            before = old[key]
            if isinstance(value, list) and not value and isinstance(before, Mapping):
                new[key] = before
            else:
                new[key] = restore_empty_maps(value, before)
        return new
    if isinstance(new, list) and isinstance(old, list):
        for index, value in enumerate(new):
            if index < len(old):
                new[index] = restore_empty_maps(value, old[index])
        return new
    return new
