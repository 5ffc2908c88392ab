"""Resource actions from ``argocd-cm`` (``resource.customizations.actions.<group>_<Kind>``),
evaluated as Argo CD evaluates them (pure: the caller applies the result).

The YAML value holds ``discovery.lua`` (returns a table from action name to ``{}`` or to
``{disabled=..., iconClass=..., displayName=..., params=...}``) and ``definitions`` (a list of
``name`` + ``action.lua``). An action script sees the object as ``obj`` and its parameters as
``actionParams`` (name -> text) and returns either the changed object (a patch of that object)
or a list of ``{operation="create"|"patch", resource=...}`` (Argo CD's multi-resource form).
Built-in actions (Python, no scripts) are in :mod:`tidegate.lua.builtin_actions`; a kind's
configured actions replace them unless ``mergeBuiltinActions: true`` (read here). Lookup is by
exact ``group/Kind``, as in Argo CD.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import yaml

from tidegate.lua import sandbox, values
from tidegate.model import errors, overrides

OPERATIONS: Final = ("create", "patch")


class ActionError(errors.PermanentError):
    """An action cannot be listed or run: none configured, unknown or disabled, a script
    failure or an unusable result. Names the kind, the object and the cause."""


@dataclasses.dataclass(frozen=True)
class Action:
    name: str
    disabled: bool = False
    icon_class: str = ""
    display_name: str = ""
    params: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Argo CD's ``ResourceAction`` JSON."""
        out: dict[str, Any] = {"name": self.name, "disabled": self.disabled}
        if self.icon_class:
            out["iconClass"] = self.icon_class
        if self.display_name:
            out["displayName"] = self.display_name
        if self.params:
            out["params"] = [dict(p) for p in self.params]
        return out


@dataclasses.dataclass(frozen=True)
class ImpactedResource:
    operation: str  # "create" or "patch"
    resource: dict[str, Any]


@dataclasses.dataclass
class _KindActions:
    discovery: sandbox.Script
    definitions: dict[str, sandbox.Script]
    merge_builtins: bool = False


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    namespace = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj.get('kind') or '?'} {namespace}{meta.get('name') or '?'}"


def _group_kind_key(obj: Mapping[str, Any]) -> str:
    api_version = obj.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    kind = str(obj.get("kind") or "")
    return f"{group}/{kind}" if group else kind


class ResourceActions:
    """Every configured action script, compiled once."""

    def __init__(self) -> None:
        self._by_key: dict[str, _KindActions] = {}
        self.problems: list[str] = []

    @classmethod
    def from_overrides(
        cls,
        found: Mapping[str, overrides.ResourceOverride],
        *,
        limits: sandbox.Limits | None = None,
    ) -> ResourceActions:
        registry = cls()
        for key, override in found.items():
            if not override.actions.strip():
                continue
            source = override.actions_source or key
            try:
                registry._by_key[key] = _compile(override.actions, source, limits)
            except (errors.TidegateError, yaml.YAMLError) as exc:
                registry.problems.append(f"argocd-cm {source}: {exc}")
        return registry

    def has_actions(self, obj: Mapping[str, Any]) -> bool:
        return _group_kind_key(obj) in self._by_key

    def merges_builtins(self, obj: Mapping[str, Any]) -> bool:
        """The kind's configured actions say ``mergeBuiltinActions: true``."""
        found = self._by_key.get(_group_kind_key(obj))
        return found is not None and found.merge_builtins

    def list(self, obj: Mapping[str, Any]) -> builtins.list[Action]:
        """The actions discovery offers for ``obj``, by name ([] when none are configured)."""
        found = self._by_key.get(_group_kind_key(obj))
        if found is None:
            return []
        try:
            result = found.discovery.run({"obj": obj})
        except sandbox.LuaScriptError as exc:
            raise ActionError(f"action discovery for {_describe(obj)}: {exc}") from None
        if result is None or result == []:
            return []
        if not isinstance(result, dict):
            raise ActionError(
                f"action discovery for {_describe(obj)}: expect table output from Lua script"
            )
        return sorted((_action(name, value) for name, value in result.items()), key=_name)

    def run(
        self,
        obj: Mapping[str, Any],
        name: str,
        params: Mapping[str, str] | None = None,
    ) -> builtins.list[ImpactedResource]:
        """Run action ``name`` on ``obj``: the objects to patch or create. Refused when the
        action is not configured, not offered by discovery, or disabled."""
        what = _describe(obj)
        found = self._by_key.get(_group_kind_key(obj))
        if found is None:
            raise ActionError(f"{what}: no actions are configured for {_group_kind_key(obj)}")
        check_offered(what, name, {a.name: a.disabled for a in self.list(obj)})
        script = found.definitions.get(name)
        if script is None:
            raise ActionError(f"{what}: action {name!r} has no definition")
        try:
            result = script.run({"obj": obj, "actionParams": dict(params or {})})
        except sandbox.LuaScriptError as exc:
            raise ActionError(f"action {name!r} on {what}: {exc}") from None
        return _impacted(result, obj, f"action {name!r} on {what}")


