"""AppProject rules and cluster-registration limits, as Argo CD applies them (pure, no I/O).

Each check answers "may this app / repository / destination / object be used?" and, when not,
says which rule refused it, so that a message can name the object and the rule. One glob dialect
(:mod:`tidegate.model.globs`) and one repository-URL normaliser (:mod:`tidegate.sources.urls`)
serve every rule. The semantics, rule by rule, are in docs/projects.md:

- ``sourceRepos``: normalised URL globs, ``*`` and ``?`` stop at ``/``; ``!pattern`` denies,
  a deny wins; permitted when some non-deny pattern matches and no deny pattern does.
- ``sourceNamespaces``: apps in the controller's own namespace may use any project; apps in
  another namespace only a project listing that namespace (globs, or ``/regex/``).
- ``destinations``: server or name glob plus namespace glob, each may be ``!``-negated; the
  destination must match an entry and no entry may deny it.
- ``cluster/namespaceResourceWhitelist/Blacklist``: group/kind globs. A cluster-scoped kind
  must be whitelisted (empty list: none); a namespaced kind must be whitelisted when a whitelist
  is given (an explicitly empty one: none) and never blacklisted.
- A cluster Secret with ``namespaces`` manages only those namespaces, and cluster-scoped kinds
  only with ``clusterResources: true``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from tidegate.model import application as model_app
from tidegate.model import errors, globs
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey
from tidegate.sources import urls

Obj = Mapping[str, Any]
LiveObj = TypeVar("LiveObj", bound=Mapping[str, Any])


# -- patterns ---------------------------------------------------------------------------------


def _is_deny(pattern: str) -> bool:
    return pattern.startswith("!")


def _glob(pattern: str, value: str, *, separator: str = "") -> bool:
    """Argo CD's glob match with negation: ``*`` matches anything, ``!p`` what ``p`` does not.

    An unreadable pattern matches nothing; negated, it matches everything, so a deny rule that
    cannot be read still denies (Argo CD logs it and lets it through)."""
    if _is_deny(pattern):
        try:
            return not globs.matches(pattern[1:], value, separator=separator)
        except errors.SpecError:
            return False
    if pattern == "*":
        return True
    try:
        return globs.matches(pattern, value, separator=separator)
    except errors.SpecError:
        return False


def _repo_form(url: str) -> str:
    try:
        return urls.normalise(url)
    except ValueError:  # a pattern urllib cannot split (brackets in the host...)
        return url.strip().lower()


# -- application-level rules ------------------------------------------------------------------


def repo_permitted(project: model_project.AppProject, repo_url: str) -> bool:
    wanted = _repo_form(repo_url)
    matched_any = False
    for pattern in project.spec.source_repos or []:
        deny = _is_deny(pattern)
        normal = ("!" if deny else "") + _repo_form(pattern.removeprefix("!"))
        if _glob(normal, wanted, separator="/"):
            matched_any = True
        elif deny:
            return False
    return matched_any


def destination_refusal(
    project: model_project.AppProject, *, server: str, name: str, namespace: str
) -> str | None:
    """None when the project permits the (cluster, namespace) destination, else why not."""
    matched_any = False
    denied_by: model_project.ProjectDestination | None = None
    for entry in project.spec.destinations or []:
        item_name, item_server, item_ns = (
            entry.name or "",
            entry.server or "",
            entry.namespace or "",
        )
        name_ok = bool(name) and _glob(item_name, name)
        server_ok = bool(server) and _glob(item_server, server)
        ns_ok = _glob(item_ns, namespace)
        if (server_ok or name_ok) and ns_ok:
            matched_any = True
        elif (
            (not name_ok and _is_deny(item_name))
            or (not server_ok and _is_deny(item_server))
            or (not ns_ok and _is_deny(item_ns))
        ):
            denied_by = denied_by or entry
    if denied_by is not None:
        cluster = f"server '{denied_by.server}'" if denied_by.server else f"name '{denied_by.name}'"
        return f"denied by destination {cluster}, namespace '{denied_by.namespace or ''}'"
    if not matched_any:
        return (
            f"no destination matches server '{server}' (cluster '{name}') "
            f"and namespace '{namespace}'"
        )
    return None


def destination_permitted(
    project: model_project.AppProject, *, server: str, name: str, namespace: str
) -> bool:
    return destination_refusal(project, server=server, name=name, namespace=namespace) is None


def _source_namespace_matches(pattern: str, namespace: str) -> bool:
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        try:
            return re.search(pattern[1:-1], namespace) is not None
        except re.error:
            return False
    try:
        return globs.matches(pattern, namespace)
    except errors.SpecError:
        return False


def namespace_listed(patterns: Iterable[str], namespace: str) -> bool:
    """Whether ``namespace`` matches one of ``patterns`` (globs, or ``/regex/``), as
    ``sourceNamespaces`` and ``--application-namespaces`` match."""
    return any(_source_namespace_matches(p, namespace) for p in patterns)


def app_namespace_permitted(
    project: model_project.AppProject, app_namespace: str, *, control_namespace: str
) -> bool:
    """Apps in the controller's namespace use any project; others need ``sourceNamespaces``."""
    if not app_namespace or app_namespace == control_namespace:
        return True
    return namespace_listed(project.spec.source_namespaces or [], app_namespace)


