"""AppProject ``orphanedResources``: top-level objects in an app's destination namespace that no
app tracks (Argo CD's orphaned resources monitoring). Pure: the live cache hands the candidates
in (:meth:`tidegate.live.store.LiveStore.top_level`).

An object is orphaned when it is namespaced, lives in the app's destination namespace, has no
owner, and is tracked by no existing app, except:

- kinds the project denies in namespaces (``namespaceResourceWhitelist``/``Blacklist``: such
  objects are the cluster administrators', not the namespace users');
- what Kubernetes creates in every namespace: ServiceAccount ``default``, ConfigMap
  ``kube-root-ca.crt``, and Service ``kubernetes`` in ``default``;
- the project's ``orphanedResources.ignore`` rules: ``group`` and ``kind`` and ``name`` globs
  (:func:`tidegate.model.globs.matches`); an empty ``kind`` or ``name`` matches any.

With ``warn: true`` the app carries an ``OrphanedResourceWarning`` condition: Argo CD's message
("Application has N orphaned resources") followed by the first :data:`MAX_LISTED` of them.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any

from tidegate.controller import appstatus
from tidegate.live import store as live_store
from tidegate.model import globs
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey
from tidegate.sync import projects as sync_projects

CONDITION = "OrphanedResourceWarning"
MAX_LISTED = 20


def monitored(project: model_project.AppProject | None) -> bool:
    """Whether the project asks for orphaned resources at all (``orphanedResources`` set)."""
    return project is not None and project.spec.orphaned_resources is not None


def any_monitored(projects: Mapping[str, model_project.AppProject]) -> bool:
    """Whether any project monitors orphaned resources: when none does, an untracked object's
    change concerns no app (checked first: a cold start's LISTs report thousands of them)."""
    return any(monitored(p) for p in projects.values())


def _created_by_kubernetes(key: ResourceKey) -> bool:
    if key.group:
        return False
    return (
        (key.kind == "ServiceAccount" and key.name == "default")
        or (key.kind == "ConfigMap" and key.name == "kube-root-ca.crt")
        or (key.kind == "Service" and key.name == "kubernetes" and key.namespace == "default")
    )


def _ignored(key: ResourceKey, rules: Iterable[model_project.OrphanedResourceKey]) -> bool:
    for rule in rules:
        if rule.kind and not globs.matches(rule.kind, key.kind):
            continue
        if not globs.matches(rule.group or "", key.group):
            continue
        if rule.name and not globs.matches(rule.name, key.name):
            continue
        return True
    return False


def find(
    project: model_project.AppProject | None,
    candidates: Mapping[ResourceKey, str | None],
    *,
    known_apps: Container[str],
) -> list[ResourceKey]:
    """The orphaned resources among ``candidates`` (key -> tracking app or None), sorted."""
    if project is None or project.spec.orphaned_resources is None:
        return []
    rules = project.spec.orphaned_resources.ignore or []
    found = []
    for key, app in candidates.items():
        if not key.namespace or (app is not None and app in known_apps):
            continue
        if not sync_projects.kind_permitted(project, key.group, key.kind, namespaced=True):
            continue
        if _created_by_kubernetes(key) or _ignored(key, rules):
            continue
        found.append(key)
    return sorted(found)


def describe(key: ResourceKey) -> str:
    """``Kind/name`` or ``Kind.group/name`` (the namespace is the app's)."""
    kind = f"{key.kind}.{key.group}" if key.group else key.kind
    return f"{kind}/{key.name}"


def message(orphans: Sequence[ResourceKey]) -> str:
    listed = ", ".join(describe(k) for k in orphans[:MAX_LISTED])
    more = f" and {len(orphans) - MAX_LISTED} more" if len(orphans) > MAX_LISTED else ""
    return f"Application has {len(orphans)} orphaned resources: {listed}{more}"


def conditions(
    current: Sequence[Mapping[str, Any]] | None,
    *,
    project: model_project.AppProject | None,
    orphans: Sequence[ResourceKey],
    at: str,
) -> list[dict[str, Any]] | None:
    """``current`` with the OrphanedResourceWarning set (warn on, orphans found) or cleared;
    None when no condition is left (the merge patch then deletes the field)."""
    warn = project is not None and bool(
        project.spec.orphaned_resources and project.spec.orphaned_resources.warn
    )
    if warn and orphans:
        return appstatus.set_condition(current, CONDITION, message(orphans), at=at)
    return appstatus.clear_conditions(current, [CONDITION]) or None


def update(
    current: Sequence[Mapping[str, Any]] | None,
    *,
    project: model_project.AppProject | None,
    store: live_store.LiveStore,
    namespace: str,
    known_apps: Container[str],
    at: str,
) -> list[dict[str, Any]] | None:
    """:func:`conditions` for the app's destination ``namespace`` in the cluster's live
    ``store``; the store is not scanned unless the project monitors orphaned resources."""
    found = (
        find(project, store.top_level(namespace), known_apps=known_apps)
        if monitored(project) and namespace
        else []
    )
    return conditions(current, project=project, orphans=found, at=at)


def watching(
    apps: Mapping[str, Mapping[str, Any]],
    project_of: Mapping[str, model_project.AppProject],
    namespace: str,
) -> list[str]:
    """Apps (raw, by name) whose orphans could change when an untracked object appears in or
    leaves ``namespace``: their destination namespace is it and their project monitors."""
    out = []
    for name, raw in apps.items():
        spec = raw.get("spec") or {}
        if (spec.get("destination") or {}).get("namespace") != namespace:
            continue
        if monitored(project_of.get(str(spec.get("project") or "default"))):
            out.append(name)
    return out
