"""Resolving a revision to a commit in a fetched bare repository (pygit2, local reads only).

The fetch mirrors the remote's branches to ``refs/heads/*``, its tags to ``refs/tags/*`` and its
``HEAD`` to :data:`REMOTE_HEAD`. A revision is tried, in order, as:

1. ``HEAD`` or empty: the remote's default branch;
2. a full 40-hex commit id (an annotated tag object id is peeled to its commit);
3. a full ref name (``refs/heads/main``, ``refs/tags/v1``...);
4. a branch name, then a tag name (annotated tags peeled), exact names only;
5. an abbreviated commit id (4 to 39 hex digits) that is unambiguous.
"""

from __future__ import annotations

import re
from typing import Any

import pygit2

REMOTE_HEAD = "refs/tidegate/HEAD"
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
SHORT_SHA = re.compile(r"^[0-9a-f]{4,39}$")


def _peel_commit(obj: Any) -> str | None:
    try:
        return str(obj.peel(pygit2.Commit).id)
    except (pygit2.GitError, ValueError, KeyError, TypeError, pygit2.InvalidSpecError):
        return None  # a tag pointing at a tree or a blob


def resolve_local(repo: pygit2.Repository, revision: str) -> str | None:
    """The commit id ``revision`` names in ``repo``, or None."""
    revision = revision.strip()
    if revision in ("", "HEAD"):
        head = repo.references.get(REMOTE_HEAD)
        return _peel_commit(head) if head is not None else None
    lowered = revision.lower()
    if FULL_SHA.match(lowered):
        obj = repo.get(lowered)
        return _peel_commit(obj) if obj is not None else None
    ref = _named_ref(repo, revision)
    if ref is not None:
        return _peel_commit(ref)
    if SHORT_SHA.match(lowered):
        try:
            return _peel_commit(repo.revparse_single(lowered))
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            return None  # unknown or ambiguous prefix
    return None


def has_commit(repo: pygit2.Repository, sha: str) -> bool:
    obj = repo.get(sha)
    return isinstance(obj, pygit2.Commit)


def annotated_tag(repo: pygit2.Repository, revision: str) -> str | None:
    """The id of the annotated tag object ``revision`` names, or None (a branch, a commit, a
    lightweight tag). Names are tried in :func:`resolve_local`'s order, so a branch that shares
    a tag's name wins, as it does when resolving."""
    revision = revision.strip()
    if revision in ("", "HEAD"):
        return None
    lowered = revision.lower()
    if FULL_SHA.match(lowered):
        obj = repo.get(lowered)
        return lowered if isinstance(obj, pygit2.Tag) else None
    ref = _named_ref(repo, revision)
    if ref is None or isinstance(ref.target, str):  # absent, or symbolic
        return None
    target = repo.get(ref.target)
    return str(target.id) if isinstance(target, pygit2.Tag) else None


def _named_ref(repo: pygit2.Repository, revision: str) -> Any:
    """The reference a full ref name, a branch name or a tag name denotes (in that order)."""
    names = [revision] if revision.startswith("refs/") else []
    names += [f"refs/heads/{revision}", f"refs/tags/{revision}"]
    for name in names:
        try:
            ref = repo.references.get(name)
        except (pygit2.InvalidSpecError, ValueError):
            ref = None  # not a valid ref name: cannot be a branch or tag
        if ref is not None:
            return ref
    return None