def app_violations(
    app: model_app.Application,
    project: model_project.AppProject | None,
    *,
    control_namespace: str,
    server: str,
    cluster_name: str,
    cluster_project: str = "",
) -> list[str]:
    """Why ``app`` may not use its project at all (empty when it may): the project exists, the
    app's namespace may use it, every source repository and the destination are permitted (with
    ``permitOnlyProjectScopedClusters``, only on a cluster whose Secret names this project)."""
    project_name = app.spec.project_name
    if project is None:
        return [f"Application referencing project {project_name} which does not exist"]
    found = []
    if not app_namespace_permitted(project, app.namespace, control_namespace=control_namespace):
        listed = ", ".join(project.spec.source_namespaces or []) or "none"
        found.append(
            f"application '{app.name}' in namespace '{app.namespace}' is not permitted to use "
            f"project '{project_name}' (sourceNamespaces: {listed})"
        )
    for src in app.spec.all_sources():
        if not repo_permitted(project, src.repo_url):
            found.append(
                f"application repo {urls.display(src.repo_url)} is not permitted in project "
                f"'{project_name}' (sourceRepos)"
            )
    namespace = app.spec.destination.namespace or ""
    if not destination_permitted(project, server=server, name=cluster_name, namespace=namespace):
        found.append(
            f"application destination server '{server}' and namespace '{namespace}' do not "
            f"match any of the allowed destinations in project '{project_name}'"
        )
    elif project.spec.permit_only_project_scoped_clusters and cluster_project != project_name:
        found.append(
            f"application destination cluster '{cluster_name}' is not scoped to project "
            f"'{project_name}' (permitOnlyProjectScopedClusters)"
        )
    return found


# -- object-level rules -----------------------------------------------------------------------


def _listed(entries: Iterable[model_project.GroupKind], group: str, kind: str) -> bool:
    return any(_glob(e.kind, kind) and _glob(e.group or "", group) for e in entries)


def kind_refusal(
    project: model_project.AppProject, group: str, kind: str, *, namespaced: bool
) -> str | None:
    """None when the project permits the kind at this scope, else the rule that refuses it."""
    spec = project.spec
    if namespaced:
        white, black = spec.namespace_resource_whitelist, spec.namespace_resource_blacklist
        if white is not None and not white:
            return "namespaceResourceWhitelist is empty"
        if white and not _listed(white, group, kind):
            return "not in namespaceResourceWhitelist"
        if black and _listed(black, group, kind):
            return "listed in namespaceResourceBlacklist"
        return None
    white, black = spec.cluster_resource_whitelist, spec.cluster_resource_blacklist
    if not white:
        return "clusterResourceWhitelist is empty"
    if not _listed(white, group, kind):
        return "not in clusterResourceWhitelist"
    if black and _listed(black, group, kind):
        return "listed in clusterResourceBlacklist"
    return None


def kind_permitted(
    project: model_project.AppProject, group: str, kind: str, *, namespaced: bool
) -> bool:
    return kind_refusal(project, group, kind, namespaced=namespaced) is None


@dataclasses.dataclass(frozen=True)
class Rules:
    """Everything that limits one app's objects: its project and its destination cluster's
    registration (``namespaces``, ``clusterResources`` of the cluster Secret)."""

    project: model_project.AppProject
    server: str
    cluster_name: str
    cluster_namespaces: tuple[str, ...] = ()
    cluster_resources: bool = False

    @property
    def project_name(self) -> str:
        return self.project.name


