"""``tidegate app create`` checks each source before the app is sent, as ``argocd app create``
does (``--validate=false`` skips it): the repository answers, the revision resolves to a
commit, and the path is a directory at that commit.

The repository is fetched into the CLI's cache with the credentials of the control namespace's
repository Secrets (the ones the controller would use); the path is checked on the commit's
tree, without a checkout. A failure names the application, the repository, the revision and the
path, and nothing is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from tidegate.model import errors

Obj = Mapping[str, Any]


class SourceCheckError(errors.SourceError, errors.PermanentError):
    """A source of a new Application does not exist (repository, revision or path)."""


def parse_validate(value: str) -> bool:
    """``--validate`` takes argocd's ``true``/``false`` (``--validate=false``)."""
    from tidegate.cli import app_common

    return app_common.parse_bool(value, "--validate")


def _sources(app: Obj) -> list[Obj]:
    spec = app.get("spec") or {}
    many = spec.get("sources")
    if isinstance(many, list) and many:
        return [s for s in many if isinstance(s, Mapping)]
    one = spec.get("source")
    return [one] if isinstance(one, Mapping) else []


_LOCATION = ("repoURL", "targetRevision", "path", "chart")


def changed_sources(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Obj]:
    """The sources of spec ``after`` whose location (repository, revision, path, chart: what
    :func:`check_sources` checks) spec ``before`` has no source at. Pure."""

    def where(src: Obj) -> tuple[Any, ...]:
        return tuple(src.get(k) for k in _LOCATION)

    old = {where(s) for s in _sources({"spec": before})}
    return [s for s in _sources({"spec": after}) if where(s) not in old]


def normalise_path(path: str) -> str:
    """A source path as a tree path: ``""`` for the repository root."""
    parts = [p for p in PurePosixPath(path.strip() or ".").parts if p not in (".", "/")]
    return "/".join(parts)


async def check_sources(app: Obj, *, secrets: Sequence[Obj], cache_dir: Path | None = None) -> None:
    """Raise :class:`SourceCheckError` when a source's revision or path does not exist."""
    from tidegate import sources
    from tidegate.cli import app_compare

    meta = app.get("metadata") or {}
    label = f"application '{meta.get('name', '')}'"
    cache = sources.RepoCache(cache_dir or app_compare.default_cache_dir())
    for src in _sources(app):
        url = str(src.get("repoURL") or "")
        if not url or src.get("chart"):
            continue  # Helm repository charts are not read from Git
        revision = str(src.get("targetRevision") or "HEAD")
        path = src.get("path")
        where = f"{label}: repository {url!r}, revision {revision!r}"
        creds = sources.credentials_for(url, secrets)  # picks repository Secrets itself
        try:
            commit = await cache.resolve(url, revision, creds=creds, max_age=0.0)
        except errors.RevisionNotFoundError:
            raise SourceCheckError(
                f"{where}: the revision does not exist (no such branch, tag or commit)"
            ) from None
        except errors.SourceError as exc:
            raise SourceCheckError(f"{where}: cannot read the repository: {exc}") from None
        if path is None:
            continue  # a values-only source (ref) has no path
        wanted = normalise_path(str(path))
        if not wanted:
            continue
        directories = await cache.list_directories(url, commit, creds=creds)
        if wanted not in directories:
            raise SourceCheckError(
                f"{where}, path {str(path)!r}: the path does not exist at commit {commit[:12]} "
                "(use --validate=false to create the app anyway)"
            )
