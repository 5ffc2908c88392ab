"""AppProject rules (pure): may this app use this repo, this destination, these kinds?

Patterns are globs, ``!pattern`` denies, as Argo CD documents for ``sourceRepos`` and
``destinations``. Cluster-scoped kinds need ``clusterResourceWhitelist`` (empty: none allowed);
namespaced kinds are allowed unless blacklisted, or not whitelisted when a whitelist is set.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from tidegate.model import application as model_app
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey


def _glob(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _permitted(patterns: Sequence[str], value: str) -> bool:
    allowed = any(_glob(p, value) for p in patterns if not p.startswith("!"))
    denied = any(_glob(p[1:], value) for p in patterns if p.startswith("!"))
    return allowed and not denied


def _normalise_repo(url: str) -> str:
    return url.rstrip("/").removesuffix(".git")


def repo_permitted(project: model_project.AppProject, repo_url: str) -> bool:
    patterns = project.spec.source_repos or []
    return _permitted(patterns, repo_url) or _permitted(patterns, _normalise_repo(repo_url))


def destination_permitted(
    project: model_project.AppProject, *, server: str, name: str, namespace: str
) -> bool:
    allowed = False
    for dest in project.spec.destinations or []:
        ns_pattern = dest.namespace or "*"
        negated_ns = ns_pattern.startswith("!")
        ns_ok = (
            (not _glob(ns_pattern[1:], namespace)) if negated_ns else _glob(ns_pattern, namespace)
        )
        cluster_ok = (dest.server is not None and _glob(dest.server.lstrip("!"), server)) or (
            dest.name is not None and _glob(dest.name.lstrip("!"), name)
        )
        if cluster_ok and ns_ok:
            if (dest.server or "").startswith("!") or (dest.name or "").startswith("!"):
                return False
            allowed = True
        elif cluster_ok and negated_ns and not ns_ok:
            return False
    return allowed


def _kind_listed(entries: Iterable[model_project.GroupKind], key: ResourceKey) -> bool:
    return any(_glob(e.group or "", key.group) and _glob(e.kind, key.kind) for e in entries)


def resource_permitted(
    project: model_project.AppProject, key: ResourceKey, *, namespaced: bool
) -> bool:
    spec = project.spec
    if not namespaced:
        return _kind_listed(spec.cluster_resource_whitelist or [], key) and not _kind_listed(
            spec.cluster_resource_blacklist or [], key
        )
    if spec.namespace_resource_whitelist and not _kind_listed(
        spec.namespace_resource_whitelist, key
    ):
        return False
    return not _kind_listed(spec.namespace_resource_blacklist or [], key)


def violations(
    app: model_app.Application,
    project: model_project.AppProject | None,
    *,
    cluster_server: str,
    cluster_name: str,
) -> list[str]:
    """Why ``app`` breaks its project's rules (empty when it does not)."""
    project_name = app.spec.project_name
    if project is None:
        return [f"Application referencing project {project_name} which does not exist"]
    found = []
    for src in app.spec.all_sources():
        if not repo_permitted(project, src.repo_url):
            found.append(
                f"application repo {src.repo_url} is not permitted in project '{project_name}'"
            )
    namespace = app.spec.destination.namespace or ""
    if not destination_permitted(
        project, server=cluster_server, name=cluster_name, namespace=namespace
    ):
        found.append(
            f"application destination server '{cluster_server}' and namespace '{namespace}' "
            f"do not match any of the allowed destinations in project '{project_name}'"
        )
    return found


def forbidden_resources(
    project: model_project.AppProject, keys: Iterable[tuple[ResourceKey, bool]]
) -> list[str]:
    """Messages for the (key, namespaced) pairs the project does not permit."""
    return [
        f"resource {key.group}:{key.kind} is not permitted in project {project.metadata.name}"
        for key, namespaced in keys
        if not resource_permitted(project, key, namespaced=namespaced)
    ]