@dataclasses.dataclass(frozen=True)
class Refusal:
    """One object that may not be managed, and the rule that says so."""

    key: ResourceKey
    rule: str
    by_cluster: bool = False  # the cluster registration refused it, not the project

    def __str__(self) -> str:
        where = f" in namespace '{self.key.namespace}'" if self.key.namespace else ""
        return f"{self.key.kind}/{self.key.name}{where}: {self.rule}"


def _group_kind(group: str, kind: str) -> str:
    return f"{group}/{kind}" if group else kind


def _broken_rules(
    rules: Rules, group: str, kind: str, namespace: str, *, namespaced: bool
) -> list[tuple[str, bool]]:
    """(rule, by_cluster) for every rule an object of this group/kind/namespace breaks."""
    out: list[tuple[str, bool]] = []
    project = rules.project
    scope = "namespaced" if namespaced else "cluster-scoped"
    gk = _group_kind(group, kind)
    reason = kind_refusal(project, group, kind, namespaced=namespaced)
    if reason is not None:
        out.append(
            (
                f"{scope} kind {gk} is not permitted in project '{rules.project_name}' ({reason})",
                False,
            )
        )
    if namespaced:
        why = destination_refusal(
            project, server=rules.server, name=rules.cluster_name, namespace=namespace
        )
        if why is not None:
            out.append(
                (
                    f"namespace '{namespace}' is not permitted in project "
                    f"'{rules.project_name}' ({why})",
                    False,
                )
            )
    if rules.cluster_namespaces:
        listed = ", ".join(rules.cluster_namespaces)
        if not namespaced and not rules.cluster_resources:
            out.append(
                (
                    f"cluster-scoped kind {gk} cannot be managed on cluster "
                    f"'{rules.cluster_name}': its Secret limits it to namespaces [{listed}] "
                    "without clusterResources",
                    True,
                )
            )
        elif namespaced and namespace not in rules.cluster_namespaces:
            out.append(
                (
                    f"namespace '{namespace}' is not managed on cluster "
                    f"'{rules.cluster_name}': its Secret limits it to namespaces [{listed}]",
                    True,
                )
            )
    return out


def object_refusals(rules: Rules, key: ResourceKey, *, namespaced: bool) -> list[Refusal]:
    """Why the object at ``key`` (its namespace settled) may not be managed; empty if it may."""
    broken = _broken_rules(rules, key.group, key.kind, key.namespace, namespaced=namespaced)
    return [Refusal(key, rule, by_cluster) for rule, by_cluster in broken]


def refusals(rules: Rules, scoped: Iterable[tuple[ResourceKey, bool]]) -> list[Refusal]:
    """Every refusal for the (key, namespaced) pairs, in the order given. The verdict depends
    on group, kind, namespace and scope only: computed once per combination."""
    seen: dict[tuple[str, str, str, bool], list[tuple[str, bool]]] = {}
    out: list[Refusal] = []
    for key, namespaced in scoped:
        which = (key.group, key.kind, key.namespace, namespaced)
        broken = seen.get(which)
        if broken is None:
            broken = seen[which] = _broken_rules(
                rules, key.group, key.kind, key.namespace, namespaced=namespaced
            )
        out.extend(Refusal(key, rule, by_cluster) for rule, by_cluster in broken)
    return out


def describe(found: Sequence[Refusal]) -> str:
    return "; ".join(str(r) for r in found)


def refused_error(found: Sequence[Refusal]) -> errors.TidegateError:
    """The error for a set of refusals: the project's are an invalid spec (InvalidSpecError);
    when only the cluster registration refuses, a ComparisonError, as in Argo CD."""
    text = f"{len(found)} object(s) not permitted: {describe(found)}"
    if any(not r.by_cluster for r in found):
        return errors.ProjectPermissionError(text)
    return errors.ClusterScopeError(text)


def split_live(rules: Rules, live: Iterable[LiveObj]) -> tuple[list[LiveObj], list[Refusal]]:
    """Live objects the app may manage, and the refusals of those it may not (never pruned nor
    deleted: left alone and reported). A live object's scope is read from its namespace."""
    objs = list(live)
    keys = [ResourceKey.of(obj) for obj in objs]
    found = refusals(rules, [(key, bool(key.namespace)) for key in keys])
    refused = {r.key for r in found}
    return [o for o, k in zip(objs, keys, strict=True) if k not in refused], found
