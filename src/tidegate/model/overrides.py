"""Resource customizations from ``argocd-cm``, keyed by ``group/Kind`` (pure data).

Argo CD reads them in two forms, and so does Tidegate:

- one key per customization: ``resource.customizations.<type>.<group>_<Kind>`` (``<Kind>``
  alone for the core group, ``all`` for every kind), where ``<type>`` is ``health`` (a Lua
  script, or Tidegate's declarative rules), ``useOpenLibs`` (``true``/``false``), ``actions``
  (YAML: ``discovery.lua``, ``definitions``, ``mergeBuiltinActions``), ``ignoreDifferences``,
  ``ignoreResourceUpdates`` (YAML) and ``knownTypeFields`` (a YAML list of ``field``/``type``);
- the older single key ``resource.customizations``: a YAML map from ``group/Kind`` to
  ``health.lua``, ``health.lua.useOpenLibs``, ``actions``, ``ignoreDifferences``,
  ``ignoreResourceUpdates``, ``knownTypeFields``. Per-type keys win over it, field by field.

Group and kind may hold glob wildcards (``*.crossplane.io/*``); see :mod:`tidegate.model.globs`.
Bad entries are reported as problems (``argocd-cm KEY: cause``) and left out; the rest apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import yaml

PREFIX: Final = "resource.customizations."
LEGACY_KEY: Final = "resource.customizations"
_TYPES: Final = (
    "health",
    "useOpenLibs",
    "actions",
    "ignoreDifferences",
    "ignoreResourceUpdates",
    "knownTypeFields",
)
_LEGACY_FIELDS: Final = {
    "health.lua": "health",
    "health.lua.useOpenLibs": "useOpenLibs",
    "useOpenLibs": "useOpenLibs",
    "actions": "actions",
    "ignoreDifferences": "ignoreDifferences",
    "ignoreResourceUpdates": "ignoreResourceUpdates",
    "knownTypeFields": "knownTypeFields",
}


@dataclasses.dataclass
class ResourceOverride:
    """The customizations of one ``group/Kind`` key; each ``*_source`` names where it came
    from, for error messages."""

    health: str = ""
    health_source: str = ""
    use_open_libs: bool = False
    actions: str = ""
    actions_source: str = ""
    ignore_differences: Mapping[str, Any] | None = None
    ignore_differences_source: str = ""
    ignore_resource_updates: Mapping[str, Any] | None = None
    known_type_fields: tuple[Mapping[str, Any], ...] = ()
    known_type_fields_source: str = ""


def override_key(group_kind: str) -> str | None:
    """``group_Kind`` (a config map key suffix) as ``group/Kind``; ``Kind`` alone stays as is;
    ``all`` is ``*/*``. None when malformed."""
    if group_kind == "all":
        return "*/*"
    parts = group_kind.split("_")
    if len(parts) == 2 and parts[1]:
        return f"{parts[0]}/{parts[1]}" if parts[0] else parts[1]
    if len(parts) == 1 and group_kind:
        return group_kind
    return None


def split_key(key: str) -> tuple[str, str]:
    """``group/Kind`` into ``(group, Kind)``; ``Kind`` alone is the core group."""
    group, _, kind = key.rpartition("/")
    return group, kind


def parse(data: Mapping[str, str]) -> tuple[dict[str, ResourceOverride], list[str]]:
    """All resource customizations of an ``argocd-cm`` data map, and the problems found."""
    found: dict[str, ResourceOverride] = {}
    problems: list[str] = []
    legacy = data.get(LEGACY_KEY)
    if legacy and str(legacy).strip():
        _parse_legacy(str(legacy), found, problems)
    for cm_key in sorted(data):
        if not cm_key.startswith(PREFIX):
            continue
        kind_of, _, suffix = cm_key[len(PREFIX) :].partition(".")
        if kind_of not in _TYPES:
            continue  # other resource.customizations.* keys are not customizations per kind
        key = override_key(suffix)
        if key is None:
            problems.append(
                f"argocd-cm {cm_key}: expected resource.customizations.{kind_of}.<group>_<Kind> "
                f"or resource.customizations.{kind_of}.<Kind>"
            )
            continue
        problem = _set(found.setdefault(key, ResourceOverride()), kind_of, data[cm_key], cm_key)
        if problem:
            problems.append(f"argocd-cm {cm_key}: {problem}")
    return found, problems


def _parse_legacy(text: str, found: dict[str, ResourceOverride], problems: list[str]) -> None:
    try:
        parsed = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        problems.append(f"argocd-cm {LEGACY_KEY}: invalid YAML: {exc}")
        return
    if not isinstance(parsed, Mapping):
        problems.append(f"argocd-cm {LEGACY_KEY}: expected a map of group/Kind to settings")
        return
    for key, fields in parsed.items():
        where = f"{LEGACY_KEY} {key}"
        if not isinstance(fields, Mapping):
            problems.append(f"argocd-cm {where}: expected a map of settings")
            continue
        override = found.setdefault(str(key), ResourceOverride())
        for field, value in fields.items():
            kind_of = _LEGACY_FIELDS.get(str(field))
            if kind_of is None:
                problems.append(f"argocd-cm {where}: unknown field {field!r}")
                continue
            problem = _set(override, kind_of, value, f"{where} {field}")
            if problem:
                problems.append(f"argocd-cm {where} {field}: {problem}")


def _yaml(value: Any) -> Any:
    if isinstance(value, str):
        return yaml.load(value, Loader=yaml.CSafeLoader)
    return value


def _set(override: ResourceOverride, kind_of: str, value: Any, source: str) -> str:
    """Store one customization; returns a problem ("" when fine)."""
    try:
        if kind_of == "health":
            override.health, override.health_source = str(value or ""), source
        elif kind_of == "useOpenLibs":
            text = str(value).strip().lower()
            if text not in ("true", "false", "1", "0"):
                return f"expected true or false, got {value!r}"
            override.use_open_libs = text in ("true", "1")
        elif kind_of == "actions":
            override.actions = value if isinstance(value, str) else yaml.safe_dump(value)
            override.actions_source = source
        elif kind_of in ("ignoreDifferences", "ignoreResourceUpdates"):
            parsed = _yaml(value) or {}
            if not isinstance(parsed, Mapping):
                return "expected a map (jsonPointers, jqPathExpressions, managedFieldsManagers)"
            if kind_of == "ignoreDifferences":
                override.ignore_differences, override.ignore_differences_source = parsed, source
            else:
                override.ignore_resource_updates = parsed
        elif kind_of == "knownTypeFields":
            parsed = _yaml(value) or []
            if not isinstance(parsed, list) or not all(
                isinstance(f, Mapping) and isinstance(f.get("field"), str) and f.get("type")
                for f in parsed
            ):
                return "expected a list of {field, type}"
            override.known_type_fields = tuple(parsed)
            override.known_type_fields_source = source
    except yaml.YAMLError as exc:
        return f"invalid YAML: {exc}"
    return ""