def check_offered(what: str, name: str, offered: Mapping[str, bool]) -> None:
    """Refuse action ``name`` on the object ``what`` unless ``offered`` (name -> disabled)
    offers it enabled: the one wording of that refusal, wherever it is decided."""
    if name not in offered:
        raise ActionError(f"{what}: action {name!r} is not available")
    if offered[name]:
        raise ActionError(f"{what}: action {name!r} is disabled")


def _name(action: Action) -> str:
    return action.name


def _action(name: str, value: Any) -> Action:
    if not isinstance(value, dict):
        return Action(name)
    disabled = value.get("disabled")
    params = value.get("params")
    return Action(
        name,
        disabled=disabled if isinstance(disabled, bool) else False,
        icon_class=str(value.get("iconClass") or ""),
        display_name=str(value.get("displayName") or ""),
        params=tuple(p for p in params if isinstance(p, dict)) if isinstance(params, list) else (),
    )


def _impacted(result: Any, obj: Mapping[str, Any], what: str) -> list[ImpactedResource]:
    if isinstance(result, dict):
        return [ImpactedResource("patch", values.restore_empty_maps(result, obj))]
    if not isinstance(result, list) or not result:
        raise ActionError(f"{what}: Lua output was not a valid object or list")
    out: list[ImpactedResource] = []
    for index, entry in enumerate(result):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        operation = entry.get("operation") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or operation not in OPERATIONS:
            raise ActionError(
                f'{what}: entry {index + 1} must be {{operation = "create"|"patch", '
                "resource = {...}}"
            )
        if operation == "patch":
            resource = values.restore_empty_maps(resource, obj)
        out.append(ImpactedResource(str(operation), resource))
    return out


def _compile(text: str, source: str, limits: sandbox.Limits | None) -> _KindActions:
    parsed = yaml.load(text, Loader=yaml.CSafeLoader)
    if not isinstance(parsed, Mapping):
        raise errors.ConfigError("expected a map with discovery.lua and definitions")
    discovery = parsed.get("discovery.lua")
    if not isinstance(discovery, str) or not discovery.strip():
        raise errors.ConfigError("discovery.lua is missing")
    scripts: dict[str, sandbox.Script] = {}
    definitions = parsed.get("definitions") or []
    if not isinstance(definitions, list):
        raise errors.ConfigError("definitions must be a list of {name, action.lua}")
    for index, definition in enumerate(definitions):
        name = definition.get("name") if isinstance(definition, Mapping) else None
        body = definition.get("action.lua") if isinstance(definition, Mapping) else None
        if not isinstance(name, str) or not name or not isinstance(body, str):
            raise errors.ConfigError(f"definitions[{index}]: needs a name and action.lua")
        scripts[name] = sandbox.Script(body, name=f"{source} {name}", limits=limits)
    return _KindActions(
        sandbox.Script(discovery, name=f"{source} discovery.lua", limits=limits),
        scripts,
        merge_builtins=parsed.get("mergeBuiltinActions") is True,
    )
