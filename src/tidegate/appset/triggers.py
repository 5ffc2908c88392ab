"""Which ApplicationSets a change concerns (pure): git repositories and cluster generators a
set's generators reference, found by walking ``spec.generators`` (matrix/merge included)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tidegate.sources import urls


def _walk(generators: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for generator in generators or []:
        if not isinstance(generator, Mapping):
            continue
        for kind, spec in generator.items():
            if kind in ("selector", "template") or not isinstance(spec, Mapping):
                continue
            yield kind, spec
            if kind in ("matrix", "merge"):
                yield from _walk(spec.get("generators"))


def git_repos(appset: Mapping[str, Any]) -> set[str]:
    """Normalised repoURLs of the set's git generators (templated URLs are left out)."""
    found = set()
    for kind, spec in _walk((appset.get("spec") or {}).get("generators")):
        repo = spec.get("repoURL") if kind == "git" else None
        if isinstance(repo, str) and repo and "{{" not in repo:
            found.add(urls.normalise(repo))
    return found


def uses_git(appset: Mapping[str, Any]) -> bool:
    return any(kind == "git" for kind, _ in _walk((appset.get("spec") or {}).get("generators")))


def uses_clusters(appset: Mapping[str, Any]) -> bool:
    return any(
        kind == "clusters" for kind, _ in _walk((appset.get("spec") or {}).get("generators"))
    )


def is_rolling_sync(appset: Mapping[str, Any]) -> bool:
    return ((appset.get("spec") or {}).get("strategy") or {}).get("type") == "RollingSync"
