"""Per-resource sync metadata read from annotations: wave, hook types, hook delete policies.

Argo CD's annotations win; Helm's hook annotations are mapped when no Argo CD hook is declared:
``pre-install``/``pre-upgrade`` -> PreSync, ``post-install``/``post-upgrade`` -> PostSync,
``crd-install`` -> an ordinary resource, other Helm hooks (delete, rollback, test) -> Skip;
``helm.sh/hook-weight`` is the wave when ``sync-wave`` is absent; Helm delete policies map to
``BeforeHookCreation``/``HookSucceeded``/``HookFailed``. Bad values raise :class:`SpecError`
naming the object.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from tidegate.model import constants, errors, keys
from tidegate.model.enums import HookType, SyncPhase
from tidegate.sync import options


class DeletePolicy(enum.StrEnum):
    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"
    BEFORE_HOOK_CREATION = "BeforeHookCreation"


PHASE_ORDER = {p: i for i, p in enumerate(SyncPhase)}
# The hook types a sync runs (PostDelete hooks run on app deletion: not supported yet).
SYNC_HOOK_TYPES = tuple(h for h in HookType if h is not HookType.POST_DELETE)

_HELM_HOOKS: dict[str, HookType | None] = {
    "crd-install": None,
    "pre-install": HookType.PRE_SYNC,
    "pre-upgrade": HookType.PRE_SYNC,
    "post-install": HookType.POST_SYNC,
    "post-upgrade": HookType.POST_SYNC,
    "pre-delete": HookType.SKIP,
    "post-delete": HookType.SKIP,
    "pre-rollback": HookType.SKIP,
    "post-rollback": HookType.SKIP,
    "test": HookType.SKIP,
    "test-success": HookType.SKIP,
    "test-failure": HookType.SKIP,
}
_HELM_DELETE_POLICIES = {
    "before-hook-creation": DeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": DeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": DeletePolicy.HOOK_FAILED,
}


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _items(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _name(obj: Mapping[str, Any]) -> str:
    key = keys.ResourceKey.of(obj)
    if not key.name:
        generate = (obj.get("metadata") or {}).get("generateName")
        return str(key._replace(name=f"{generate}*"))
    return str(key)


def installation_of(obj: Mapping[str, Any]) -> str:
    """The installation id (argocd-cm ``installationID``) ``obj`` carries; ``""`` when none."""
    return str(_annotations(obj).get(constants.ANNOTATION_INSTALLATION_ID) or "")


def sync_wave(obj: Mapping[str, Any]) -> int:
    """The wave of ``obj`` (default 0)."""
    notes = _annotations(obj)
    for annotation in (constants.ANNOTATION_SYNC_WAVE, constants.ANNOTATION_HELM_HOOK_WEIGHT):
        if annotation in notes:
            raw = str(notes[annotation]).strip()
            try:
                return int(raw)
            except ValueError:
                raise errors.SpecError(
                    f"{_name(obj)}: annotation {annotation} must be an integer, not {raw!r}"
                ) from None
    return 0


def hook_types(obj: Mapping[str, Any]) -> frozenset[HookType]:
    """The hook types ``obj`` declares; empty for an ordinary resource."""
    notes = _annotations(obj)
    if constants.ANNOTATION_HOOK in notes:
        found = set()
        for item in _items(str(notes[constants.ANNOTATION_HOOK])):
            try:
                hook = HookType(item)
            except ValueError:
                hook = None
            if hook is None or hook is HookType.POST_DELETE:
                raise errors.SpecError(
                    f"{_name(obj)}: unknown hook type {item!r} in {constants.ANNOTATION_HOOK} "
                    f"(known: {', '.join(h.value for h in SYNC_HOOK_TYPES)})"
                )
            found.add(hook)
        return frozenset(found)
    if constants.ANNOTATION_HELM_HOOK in notes:
        mapped = set()
        for item in _items(str(notes[constants.ANNOTATION_HELM_HOOK])):
            if item not in _HELM_HOOKS:
                raise errors.SpecError(
                    f"{_name(obj)}: unknown Helm hook {item!r} in {constants.ANNOTATION_HELM_HOOK}"
                )
            hook = _HELM_HOOKS[item]
            if hook is not None:
                mapped.add(hook)
        if len(mapped) > 1:
            mapped.discard(HookType.SKIP)
        return frozenset(mapped)
    return frozenset()


def is_hook(obj: Mapping[str, Any]) -> bool:
    return bool(hook_types(obj))


def is_skipped(obj: Mapping[str, Any]) -> bool:
    return HookType.SKIP in hook_types(obj)


def delete_policies(obj: Mapping[str, Any]) -> frozenset[DeletePolicy]:
    """A hook's delete policies (default BeforeHookCreation)."""
    notes = _annotations(obj)
    found: set[DeletePolicy] = set()
    if constants.ANNOTATION_HOOK_DELETE_POLICY in notes:
        for item in _items(str(notes[constants.ANNOTATION_HOOK_DELETE_POLICY])):
            try:
                found.add(DeletePolicy(item))
            except ValueError:
                raise errors.SpecError(
                    f"{_name(obj)}: unknown hook delete policy {item!r} "
                    f"(known: {', '.join(p.value for p in DeletePolicy)})"
                ) from None
    elif constants.ANNOTATION_HELM_HOOK_DELETE_POLICY in notes:
        for item in _items(str(notes[constants.ANNOTATION_HELM_HOOK_DELETE_POLICY])):
            if item not in _HELM_DELETE_POLICIES:
                raise errors.SpecError(f"{_name(obj)}: unknown Helm hook delete policy {item!r}")
            found.add(_HELM_DELETE_POLICIES[item])
    return frozenset(found) or frozenset({DeletePolicy.BEFORE_HOOK_CREATION})


def resource_options(obj: Mapping[str, Any]) -> options.SyncOptions:
    """The sync options set by ``obj``'s ``argocd.argoproj.io/sync-options`` annotation."""
    raw = _annotations(obj).get(constants.ANNOTATION_SYNC_OPTIONS)
    if raw is None:
        return options.SyncOptions()
    return options.parse_annotation(str(raw), source=_name(obj))
