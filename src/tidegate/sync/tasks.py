"""Build the sync tasks of an operation: pair targets with live objects, add hooks, order them.

No target means prune, no live object means create, both means apply. Hooks become one task per
hook phase, are never pruned, and get a deterministic name when they use ``generateName``.
Problems with one resource (bad annotation, shared with another app) become ``error`` on its
task, never an exception.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from tidegate.model import constants, enums, errors, keys
from tidegate.sync import options, order, resource_meta

Obj = Mapping[str, Any]


class Action(enum.StrEnum):
    CREATE = "create"
    APPLY = "apply"
    PRUNE = "prune"


@dataclasses.dataclass(frozen=True)
class SyncParams:
    """What the operation asks for, and the application facts planning needs."""

    app_name: str
    app_options: options.SyncOptions = dataclasses.field(default_factory=options.SyncOptions)
    prune: bool = False
    dry_run: bool = False
    resources: frozenset[keys.ResourceKey] | None = None  # selective sync; None = all
    allow_empty: bool = True
    prune_confirmed: bool = False
    destination_namespace: str = ""
    out_of_sync: frozenset[keys.ResourceKey] | None = None  # for ApplyOutOfSyncOnly
    sync_id: str = ""
    tracking_method: str = constants.TRACKING_ANNOTATION
    installation_id: str = ""  # argocd-cm installationID; "" = none
    # syncPolicy.managedNamespaceMetadata: put on the namespace CreateNamespace makes (or has).
    namespace_labels: tuple[tuple[str, str], ...] = ()
    namespace_annotations: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class SyncTask:
    key: keys.ResourceKey
    phase: enums.SyncPhase
    wave: int
    action: Action
    target: Obj | None
    live: Obj | None
    hook_type: enums.HookType | None = None
    delete_policies: frozenset[resource_meta.DeletePolicy] = frozenset()
    sync_options: options.SyncOptions = dataclasses.field(default_factory=options.SyncOptions)
    skip_reason: str = ""  # a prune that will not happen (recorded as PruneSkipped)
    error: str = ""  # a resource that cannot be synced (recorded as SyncFailed)

    @property
    def is_hook(self) -> bool:
        return self.hook_type is not None

    @property
    def is_prune(self) -> bool:
        return self.action is Action.PRUNE

    @property
    def version(self) -> str:
        obj = self.target if self.target is not None else self.live
        return str((obj or {}).get("apiVersion", "")).rpartition("/")[2]

    def sort_key(self) -> tuple[Any, ...]:
        rank = order.kind_rank(self.key.kind)
        if self.is_prune:
            rank = (-rank[0], "".join(chr(0x10FFFF - ord(c)) for c in rank[1]))
        return (
            resource_meta.PHASE_ORDER[self.phase],
            self.wave,
            not self.is_prune,  # prunes first within a wave, as they run first
            rank,
            self.key.name,
        )


def owner_app(live: Obj, tracking_method: str) -> str | None:
    """The application a live object is tracked by, per the tracking method."""
    meta = live.get("metadata") or {}
    if tracking_method != constants.TRACKING_LABEL:
        tracking = (meta.get("annotations") or {}).get(constants.ANNOTATION_TRACKING_ID)
        if tracking:
            return str(tracking).split(":", 1)[0]
    if tracking_method != constants.TRACKING_ANNOTATION:
        label = (meta.get("labels") or {}).get(constants.LABEL_INSTANCE)
        if label:
            return str(label)
    return None


def tracked_by_us(live: Obj, params: SyncParams) -> bool:
    """Whether the app of ``params`` tracks ``live``: its tracking names the app and it carries
    our installation id (objects of another installation are never ours, whatever the name)."""
    return (
        owner_app(live, params.tracking_method) == params.app_name
        and resource_meta.installation_of(live) == params.installation_id
    )


def build(
    targets: Mapping[keys.ResourceKey, Obj],
    live: Mapping[keys.ResourceKey, Obj],
    *,
    params: SyncParams,
) -> list[SyncTask]:
    """All tasks of the operation, sorted; dependencies (Namespaces, CRDs) bubbled ahead."""
    tasks: list[SyncTask] = []
    for key, target in targets.items():
        tasks.extend(_target_tasks(key, target, live.get(key), params))
    non_hook_targets = [t for t in targets.values() if not _safe_is_hook(t)]
    for key, obj in live.items():
        if (
            key not in targets
            and not _safe_is_hook(obj)
            and not _created_namespace(key, obj, params)
        ):
            tasks.append(_prune_task(key, obj, params, empty=not non_hook_targets))
    if params.resources is not None:
        tasks = [t for t in tasks if t.key in params.resources and not t.is_hook]
    if params.dry_run:
        tasks = [t for t in tasks if not t.is_hook]
    tasks.extend(_namespace_task(tasks, live, params))
    tasks = _bubble_dependencies(_adjust_prune_waves(tasks))
    return sorted(tasks, key=SyncTask.sort_key)


def _safe_is_hook(obj: Obj) -> bool:
    try:
        return resource_meta.is_hook(obj)
    except errors.SpecError:
        return False


def _target_tasks(
    key: keys.ResourceKey, target: Obj, live: Obj | None, params: SyncParams
) -> list[SyncTask]:
    try:
        hooks = resource_meta.hook_types(target)
        wave = resource_meta.sync_wave(target)
        opts = params.app_options.overridden_by(resource_meta.resource_options(target))
        policies = resource_meta.delete_policies(target) if hooks else frozenset()
    except errors.SpecError as exc:
        return [SyncTask(key, enums.SyncPhase.SYNC, 0, Action.APPLY, target, live,
                         error=str(exc))]  # fmt: skip
    if enums.HookType.SKIP in hooks:
        return []
    if not hooks:
        error = _shared_error(key, live, opts, params)
        if (
            not error
            and live is not None
            and opts.enabled("apply_out_of_sync_only")
            and params.out_of_sync is not None
            and key not in params.out_of_sync
        ):
            return []
        action = Action.CREATE if live is None else Action.APPLY
        return [SyncTask(key, enums.SyncPhase.SYNC, wave, action, target, live,
                         sync_options=opts, error=error)]  # fmt: skip
    out = []
    for hook in sorted(hooks):
        phase = enums.SyncPhase(hook.value)
        hook_target, hook_key = _named_hook(key, target, phase, params)
        hook_live = live if hook_key == key else None
        action = Action.CREATE if hook_live is None else Action.APPLY
        out.append(SyncTask(hook_key, phase, wave, action, hook_target, hook_live, hook,
                            policies, opts))  # fmt: skip
    return out


def _named_hook(
    key: keys.ResourceKey, target: Obj, phase: enums.SyncPhase, params: SyncParams
) -> tuple[Obj, keys.ResourceKey]:
    """A hook using generateName gets a stable name: generateName + sync id + phase."""
    meta = target.get("metadata") or {}
    if meta.get("name") or not meta.get("generateName"):
        return target, key
    suffix = f"{params.sync_id}-{phase.value}" if params.sync_id else phase.value
    name = f"{meta['generateName']}{suffix.lower()}"[:253].rstrip("-.")
    named = {**target, "metadata": {**meta, "name": name}}
    return named, key._replace(name=name)


def _shared_error(
    key: keys.ResourceKey, live: Obj | None, opts: options.SyncOptions, params: SyncParams
) -> str:
    if live is None or not opts.enabled("fail_on_shared_resource"):
        return ""
    owner = owner_app(live, params.tracking_method)
    if not owner or tracked_by_us(live, params):
        return ""
    installation = resource_meta.installation_of(live)
    if installation != params.installation_id:
        where = f"installation {installation!r}" if installation else "no installation id"
        owner = f"{owner!r} of another installation ({where})"
    else:
        owner = repr(owner)
    return f"{key} is already managed by application {owner} (FailOnSharedResource=true)"


def _prune_task(key: keys.ResourceKey, live: Obj, params: SyncParams, *, empty: bool) -> SyncTask:
    try:
        wave = resource_meta.sync_wave(live)
        opts = params.app_options.overridden_by(resource_meta.resource_options(live))
    except errors.SpecError as exc:
        return SyncTask(key, enums.SyncPhase.SYNC, 0, Action.PRUNE, None, live,
                        error=str(exc))  # fmt: skip
    skip = ""
    if opts.prune_disabled:
        skip = "ignored (no prune)"
    elif not params.prune:
        skip = "ignored (requires pruning)"
    elif empty and not params.allow_empty:
        skip = "refusing to prune: the application has no target resources and allowEmpty is false"
    return SyncTask(key, enums.SyncPhase.SYNC, wave, Action.PRUNE, None, live,
                    sync_options=opts, skip_reason=skip)  # fmt: skip


def _adjust_prune_waves(tasks: list[SyncTask]) -> list[SyncTask]:
    """Prune in reverse wave order (waves swapped symmetrically); PruneLast after the last wave."""
    prune_waves = sorted({t.wave for t in tasks if t.is_prune})
    mirror = dict(zip(prune_waves, reversed(prune_waves), strict=True))
    sync_waves = [t.wave for t in tasks if t.phase is enums.SyncPhase.SYNC and not t.is_prune]
    last_wave = max([*sync_waves, *prune_waves], default=0)
    out = []
    for t in tasks:
        if t.is_prune:
            wave = last_wave + 1 if t.sync_options.enabled("prune_last") else mirror[t.wave]
            t = dataclasses.replace(t, wave=wave)
        out.append(t)
    return out


def _created_namespace(key: keys.ResourceKey, live: Obj, params: SyncParams) -> bool:
    """The destination namespace made by ``CreateNamespace=true``: it is passed in ``live`` so
    its task can finish, but the app does not track it, so it is never pruned."""
    return (
        key == keys.ResourceKey("", "Namespace", "", params.destination_namespace)
        and params.app_options.enabled("create_namespace")
        and not tracked_by_us(live, params)
    )


def _namespace_task(
    tasks: list[SyncTask], live: Mapping[keys.ResourceKey, Obj], params: SyncParams
) -> list[SyncTask]:
    """CreateNamespace=true: create the destination namespace first, if nothing else does."""
    ns = params.destination_namespace
    if not ns or not params.app_options.enabled("create_namespace") or params.resources:
        return []
    key = keys.ResourceKey("", "Namespace", "", ns)
    if any(t.key == key for t in tasks):
        return []
    meta: dict[str, Any] = {"name": ns}
    if params.namespace_labels:
        meta["labels"] = dict(params.namespace_labels)
    if params.namespace_annotations:
        meta["annotations"] = dict(params.namespace_annotations)
    current = live.get(key)
    if current is not None and _has_metadata(current, meta):
        return []  # exists, with the managed metadata (if any)
    waves = [t.wave for t in tasks] or [0]
    target = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
    action = Action.CREATE if current is None else Action.APPLY
    return [SyncTask(key, enums.SyncPhase.PRE_SYNC, min(waves), action, target,
                     current, sync_options=params.app_options)]  # fmt: skip


def _has_metadata(live: Obj, wanted: Mapping[str, Any]) -> bool:
    """Whether ``live`` already carries every managed label and annotation of ``wanted``."""
    meta = live.get("metadata") or {}
    for field in ("labels", "annotations"):
        have = meta.get(field) or {}
        if any(have.get(k) != v for k, v in (wanted.get(field) or {}).items()):
            return False
    return True


def _bubble_dependencies(tasks: list[SyncTask]) -> list[SyncTask]:
    """Move a Namespace or CRD task up to the earliest phase+wave of a task that needs it."""

    def provides(t: SyncTask) -> tuple[str, ...] | None:
        if t.is_prune or t.target is None:
            return None
        if t.key.kind == "Namespace" and t.key.group == "":
            return ("ns", t.key.name)
        if t.key.kind == "CustomResourceDefinition":
            spec = t.target.get("spec") or {}
            return ("gk", str(spec.get("group", "")), str((spec.get("names") or {}).get("kind")))
        return None

    def needs(t: SyncTask) -> set[tuple[str, ...]]:
        return {("ns", t.key.namespace), ("gk", t.key.group, t.key.kind)}

    out = list(tasks)
    for i, t in enumerate(out):
        provided = provides(t)
        if provided is None:
            continue
        stage = (resource_meta.PHASE_ORDER[t.phase], t.wave)
        for other in out:
            if other is t or other.is_prune or provided not in needs(other):
                continue
            other_stage = (resource_meta.PHASE_ORDER[other.phase], other.wave)
            if other_stage < stage:
                stage = other_stage
                t = dataclasses.replace(t, phase=other.phase, wave=other.wave)
        out[i] = t
    return out
