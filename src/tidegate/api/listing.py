"""Listing Applications: filters, label selectors, paging and field selection. Pure.

Argo CD's List filters by ``name``, ``projects``, ``selector`` and ``repo``; Tidegate adds
server-side filters by ``sync``, ``health``, ``cluster`` (destination server or name),
``namespace`` (destination namespace) and ``search`` (a substring of the name), and paging with
``limit``/``continue`` (an opaque token naming the last app returned, so pages stay stable while
apps come and go). ``fields`` keeps only the listed dotted paths (``-path`` drops one), as the
Argo CD UI asks for (``items.metadata.name,items.spec``...).
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tidegate.appset import selectors
from tidegate.model import errors, labelselector
from tidegate.sources import urls

Obj = dict[str, Any]
MAX_LIMIT = 5000


class QueryError(ValueError):
    """A query parameter that cannot be used (HTTP 400)."""


def parse_selector(text: str) -> Obj:
    """A kubectl label selector (``a=b,c!=d,e in (x,y),f,!g``) as matchLabels/matchExpressions
    (parsed by :mod:`tidegate.model.labelselector`, the one parser of the string form)."""
    try:
        requirements = labelselector.parse(text)
    except errors.SpecError as exc:
        raise QueryError(str(exc)) from None
    match_labels: dict[str, str] = {}
    expressions: list[Obj] = []
    for req in requirements:
        if req.operator == "In" and len(req.values) == 1 and req.key not in match_labels:
            match_labels[req.key] = next(iter(req.values))
        elif req.operator in ("Exists", "DoesNotExist"):
            expressions.append({"key": req.key, "operator": req.operator})
        else:
            expressions.append(
                {"key": req.key, "operator": req.operator, "values": sorted(req.values)}
            )
    return {"matchLabels": match_labels, "matchExpressions": expressions}


@dataclasses.dataclass(frozen=True)
class Query:
    """What a list or a stream asks for (empty fields: no filter)."""

    name: str = ""
    projects: tuple[str, ...] = ()
    selector: Obj | None = None
    repo: str = ""
    sync: tuple[str, ...] = ()
    health: tuple[str, ...] = ()
    cluster: tuple[str, ...] = ()
    namespace: tuple[str, ...] = ()
    search: str = ""
    app_namespace: str = ""  # the Application's own namespace (argocd's appNamespace)

    @classmethod
    def build(
        cls,
        *,
        name: str = "",
        projects: Sequence[str] = (),
        selector: str = "",
        repo: str = "",
        sync: Sequence[str] = (),
        health: Sequence[str] = (),
        cluster: Sequence[str] = (),
        namespace: Sequence[str] = (),
        search: str = "",
        app_namespace: str = "",
    ) -> Query:
        return cls(
            name=name,
            projects=_flat(projects),
            selector=parse_selector(selector) if selector.strip() else None,
            repo=urls.normalise(repo) if repo else "",
            sync=_flat(sync),
            health=_flat(health),
            cluster=_flat(cluster),
            namespace=_flat(namespace),
            search=search.lower(),
            app_namespace=app_namespace,
        )

    def matches(self, app: Mapping[str, Any]) -> bool:
        meta = app.get("metadata") or {}
        spec = app.get("spec") or {}
        status = app.get("status") or {}
        name = str(meta.get("name") or "")
        if self.name and name != self.name:
            return False
        if self.app_namespace and meta.get("namespace") != self.app_namespace:
            return False
        if self.search and self.search not in name.lower():
            return False
        if self.projects and str(spec.get("project") or "") not in self.projects:
            return False
        if self.selector is not None and not selectors.matches(
            self.selector, meta.get("labels") or {}
        ):
            return False
        if self.repo and self.repo not in {urls.normalise(r) for r in repo_urls(spec)}:
            return False
        if self.sync and str((status.get("sync") or {}).get("status") or "") not in self.sync:
            return False
        health = str((status.get("health") or {}).get("status") or "")
        if self.health and health not in self.health:
            return False
        dest = spec.get("destination") or {}
        if self.cluster and not {dest.get("server"), dest.get("name")} & set(self.cluster):
            return False
        return not self.namespace or str(dest.get("namespace") or "") in self.namespace


def _flat(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated and comma-separated values alike (``?sync=a&sync=b`` or ``?sync=a,b``)."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def repo_urls(spec: Mapping[str, Any]) -> list[str]:
    sources = [*(spec.get("sources") or []), spec.get("source") or {}]
    return [str(s["repoURL"]) for s in sources if isinstance(s, Mapping) and s.get("repoURL")]


# -- paging -------------------------------------------------------------------------------------


def encode_continue(last_name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_name}).encode()).decode()


def decode_continue(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise QueryError("invalid continue token") from None
    if not isinstance(after, str):
        raise QueryError("invalid continue token")
    return after


@dataclasses.dataclass(frozen=True)
class Page:
    items: list[Obj]
    continue_token: str | None


def _name(app: Obj) -> str:
    return str(app["metadata"]["name"])


def page(
    apps: Iterable[Obj], query: Query, *, limit: int, key: Callable[[Obj], str] = _name
) -> Page:
    """The matching apps (in the given order of ``key``), at most ``limit`` (0: all)."""
    if limit < 0 or limit > MAX_LIMIT:
        raise QueryError(f"limit must be between 0 and {MAX_LIMIT}")
    items: list[Obj] = []
    for app in apps:
        if not query.matches(app):
            continue
        if limit and len(items) == limit:
            last = key(items[-1])
            return Page(items, encode_continue(last))
        items.append(app)
    return Page(items, None)


# -- field selection ----------------------------------------------------------------------------


def _tree(paths: Iterable[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = [p for p in path.split(".") if p]
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                node[part] = True
            else:
                child = node.setdefault(part, {})
                if child is True:
                    break
                node = child
    return tree


def _keep(value: Any, tree: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [_keep(v, tree) for v in value]
    if not isinstance(value, Mapping):
        return value
    out: Obj = {}
    for key, sub in tree.items():
        if key in value:
            out[key] = copy.deepcopy(value[key]) if sub is True else _keep(value[key], sub)
    return out


def _drop(value: Any, tree: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [_drop(v, tree) for v in value]
    if not isinstance(value, Mapping):
        return value
    out: Obj = {}
    for key, item in value.items():
        sub = tree.get(key)
        if sub is True:
            continue
        out[key] = _drop(item, sub) if sub else item
    return out


def select_fields(doc: Mapping[str, Any], fields: Sequence[str]) -> Any:
    """``doc`` with only the listed paths (or without the ``-`` ones); none listed: as it is."""
    paths = list(_flat(fields))
    if not paths:
        return doc
    include = [p for p in paths if not p.startswith("-")]
    exclude = [p[1:] for p in paths if p.startswith("-")]
    out: Any = _keep(doc, _tree(include)) if include else doc
    return _drop(out, _tree(exclude)) if exclude else out


# -- summary ------------------------------------------------------------------------------------


def summarize(apps: Iterable[Mapping[str, Any]]) -> Obj:
    """Counts per sync status, per health status and per operation phase (missing: Unknown)."""
    total = 0
    sync: dict[str, int] = {}
    health: dict[str, int] = {}
    operation: dict[str, int] = {}
    for app in apps:
        total += 1
        status = app.get("status") or {}
        s = str((status.get("sync") or {}).get("status") or "Unknown")
        h = str((status.get("health") or {}).get("status") or "Unknown")
        sync[s] = sync.get(s, 0) + 1
        health[h] = health.get(h, 0) + 1
        phase = (status.get("operationState") or {}).get("phase")
        if app.get("operation") and phase not in ("Running", "Terminating"):
            phase = "Requested"
        if phase:
            operation[str(phase)] = operation.get(str(phase), 0) + 1
    return {"total": total, "sync": sync, "health": health, "operation": operation}
