"""Git webhooks, matching: which Applications a push concerns. Pure, no I/O.

An Application source matches a :class:`~tidegate.controller.webhook.PushEvent` when its repoURL
names the pushed repository (:func:`tidegate.sources.urls.repo_key`), its targetRevision is the
pushed branch or tag (``HEAD`` meaning the default branch), and, when the Application carries
``argocd.argoproj.io/manifest-generate-paths``, a changed file lies under one of those paths
(:func:`paths_match`). The names are re-exported by :mod:`tidegate.controller.webhook`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from tidegate.model import constants, errors, globs
from tidegate.sources import urls


class PushEvent(Protocol):
    """What matching reads of a push (:class:`tidegate.controller.webhook.PushEvent` has it);
    a protocol, so that this module does not import the parser that imports it."""

    @property
    def repo_keys(self) -> frozenset[str]: ...

    @property
    def revisions(self) -> tuple[str, ...]: ...

    @property
    def branches(self) -> tuple[str, ...]: ...

    @property
    def default_branch(self) -> str: ...

    @property
    def changed_files(self) -> tuple[str, ...]: ...


HEADS = "refs/heads/"
TAGS = "refs/tags/"


def short_ref(ref: str) -> str:
    """``refs/heads/main`` -> ``main``, ``refs/tags/v1`` -> ``v1``; anything else unchanged."""
    for prefix in (HEADS, TAGS):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def same_repo(app_repo_url: str, event: PushEvent) -> bool:
    """True when the app's repoURL names one of the event's URLs.

    Compared without case: the hosted providers treat repository paths case-insensitively, and a
    refresh too many costs only a refresh, while one too few waits for the next poll.
    """
    wanted = urls.repo_key(app_repo_url).casefold()
    return bool(wanted) and wanted in event.repo_keys


def revision_matches(
    target_revision: str, event: PushEvent, resolved_head_branch: str | None = None
) -> bool:
    """True when the push touched the app's targetRevision.

    A branch or tag matches by short name (``main``, ``refs/heads/main`` and, as in Argo CD,
    ``refs/tags/main`` are the same). ``HEAD`` or empty means the default branch: taken from the
    payload, else ``resolved_head_branch`` (the pushed repository's HEAD as the caller knows it);
    when neither is known, any branch push matches. A tag push never moves ``HEAD``.
    """
    target = target_revision.strip()
    if target in ("", "HEAD"):
        branches = event.branches
        head = event.default_branch or resolved_head_branch
        if head:
            return short_ref(head) in branches
        return bool(branches)
    return short_ref(target) in event.revisions


def paths_match(annotation_value: str, app_source_path: str, changed_files: Sequence[str]) -> bool:
    """True when a changed file lies under one of the annotation's paths (``;``-separated).

    A path starting with ``/`` is rooted at the repository, any other is relative to the app's
    source path (``.`` is the app's path, ``../shared`` its sibling). A path containing ``*``, ``?``
    or ``[`` is a glob (Go ``filepath.Match``: ``*`` stays within one directory) that matches a
    file or one of its parent directories. With no usable path, or no changed files listed (the
    provider did not say), nothing can be ruled out and the answer is True.
    """
    patterns = [_resolve(p, app_source_path) for p in annotation_value.split(";") if p.strip()]
    if not patterns or not changed_files:
        return True
    files = [posixpath.normpath(f.strip("/")) for f in changed_files if f.strip("/")]
    for pattern in patterns:
        if pattern in ("", "."):
            return True
        if any(ch in pattern for ch in "*?["):
            if _glob_hits(pattern, files):
                return True
        elif any(f == pattern or f.startswith(pattern + "/") for f in files):
            return True
    return False


def _glob_hits(pattern: str, files: Sequence[str]) -> bool:
    """A changed file or one of its parents matches; a malformed pattern rules nothing out."""
    try:
        return any(globs.path_match(pattern, d) for f in files for d in _self_and_parents(f))
    except errors.SpecError:
        return True


def _resolve(path: str, app_source_path: str) -> str:
    path = path.strip()
    if path.startswith("/"):
        joined = path.lstrip("/")
    else:
        joined = posixpath.join(app_source_path.strip().strip("/"), path)
    normal = posixpath.normpath(joined) if joined else "."
    return "" if normal == "." else normal


def _self_and_parents(path: str) -> Iterable[str]:
    while path and path != ".":
        yield path
        path = posixpath.dirname(path)


def matches(
    app_source_repo: str,
    app_target_revision: str,
    event: PushEvent,
    resolved_head_branch: str | None = None,
    *,
    source_path: str = "",
    generate_paths: str | None = None,
) -> bool:
    """True when one Application source must be refreshed for ``event``.

    ``generate_paths`` is the value of ``argocd.argoproj.io/manifest-generate-paths`` (None when
    the Application has no such annotation), relative paths resolve against ``source_path``.
    """
    if not same_repo(app_source_repo, event):
        return False
    if not revision_matches(app_target_revision, event, resolved_head_branch):
        return False
    return generate_paths is None or paths_match(generate_paths, source_path, event.changed_files)


def application_matches(
    app: Mapping[str, Any], event: PushEvent, *, resolved_head_branch: str | None = None
) -> bool:
    """True when any source of an Application (``spec.source`` or ``spec.sources``) matches."""
    spec = app.get("spec") or {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    annotations = (app.get("metadata") or {}).get("annotations") or {}
    generate_paths = annotations.get(constants.ANNOTATION_MANIFEST_GENERATE_PATHS)
    return any(
        matches(
            str(source.get("repoURL") or ""),
            str(source.get("targetRevision") or ""),
            event,
            resolved_head_branch,
            source_path=str(source.get("path") or ""),
            generate_paths=generate_paths,
        )
        for source in sources
        if isinstance(source, Mapping)
    )
