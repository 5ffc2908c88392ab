"""Remote repositories a render references: the interface the caller provides, and the per-render
bookkeeping (which trees were fetched, at which commits, how many).

The renderer never lets kustomize or helm fetch anything. A reference to a remote repository is
checked and fetched through :class:`RemoteRepos`, which the caller implements
(:class:`tidegate.sources.remote.RemoteRepos` for the controller: the app's project
``sourceRepos``, Tidegate's own directories, the credentials Tidegate holds, fsck-checked
fetches into the repository cache). The renderer then points kustomize at the fetched tree.
Without a ``RemoteRepos`` every remote reference is refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Protocol

from tidegate.model import errors
from tidegate.render import paths, references

RULE_NO_REMOTES = "remote repositories cannot be used here (no repository access configured)"


@dataclasses.dataclass(frozen=True)
class RemoteTree:
    """A remote repository checked out read-only at ``commit``."""

    commit: str
    root: Path


class RemoteRepos(Protocol):
    def refusal(self, url: str, permitted: tuple[str, ...]) -> str | None:
        """Why ``url`` may not be used with the project's ``permitted`` patterns, or None."""
        ...

    async def resolve(self, url: str, ref: str) -> str:
        """The commit ``ref`` ("" = the default branch) names now."""
        ...

    async def checkout(self, url: str, commit: str) -> Path:
        """A read-only checkout of ``commit``."""
        ...


Pin = tuple[str, str, str]  # (repository URL, ref as written, commit it resolved to)


class Fetcher:
    """The remote trees of one render: refusal checks, one checkout per (URL, ref), a bound on
    their number, the whole-tree symlink check, and the pins that key the render cache."""

    def __init__(
        self, remotes: RemoteRepos | None, permitted: tuple[str, ...], *, max_trees: int
    ) -> None:
        self._remotes = remotes
        self._permitted = permitted
        self._max = max_trees
        self._trees: dict[tuple[str, str], RemoteTree] = {}
        self.pins: list[Pin] = []

    def check(self, url: str, *, what: str, entry: str) -> RemoteRepos:
        if self._remotes is None:
            raise references.refuse(what, entry, RULE_NO_REMOTES)
        reason = self._remotes.refusal(url, self._permitted)
        if reason is not None:
            raise references.refuse(what, entry, reason)
        return self._remotes

    async def fetch(self, remote: references.Remote, *, what: str, entry: str) -> RemoteTree:
        remotes = self.check(remote.repo_url, what=what, entry=entry)
        key = (remote.repo_url, remote.ref)
        found = self._trees.get(key)
        if found is not None:
            return found
        if len(self._trees) >= self._max:
            raise references.refuse(
                what, entry, f"more than {self._max} remote repositories in one render"
            )
        commit = await remotes.resolve(remote.repo_url, remote.ref)
        root = (await remotes.checkout(remote.repo_url, commit)).resolve()
        try:
            await asyncio.to_thread(paths.check_symlinks, root, root)
        except errors.PathEscapeError as exc:
            raise errors.PathEscapeError(f"{remote.repo_url} at {commit[:12]}: {exc}") from None
        tree = RemoteTree(commit, root)
        self._trees[key] = tree
        self.pins.append((remote.repo_url, remote.ref, commit))
        return tree


async def pins_current(remotes: RemoteRepos | None, pins: tuple[Pin, ...]) -> bool:
    """Whether every pinned reference still resolves to the same commit (a cached render that
    used ``?ref=main`` is stale once main moved)."""
    if remotes is None:
        return not pins
    for url, ref, commit in pins:
        if await remotes.resolve(url, ref) != commit:
            return False
    return True
